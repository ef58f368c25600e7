"""Checks on the committed authored seed corpus in data/seed/.

Run: python3 -m pytest -q tests/test_seed_corpus.py
Only the standard library, pytest and pyyaml are used.
"""
from __future__ import annotations

import importlib.util
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "data" / "seed"
TAXONOMY = ROOT / "configs" / "taxonomy.yaml"

REQUIRED_KEYS = {"id", "text", "labels", "groups", "register", "theme", "kind", "hard_negative_for"}
REGISTERS = {"weibo", "tieba", "douyin", "group_chat", "long_post", "short_reply", "news"}
KINDS = {"positive", "hard_negative"}
MIN_POSITIVES = 150
MIN_HARD_NEGATIVES = 150
MIN_TEST_POSITIVES = 30
MIN_LEN, MAX_LEN = 5, 150


def _taxonomy() -> dict:
    return yaml.safe_load(TAXONOMY.read_text(encoding="utf-8"))


TAX = _taxonomy()
OVERALL = TAX["overall"]["id"]
CATEGORIES = [c["id"] for c in TAX["categories"]]
GROUPS = {g["id"] for g in TAX["groups"]}


def _load(split: str) -> list[dict]:
    path = SEED / f"{split}.jsonl"
    rows = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            assert line.strip(), f"{path.name}:{n} is blank"
            rows.append(json.loads(line))
    return rows


@pytest.fixture(scope="module")
def splits() -> dict[str, list[dict]]:
    return {"train": _load("train"), "test": _load("test")}


@pytest.fixture(scope="module")
def rows(splits) -> list[dict]:
    return splits["train"] + splits["test"]


# ----------------------------------------------------------------- schema
def test_both_split_files_exist_and_are_not_empty(splits):
    assert splits["train"] and splits["test"]


def test_every_row_has_exactly_the_required_keys(rows):
    bad = [r.get("id") for r in rows if set(r) != REQUIRED_KEYS]
    assert not bad, f"rows with wrong keys: {bad[:10]}"


def test_field_types_are_correct(rows):
    for r in rows:
        assert isinstance(r["id"], str) and isinstance(r["text"], str), r
        assert isinstance(r["labels"], dict) and isinstance(r["groups"], list), r
        assert all(isinstance(g, str) for g in r["groups"]), r
        assert isinstance(r["register"], str) and isinstance(r["theme"], str), r
        assert r["hard_negative_for"] is None or isinstance(r["hard_negative_for"], str), r


def test_ids_are_unique_and_well_formed(rows):
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"seed-\d{4,}", i) for i in ids)
    assert all(re.fullmatch(r"th-\d{3,}", r["theme"]) for r in rows)


def test_label_keys_are_exactly_the_taxonomy_ids(rows):
    expected = {OVERALL, *CATEGORIES}
    bad = [r["id"] for r in rows if set(r["labels"]) != expected]
    assert not bad, f"label keys differ from configs/taxonomy.yaml: {bad[:10]}"


def test_every_label_value_is_0_or_1(rows):
    for r in rows:
        for key, value in r["labels"].items():
            # bool is a subclass of int; reject it explicitly
            assert type(value) is int and value in (0, 1), (r["id"], key, value)


def test_violent_is_1_iff_any_category_is_1(rows):
    bad = [r["id"] for r in rows
           if r["labels"][OVERALL] != int(any(r["labels"][c] for c in CATEGORIES))]
    assert not bad, f"violent inconsistent: {bad[:10]}"


def test_group_ids_exist_in_taxonomy(rows):
    unknown = Counter(g for r in rows for g in r["groups"] if g not in GROUPS)
    assert not unknown, f"unknown group ids: {dict(unknown)}"
    assert all(len(r["groups"]) == len(set(r["groups"])) for r in rows)


def test_positives_name_at_least_one_target_group(rows):
    bad = [r["id"] for r in rows if r["kind"] == "positive" and not r["groups"]]
    assert not bad, f"positives without target group: {bad[:10]}"


def test_register_values_are_allowed(rows):
    unknown = Counter(r["register"] for r in rows if r["register"] not in REGISTERS)
    assert not unknown, f"unknown registers: {dict(unknown)}"


def test_kind_and_hard_negative_for_are_consistent(rows):
    for r in rows:
        assert r["kind"] in KINDS, r["id"]
        if r["kind"] == "positive":
            assert r["hard_negative_for"] is None, r["id"]
            assert r["labels"][OVERALL] == 1, r["id"]
        else:
            assert r["hard_negative_for"] in CATEGORIES, r["id"]
            assert all(v == 0 for v in r["labels"].values()), r["id"]


def test_text_length_is_between_5_and_150_characters(rows):
    bad = [(r["id"], len(r["text"])) for r in rows
           if not MIN_LEN <= len(r["text"]) <= MAX_LEN or r["text"] != r["text"].strip()]
    assert not bad, bad[:10]


def test_rows_sharing_a_theme_share_labels_kind_and_groups(rows):
    by_theme = defaultdict(set)
    for r in rows:
        by_theme[r["theme"]].add((json.dumps(r["labels"], sort_keys=True), r["kind"],
                                  r["hard_negative_for"], tuple(r["groups"])))
    bad = [t for t, v in by_theme.items() if len(v) != 1]
    assert not bad, f"themes with mixed labels: {bad[:10]}"


# ----------------------------------------------------------------- counts
@pytest.mark.parametrize("category", CATEGORIES)
def test_every_category_has_at_least_150_positives(rows, category):
    n = sum(r["labels"][category] for r in rows)
    assert n >= MIN_POSITIVES, f"{category}: {n} positives"


@pytest.mark.parametrize("category", CATEGORIES)
def test_every_category_has_at_least_150_hard_negatives(rows, category):
    n = sum(r["hard_negative_for"] == category for r in rows)
    assert n >= MIN_HARD_NEGATIVES, f"{category}: {n} hard negatives"


@pytest.mark.parametrize("category", CATEGORIES)
def test_test_split_has_at_least_30_positives_per_category(splits, category):
    n = sum(r["labels"][category] for r in splits["test"])
    assert n >= MIN_TEST_POSITIVES, f"{category}: {n} positives in test"


def test_split_is_roughly_75_25_by_theme(splits):
    train = {r["theme"] for r in splits["train"]}
    test = {r["theme"] for r in splits["test"]}
    share = len(test) / (len(train) + len(test))
    assert 0.18 <= share <= 0.32, share


# ----------------------------------------------------------------- leakage
def test_no_exact_duplicate_texts(rows):
    dupes = [t for t, n in Counter(r["text"] for r in rows).items() if n > 1]
    assert not dupes, dupes[:10]


def test_no_text_appears_in_both_splits(splits):
    shared = {r["text"] for r in splits["train"]} & {r["text"] for r in splits["test"]}
    assert not shared, sorted(shared)[:10]


def test_no_theme_appears_in_both_splits(splits):
    shared = {r["theme"] for r in splits["train"]} & {r["theme"] for r in splits["test"]}
    assert not shared, sorted(shared)[:10]


# ----------------------------------------------------------------- privacy hygiene
def test_no_unmasked_phone_or_id_numbers(rows):
    phone = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
    id_no = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")
    bad = [r["id"] for r in rows if phone.search(r["text"]) or id_no.search(r["text"])]
    assert not bad, f"unmasked identifiers in: {bad[:10]}"


# ----------------------------------------------------------------- reproducibility
def _build_module():
    spec = importlib.util.spec_from_file_location("cvguard_build_seed", SEED / "build_seed.py")
    module = importlib.util.module_from_spec(spec)
    previous, sys.dont_write_bytecode = sys.dont_write_bytecode, True  # keep data/seed/ free of __pycache__
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = previous
    return module


def test_build_script_reproduces_the_committed_files():
    build = _build_module()
    assert build.CATEGORIES == CATEGORIES
    train, test = build.build()
    assert (SEED / "train.jsonl").read_text(encoding="utf-8") == build._dump(train)
    assert (SEED / "test.jsonl").read_text(encoding="utf-8") == build._dump(test)


def test_readme_counts_table_matches_the_data(splits):
    build = _build_module()
    readme = (SEED / "README.md").read_text(encoding="utf-8")
    table = build.counts_table(splits["train"], splits["test"])
    assert f"{build.START}\n{table}\n{build.END}" in readme
