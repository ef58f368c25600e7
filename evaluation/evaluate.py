"""The evaluation stage: score dev and test, pick thresholds on dev, write metrics.json and report.md.

Probabilities are kept per model ("cvguard", "tfidf_baseline", ...) in RUN_DIR/predictions/, so the report
can set any model beside any other on exactly the same rows.
"""

from pathlib import Path

import numpy as np

from cvguard.config import RunConfig
from cvguard.io import atomic_write_text, read_jsonl, write_json
from cvguard.taxonomy import load_taxonomy
from cvguard.evaluation.metrics import choose_thresholds, flag_rate_by_subset, label_metrics, slice_metrics

SPLITS = ("dev", "test")


def load_split(run: Path, split: str) -> list[dict]:
    path = run / "data" / f"{split}.jsonl"
    return read_jsonl(path) if path.exists() else []


def save_predictions(run: Path, model_name: str, split: str, probs: np.ndarray) -> None:
    path = run / "predictions" / model_name / f"{split}.npy"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.npy")
    np.save(tmp, probs)
    tmp.replace(path)


def load_predictions(run: Path, model_name: str, split: str) -> np.ndarray:
    return np.load(run / "predictions" / model_name / f"{split}.npy")


def predict_with_checkpoint(config: RunConfig) -> None:
    """Scores dev and test with the trained PyTorch model in RUN_DIR/model."""
    import torch

    from cvguard.training.batching import predict_probs
    from cvguard.training.model import load_classifier

    run = config.run_path
    model, tokenizer, meta = load_classifier(run / "model")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model.to(device)
    for split in SPLITS:
        rows = load_split(run, split)
        probs = predict_probs(model, tokenizer, [r["text"] for r in rows], meta["max_length"],
                              config.eval.batch_size, device, progress=True)
        save_predictions(run, "cvguard", split, probs)


def evaluate_predictions(config: RunConfig, model_name: str) -> dict:
    """Thresholds from dev; metrics on dev and test, overall, per source and per subset."""
    from cvguard.training.batching import label_matrix

    run = config.run_path
    labels = list(load_taxonomy().labels)
    rows = {split: load_split(run, split) for split in SPLITS}
    y = {split: label_matrix(rows[split], labels) for split in SPLITS}
    probs = {split: load_predictions(run, model_name, split) for split in SPLITS}
    ec = config.eval
    thresholds = choose_thresholds(labels, y["dev"], probs["dev"], ec.threshold_policy, ec.target_recall,
                                   ec.target_recall_per_label)
    cut = {name: t["threshold"] for name, t in thresholds.items()}
    result = {"model": model_name, "thresholds": thresholds, "splits": {}}
    for split in SPLITS:
        if not rows[split]:
            continue
        result["splits"][split] = {
            "n": len(rows[split]),
            "overall": label_metrics(labels, y[split], probs[split], cut),
            "by_source": slice_metrics(rows[split], labels, y[split], probs[split], cut, "source"),
            "violent_flag_rate_by_subset": flag_rate_by_subset(rows[split], probs[split], cut[labels[0]]),
        }
    return result


def evaluate(config: RunConfig, models: list[str] | None = None) -> dict:
    run = config.run_path
    if models is None:
        models = sorted(p.name for p in (run / "predictions").iterdir() if p.is_dir())
    results = {name: evaluate_predictions(config, name) for name in models}
    write_json(run / "metrics.json", results)
    if "cvguard" in results:
        write_json(run / "thresholds.json", {k: v["threshold"] for k, v in results["cvguard"]["thresholds"].items()})
    atomic_write_text(run / "report.md", render_report(results))
    return results


def _fmt(value, pct=True) -> str:
    if value is None:
        return "–"
    return f"{100 * value:.1f}" if pct else f"{value:.3f}"


def render_report(results: dict) -> str:
    tax = load_taxonomy()
    lines = ["# cvguard evaluation report", "",
             "Thresholds are chosen on dev; test figures use them unchanged. Each label is scored only on the "
             "rows where it is known. Figures in percent except AUCs.", ""]
    for name, result in results.items():
        lines += [f"## Model: `{name}`", "", "| label | threshold | how |", "|---|---|---|"]
        lines += [f"| {label} | {t['threshold']:.3f} | {t['how']} |" for label, t in result["thresholds"].items()]
        for split, block in result["splits"].items():
            for source, metrics in block["by_source"].items():
                lines += ["", f"### {split} · {source}", "",
                          "| label | n | support | precision | recall | F1 | accuracy | macro-F1 | ROC-AUC | PR-AUC |",
                          "|---|---|---|---|---|---|---|---|---|---|"]
                for label, m in metrics.items():
                    lines.append(f"| {label} {tax.names[label]['zh']} | {m['n']} | {m['support']} | "
                                 f"{_fmt(m['precision'])} | {_fmt(m['recall'])} | {_fmt(m['f1'])} | "
                                 f"{_fmt(m['accuracy'])} | {_fmt(m['macro_f1'])} | "
                                 f"{_fmt(m['roc_auc'], False)} | {_fmt(m['pr_auc'], False)} |")
            lines += ["", f"### {split} · share flagged `{tax.overall}` per subset", "", "| subset | n | flagged |",
                      "|---|---|---|"]
            lines += [f"| {k} | {v['n']} | {_fmt(v['flag_rate'])} |"
                      for k, v in block["violent_flag_rate_by_subset"].items() if k.split(":", 1)[1]]
        lines.append("")
    return "\n".join(lines) + "\n"
