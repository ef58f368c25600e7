"""Per-label metrics over the rows where that label is known, dev-chosen thresholds and bootstrap CIs."""

import numpy as np
from scipy.stats import rankdata
from sklearn.metrics import precision_recall_curve

from cvguard.contracts import LabelMetrics
from cvguard.taxonomy import UNKNOWN

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
        chosen[name] = {"threshold": threshold, "how": how, "target_recall": target,
                        "dev_support": int(y[known, j].sum())}
    return chosen


def auc(y: np.ndarray, p: np.ndarray) -> float | None:
    """ROC AUC by the rank-sum (Mann-Whitney U) formula, tied scores counting one half. The same number as
    sklearn's roc_auc_score at a fraction of its per-call cost, which adds up over groups and slices."""
    n_pos = int((y == 1).sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = rankdata(p)
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def average_precision(y: np.ndarray, p: np.ndarray) -> float | None:
    """Area under the precision-recall step curve, sum of (R_k - R_k-1) * P_k over distinct scores, highest
    first: sklearn's average_precision_score."""
    if not 0 < y.sum() < len(y):
        return None
    order = np.argsort(-p, kind="stable")
    last = np.r_[np.flatnonzero(np.diff(p[order])), len(p) - 1]  # the last row of each distinct score
    tp = np.cumsum(y[order])[last]
    recall = tp / tp[-1]
    return float(np.sum(np.diff(recall, prepend=0) * tp / (last + 1)))


def bootstrap_counts(counts, resamples: int, seed: int = 0) -> np.ndarray:
    """Bootstrap draws (resamples x cells) of cell counts such as (TP, FP, FN, TN).

    Resampling n rows with replacement gives cell counts ~ Multinomial(n, observed shares), so for any
    statistic of the counts, drawing them directly *is* the row bootstrap, at O(resamples) cost."""
    counts = np.asarray(counts, dtype=float)
    return np.random.default_rng(seed).multinomial(int(counts.sum()), counts / counts.sum(), size=resamples)


def ratio_ci(numerator: np.ndarray, denominator: np.ndarray, level: float = 0.95) -> list[float] | None:
    """Percentile interval of numerator/denominator over bootstrap draws; draws with a zero denominator
    (e.g. no positives resampled) have no value and are left out."""
    defined = denominator > 0
    if not defined.any():
        return None
    values = numerator[defined] / denominator[defined]
    tail = 100 * (1 - level) / 2
    return [float(v) for v in np.percentile(values, [tail, 100 - tail])]


def confusion_cis(tp: int, fp: int, fn: int, tn: int, resamples: int, seed: int = 0) -> dict:
    """95% bootstrap CIs of precision, recall, F1, FPR and FNR from one confusion matrix."""
    names = ("precision_ci", "recall_ci", "f1_ci", "fpr_ci", "fnr_ci")
    if resamples <= 0 or tp + fp + fn + tn == 0:
        return dict.fromkeys(names)
    tp, fp, fn, tn = bootstrap_counts([tp, fp, fn, tn], resamples, seed).T
    return dict(zip(names, (ratio_ci(tp, tp + fp), ratio_ci(tp, tp + fn), ratio_ci(2 * tp, 2 * tp + fp + fn),
                            ratio_ci(fp, fp + tn), ratio_ci(fn, fn + tp))))


def rate_with_ci(hits: np.ndarray, resamples: int, seed: int = 0) -> dict:
    """Share of True in `hits` (e.g. rows flagged), with its bootstrap CI."""
    k, n = int(hits.sum()), len(hits)
    if n == 0:
        return {"n": 0, "rate": None, "rate_ci": None}
    ci = None
    if resamples > 0:
        draws = bootstrap_counts([k, n - k], resamples, seed)
        ci = ratio_ci(draws[:, 0], draws.sum(axis=1))
    return {"n": n, "rate": k / n, "rate_ci": ci}


def pr_curve(y: np.ndarray, p: np.ndarray, max_points: int = 100) -> dict | None:
    """The precision-recall curve thinned to at most max_points points, small enough for metrics.json."""
    if not 0 < y.sum() < len(y):
        return None
    precision, recall, _ = precision_recall_curve(y, p)
    keep = np.unique(np.linspace(0, len(recall) - 1, min(max_points, len(recall))).round().astype(int))
    return {"recall": [round(float(v), 4) for v in recall[keep]],
            "precision": [round(float(v), 4) for v in precision[keep]]}


def binary_metrics(y: np.ndarray, p: np.ndarray, threshold: float, resamples: int = 0, min_support: int = 0) -> dict:
    """Metrics for one label; y holds 0/1 only (unknown rows already removed)."""
    pred = (p >= threshold).astype(int)
    tp = int(((pred == 1) & (y == 1)).sum())
    fp = int(((pred == 1) & (y == 0)).sum())
    fn = int(((pred == 0) & (y == 1)).sum())
    tn = len(y) - tp - fp - fn
    both = 0 < y.sum() < len(y)
    return {
        "n": int(len(y)), "support": int(y.sum()), "threshold": threshold,
        # Too few positives for recall to mean much; reports flag the label instead of hiding it.
        "low_support": bool(y.sum() < min_support),
        "tp": tp, "fp": fp, "fn": fn, "tn": tn,
        "precision": tp / (tp + fp) if tp + fp else None,
        "recall": tp / (tp + fn) if tp + fn else None,
        "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None,
        "fpr": fp / (fp + tn) if fp + tn else None,
        "fnr": fn / (fn + tp) if fn + tp else None,
        **confusion_cis(tp, fp, fn, tn, resamples),
        "accuracy": (tp + tn) / len(y) if len(y) else None,
        # COLD and most Chinese toxicity papers report the macro-F1 over the two classes.
        "macro_f1": (tp / (2 * tp + fp + fn) + tn / (2 * tn + fp + fn)) if both else None,
        "flag_rate": float(pred.mean()) if len(y) else None,
        "roc_auc": auc(y, p),
        "pr_auc": average_precision(y, p),
        "recall_at_precision_70": recall_at_precision(y, p, 0.70),
    }


def recall_at_precision(y: np.ndarray, p: np.ndarray, min_precision: float) -> float | None:
    """The highest recall among thresholds whose precision is at least min_precision (0 if none reaches it)."""
    if not 0 < y.sum() < len(y):
        return None
    precision, recall, _ = precision_recall_curve(y, p)
    reaching = recall[precision >= min_precision]
    return float(reaching.max()) if len(reaching) else 0.0


def known_columns(labels: list[str], y: np.ndarray, probs: np.ndarray):
    """(name, y as 0/1 ints, probs) per label, over the rows where that label is known; a label known on no
    row is skipped."""
    for j, name in enumerate(labels):
        known = y[:, j] != UNKNOWN
        if known.any():
            yield name, y[known, j].astype(int), probs[known, j]


def label_metrics(labels: list[str], y: np.ndarray, probs: np.ndarray, thresholds: dict[str, float],
                  resamples: int = 0, min_support: int = 0) -> dict[str, LabelMetrics]:
    """binary_metrics per label, typed (binary_metrics stays a dict for the export gate's one number)."""
    return {name: LabelMetrics(**binary_metrics(gold, p, thresholds[name], resamples, min_support))
            for name, gold, p in known_columns(labels, y, probs)}


def slice_metrics(rows: list[dict], labels: list[str], y: np.ndarray, probs: np.ndarray,
                  thresholds: dict[str, float], key: str, resamples: int = 0, min_support: int = 0) -> dict:
    """Metrics per value of rows[i][key] (for example per source)."""
    values = sorted({r[key] for r in rows})
    out = {}
    for value in values:
        idx = np.array([i for i, r in enumerate(rows) if r[key] == value])
        out[value] = label_metrics(labels, y[idx], probs[idx], thresholds, resamples, min_support)
    return out


def flag_rate_by_subset(rows: list[dict], probs: np.ndarray, threshold: float, label_index: int = 0) -> dict:
    """Share of rows flagged for one label, per (source, subset): e.g. COLD anti-bias texts."""
    out = {}
    for key in sorted({(r["source"], r.get("subset", "")) for r in rows}):
        idx = [i for i, r in enumerate(rows) if (r["source"], r.get("subset", "")) == key]
        out[f"{key[0]}:{key[1]}"] = {"n": len(idx),
                                     "flag_rate": float((probs[idx, label_index] >= threshold).mean())}
    return out
