"""The incident-thread corpus (data/threads/): counts, schema, label consistency, incident-level splits, no
evaluation text in training, and threads.jsonl rebuilt exactly from its sources."""

import json
from collections import Counter, defaultdict
from datetime import datetime

import pytest

from cvguard.contracts import THREADS
from cvguard.data.incidents import HARD_NEGATIVE_KINDS, KINDS, PLATFORMS, build_corpus, main, parse_source
from cvguard.data.sources import bundled_folder, read_threads
from cvguard.io import InputError
from cvguard.taxonomy import load_taxonomy

FOLDER = bundled_folder(THREADS)


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return [json.loads(line) for line in (FOLDER / "threads.jsonl").read_text(encoding="utf-8").splitlines()]


def test_threads_jsonl_is_rebuilt_exactly_from_the_sources(rows):
    assert build_corpus(FOLDER) == rows


def test_every_row_has_the_schema_and_consistent_labels(rows):
    tax = load_taxonomy()
    for row in rows:
        assert {"incident", "time", "author", "text", "labels", "target", "target_attributes", "kind",
                "split"} <= set(row)
        assert datetime.fromisoformat(row["time"]).tzinfo is not None
        assert set(row["labels"]) == set(tax.labels) and set(row["labels"].values()) <= {0, 1}
        assert row["labels"][tax.overall] == max(row["labels"][c] for c in tax.categories)
        assert row["kind"] in KINDS and (row["kind"] == "attack") == bool(row["labels"][tax.overall])
        assert row["platform"] in PLATFORMS and row["text"].strip() and row["author"].strip()
        assert set(row["target_attributes"]) <= {"minor", "elderly", "disabled"}


def test_counts_incidents_threads_and_evaluation_positives(rows):
    tax = load_taxonomy()
    threads = defaultdict(list)
    for row in rows:
        threads[row["incident"]].append(row)
    assert len(threads) >= 150
    assert min(len(t) for t in threads.values()) >= 40
    for thread in threads.values():
        assert thread[0]["kind"] == "opening"
        assert [r["time"] for r in thread] == sorted(r["time"] for r in thread)
    platforms = Counter(t[0]["platform"] for t in threads.values())
    assert set(platforms) == set(PLATFORMS)
    evaluation = [r for r in rows if r["split"] == "eval"]
    eval_incidents = {r["incident"] for r in evaluation}
    assert 0.28 <= len(eval_incidents) / len(threads) <= 0.4  # about a third
    for category in tax.categories:
        assert sum(r["labels"][category] for r in evaluation) >= 150, category
    positives = sum(r["labels"][tax.overall] for r in evaluation)
    assert sum(r["kind"] in HARD_NEGATIVE_KINDS for r in evaluation) >= positives
    protected = Counter(a for t in threads.values() for a in t[0]["target_attributes"])
    assert all(protected[a] >= 4 for a in ("minor", "elderly", "disabled"))


def test_splits_are_by_incident_and_no_evaluation_text_is_in_training(rows):
    split_of = defaultdict(set)
    for row in rows:
        split_of[row["incident"]].add(row["split"])
    assert all(len(splits) == 1 for splits in split_of.values())
    assert {s for splits in split_of.values() for s in splits} == {"train", "dev", "eval"}
    trained = {r["text"] for r in rows if r["split"] in ("train", "dev")}
    assert not [r["text"] for r in rows if r["split"] == "eval" and r["text"] in trained]


def test_adapter_maps_eval_incidents_to_test_and_keeps_dev_incidents(rows):
    examples = read_threads(FOLDER)
    assert len(examples) == len(rows)
    assert Counter(e["split"] for e in examples) == Counter(
        {"train": "train", "dev": "dev", "eval": "test"}[r["split"]] for r in rows)
    minors = [e for e, r in zip(examples, rows) if "minor" in r["target_attributes"]]
    assert minors and all("minors" in e["groups"] for e in minors)


@pytest.mark.parametrize("line, problem", [
    ("3 | 某人 | rant | - | 文字", "unknown kind 'rant'"),
    ("3 | 某人 | attack | - | 你是猪吧", "an attack needs at least one category"),
    ("3 | 某人 | support | insult | 加油", "a support comment carries no category"),
    ("3 | 某人 | attack | insults | 滚", "unknown label(s) ['insults']"),
    ("3 | 某人 | attack", "expected 'minutes | author | kind | labels | text'"),
    ("x | 某人 | neutral | - | 文字", "minutes 'x' must be a whole number"),
    ("3 | 某人 | attack | threat | 老东西你等着", "an attack that calls someone '老东西' is also 'insult'"),
])
def test_a_bad_source_line_is_named_with_its_line_number(tmp_path, line, problem):
    source = tmp_path / "bad.txt"
    source.write_text("=== t-x-001\nplatform: weibo\ntitle: t\ntarget: 某人\ntarget_attributes:\nsplit: train\n"
                      f"start: 2025-01-01T10:00:00+08:00\n0 | 号 | opening | - | 帖子\n{line}\n", encoding="utf-8")
    with pytest.raises(InputError) as error:
        parse_source(source)
    assert str(error.value).startswith(f"{source}, line 9: {problem}")


def test_check_command_reports_time_going_back_and_a_missing_opening(tmp_path, capsys):
    source = tmp_path / "bad.txt"
    source.write_text("=== t-x-001\nplatform: weibo\ntitle: t\ntarget: 某人\ntarget_attributes:\nsplit: train\n"
                      "start: 2025-01-01T10:00:00+08:00\n0 | 号 | opening | - | 帖子\n5 | a | neutral | - | 一\n"
                      "2 | b | neutral | - | 二\n", encoding="utf-8")
    assert main(["--check", str(source)]) == 1
    assert "line 10: minutes go back in time (2 after 5)" in capsys.readouterr().err
    source.write_text(source.read_text(encoding="utf-8").replace("| opening |", "| neutral |"), encoding="utf-8")
    assert main(["--check", str(source)]) == 1
    assert "must begin with its opening post" in capsys.readouterr().err
