"""The export stage: fused fp32, int8 and fp16 variants, each admitted only through the parity gate."""

import dataclasses
import json

import numpy as np
import pytest
from conftest import SAFE_TEXTS, VIOLENT_TEXTS, make_run

from cvguard.contracts import ARTIFACT_TOKENIZER, MANIFEST_FILE, SEED, Manifest, RunDir
from cvguard.export.onnx_export import ParityError, export, gate_failures, parity
from cvguard.export.runtime import Classifier, sha256_of


@pytest.fixture(scope="module")
def exported(tmp_path_factory, tiny_model_dir):
    config = make_run(tmp_path_factory.mktemp("run"), tiny_model_dir)
    return config, export(config)


def test_manifest_records_variants_checksums_labels_and_parity(exported):
    config, manifest = exported
    artifact = RunDir(config.run_path).artifact
    assert set(manifest.variants) == {"fp32", "int8", "fp16"}
    assert manifest.default_variant == {"cpu": "int8", "cuda": "fp16"}
    for spec in manifest.variants.values():
        assert sha256_of(artifact / spec.file) == spec.sha256
        assert spec.details["parity_vs_pytorch"]["n_texts"] == 80
        assert spec.details["parity_vs_pytorch"]["label_agreement"] >= 0.99
        assert spec.details["batch_independence"]["max_abs_prob_diff"] <= 1e-4  # every shipped variant
        assert spec.details["batch_independence"]["flag_flips"] == 0
    int8 = manifest.variants["int8"].details
    tried = [r["preset"] for r in int8["rejected_presets"]] + [int8["preset"]]
    assert tried == config.export.int8_presets[:len(tried)]  # tried in order, the first to pass kept
    assert manifest.labels[0] == "violent" and manifest.opset == 17 and manifest.max_length == 32
    assert manifest.files[ARTIFACT_TOKENIZER] == sha256_of(artifact / ARTIFACT_TOKENIZER)
    assert (manifest.long_texts, manifest.window_stride) == ("window", 15)
    assert Manifest.read(artifact) == manifest
    assert json.loads((artifact / MANIFEST_FILE).read_text())["format_version"] == 3
    assert sorted(p.name for p in artifact.iterdir()) == sorted(
        [MANIFEST_FILE, *manifest.files, "model.onnx", "model.int8.onnx", "model.fp16.onnx"])


def test_optimised_graph_is_fused_and_matches_pytorch(exported):
    from cvguard.training.batching import predict_probs
    from cvguard.training.model import load_model

    config, manifest = exported
    run = RunDir(config.run_path)
    assert manifest.build["onnxruntime_fusions"]["Attention"] == 2  # one per layer
    assert manifest.build["onnxruntime_fusions"]["SkipLayerNormalization"] == 4
    model, tokenizer, _ = load_model(run.model)
    texts = ["你好", "你这个废物赶紧滚出去吧", "今天天气很好我们去公园", "滚"]
    reference = predict_probs(model, tokenizer, texts)
    fused = Classifier.load(run.artifact, variant="fp32").predict_proba(texts)
    assert np.abs(reference - fused).max() < 1e-5


def test_fp16_variant_runs_on_cpu_close_to_fp32(exported):
    """The fp16 gate is computed on the CPU: onnxruntime has CPU kernels for every fp16 node we emit."""
    config, _ = exported
    texts = VIOLENT_TEXTS + SAFE_TEXTS
    fp32, fp16 = (Classifier.load(RunDir(config.run_path).artifact, variant=v).predict_proba(texts)
                  for v in ("fp32", "fp16"))
    assert np.abs(fp16 - fp32).max() < 0.01


def test_parity_gate_rejects_a_variant_and_keeps_the_previous_artifact(exported):
    config, _ = exported
    artifact = RunDir(config.run_path).artifact
    before = {p.name: p.read_bytes() for p in artifact.iterdir()}
    # int8 moves probabilities by far more than 1e-5 while fused fp32 stays well inside it.
    strict = dataclasses.replace(config, export=dataclasses.replace(config.export, max_prob_diff=1e-5,
                                                                    require_int8=True))
    with pytest.raises(ParityError, match="no int8 preset passed the parity gate.*max"):
        export(strict)
    assert {p.name: p.read_bytes() for p in artifact.iterdir()} == before
    assert not [p for p in artifact.parent.iterdir() if p.name.startswith(".artifact")]


def test_without_require_int8_a_failed_int8_gate_ships_fp32_and_records_why(exported, tmp_path):
    config, _ = exported
    strict = dataclasses.replace(config, export=dataclasses.replace(config.export, max_prob_diff=1e-5))
    with pytest.warns(UserWarning, match="no int8 preset passed"):
        manifest = export(strict, tmp_path / "artifact")
    assert "int8" not in manifest.variants and manifest.default_variant["cpu"] == "fp32"
    assert "fp16" not in manifest.variants and manifest.build["fp16_rejected"]  # 1e-5 is too tight for fp16 too
    assert [r["preset"] for r in manifest.build["int8_rejected_presets"]] == list(config.export.int8_presets)
    assert not (tmp_path / "artifact" / "model.int8.onnx").exists()
    assert Classifier.load(tmp_path / "artifact").variant == "fp32"


def test_parity_counts_flipped_flags_per_label_and_macro_f1_change():
    thresholds = np.array([0.5, 0.5], dtype=np.float32)
    gold = np.array([[1, 0]] * 50 + [[0, -1]] * 50, dtype=np.float32)
    reference = np.where(gold == 1, 0.9, 0.1).astype(np.float32)
    variant = reference.copy()
    variant[:3, 0] = 0.4  # three positives of the overall label fall under its threshold
    metrics = parity(reference, variant, thresholds, gold)
    assert metrics["worst_label_agreement"] == pytest.approx(0.97)
    assert metrics["label_agreement"] == pytest.approx(0.985)
    assert metrics["macro_f1_pytorch"] == 1.0 and metrics["macro_f1_diff"] < -0.005
    assert metrics["max_abs_prob_diff"] == pytest.approx(0.5)
    from cvguard.config import ExportConfig

    failures = gate_failures(metrics, ExportConfig())
    assert len(failures) == 2 and "agreement 0.9850 < 0.99" in failures[0] and "macro-F1" in failures[1]
    assert gate_failures(parity(reference, reference, thresholds, gold), ExportConfig()) == []


def test_dynamic_int8_fails_the_batch_independence_gate_and_frozen_int8_passes_it(exported, tmp_path):
    """Dynamic quantisation scales activations over the whole batch, so a text's scores depend on its
    neighbours; the variant with frozen (calibrated) scales scores each text the same alone or in any batch."""
    import onnx

    config, manifest = exported
    frozen = manifest.variants["int8"].details
    assert frozen["preset"].startswith("frozen_")
    graph = onnx.load(str(RunDir(config.run_path).artifact / manifest.variants["int8"].file))
    ops = {node.op_type for node in graph.graph.node}
    assert "DynamicQuantizeLinear" not in ops and {"QuantizeLinear", "MatMulInteger"} <= ops
    dynamic = dataclasses.replace(config, export=dataclasses.replace(
        config.export, int8_presets=["s8_per_channel"], fp16=False))
    with pytest.warns(UserWarning, match="no int8 preset passed"):
        rejected = export(dynamic, tmp_path / "artifact")
    failures = rejected.build["int8_rejected_presets"][0]["failures"]
    assert any("scores depend on the batch" in f for f in failures)
    texts = (VIOLENT_TEXTS + SAFE_TEXTS) * 3
    int8 = Classifier.load(RunDir(config.run_path).artifact, variant="int8")
    alone = int8.predict_proba(texts, batch_size=1)
    np.testing.assert_array_equal(int8.predict_proba(texts[::-1], batch_size=16, sort_by_length=False)[::-1], alone)


def test_export_after_a_killed_export_restores_and_replaces_the_artifact(exported, tmp_path):
    """A kill between the fallback's two renames leaves only `.artifact.old`, plus the dead export's
    staging folder: the next export puts the old artifact back first, and leaves no leftovers."""
    import shutil

    config, _ = exported
    out = tmp_path / "artifact"
    shutil.copytree(RunDir(config.run_path).artifact, tmp_path / ".artifact.old")
    (tmp_path / ".artifact.staging-999999999-dead").mkdir()
    from cvguard.io import recover_dir

    recover_dir(out)
    assert Classifier.load(out).variant == "int8"  # the old artifact, back in place
    (tmp_path / ".artifact.staging-999999999-dead").mkdir()
    export(config, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["artifact"]


def test_static_qdq_preset_is_batch_independent_too(exported, tmp_path):
    config, _ = exported
    static = dataclasses.replace(config, export=dataclasses.replace(
        config.export, int8_presets=["static_s8_per_channel"], fp16=False))
    manifest = export(static, tmp_path / "artifact")
    assert manifest.variants["int8"].details["preset"] == "static_s8_per_channel"
    assert manifest.variants["int8"].details["batch_independence"]["max_abs_prob_diff"] <= 1e-4


def test_evaluation_and_runtime_give_a_long_text_the_same_probability(tmp_path, tiny_model_dir):
    """The model's long-text mode (windows) is used by evaluation, so thresholds and the parity gate see the
    scores the artifact serves: a text three windows long gets the same probability from both."""
    from cvguard.evaluation.evaluate import evaluate, predict_with_checkpoint
    from cvguard.io import write_jsonl

    config = make_run(tmp_path / "run", tiny_model_dir, max_length=16,
                      overrides=["export.quantize=false", "export.fp16=false"])
    run = RunDir(config.run_path)
    long_text = "".join(VIOLENT_TEXTS[3:5] + SAFE_TEXTS[:2] + VIOLENT_TEXTS[:2])  # ~50 characters = tokens
    for split in ("dev", "test"):
        rows = [{**row, "source": SEED.name, "subset": ""} for row in run.read_split(split)]
        write_jsonl(run.split(split), rows + [{**rows[0], "id": "long", "text": long_text}] * (split == "test"))
    predict_with_checkpoint(config)
    evaluate(config)
    manifest = export(config)
    assert manifest.long_texts == "window"
    evaluated = run.load_predictions("cvguard", "test")[-1]
    served = Classifier.load(run.artifact, variant="fp32").predict_proba([long_text])[0]
    np.testing.assert_allclose(served, evaluated, atol=1e-5)
    first_window_only = Classifier.load(run.artifact, variant="fp32", long_texts="truncate").predict_proba([long_text])
    assert np.abs(first_window_only[0] - evaluated).max() > 1e-4  # the later windows changed the score
