"""The Arrow copy of each split: same rows as the JSONL, rebuilt when the JSONL changes, tokens cached by map."""

import numpy as np

from cvguard.cli import main as cli
from cvguard.config import save_config
from cvguard.contracts import SPLITS, RunDir
from cvguard.data.arrow import arrow_split, label_array
from cvguard.taxonomy import label_matrix, load_taxonomy
from cvguard.training.batching import encode_texts, tokenize_split

LABELS = list(load_taxonomy().labels)


def test_data_stage_writes_arrow_splits_matching_the_jsonl(tiny_config, tmp_path):
    save_config(tiny_config, tmp_path / "c.yaml")
    cli(["data", str(tmp_path / "c.yaml")])
    run = RunDir(tiny_config.run_path)
    for split in SPLITS:
        rows, ds = run.read_split(split), arrow_split(run, split, LABELS)
        assert ds.column_names == ["text", "labels", "source"]
        assert list(ds["text"]) == [r["text"] for r in rows] and list(ds["source"]) == [r["source"] for r in rows]
        np.testing.assert_array_equal(label_array(ds), label_matrix(rows, LABELS))  # UNKNOWN kept as -1


def test_an_edited_jsonl_is_never_read_through_a_stale_arrow_copy(tiny_config, tmp_path):
    save_config(tiny_config, tmp_path / "c.yaml")
    cli(["data", str(tmp_path / "c.yaml")])
    run = RunDir(tiny_config.run_path)
    lines = run.split("train").read_text(encoding="utf-8").splitlines(keepends=True)
    run.split("train").write_text("".join(lines[:5]), encoding="utf-8")
    assert len(arrow_split(run, "train", LABELS)) == 5


def test_tokens_match_encode_texts_and_are_read_from_the_cache_the_second_time(tiny_config, tmp_path):
    from transformers import AutoTokenizer

    save_config(tiny_config, tmp_path / "c.yaml")
    cli(["data", str(tmp_path / "c.yaml")])
    run = RunDir(tiny_config.run_path)
    ds = arrow_split(run, "train", LABELS)
    tokenizer = AutoTokenizer.from_pretrained(tiny_config.model.model_name_or_path)
    cache = run.token_cache("train", "k")
    tokens = tokenize_split(ds, tokenizer, 16, True, cache)
    expected = encode_texts(tokenizer, list(ds["text"]), 16, normalize=True)
    assert [list(x) for x in tokens["input_ids"]] == expected
    assert list(tokens["length"]) == [len(x) for x in expected]
    written = cache.stat().st_mtime_ns
    again = tokenize_split(ds, tokenizer, 16, True, cache)
    assert cache.stat().st_mtime_ns == written and again.cache_files[0]["filename"] == str(cache)
