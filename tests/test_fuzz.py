"""Property-based tests: random Unicode and random bytes at the runtime, the input readers and the data
adapters. Nothing may crash with anything but the module's own input error, and every valid text is scored
as it would be alone."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cvguard.export.options import InvalidTexts
from cvguard.io import InputError, decode_lines, read_csv

UNICODE = st.text(st.characters(codec=None, exclude_categories=()), max_size=80)  # surrogates and controls too
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def classifier(tmp_path_factory, tiny_model_dir):
    from conftest import make_run

    from cvguard.contracts import RunDir
    from cvguard.export.onnx_export import export
    from cvguard.export.runtime import Classifier

    config = make_run(tmp_path_factory.mktemp("run"), tiny_model_dir, max_length=16,
                      overrides=["export.fp16=false"])
    export(config)
    return Classifier.load(RunDir(config.run_path).artifact)  # the static int8 variant: batch-independent too


@FUZZ
@given(texts=st.lists(st.one_of(UNICODE, st.sampled_from(["你这个废物赶紧滚", "好的", "\ud83d"])), max_size=6))
def test_runtime_scores_each_valid_text_as_if_alone_and_rejects_the_rest_by_index(classifier, texts):
    valid = []
    for text in texts:
        try:
            classifier.predict_proba([text])
            valid.append(text)
        except InvalidTexts as e:  # the only error allowed, and it names the text
            assert e.index == 0
    if valid:
        together = classifier.predict_proba(valid, batch_size=4, sort_by_length=False)
        alone = [classifier.predict_proba([t])[0] for t in valid]
        assert abs(together - alone).max() <= 1e-4


@FUZZ
@given(lines=st.lists(st.one_of(st.binary(max_size=40), UNICODE.map(lambda t: t.encode("utf-8", "surrogatepass"))),
                      max_size=8))
def test_line_decoding_keeps_every_good_line_whatever_bytes_surround_it(lines):
    data = b"\n".join(line.replace(b"\n", b"") for line in lines)
    decoded = {line_no: (text, problem) for line_no, text, problem in decode_lines("stdin", data)}
    for line_no, raw in enumerate(data.split(b"\n"), 1):
        raw = raw[3:] if line_no == 1 and raw.startswith(b"\xef\xbb\xbf") else raw
        try:
            expected = raw.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError:
            assert decoded[line_no][0] is None and "not valid UTF-8" in decoded[line_no][1]
            continue
        assert decoded.get(line_no, (None, None))[0] == (expected if expected.strip() else None)


@FUZZ
@given(text=st.text(st.sampled_from('ab,"\n好 '), max_size=60))
def test_csv_reader_returns_rows_or_names_the_line(text):
    try:
        rows = read_csv("x.csv", "id,text\n" + text)
    except InputError as e:
        assert e.path == "x.csv" and (e.line is None or e.line >= 1)
        return
    assert all(set(row) == {"id", "text"} for _, row in rows)


@FUZZ
@given(texts=st.lists(UNICODE, min_size=1, max_size=5), labels=st.sampled_from([0, 1, None, True, 1.0, "1"]))
def test_seed_adapter_reads_rows_or_names_file_and_line(tmp_path_factory, texts, labels):
    from cvguard.data.sources import DataError, read_seed
    from cvguard.taxonomy import load_taxonomy

    folder = tmp_path_factory.mktemp("seed")
    names = load_taxonomy().labels
    rows = [{"text": t, "labels": {n: labels for n in names}, "groups": []} for t in texts]
    (folder / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    (folder / "test.jsonl").write_text("", encoding="utf-8")
    try:
        examples = read_seed(folder)
    except (DataError, InputError, ValueError) as e:
        assert "train.jsonl" in str(e)
        return
    assert all(ex["text"].strip() for ex in examples)
