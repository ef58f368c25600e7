"""The deployable runtime: torch-free, checksummed, and clear about bad input."""

import json
import re
import subprocess
import sys

import numpy as np
import pytest
from conftest import SAFE_TEXTS, VIOLENT_TEXTS, make_run

from cvguard.contracts import ARTIFACT_LABELS, RunDir
from cvguard.export.runtime import Classifier


@pytest.fixture(scope="module")
def artifact(tmp_path_factory, tiny_model_dir):
    from cvguard.export.onnx_export import export
    config = make_run(tmp_path_factory.mktemp("run"), tiny_model_dir, max_length=16, overrides=["export.fp16=false"])
    export(config)
    return RunDir(config.run_path).artifact


def test_runtime_imports_no_torch_or_transformers(artifact):
    code = f"""
import sys
sys.modules["torch"] = None  # any import of torch now fails loudly
sys.modules["transformers"] = None
from cvguard.export.runtime import Classifier
out = Classifier.load({str(artifact)!r}).predict(["你好", "你这个废物"])
assert len(out) == 2 and "violent" in out[0]["probs"]
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_runtime_flags_labels_over_their_thresholds(artifact):
    classifier = Classifier.load(artifact, variant="fp32")
    for result in classifier.predict(["你好", "你这个废物", "滚"]):
        expected = [name for name in classifier.labels if result["probs"][name] >= classifier.manifest.thresholds[name]]
        assert result["labels"] == expected


def test_batch_size_and_order_do_not_change_probabilities(artifact):
    classifier = Classifier.load(artifact, variant="fp32")
    texts = ["你好", "你这个废物赶紧滚出去吧", "滚", "今天天气很好我们去公园"]
    one = classifier.predict_proba(texts, batch_size=1)
    four = classifier.predict_proba(texts, batch_size=4)
    assert abs(one - four).max() < 1e-5


@pytest.mark.parametrize("bad, error, message", [
    (["好", ""], ValueError, r"texts\[1\] is empty"),
    (["好", None], TypeError, r"texts\[1\] is NoneType"),
    ("一句话", TypeError, "list of strings"),
])
def test_bad_input_gets_a_clear_error(artifact, bad, error, message):
    with pytest.raises(error, match=message):
        Classifier.load(artifact).predict(bad)


def test_over_long_text_is_scored_not_a_crash(artifact):
    for mode in ("window", "truncate"):
        result = Classifier.load(artifact, long_texts=mode).predict(["你" * 5000])
        assert 0.0 <= result[0]["probs"]["violent"] <= 1.0


def test_long_text_probability_is_the_max_over_its_windows(artifact):
    """Every fixture character is one token, so windows over tokens are windows over characters: 30
    characters, max_length 16 = [CLS] + 14 + [SEP], stride 7 -> windows start at 0, 7, 14 and 16.
    fp32, because dynamic int8 scales activations per batch, so its scores move with the batch mates."""
    text = "".join(VIOLENT_TEXTS + SAFE_TEXTS)[:30]
    truncating = Classifier.load(artifact, variant="fp32", long_texts="truncate")
    windows = truncating.predict_proba([text[s:s + 14] for s in (0, 7, 14, 16)])
    windowed = Classifier.load(artifact, variant="fp32")  # the manifest says window
    assert windowed.long_texts == "window" and windowed.window_stride == 7
    np.testing.assert_allclose(windowed.predict_proba([text, "你好"])[0], windows.max(axis=0), atol=1e-6)
    np.testing.assert_allclose(truncating.predict_proba([text])[0], windows[0], atol=1e-6)
    assert not np.allclose(windows.max(axis=0), windows[0])  # the later windows matter for this text


def test_io_binding_and_thread_settings_give_the_same_probabilities(artifact):
    texts = ["你好", "你这个废物赶紧滚出去吧", "滚"]
    plain = Classifier.load(artifact).predict_proba(texts)
    bound = Classifier.load(artifact, io_binding=True, intra_op_threads=1, inter_op_threads=1)
    assert bound.session.get_session_options().intra_op_num_threads == 1
    np.testing.assert_allclose(bound.predict_proba(texts), plain, atol=1e-6)


def test_corrupt_model_file_is_refused(artifact, tmp_path):
    import shutil

    copy = tmp_path / "artifact"
    shutil.copytree(artifact, copy)
    with open(copy / "model.int8.onnx", "ab") as f:
        f.write(b"tampered")
    with pytest.raises(ValueError, match="sha256 does not match"):
        Classifier.load(copy)


@pytest.mark.parametrize("damage", ["scrambled-tokenizer", "missing-tokenizer", "path-outside", "scrambled-labels"])
def test_every_file_the_manifest_lists_is_verified_before_use(artifact, tmp_path, damage):
    """Before: only the selected model file was checked; a scrambled tokenizer.json loaded silently and changed
    predictions, and a manifest entry like ../../etc/passwd was followed."""
    import shutil

    from cvguard.contracts import ARTIFACT_TOKENIZER, Manifest
    from cvguard.export.runtime import ArtifactError

    copy = tmp_path / "artifact"
    shutil.copytree(artifact, copy)
    tokenizer = copy / ARTIFACT_TOKENIZER
    if damage == "scrambled-tokenizer":
        tokenizer.write_text(tokenizer.read_text().replace('"你"', '"您"'))
        expected = f"{tokenizer}: sha256 does not match"
    elif damage == "missing-tokenizer":
        tokenizer.unlink()
        expected = f"{tokenizer}: listed in the manifest but missing"
    elif damage == "scrambled-labels":
        (copy / ARTIFACT_LABELS).write_text('["insult", "violent"]')
        expected = "labels.json: sha256 does not match"
    else:
        manifest = Manifest.read(copy)
        manifest.variants["int8"].file = "../../../../etc/passwd"
        manifest.write(copy)
        expected = "outside the artifact folder"
    with pytest.raises(ArtifactError, match=re.escape(expected)):
        Classifier.load(copy)


def test_unknown_device_and_missing_manifest_are_reported(artifact, tmp_path):
    with pytest.raises(ValueError, match="device must be"):
        Classifier.load(artifact, device="tpu")
    with pytest.raises(FileNotFoundError, match="manifest.json not found"):
        Classifier.load(tmp_path)
    assert json.loads((artifact / ARTIFACT_LABELS).read_text())[0] == "violent"
