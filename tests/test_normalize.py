"""Normalisation: what it undoes, what it keeps, and that training and the runtime share it exactly."""

import subprocess
import sys

import numpy as np
import pytest

from cvguard.contracts import Manifest, RunDir
from cvguard.normalize import normalize_text

TRICKY = ["你这个废*物", "你这个废.物", "滚 出 去", "你\u200b这个\u200d废物", "這個廢物滾", "ＳＢ，滚出去！",
          "你_-_这个废物", "把他的电话…挂出来", "你这个废物😂😂", "再发我就去你家找你。。。", "Ｈｅｌｌｏ 废物"]


@pytest.mark.parametrize("raw, expected", [
    ("傻*逼", "傻逼"), ("傻.逼", "傻逼"), ("傻 逼", "傻逼"), ("傻_-_逼", "傻逼"), ("你*是*傻*逼", "你是傻逼"),
    ("傻\u200b逼", "傻逼"), ("傻\u200d逼", "傻逼"), ("傻\ufeff逼\u00ad", "傻逼"),  # zero-width, BOM, soft hyphen
    ("ＳＢ！", "sb!"), ("①号", "1号"), ("𝐬𝐛", "sb"),  # full-width and look-alike forms
    ("這個賤人", "这个贱人"),  # traditional -> simplified
    ("You ARE 废物", "you are 废物"), ("  多个   空格 ", "多个空格"),
])
def test_normalize_undoes_inserted_symbols_invisible_characters_full_width_and_traditional(raw, expected):
    assert normalize_text(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("你好，世界。", "你好,世界。"), ("真的吗？不是吧！", "真的吗?不是吧!"), ("北京、上海：很好；", "北京、上海:很好;"),
    ("我...你", "我...你"), ("我…你", "我...你"),  # an ellipsis is not filler
    ("😂😂太好笑了", "😂😂太好笑了"), ("👨\u200d👩\u200d👧 一家人", "👨\u200d👩\u200d👧 一家人"),  # emoji and their joiners
    ("this is fine", "this is fine"),
])
def test_normalize_keeps_sentence_punctuation_in_half_width_and_emoji_and_ellipsis(raw, expected):
    assert normalize_text(raw) == expected


def test_normalize_is_idempotent():
    for text in TRICKY + ["傻    逼", "傻 * . 逼", "ＡＢＣ 傻逼"]:
        once = normalize_text(text)
        assert normalize_text(once) == once, text


@pytest.fixture(scope="module")
def normalizing_run(tmp_path_factory, tiny_model_dir):
    """A model saved with model.normalize=true and exported, the way `cvguard train` + `export` leave it."""
    from conftest import make_run  # a run folder whose tokenizer knows the fixture characters

    from cvguard.export.onnx_export import export

    config = make_run(tmp_path_factory.mktemp("normalizing-run"), tiny_model_dir, max_length=16,
                      overrides=["model.normalize=true", "export.fp16=false", "export.quantize=false", "export.optimize=false"])
    export(config)
    return RunDir(config.run_path)


def test_training_side_and_runtime_score_tricky_strings_identically(normalizing_run):
    from cvguard.export.runtime import Classifier
    from cvguard.training.batching import predict_probs
    from cvguard.training.model import load_model

    model, tokenizer, settings = load_model(normalizing_run.model)
    assert settings.normalize is True
    assert Manifest.read(normalizing_run.artifact).normalize is True

    runtime = Classifier.load(normalizing_run.artifact, variant="fp32")
    torch_side = predict_probs(model, tokenizer, TRICKY)
    np.testing.assert_allclose(runtime.predict_proba(TRICKY), torch_side, atol=1e-5)
    # Both sides really normalised: scoring the normalised strings gives the same numbers ...
    normalised = [normalize_text(t) for t in TRICKY]
    np.testing.assert_array_equal(runtime.predict_proba(TRICKY), runtime.predict_proba(normalised))
    # ... and without normalisation the model would have seen different input.
    model.config.cvguard["normalize"] = False
    assert np.abs(predict_probs(model, tokenizer, TRICKY) - torch_side).max() > 1e-4


def test_runtime_normalises_with_the_base_install_only(normalizing_run):
    code = f"""
import sys
sys.modules["torch"] = None
sys.modules["transformers"] = None
from cvguard.export.runtime import Classifier
clf = Classifier.load({str(normalizing_run.artifact)!r}, variant="fp32")
a, b = clf.predict_proba(["這個廢*物"]), clf.predict_proba(["这个废物"])
assert abs(a - b).max() == 0, (a, b)
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
