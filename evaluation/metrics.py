"""Per-label metrics over the rows where that label is known, and dev-chosen thresholds."""

import numpy as np
from sklearn.metrics import average_precision_score, f1_score, precision_recall_curve, roc_auc_score

UNKNOWN = -1.0
DEFAULT_THRESHOLD = 0.5


def choose_threshold(y: np.ndarray, p: np.ndarray, policy: str, target_recall: float) -> tuple[float, str]:
    """Returns (threshold, how it was chosen). Only ever called on dev data."""
    if len(y) == 0 or y.sum() == 0 or y.sum() == len(y):
        return DEFAULT_THRESHOLD, "default (dev has one class only)"
    precision, recall, thresholds = precision_recall_curve(y, p)
    precision, recall = precision[:-1], recall[:-1]  # the last point has no threshold
    if policy == "max_f1":
        f1 = 2 * precision * recall / np.clip(precision + recall, 1e-12, None)
        return float(thresholds[int(np.argmax(f1))]), "max F1 on dev"
    if policy == "target_recall":
        reaching = np.flatnonzero(recall >= target_recall)
        return float(thresholds[reaching.max()]), f"highest with dev recall >= {target_recall:g}"
    raise ValueError(f"unknown threshold policy {policy!r}; expected max_f1 or target_recall")


def choose_thresholds(labels: list[str], y: np.ndarray, probs: np.ndarray, policy: str, target_recall: float,
                      per_label: dict[str, float] | None = None) -> dict[str, dict]:
    chosen = {}
    for j, name in enumerate(labels):
        known = y[:, j] != UNKNOWN
        target = (per_label or {}).get(name, target_recall)
        threshold, how = choose_threshold(y[known, j], probs[known, j], policy, target)
        chosen[name] = {"threshold": threshold, "how": how, "dev_support": int(y[known, j].sum())}
    return chosen


def binary_metrics(y: np.ndarray, p: np.ndarray, threshold: float) -> dict:
    """Metrics for one label; y holds 0/1 only (unknown rows already removed)."""
    pred = (p >= threshold).astype(int)
    tp = int(((pred == 1) & (y == 1)).sum())
    fp = int(((pred == 1) & (y == 0)).sum())
    fn = int(((pred == 0) & (y == 1)).sum())
    both = 0 < y.sum() < len(y)
    return {
        "n": int(len(y)), "support": int(y.sum()), "threshold": threshold,
        "precision": tp / (tp + fp) if tp + fp else None,
        "recall": tp / (tp + fn) if tp + fn else None,
        "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None,
        "accuracy": float((pred == y).mean()) if len(y) else None,
        # COLD and most Chinese toxicity papers report the macro-F1 over the two classes.
        "macro_f1": float(f1_score(y, pred, average="macro")) if both else None,
        "flag_rate": float(pred.mean()) if len(y) else None,
        "roc_auc": float(roc_auc_score(y, p)) if both else None,
        "pr_auc": float(average_precision_score(y, p)) if both else None,
    }


def label_metrics(labels: list[str], y: np.ndarray, probs: np.ndarray, thresholds: dict[str, float]) -> dict:
    out = {}
    for j, name in enumerate(labels):
        known = y[:, j] != UNKNOWN
        if known.any():
            out[name] = binary_metrics(y[known, j].astype(int), probs[known, j], thresholds[name])
    return out


def slice_metrics(rows: list[dict], labels: list[str], y: np.ndarray, probs: np.ndarray,
                  thresholds: dict[str, float], key: str) -> dict:
    """Metrics per value of rows[i][key] (for example per source)."""
    values = sorted({r[key] for r in rows})
    out = {}
    for value in values:
        idx = np.array([i for i, r in enumerate(rows) if r[key] == value])
        out[value] = label_metrics(labels, y[idx], probs[idx], thresholds)
    return out


def flag_rate_by_subset(rows: list[dict], probs: np.ndarray, threshold: float, label_index: int = 0) -> dict:
    """Share of rows flagged for one label, per (source, subset): e.g. COLD anti-bias texts."""
    out = {}
    for key in sorted({(r["source"], r.get("subset", "")) for r in rows}):
        idx = [i for i, r in enumerate(rows) if (r["source"], r.get("subset", "")) == key]
        out[f"{key[0]}:{key[1]}"] = {"n": len(idx),
                                     "flag_rate": float((probs[idx, label_index] >= threshold).mean())}
    return out
