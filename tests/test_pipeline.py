"""The whole chain on a tiny random BERT: data -> train -> baseline -> evaluate -> export -> predict."""

import importlib.util
import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO

from cvguard.cli import main
from cvguard.config import save_config
from cvguard.contracts import ARTIFACT_MODEL_CARD, ARTIFACT_TOKENIZER, MODEL_NAME, EvaluationResults, Manifest, RunDir
from cvguard.taxonomy import load_taxonomy


@pytest.fixture()
def finished_run(tiny_config, tmp_path):
    config_path = tmp_path / "config.yaml"
    save_config(tiny_config, config_path)
    main(["run", str(config_path)])
    return tiny_config, config_path


def test_main_job_writes_metrics_report_artifact_and_predictions(finished_run):
    config, _ = finished_run
    run = RunDir(config.run_path)
    metrics = EvaluationResults.read(run.metrics)
    assert set(metrics.models) == {"cvguard", "tfidf_baseline"}
    test_violent = metrics["cvguard"].splits["test"].overall["violent"]
    assert test_violent.n == 16 and test_violent.support == 8
    assert 0.0 <= test_violent.roc_auc <= 1.0
    assert "| violent 网络暴力信息 |" in run.report_md.read_text()
    manifest = Manifest.read(run.artifact)
    assert {"fp32", "int8"} <= set(manifest.variants)
    assert manifest.thresholds == json.loads(run.thresholds.read_text())
    for name in ("model.onnx", "model.int8.onnx", ARTIFACT_TOKENIZER, ARTIFACT_MODEL_CARD):
        assert (run.artifact / name).is_file()
    samples = [json.loads(line) for line in run.sample_predictions.read_text().splitlines()]
    assert len(samples) == 16 and set(samples[0]["probs"]) == set(manifest.labels)
    fp32 = manifest.variants["fp32"].details["parity_vs_pytorch"]
    assert fp32["max_abs_prob_diff"] < 1e-4 and fp32["label_agreement"] == 1.0
    assert manifest.variants["int8"].details["parity_vs_pytorch"]["n_texts"] > 0


def test_trained_model_is_a_plain_hf_checkpoint_that_pipeline_scores_like_evaluation(finished_run):
    """RUN_DIR/model loads with AutoModelForSequenceClassification (no remote code) and pipeline() gives the
    probabilities that evaluation stored for the same test rows; its model card is valid Hub metadata."""
    from huggingface_hub import ModelCard
    from transformers import AutoModelForSequenceClassification, pipeline

    config, _ = finished_run
    run = RunDir(config.run_path)
    labels = list(load_taxonomy().labels)
    model = AutoModelForSequenceClassification.from_pretrained(run.model)
    assert model.config.problem_type == "multi_label_classification"
    assert model.config.id2label == dict(enumerate(labels))
    assert model.config.label2id == {name: i for i, name in enumerate(labels)}

    texts = [row["text"] for row in run.read_split("test")]
    classify = pipeline("text-classification", model=str(run.model), top_k=None, device="cpu")
    scored = classify(texts, batch_size=1)
    from_pipeline = np.array([[{d["label"]: d["score"] for d in out}[name] for name in labels] for out in scored])
    from_evaluation = run.load_predictions(MODEL_NAME, "test")
    assert np.abs(from_pipeline - from_evaluation).max() < 1e-5

    card = ModelCard.load(run.model_card)
    assert card.data.pipeline_tag == "text-classification" and card.data.library_name == "transformers"
    assert card.data.eval_results and all(r.metric_value is not None for r in card.data.eval_results)
    assert "侮辱谩骂" in card.text and "## Limitations" in card.text
    assert (run.artifact / ARTIFACT_MODEL_CARD).read_text() == run.model_card.read_text()


def test_training_resumes_from_checkpoint_to_the_same_weights(tiny_config, tmp_path):
    """Stopping mid-epoch and calling train again gives the weights of one uninterrupted run."""
    import dataclasses

    from safetensors.torch import load_file

    from cvguard.cli import main as cli

    def run_dir_of(name):
        return dataclasses.replace(tiny_config, run_dir=str(tmp_path / name))

    straight = run_dir_of("straight")
    save_config(straight, tmp_path / "straight.yaml")
    cli(["data", str(tmp_path / "straight.yaml")])
    cli(["train", str(tmp_path / "straight.yaml")])

    resumed = run_dir_of("resumed")
    save_config(resumed, tmp_path / "resumed.yaml")
    cli(["data", str(tmp_path / "resumed.yaml")])
    cli(["train", str(tmp_path / "resumed.yaml"), "train.stop_after_steps=5"])
    assert not RunDir(resumed.run_path).model.exists()  # paused inside epoch 0
    cli(["train", str(tmp_path / "resumed.yaml")])

    a = load_file(str(RunDir(straight.run_path).model / "model.safetensors"))
    b = load_file(str(RunDir(resumed.run_path).model / "model.safetensors"))
    for key in a:
        np.testing.assert_allclose(a[key].numpy(), b[key].numpy(), atol=1e-6, err_msg=key)


def test_failed_export_leaves_previous_artifact_intact(finished_run, monkeypatch):
    from cvguard.export import onnx_export

    config, _ = finished_run
    artifact = RunDir(config.run_path).artifact
    before = {p.name: p.read_bytes() for p in artifact.iterdir()}

    def broken_quantizer(*args, **kwargs):
        raise RuntimeError("quantiser crashed")

    monkeypatch.setattr(onnx_export, "quantize_int8", broken_quantizer)
    with pytest.raises(RuntimeError, match="quantiser crashed"):
        onnx_export.export(config)
    assert {p.name: p.read_bytes() for p in artifact.iterdir()} == before
    assert not [p for p in artifact.parent.iterdir() if p.name.startswith(".artifact")]


def test_predict_cli_scores_jsonl_csv_and_stdin(finished_run, tmp_path):
    config, _ = finished_run
    artifact = str(RunDir(config.run_path).artifact)
    (tmp_path / "in.jsonl").write_text('{"text": "你这个废物"}\n"今天天气很好"\n', encoding="utf-8")
    (tmp_path / "in.csv").write_text("id,text\n1,你这个废物\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    main(["predict", artifact, "-i", str(tmp_path / "in.jsonl"), "-o", str(out)])
    assert [json.loads(line)["text"] for line in out.read_text().splitlines()] == ["你这个废物", "今天天气很好"]
    main(["predict", artifact, "-i", str(tmp_path / "in.csv"), "-o", str(out)])
    assert len(out.read_text().splitlines()) == 1
    result = subprocess.run([sys.executable, "-m", "cvguard.cli", "predict", artifact], input="你好\n滚\n",
                            capture_output=True, text=True, check=True)
    assert len(result.stdout.splitlines()) == 2


def test_predict_cli_reports_a_bad_row_and_scores_the_others(finished_run, tmp_path, capsys):
    config, _ = finished_run
    (tmp_path / "bad.jsonl").write_text('{"text": "好"}\n{"text": ""}\n', encoding="utf-8")
    main(["predict", str(RunDir(config.run_path).artifact), "-i", str(tmp_path / "bad.jsonl")])
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert out[0]["line"] == 1 and out[0]["text"] == "好" and "probs" in out[0]
    assert out[1] == {"line": 2, "error": "no non-empty string in field 'text'"}


def test_compare_runs_tables_recall_at_dev_and_fixed_thresholds(finished_run, capsys):
    spec = importlib.util.spec_from_file_location("compare_runs", REPO / "benchmarks" / "compare_runs.py")
    compare_runs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(compare_runs)
    run = RunDir(finished_run[0].run_path)
    gold = np.array([row["labels"]["violent"] for row in run.read_split("test")]) == 1
    flagged = run.load_predictions(MODEL_NAME, "test")[:, 0] >= 0.5
    compare_runs.main([str(run.root), str(run.root), "--threshold", "0.5"])
    table = capsys.readouterr().out
    violent_row = next(line for line in table.splitlines() if line.startswith("| violent |"))
    recall = f"{100 * (flagged & gold).sum() / gold.sum():.1f}"
    assert violent_row.startswith(f"| violent | {gold.sum()} | {recall} · ")
    assert "test · seed: recall / precision / F1 at threshold 0.5" in table
    compare_runs.main([str(run.root)])
    assert "at the dev threshold" in capsys.readouterr().out
