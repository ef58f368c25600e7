"""`cvguard score`: a backlog scored into Parquet fragments, with a status per row, resumable after SIGKILL."""

import hashlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import SAFE_TEXTS, VIOLENT_TEXTS, make_run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cvguard.cli import main
from cvguard.contracts import RunDir
from cvguard.export.options import TextLimits, TextStatus, text_problem, usable_cores
from cvguard.export.runtime import Classifier

REPO = Path(__file__).resolve().parents[1]
TEXTS = VIOLENT_TEXTS + SAFE_TEXTS


@pytest.fixture(scope="module")
def artifact(tmp_path_factory, tiny_model_dir) -> Path:
    from cvguard.export.onnx_export import export

    config = make_run(tmp_path_factory.mktemp("run"), tiny_model_dir, max_length=16, overrides=["export.fp16=false"])
    export(config)
    return RunDir(config.run_path).artifact


def backlog(n: int) -> pa.Table:
    return pa.table({"id": [f"c{i}" for i in range(n)], "text": [f"{TEXTS[i % len(TEXTS)]}{i}" for i in range(n)],
                     "user": [i % 7 for i in range(n)]})


def read_output(folder: Path) -> pa.Table:
    return pq.read_table(folder).sort_by("id")  # pyarrow skips _done/, _job.json and _summary.json


def test_every_row_is_scored_once_with_the_output_schema_and_the_runtimes_probabilities(artifact, tmp_path, capsys):
    table = backlog(250)
    pq.write_table(table.slice(0, 130), tmp_path / "a.parquet", row_group_size=40)
    pq.write_table(table.slice(130), tmp_path / "b.parquet")
    main(["score", str(artifact), str(tmp_path / "*.parquet"), str(tmp_path / "out"), "--keep", "user",
          "--fragment-rows", "50", "--workers", "1"])
    summary = json.loads(capsys.readouterr().out)
    assert summary["rows"] == 250 and summary["by_status"] == {"ok": 250} and summary["failed_files"] == {}
    assert summary["fragments_written"] == 3 + 3  # 130 rows = 50 + 50 + 30, 120 rows = 50 + 50 + 20
    out = read_output(tmp_path / "out")
    clf = Classifier.load(artifact)
    assert out.column_names == ["id", "user", "status", *[f"p_{label}" for label in clf.labels], "labels",
                                "artifact_sha256"]
    assert out.schema.field("p_violent").type == pa.float32() and out.schema.field("user").type == pa.int64()
    assert out.column("id").to_pylist() == sorted(table.column("id").to_pylist())
    expected = table.sort_by("id")
    probs = clf.predict_proba(expected.column("text").to_pylist())
    got = np.column_stack([out.column(f"p_{label}").to_numpy() for label in clf.labels])
    np.testing.assert_allclose(got, probs, atol=1e-6)
    flagged = [[name for name, p, t in zip(clf.labels, row, clf.thresholds) if p >= t] for row in got]
    assert out.column("labels").to_pylist() == flagged
    manifest_sha = hashlib.sha256((artifact / "manifest.json").read_bytes()).hexdigest()
    assert set(out.column("artifact_sha256").to_pylist()) == {manifest_sha}
    assert out.column("user").to_pylist() == expected.column("user").to_pylist()


def test_every_format_is_read_in_fragments_of_exactly_fragment_rows(tmp_path):
    """What bounds memory: however the file is laid out (row groups, lines), no fragment holds more rows."""
    from cvguard.export.options import ScoreOptions
    from cvguard.export.score import read_fragments

    rows = backlog(130).to_pylist()
    pq.write_table(backlog(130), tmp_path / "in.parquet", row_group_size=45)
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    (tmp_path / "in.csv").write_text("id,text,user\n" + "".join(f"{r['id']},{r['text']},{r['user']}\n" for r in rows),
                                     encoding="utf-8")
    for name in ("in.parquet", "in.jsonl", "in.csv"):
        fragments = list(read_fragments(tmp_path / name, ScoreOptions(fragment_rows=50, keep=("user",))))
        assert [f.num_rows for f in fragments] == [50, 50, 30], name
        assert pa.concat_tables(fragments).column("id").to_pylist() == [r["id"] for r in rows]


def test_bad_rows_get_a_status_and_no_scores_and_every_other_row_is_scored(artifact, tmp_path, capsys):
    good = [json.dumps({"id": f"g{i}", "text": TEXTS[i]}, ensure_ascii=False).encode() for i in range(4)]
    bad = [json.dumps({"id": "null", "text": None}).encode(), json.dumps({"id": "missing"}).encode(),
           json.dumps({"id": "empty", "text": ""}).encode(), json.dumps({"id": "blank", "text": " \t "}).encode(),
           json.dumps({"id": "number", "text": 42}).encode(), json.dumps({"id": "long", "text": "长" * 60}).encode(),
           json.dumps({"id": "surrogate", "text": "\ud800好"}).encode(),
           b'{"id": "bytes", "text": "\xff\xfe"}', b'{"id": "broken", "text": ']
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "rows.jsonl").write_bytes(b"\n".join(good[:2] + bad + good[2:]) + b"\n\n")
    (tmp_path / "in" / "rows.csv").write_bytes("id,text\ncsv1,你好\ncsv2,".encode() + b"\xc3(\n"
                                               + "csv3,a,b\ncsv4,今天天气很好\ncsv5,\n".encode())
    pq.write_table(pa.table({"id": ["pq1", "pq2", "pq3"], "text": ["祝你生日快乐", None, "  "]}), tmp_path / "in" / "p.parquet")
    main(["score", str(artifact), str(tmp_path / "in"), str(tmp_path / "out"), "--max-chars", "50"])
    summary = json.loads(capsys.readouterr().out)
    out = read_output(tmp_path / "out").to_pylist()
    status = {row["id"]: row["status"] for row in out if row["id"] is not None}
    assert status == {"g0": "ok", "g1": "ok", "g2": "ok", "g3": "ok", "null": "null", "missing": "null",
                      "empty": "empty", "blank": "empty", "number": "not_string", "long": "too_long",
                      "surrogate": "invalid_unicode", "csv1": "ok", "csv2": "invalid_utf8", "csv3": "bad_csv_row",
                      "csv4": "ok", "csv5": "empty", "pq1": "ok", "pq2": "null", "pq3": "empty"}
    # Lines that are not UTF-8 or not JSON have no id to give; they are still rows, with their status.
    assert sorted(row["status"] for row in out if row["id"] is None) == ["invalid_json", "invalid_utf8"]
    for row in out:
        scored = row["status"] == "ok"
        assert (row["p_violent"] is not None) == scored and (row["labels"] is not None) == scored
    assert summary["rows"] == 21 and summary["by_status"]["ok"] == 7 and summary["by_status"]["empty"] == 4


def test_an_unreadable_file_is_named_and_the_others_are_scored_then_the_job_fails(artifact, tmp_path, capsys):
    (tmp_path / "in").mkdir()
    pq.write_table(backlog(30), tmp_path / "in" / "good.parquet")
    (tmp_path / "in" / "corrupt.parquet").write_bytes(b"PAR1 this is not a parquet file")
    (tmp_path / "in" / "columns.csv").write_text("id,body\n1,你好\n", encoding="utf-8")
    (tmp_path / "in" / "quote.csv").write_text('id,text\n1,"你好\n2,再见\n', encoding="utf-8")
    with pytest.raises(SystemExit) as exit_:
        main(["score", str(artifact), str(tmp_path / "in"), str(tmp_path / "out")])
    assert exit_.value.code == 1
    captured = capsys.readouterr()
    last = captured.err.strip().splitlines()[-1]
    assert last.startswith("cvguard score: error: 3 of 4 input files could not be read")
    for name in ("corrupt.parquet", "columns.csv", "quote.csv"):
        assert f"cannot read {tmp_path / 'in' / name}" in captured.err and name in last
    assert "missing column(s) ['text']" in last
    assert json.loads(captured.out)["by_status"] == {"ok": 30}
    assert read_output(tmp_path / "out").num_rows == 30


def test_runtime_predict_skip_invalid_marks_bad_texts_and_scores_the_rest_as_alone(artifact):
    clf = Classifier.load(artifact)
    texts = [TEXTS[0], None, "", TEXTS[1], 7, "x" * 30]
    results = clf.predict(texts, skip_invalid=True, limits=TextLimits(max_chars=20))
    assert [r["status"] for r in results] == ["ok", "null", "empty", "ok", "not_string", "too_long"]
    assert results[4]["error"] == "is int, expected a string" and "probs" not in results[1]
    alone = clf.predict([TEXTS[0], TEXTS[1]])
    assert [r["probs"] for r in results if r["status"] == "ok"] == [r["probs"] for r in alone]
    with pytest.raises(ValueError, match=r"texts\[1\]"):
        clf.predict(texts)  # the default still refuses the whole call


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.one_of(st.text(st.characters(codec=None, exclude_categories=()), max_size=30), st.none(),
                                st.integers(), st.sampled_from(TEXTS)), max_size=8))
def test_skip_invalid_scores_every_valid_text_as_alone_and_marks_the_rest(artifact, texts):
    clf = Classifier.load(artifact)
    results = clf.predict(texts, skip_invalid=True)
    assert len(results) == len(texts)
    for text, result in zip(texts, results):
        problem = text_problem(text)
        assert result["status"] == (TextStatus.OK if problem is None else problem[0]).value
        if problem is None:
            assert result["probs"] == clf.predict([text])[0]["probs"]
        else:
            assert "probs" not in result and result["error"] == problem[1]


def test_two_worker_processes_write_the_same_output_as_one(artifact, tmp_path, capsys):
    pq.write_table(backlog(400), tmp_path / "in.parquet")
    for workers in ("1", "2"):
        main(["score", str(artifact), str(tmp_path / "in.parquet"), str(tmp_path / f"out{workers}"),
              "--fragment-rows", "60", "--workers", workers])
    assert read_output(tmp_path / "out1").equals(read_output(tmp_path / "out2"))
    parts = [p.name for p in (tmp_path / "out2").iterdir() if not p.name.startswith((".", "_"))]
    assert len(parts) == 7 and all(name.endswith(".parquet") for name in parts)  # 400 rows / 60, one file each


def test_the_default_layout_follows_the_work_and_given_flags_are_kept(artifact, tmp_path, capsys):
    """One fragment: one worker with every core's threads (workers x 1 thread would leave cores idle); a
    fragment per core or more: a worker per core, of one thread. --workers/--threads as given. Same rows."""
    cores = usable_cores()
    n = 20 * cores
    pq.write_table(backlog(n), tmp_path / "in.parquet")
    runs = {"one": ["--fragment-rows", str(n)], "many": ["--fragment-rows", "10"],
            "given": ["--fragment-rows", str(n), "--workers", "2", "--threads", "1"]}
    layouts = {}
    for name, flags in runs.items():
        main(["score", str(artifact), str(tmp_path / "in.parquet"), str(tmp_path / name), *flags])
        summary = json.loads(capsys.readouterr().out)
        layouts[name] = (summary["workers"], summary["threads"])
    assert layouts == {"one": (1, cores), "many": (cores, 1), "given": (2, 1)}
    assert read_output(tmp_path / "one").equals(read_output(tmp_path / "many"))
    assert read_output(tmp_path / "one").equals(read_output(tmp_path / "given"))


def test_a_backlog_folder_that_grows_keeps_the_finished_files_and_adds_the_new_one(artifact, tmp_path, capsys):
    (tmp_path / "in" / "2026" / "11").mkdir(parents=True)
    table = backlog(60)
    pq.write_table(table.slice(0, 40), tmp_path / "in" / "2026" / "11" / "part.parquet")
    command = ["score", str(artifact), str(tmp_path / "in"), str(tmp_path / "out")]
    main(command)
    pq.write_table(table.slice(40), tmp_path / "in" / "part.parquet")  # same name, another folder
    main(command)
    second = json.loads((tmp_path / "out" / "_summary.json").read_text())
    assert (second["fragments_skipped"], second["fragments_written"], second["rows"]) == (1, 1, 60)
    assert read_output(tmp_path / "out").column("id").to_pylist() == sorted(table.column("id").to_pylist())


def test_a_rerun_with_other_settings_is_refused(artifact, tmp_path, capsys):
    pq.write_table(backlog(20), tmp_path / "in.parquet")
    command = ["score", str(artifact), str(tmp_path / "in.parquet"), str(tmp_path / "out")]
    main(command)
    main(command)  # the same settings: nothing left to do
    assert json.loads((tmp_path / "out" / "_summary.json").read_text())["fragments_skipped"] == 1
    with pytest.raises(SystemExit):
        main([*command, "--fragment-rows", "7"])
    assert "other settings (fragment_rows)" in capsys.readouterr().err


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigkill_then_the_same_command_gives_exactly_the_uninterrupted_output(artifact, tmp_path, workers):
    """A real job, killed with SIGKILL once some fragments are done, then rerun: every id once, and every row
    the same as an uninterrupted run's. With worker processes, only the job's own process is killed (as the
    OOM killer or `kill -9 PID` would): its workers must die with it."""
    import psutil

    n, fragment = 6000, 100
    pq.write_table(backlog(n), tmp_path / "in.parquet", row_group_size=700)
    command = [sys.executable, "-m", "cvguard.cli", "score", str(artifact), str(tmp_path / "in.parquet"),
               str(tmp_path / "killed"), "--fragment-rows", str(fragment), "--workers", workers]
    job = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    done = tmp_path / "killed" / "_done"
    deadline = time.monotonic() + 120
    while len(list(done.glob("*.json"))) < 3 and job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    children = psutil.Process(job.pid).children(recursive=True)
    job.send_signal(signal.SIGKILL)
    job.wait()
    finished_before = len(list(done.glob("*.json")))
    assert (workers == "1") == (not children)
    _, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, f"workers left running after the job was killed: {alive}"
    assert job.returncode == -signal.SIGKILL and finished_before < n // fragment, job.stderr.read().decode()
    rerun = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads(rerun.stdout)
    assert summary["fragments_skipped"] >= finished_before and summary["rows"] == n
    assert summary["fragments_skipped"] + summary["fragments_written"] == n // fragment
    main(["score", str(artifact), str(tmp_path / "in.parquet"), str(tmp_path / "whole"), "--fragment-rows",
          str(fragment), "--workers", "1"])
    resumed, whole = read_output(tmp_path / "killed"), read_output(tmp_path / "whole")
    ids = resumed.column("id").to_pylist()
    assert len(ids) == len(set(ids)) == n
    assert resumed.equals(whole)
    assert not list((tmp_path / "killed").rglob(".*.tmp"))


def test_a_second_job_on_an_output_folder_in_use_is_refused(artifact, tmp_path, capsys):
    import fcntl

    pq.write_table(backlog(10), tmp_path / "in.parquet")
    (tmp_path / "out").mkdir()
    with open(tmp_path / "out" / ".lock", "w") as running_job:
        fcntl.flock(running_job, fcntl.LOCK_EX)
        with pytest.raises(SystemExit):
            main(["score", str(artifact), str(tmp_path / "in.parquet"), str(tmp_path / "out")])
    assert "another cvguard score job is writing here" in capsys.readouterr().err
    assert not list((tmp_path / "out").glob("*.parquet"))


def test_the_local_engine_needs_no_torch_transformers_or_ray(artifact, tmp_path):
    pq.write_table(backlog(50), tmp_path / "in.parquet")
    code = f"""
import sys
for name in ("torch", "transformers", "ray", "datasets"):
    sys.modules[name] = None  # any import of them now fails loudly (in this process: one worker, in-process)
from cvguard.cli import main
main(["score", {str(artifact)!r}, {str(tmp_path / "in.parquet")!r}, {str(tmp_path / "out")!r}, "--workers", "1"])
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["by_status"] == {"ok": 50}
