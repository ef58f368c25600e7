"""Calibration: does a score of 0.7 mean "violent 70% of the time"? Reliability bins and the ECE."""

import numpy as np


def reliability(y: np.ndarray, p: np.ndarray, bins: int = 10) -> dict:
    """Equal-width bins over [0, 1]: per bin the row count, mean score and observed positive rate, plus the
    expected calibration error ECE = sum over bins of (share of rows) * |positive rate - mean score|."""
    # A score of exactly 1.0 belongs in the last bin, not in a bin of its own.
    which = np.minimum((p * bins).astype(int), bins - 1)
    count = np.bincount(which, minlength=bins)
    mean_prob = np.bincount(which, weights=p, minlength=bins) / np.maximum(count, 1)
    pos_rate = np.bincount(which, weights=y, minlength=bins) / np.maximum(count, 1)
    ece = float((count / max(len(y), 1) * np.abs(pos_rate - mean_prob)).sum()) if len(y) else None
    filled = count > 0
    return {"ece": ece, "n": int(len(y)), "bins": bins,
            "count": count[filled].tolist(),
            "mean_prob": [round(float(v), 4) for v in mean_prob[filled]],
            "pos_rate": [round(float(v), 4) for v in pos_rate[filled]]}
