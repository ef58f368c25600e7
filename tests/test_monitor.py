"""The monitor on a real tiny ONNX artifact, real SQLite (and PostgreSQL when a server can be started), real
processes and real HTTP: pile-ons alert, busy benign targets do not, protected targets alert sooner, a SIGKILL
loses and doubles nothing, and the evidence chain catches an edited and a deleted record."""

import glob
import http.client
import io
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest
from conftest import REPO, SAFE_TEXTS, VIOLENT_TEXTS, make_run, running_server

from cvguard.contracts import RunDir
from cvguard.export.runtime import Classifier
from cvguard.io import read_jsonl, write_json
from cvguard.monitor.config import MonitorConfig, Protected, load_monitor_config
from cvguard.monitor.engine import Monitor, list_alerts, public
from cvguard.monitor.evidence import verify
from cvguard.monitor.store import open_store

START = datetime(2025, 6, 3, 19, 0, tzinfo=timezone(timedelta(hours=8)))
PROTECTED_WORDS = [w for words in Protected().text_rules.values() for w in words]


@pytest.fixture(scope="module")
def scored(tmp_path_factory, tiny_model_dir):
    """An fp32 artifact whose `violent` and `insult` thresholds sit at the median of a pool of texts (a random
    model's probabilities crowd together, so 0.5 would flag all or nothing), and the pool split by what the
    runtime flags: violent texts and texts it flags with nothing. Other labels are never flagged by the model."""
    from cvguard.export.onnx_export import export
    from cvguard.training.batching import predict_probs
    from cvguard.training.model import load_model

    config = make_run(tmp_path_factory.mktemp("run"), tiny_model_dir, overrides=["export.quantize=false", "export.fp16=false"])
    run = RunDir(config.run_path)
    pool = [f"{t}{v}号" for v in range(12) for t in VIOLENT_TEXTS + SAFE_TEXTS
            if not any(w in t for w in PROTECTED_WORDS)]
    model, tokenizer, _ = load_model(run.model)
    probs = predict_probs(model, tokenizer, pool)
    labels = model.config.id2label
    thresholds = {labels[i]: 1.0 for i in range(len(labels))}
    thresholds["violent"], thresholds["insult"] = float(np.median(probs[:, 0])), float(np.median(probs[:, 1]))
    write_json(run.thresholds, thresholds)
    export(config)
    classifier = Classifier.load(run.artifact)
    flagged = classifier.predict(pool)
    violent = [r["text"] for r in flagged if "violent" in r["labels"]]
    clean = [r["text"] for r in flagged if not r["labels"]]
    assert len(violent) >= 20 and len(clean) >= 20
    return run.artifact, classifier, violent, clean


def event(i, minutes, author, text, **extra) -> dict:
    return {"id": f"c{i}", "time": (START + timedelta(minutes=minutes)).isoformat(), "author": author, "text": text,
            **extra}


def pile_on_stream(violent, clean) -> list[dict]:
    """Target 小王 gets 6 violent comments from 6 authors in 25 minutes; 热门店铺, a busy benign target, gets 60
    comments in the same hours, 2 of them violent, 80 minutes apart."""
    stream = []
    for k in range(60):
        text = violent[k] if k in (10, 40) else clean[k % len(clean)]
        stream.append(event(100 + k, 2 * k, f"fan{k % 25}", text, target="热门店铺", thread="shop"))
    for k in range(6):
        stream.append(event(200 + k, 30 + 5 * k, f"troll{k}", violent[k], target="小王", thread="wang"))
    return sorted(stream, key=lambda e: e["time"])


def jsonl(rows) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows)


def cli(*args, stdin: str = "", check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "cvguard.cli", *args], input=stdin, capture_output=True, text=True,
                          cwd=REPO, timeout=300)
    assert not check or done.returncode == 0, done.stderr
    return done


def rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as connection:
        return connection.execute(sql).fetchall()


def stored_events(db: Path) -> int:
    """Events another process has committed so far; 0 until it has created the database and its tables."""
    try:
        return rows(db, "SELECT COUNT(*) FROM events")[0][0] if db.exists() else 0
    except sqlite3.OperationalError:  # the file exists, the first migration has not committed yet
        return 0


def test_a_pile_on_alerts_within_its_window_a_busy_benign_target_does_not_and_a_rerun_changes_nothing(scored, tmp_path):
    artifact, _, violent, clean = scored
    stream = pile_on_stream(violent, clean)
    bad = ["{not json", json.dumps({"id": "x1", "time": START.isoformat(), "author": "a"}),
           json.dumps({"id": "x2", "time": "03/06/2025 19:00", "author": "a", "text": "你好"})]
    lines = jsonl(stream[:20] + bad + stream[20:])
    db = tmp_path / "monitor.db"
    first = cli("monitor", str(artifact), "--db", str(db), "--rules", str(REPO / "configs/monitor.yaml"), stdin=lines)
    alerts = [json.loads(line) for line in first.stdout.splitlines()]
    assert [(a["target"], a["rule"]) for a in alerts] == [("小王", "pile_on")]
    alert = alerts[0]
    # announced once its batch (here the whole stream) is committed, so with the 6th troll's update
    assert (alert["first_event"], alert["last_event"]) == ("c200", "c205")
    assert alert["counts"] == {"violent": 6, "authors": 6, "window_minutes": 60.0}
    assert len(alert["evidence_ids"]) == 6 and alert["protected"] is False and alert["priority"] == 60
    # min_violent is 5: it fired on the 5th troll, 20 minutes after the first, inside its 60-minute window
    fired = dict(rows(db, "SELECT event_id, json_extract(record, '$.rules') FROM evidence"))
    assert (fired["c203"], fired["c204"], fired["c205"]) == ("[]", '["pile_on"]', '["pile_on"]')
    assert not any(json.loads(fired[f"c{100 + k}"]) for k in (10, 40))  # the busy target's two violent comments
    assert rows(db, "PRAGMA journal_mode") == [("wal",)]
    rejects = rows(db, "SELECT line, reason FROM rejects ORDER BY line")
    assert [line for line, _ in rejects] == [21, 22, 23]
    assert "invalid JSON" in rejects[0][1] and "`text`" in rejects[1][1] and "not ISO 8601" in rejects[2][1]
    assert rows(db, "SELECT COUNT(*) FROM events") == [(66,)]
    # the 6th troll updated the open alert instead of opening a second one
    listed = [json.loads(line) for line in cli("alerts", "--db", str(db)).stdout.splitlines()]
    assert listed == alerts

    before = {table: rows(db, f"SELECT * FROM {table} ORDER BY 1") for table in ("events", "evidence", "alerts", "rejects")}
    again = cli("monitor", str(artifact), "--db", str(db), stdin=lines)
    assert again.stdout == ""
    assert {table: rows(db, f"SELECT * FROM {table} ORDER BY 1") for table in before} == before


def test_a_protected_target_alerts_earlier_than_an_identical_adult_target_and_jumps_the_queue(scored, tmp_path):
    _, classifier, violent, _ = scored
    monitor = Monitor.open(classifier, tmp_path / "m.db", MonitorConfig())
    stream = []
    for k in range(5):  # the same five comments, authors and times, about a child and about an adult
        stream.append(event(300 + k, 10 * k, f"u{k}", violent[k], target="成年人A"))
        stream.append(event(400 + k, 10 * k, f"u{k}", violent[k], target="学生B", target_attributes=["minor"]))
    fired = {}
    for e in stream:
        for alert in monitor.process([e]).alerts:
            fired[alert["target"]] = (e["id"], alert)
    assert fired["学生B"][0] == "c402"  # the third comment: protected rules need 3 from 2 authors
    assert fired["成年人A"][0] == "c304"  # the fifth: adult rules need 5 from 4
    child = fired["学生B"][1]
    assert child["protected"] is True and child["attributes"] == ["minor"] and child["priority"] == 160
    assert [a["target"] for a in list_alerts(monitor.store)] == ["学生B", "成年人A"]
    cli("alerts", "--db", str(tmp_path / "m.db"), "--close", child["id"])
    assert [a["target"] for a in list_alerts(monitor.store)] == ["成年人A"]
    reopened = monitor.process([event(405, 45, "u9", violent[5], target="学生B")]).alerts
    assert [(a["target"], a["first_event"]) for a in reopened] == [("学生B", "c400")]  # a new alert, same window
    record = json.loads(monitor.store.one("SELECT record FROM evidence WHERE event_id = 'c402'"))
    assert record["protected"] == ["minor"] and record["rules"] == ["pile_on"]


def test_a_text_rule_marks_a_target_protected(scored, tmp_path):
    _, classifier, violent, clean = scored
    monitor = Monitor.open(classifier, tmp_path / "m.db", MonitorConfig())
    monitor.process([event(1, 0, "a", "这个小学生" + clean[0], target="小李")])
    assert monitor.attributes["小李"] == {"minor"}
    opened = []
    for k in range(3):
        opened += monitor.process([event(10 + k, 1 + k, f"u{k}", violent[k], target="小李")]).alerts
    assert [(a["rule"], a["protected"], a["last_event"]) for a in opened] == [("pile_on", True, "c12")]


def busy_thread_and_pile_on(busy: list[str], calm: list[str], attacks: list[str]) -> list[dict]:
    """热门店铺: seven regulars chat calmly for 40 minutes, then one comment in four is one of the `busy` texts
    (8 in an hour, from all seven); meanwhile 小王 gets 6 of the `attacks` from 6 strangers in 25 minutes."""
    busy_or_calm = lambda k: busy[k % len(busy)] if k >= 20 and k % 4 == 3 else calm[k % len(calm)]
    stream = [event(100 + k, 2 * k, f"fan{k % 7}", busy_or_calm(k), target="热门店铺", thread="shop") for k in range(60)]
    stream += [event(200 + k, 30 + 5 * k, f"troll{k}", attacks[k], target="小王", thread="wang") for k in range(6)]
    return sorted(stream, key=lambda e: e["time"])


def alerted(classifier, db: Path, config: MonitorConfig, stream: list[dict]) -> set[tuple[str, str]]:
    monitor = Monitor.open(classifier, db, config)
    return {(a["target"], a["rule"]) for a in monitor.process(stream).alerts}


def test_a_probability_floor_keeps_borderline_false_flags_out_of_the_pile_on_rule(scored, tmp_path):
    """A real model flags a busy benign thread's banter just above the violent threshold: counted, a pile-on;
    with rules.min_probability above those scores, only the real pile-on alerts."""
    _, classifier, violent, clean = scored
    column = classifier.labels.index("violent")
    score = dict(zip(violent, classifier.predict_proba(violent)[:, column].tolist()))
    by_score = sorted(violent, key=score.get)
    borderline, strong = by_score[:len(by_score) // 3], by_score[-6:]
    floor = (score[borderline[-1]] + score[strong[0]]) / 2  # between the two groups
    assert score[strong[0]] > floor > score[borderline[-1]] >= classifier.thresholds[column]
    stream = busy_thread_and_pile_on(borderline, clean, strong)
    assert alerted(classifier, tmp_path / "old.db", MonitorConfig(), stream) == {("热门店铺", "pile_on"), ("小王", "pile_on")}
    config = load_monitor_config(None, [f"rules.min_probability={{violent: {floor}}}"])
    assert alerted(classifier, tmp_path / "new.db", config, stream) == {("小王", "pile_on")}
    # after a restart the windows still know each comment's score: one more borderline comment alerts nothing
    monitor = Monitor.open(classifier, tmp_path / "new.db", config)
    last = [s for s in monitor.windows["热门店铺"] if s.violent][-1]
    text = next(e["text"] for e in stream if e["id"] == last.event_id)
    assert last.scores["violent"] == pytest.approx(score[text], abs=1e-5)
    assert monitor.process([event(300, 125, "fan1", borderline[0], target="热门店铺", thread="shop")]).alerts == []


def test_skip_regulars_keeps_a_busy_threads_own_commenters_from_looking_like_a_pile_on(scored, tmp_path):
    """Six regulars who have been chatting calmly, then flagged (banter the model misreads), are not a pile-on
    with pile_on.skip_regulars; six strangers are, on the busy thread itself and elsewhere."""
    _, classifier, violent, clean = scored
    stream = busy_thread_and_pile_on(violent, clean, violent)
    assert alerted(classifier, tmp_path / "old.db", MonitorConfig(), stream) == {("热门店铺", "pile_on"), ("小王", "pile_on")}
    config = load_monitor_config(None, ["rules.pile_on.skip_regulars=true"])
    assert alerted(classifier, tmp_path / "new.db", config, stream) == {("小王", "pile_on")}
    strangers = [event(500 + k, 130 + 3 * k, f"stranger{k}", violent[k], target="热门店铺", thread="shop") for k in range(5)]
    opened = Monitor.open(classifier, tmp_path / "new.db", config).process(strangers).alerts
    assert [(a["target"], a["counts"]["authors"]) for a in opened if a["rule"] == "pile_on"] == [("热门店铺", 5)]


def test_personal_data_raises_privacy_and_alerts_at_once_with_the_findings_in_evidence(scored, tmp_path):
    _, classifier, _, clean = scored
    monitor = Monitor.open(classifier, tmp_path / "m.db", MonitorConfig())
    result = monitor.process([event(1, 0, "a", f"{clean[0]} 他电话158****3307", target="小周"),
                              event(2, 1, "b", f"{clean[1]} 身份证110105194912310021", target="小周")])
    assert [(a["rule"], a["counts"]) for a in result.alerts] == [("instant", {"labels": ["privacy"]})]
    [(record,)] = monitor.store.query("SELECT record FROM evidence")
    first = json.loads(record)
    assert first["event_id"] == "c1" and first["labels"] == ["violent", "privacy"] and first["model_labels"] == []
    assert first["pii"][0]["kind"] == "mobile" and first["pii"][0]["status"] == "masked"
    # a made-up ID number is reported on its event and raises nothing, so it needs no evidence record
    [(labels, pii)] = monitor.store.query("SELECT labels, pii FROM events WHERE id = 'c2'")
    assert labels == "[]" and json.loads(pii)[0]["status"] == "invalid_checksum"


def test_sigkill_mid_stream_then_restart_loses_nothing_and_counts_nothing_twice(scored, tmp_path):
    artifact, classifier, violent, clean = scored
    stream = []
    for k in range(3000):  # 300 targets; every 30th comment a violent one aimed at 小赵, so the pile-on spans the kill
        if k % 30 == 0:
            stream.append(event(k, k * 0.02, f"troll{k // 30}", violent[k // 30 % len(violent)], target="小赵"))
        else:
            stream.append(event(k, k * 0.02, f"user{k % 97}", clean[k % len(clean)], target=f"t{k % 300}"))
    lines = jsonl(stream)
    args = [sys.executable, "-m", "cvguard.cli", "monitor", str(artifact), "--db", str(tmp_path / "killed.db"),
            "batch_size=8"]
    process = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=REPO)
    half = lines.encode()[:len(lines.encode()) // 2]
    process.stdin.write(half[:half.rindex(b"\n") + 1])
    process.stdin.flush()
    deadline = time.monotonic() + 120
    while stored_events(tmp_path / "killed.db") < 1000:
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)  # mid-stream: half the stream is still unsent, a batch may be mid-commit
    announced = process.stdout.read().decode().splitlines()
    process.wait()
    stored = rows(tmp_path / "killed.db", "SELECT COUNT(*) FROM events")[0][0]
    assert 1000 <= stored < len(stream)
    announced += cli("monitor", str(artifact), "--db", str(tmp_path / "killed.db"), stdin=lines).stdout.splitlines()

    reference = Monitor.open(classifier, tmp_path / "reference.db", MonitorConfig())
    for start in range(0, len(stream), 64):
        reference.process(stream[start:start + 64])
    killed = open_store(tmp_path / "killed.db")
    assert killed.query("SELECT COUNT(*), COUNT(DISTINCT id) FROM events") == [(3000, 3000)]
    same = "SELECT id, violent, labels, target, evidence_seq FROM events ORDER BY id"
    assert killed.query(same) == reference.store.query(same)
    strip = lambda alerts: [{k: v for k, v in a.items() if k != "opened"} for a in alerts]
    assert strip(list_alerts(killed, None)) == strip(list_alerts(reference.store, None))
    assert list_alerts(killed)[0]["counts"]["violent"] >= 5
    # every alert reached stdout, in the killed run or, committed but not yet written there, on the restart
    assert {json.loads(line)["id"] for line in announced} == {a["id"] for a in list_alerts(killed, None)}
    assert verify(killed)[0] and verify(killed)[2] == verify(reference.store)[2]


def evidence_db(classifier, path: Path, violent, config=MonitorConfig()) -> Monitor:
    monitor = Monitor.open(classifier, path, config)
    monitor.process([event(500 + k, 3 * k, f"u{k}", violent[k], target="小陈", thread="chen") for k in range(6)])
    return monitor


@pytest.mark.parametrize("tamper, message", [
    ("UPDATE evidence SET record = replace(record, '\"author\":\"u2\"', '\"author\":\"u9\"') WHERE seq = 3",
     "evidence record 3: its hash does not match its content"),
    ("DELETE FROM evidence WHERE seq = 4", "evidence record 4 is missing"),
    ("DELETE FROM evidence WHERE seq = 6", "records after 5 were deleted"),
])
def test_evidence_verify_names_the_first_edited_or_deleted_record(scored, tmp_path, tamper, message):
    _, classifier, violent, _ = scored
    db = tmp_path / "e.db"
    evidence_db(classifier, db, violent).store.close()
    assert "6 evidence records intact" in cli("evidence", "verify", "--db", str(db)).stdout
    with sqlite3.connect(db) as connection:
        assert connection.execute(tamper).rowcount == 1
    done = cli("evidence", "verify", "--db", str(db), check=False)
    assert done.returncode == 1 and message in done.stderr


def test_evidence_export_writes_a_bundle_with_the_timeline_and_can_keep_only_hashes(scored, tmp_path):
    _, classifier, violent, _ = scored
    db = tmp_path / "e.db"
    config = load_monitor_config(None, ["evidence.store_text=false"])
    evidence_db(classifier, db, violent, config).store.close()
    cli("evidence", "export", "--db", str(db), "--target", "小陈", "-o", str(tmp_path / "bundle"))
    bundle = json.loads((tmp_path / "bundle/evidence.json").read_text(encoding="utf-8"))
    assert bundle["chain"]["intact"] and len(bundle["records"]) == 6
    record = bundle["records"][0]
    assert record["text"] is None and len(record["text_sha256"]) == 64
    assert set(record) >= {"time", "received", "author", "target", "thread", "artifact", "probs", "labels", "pii",
                           "rules", "prev_hash", "hash"}
    assert set(record["artifact"]) == {"id", "sha256", "variant", "thresholds"}
    assert [a["rule"] for a in bundle["alerts"]] == ["pile_on"]
    html = (tmp_path / "bundle/evidence.html").read_text(encoding="utf-8")
    assert "小陈" in html and "pile_on" in html and "text not kept" in html and violent[0] not in html


# --- HTTP ---------------------------------------------------------------------------------------------------

def request(port: int, method: str, path: str, body=None) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
        connection.request(method, path, data, {"Content-Type": "application/json"} if data else {})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_http_events_alert_and_alerts_are_listed_by_priority(scored, tmp_path):
    pytest.importorskip("uvicorn")
    artifact, _, violent, clean = scored
    db = tmp_path / "http.db"
    with running_server(artifact, "--monitor-db", str(db)) as port:
        adult = [event(600 + k, k, f"a{k}", violent[k], target="大刘") for k in range(5)]
        child = [event(700 + k, k, f"a{k}", violent[k], target="小刘", target_attributes={"minor": True}) for k in range(3)]
        status, body = request(port, "POST", "/v1/events", {"events": adult[:4] + [{"id": "bad", "text": "x"}]})
        assert status == 200 and len(body["accepted"]) == 4 and body["alerts"] == []
        assert body["rejected"][0]["index"] == 4 and "author" in body["rejected"][0]["reason"]
        status, body = request(port, "POST", "/v1/events", {"events": adult[3:] + child})
        assert status == 200 and body["duplicates"] == ["c603"]
        assert sorted((a["target"], a["rule"]) for a in body["alerts"]) == [("大刘", "pile_on"), ("小刘", "pile_on")]
        status, body = request(port, "GET", "/v1/alerts")
        assert status == 200 and [(a["target"], a["protected"]) for a in body["alerts"]] == [("小刘", True), ("大刘", False)]
        assert request(port, "GET", "/v1/alerts?target=" + quote("大刘"))[1]["alerts"][0]["evidence_ids"]
        assert request(port, "POST", "/v1/events", {"events": []})[0] == 422
        assert request(port, "POST", "/v1/classify", {"texts": [clean[0]]})[0] == 200  # the classifier still serves
    assert rows(db, "SELECT COUNT(*) FROM events") == [(8,)]


# --- PostgreSQL ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def postgres_url():
    """A throwaway PostgreSQL server on a free port (run as the `postgres` user when the tests run as root, in a
    folder of its own under the system temp folder: pytest's are private to the user running the tests)."""
    pytest.importorskip("psycopg", reason="psycopg not installed (pip install 'cvguard[monitor]')")
    # Debian's postgresql package keeps the server binaries off PATH, in /usr/lib/postgresql/<version>/bin.
    path = os.pathsep.join([os.environ.get("PATH", ""), *sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)])
    initdb, pg_ctl = shutil.which("initdb", path=path), shutil.which("pg_ctl", path=path)
    if not (initdb and pg_ctl):
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) on PATH or in /usr/lib/postgresql/*/bin")
    folder = Path(tempfile.mkdtemp(prefix="cvguard-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        if not shutil.which("runuser"):
            pytest.skip("running as root without runuser: cannot start PostgreSQL as another user")
        prefix = ["runuser", "-u", "postgres", "--"]
        shutil.chown(folder, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = folder / "data"
    try:
        subprocess.run([*prefix, initdb, "-D", str(data), "-U", "cvguard", "--auth=trust"], check=True,
                       capture_output=True, timeout=120)
        subprocess.run([*prefix, pg_ctl, "-D", str(data), "-l", str(folder / "log"), "-w", "-o",
                        f"-p {port} -k {folder} -h 127.0.0.1", "start"], check=True, capture_output=True, timeout=120)
    except subprocess.CalledProcessError as e:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"could not start a PostgreSQL server: {' '.join(e.cmd[-3:])}: {e.stderr.decode()[-300:]}")
    except (OSError, LookupError) as e:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"could not start a PostgreSQL server: {e}")
    try:
        yield f"postgresql://cvguard@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


def test_postgresql_runs_the_same_code_alerts_verifies_and_reruns_idempotently(scored, postgres_url):
    artifact, classifier, violent, clean = scored
    stream = pile_on_stream(violent, clean)
    monitor = Monitor.open(classifier, postgres_url, MonitorConfig())
    assert monitor.store.postgres and monitor.store.schema_version() == 1
    opened = monitor.process(stream).alerts
    assert [(a["target"], a["rule"], a["last_event"]) for a in opened] == [("小王", "pile_on", "c205")]
    done = cli("monitor", str(artifact), "--db", postgres_url, stdin=jsonl(stream))
    assert done.stdout == ""
    assert monitor.store.query("SELECT COUNT(*) FROM events") == [(66,)]
    assert verify(monitor.store)[0]
    assert [public(a)["target"] for a in list_alerts(monitor.store)] == ["小王"]


def test_a_surge_over_the_targets_own_baseline_alerts(scored, tmp_path):
    _, classifier, violent, clean = scored
    config = load_monitor_config(None, ["rules.pile_on.min_violent=100"])  # only the surge rule can fire
    monitor = Monitor.open(classifier, tmp_path / "m.db", config)
    quiet = [event(k, 10 * k, f"u{k}", violent[0] if k == 15 else clean[k % len(clean)], target="老店") for k in range(30)]
    assert monitor.process(quiet).alerts == []  # 1 violent in 30: a 3% baseline, under the 5% floor
    burst = [event(100 + k, 300 + 5 * k, f"v{k}", violent[k] if k % 2 else clean[k], target="老店") for k in range(10)]
    opened = monitor.process(burst).alerts
    assert [a["rule"] for a in opened] == ["surge"]
    assert opened[0]["counts"]["baseline_comments"] >= 20 and opened[0]["counts"]["window_share"] >= 0.3


def test_follow_mode_reads_a_growing_file_and_resumes_where_it_stopped(scored, tmp_path):
    artifact, _, violent, _ = scored
    feed, db = tmp_path / "feed.jsonl", tmp_path / "f.db"
    trolls = [event(800 + k, k, f"t{k}", violent[k], target="小孙") for k in range(8)]
    feed.write_text(jsonl(trolls[:3]), encoding="utf-8")
    args = [sys.executable, "-m", "cvguard.cli", "monitor", str(artifact), "--db", str(db), "--follow", str(feed)]

    def follow_until(condition):
        process = subprocess.Popen(args, stdout=subprocess.PIPE, cwd=REPO, text=True)
        deadline = time.monotonic() + 60
        while not condition():
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.1)
        process.send_signal(signal.SIGKILL)
        return process.communicate()[0]

    count = lambda: stored_events(db)
    assert follow_until(lambda: count() == 3) == ""
    with feed.open("a", encoding="utf-8") as f:  # the file grows while no monitor runs, then while one does
        f.write(jsonl(trolls[3:5]))
    process = subprocess.Popen(args, stdout=subprocess.PIPE, cwd=REPO, text=True)
    time.sleep(3)
    with feed.open("a", encoding="utf-8") as f:
        f.write(jsonl(trolls[5:]))
    deadline = time.monotonic() + 60
    while count() < 8:
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.1)
    process.send_signal(signal.SIGKILL)
    out = process.communicate()[0]
    assert [json.loads(line)["rule"] for line in out.splitlines()] == ["pile_on"]
    assert rows(db, "SELECT line FROM cursors") == [(8,)]


def test_alerts_are_posted_to_the_webhook_with_retries(scored, tmp_path):
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    _, classifier, violent, _ = scored
    received, statuses = [], iter([503, 500, 200])

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            status = next(statuses)
            received.append((status, json.loads(body)))
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    from cvguard.monitor.stream import announcer

    config = load_monitor_config(None, [f"webhook.url=http://127.0.0.1:{server.server_port}/hook",
                                        "webhook.backoff_seconds=0.01"])
    out = io.StringIO()
    monitor = Monitor.open(classifier, tmp_path / "w.db", config, announcer(config.webhook, out))
    monitor.process([event(900 + k, k, f"t{k}", violent[k], target="小钱") for k in range(5)])
    server.shutdown()
    assert [status for status, _ in received] == [503, 500, 200]
    assert received[-1][1]["target"] == "小钱" and received[-1][1]["rule"] == "pile_on"
    assert [json.loads(line) for line in out.getvalue().splitlines()] == [received[-1][1]]


def test_the_target_comes_from_the_event_else_a_mention_else_the_thread_and_survives_a_restart(scored, tmp_path):
    _, classifier, _, clean = scored
    db = tmp_path / "t.db"
    monitor = Monitor.open(classifier, db, MonitorConfig())
    monitor.process([event(1, 0, "a", clean[0], target="老周", thread="p1"),
                     event(2, 1, "b", f"@小刺猬 {clean[1]}", thread="p1"),
                     event(3, 2, "c", clean[2], thread="p1"),
                     event(4, 3, "d", clean[3], thread="p2"),
                     event(5, 4, "e", clean[4])])
    restarted = Monitor.open(classifier, db, MonitorConfig())
    restarted.process([event(6, 5, "f", clean[5], thread="p1")])
    assert restarted.store.query("SELECT id, target, target_source FROM events ORDER BY seq") == [
        ("c1", "老周", "explicit"), ("c2", "小刺猬", "mention"), ("c3", "老周", "thread"),
        ("c4", "thread:p2", "thread"), ("c5", None, "none"), ("c6", "老周", "thread")]


@pytest.mark.parametrize("bad, reason", [
    ({"time": START.isoformat(), "author": "a", "text": "你好"}, "missing or empty `id`"),
    ({"id": "x", "time": "2025-06-03T19:00:00", "author": "a", "text": "你好"}, "has no UTC offset"),
    ({"id": "x", "time": START.isoformat(), "author": "a", "text": "  "}, "missing or empty `text`"),
    ({"id": "x", "time": START.isoformat(), "author": "a", "text": "\ud800"}, "lone surrogate"),
    ({"id": "x", "time": START.isoformat(), "author": "a\udc00", "text": "你好"}, "`author` is not valid Unicode"),
    ({"id": "x", "time": START.isoformat(), "author": "a", "text": "你好", "target_attributes": ["teen"]},
     "`target_attributes` must list some of"),
    (["not", "an", "object"], "expected a JSON object"),
])
def test_a_malformed_event_is_rejected_with_its_reason_and_the_others_go_on(scored, tmp_path, bad, reason):
    _, classifier, _, clean = scored
    monitor = Monitor.open(classifier, tmp_path / "r.db", MonitorConfig())
    result = monitor.process([event(1, 0, "a", clean[0]), bad, event(2, 1, "b", clean[1])], [7, 8, 9], "feed.jsonl")
    assert result.accepted == ["c1", "c2"] and [r["line"] for r in result.rejected] == [8]
    [(source, line, stored)] = monitor.store.query("SELECT source, line, reason FROM rejects")
    assert (source, line) == ("feed.jsonl", 8) and reason in stored


def test_the_monitor_runs_without_torch(scored, tmp_path):
    artifact, _, _, clean = scored
    code = ("import sys; sys.modules['torch'] = sys.modules['transformers'] = None\n"
            f"from cvguard.cli import main; main(['monitor', {str(artifact)!r}, '--db', {str(tmp_path / 'm.db')!r}])")
    line = json.dumps(event(1, 0, "a", f"{clean[0]} 他电话158****3307", target="小吴"), ensure_ascii=False)
    done = subprocess.run([sys.executable, "-c", code], input=line + "\n", capture_output=True, text=True, cwd=REPO,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert [(a["target"], a["rule"]) for a in map(json.loads, done.stdout.splitlines())] == [("小吴", "instant")]


def test_migrations_are_recorded_applied_once_and_a_newer_schema_is_refused(tmp_path):
    from cvguard.monitor.store import SCHEMA_VERSION

    db = tmp_path / "s.db"
    open_store(db).close()
    open_store(db).close()  # a second open applies nothing twice
    assert [v for v, in rows(db, "SELECT version FROM schema_migrations")] == [SCHEMA_VERSION]
    with sqlite3.connect(db) as connection:
        connection.execute("INSERT INTO schema_migrations VALUES (99, 'later')")
    with pytest.raises(ValueError, match="schema version 99 is newer than this cvguard"):
        open_store(db)
    done = cli("alerts", "--db", str(db), check=False)
    assert done.returncode == 1 and done.stderr.count("\n") == 1 and "upgrade cvguard" in done.stderr


def test_the_shipped_rules_file_is_the_built_in_default_and_a_bad_key_is_one_line(tmp_path, scored):
    assert load_monitor_config(REPO / "configs/monitor.yaml") == MonitorConfig()
    bad = tmp_path / "rules.yaml"
    bad.write_text("rules:\n  pile_on: {min_violnt: 3}\n", encoding="utf-8")
    done = cli("monitor", str(scored[0]), "--db", str(tmp_path / "m.db"), "--rules", str(bad), check=False)
    assert done.returncode == 1 and done.stderr.count("\n") == 1
    assert f"{bad}.rules.pile_on: unknown key(s) ['min_violnt']" in done.stderr


def test_the_shipped_rules_alert_every_labelled_pile_on_of_the_evaluation_incidents(tmp_path):
    from benchmarks.early_warning import FixedScores, measure, replay

    rows = sorted((r for r in read_jsonl(REPO / "data/threads/threads.jsonl") if r["split"] == "eval"),
                  key=lambda r: (datetime.fromisoformat(r["time"]).timestamp(), r["id"]))
    artifact = {"id": "corpus-labels", "variant": None, "sha256": None, "thresholds": {}}
    figures = measure(rows, replay(rows, FixedScores.from_labels(rows), MonitorConfig(), tmp_path, artifact))
    assert figures["pile_ons"] >= 40 and figures["recall"] == 1.0  # docs/benchmarks.md: 47 of 47
    assert figures["benign_alerted"] <= figures["benign"] // 10
