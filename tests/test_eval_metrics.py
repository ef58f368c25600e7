"""Bootstrap intervals, calibration, ranking metrics and the threshold policy, checked against references."""

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score

from cvguard.config import EvalConfig
from cvguard.evaluation.calibration import reliability
from cvguard.evaluation.metrics import binary_metrics, bootstrap_counts, choose_threshold, confusion_cis

# Cell shares (TP, FP, FN, TN) of a population with recall 0.7, precision 0.21 / 0.26 and FPR 0.05 / 0.70.
CELLS = np.array([0.21, 0.05, 0.09, 0.65])
TRUE = {"recall_ci": 0.7, "precision_ci": 0.21 / 0.26, "fpr_ci": 0.05 / 0.70}


def test_bootstrap_cis_cover_the_true_value_at_the_nominal_rate():
    rng = np.random.default_rng(0)
    trials = 600
    covered = {key: 0 for key in TRUE}
    for trial in range(trials):
        tp, fp, fn, tn = rng.multinomial(400, CELLS)  # one test set of 400 rows from the population
        cis = confusion_cis(tp, fp, fn, tn, resamples=1000, seed=trial)
        for key, value in TRUE.items():
            covered[key] += cis[key][0] <= value <= cis[key][1]
    for key in TRUE:
        # 95% nominal; with 600 trials the standard error of the rate is about 0.009.
        assert 0.92 <= covered[key] / trials <= 0.975, (key, covered[key] / trials)


def test_multinomial_counts_are_the_row_bootstrap():
    """Drawing cell counts is the same as resampling rows: same spread of the bootstrap recall."""
    rng = np.random.default_rng(1)
    cells = rng.choice(4, size=300, p=CELLS)  # 0 TP, 1 FP, 2 FN, 3 TN per row
    rows = cells[rng.integers(0, len(cells), (4000, len(cells)))]
    by_rows = (rows == 0).sum(1) / ((rows == 0).sum(1) + (rows == 2).sum(1))
    counts = bootstrap_counts(np.bincount(cells, minlength=4), 4000, seed=2)
    by_counts = counts[:, 0] / (counts[:, 0] + counts[:, 2])
    assert by_counts.mean() == pytest.approx(by_rows.mean(), abs=0.005)
    assert by_counts.std() == pytest.approx(by_rows.std(), rel=0.08)


def test_binary_metrics_agree_with_sklearn_including_ties():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 500)
    p = np.round(0.5 * rng.random(500) + 0.4 * y, 1)
    m = binary_metrics(y, p, 0.5, resamples=200, min_support=30)
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert m["pr_auc"] == pytest.approx(average_precision_score(y, p), abs=1e-12)
    assert m["macro_f1"] == pytest.approx(f1_score(y, (p >= 0.5).astype(int), average="macro"), abs=1e-12)
    assert m["recall_ci"][0] <= m["recall"] <= m["recall_ci"][1] and not m["low_support"]
    assert binary_metrics(y[:40], p[:40], 0.5, min_support=30)["low_support"]


def test_ece_matches_hand_computation_and_a_score_of_one_goes_in_the_last_bin():
    y = np.array([0, 1, 1, 1, 1])
    p = np.array([0.1, 0.15, 0.9, 0.95, 1.0])
    cal = reliability(y, p, bins=10)
    # bin [0.1, 0.2): mean 0.125, half positive; bin [0.9, 1.0]: mean 0.95, all positive.
    assert cal["ece"] == pytest.approx(2 / 5 * abs(0.5 - 0.125) + 3 / 5 * abs(1 - 0.95))
    assert cal["count"] == [2, 3]


def test_ece_is_near_zero_when_scores_are_calibrated():
    rng = np.random.default_rng(4)
    p = rng.random(20_000)
    assert reliability((rng.random(20_000) < p).astype(int), p)["ece"] < 0.02
    assert reliability(np.ones(1000, int), np.full(1000, 0.3))["ece"] == pytest.approx(0.7)


def test_target_recall_policy_is_the_default_and_picks_the_highest_threshold_reaching_the_target():
    assert EvalConfig().threshold_policy == "target_recall"
    y = np.array([1, 1, 0, 1, 0])
    p = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    assert choose_threshold(y, p, "target_recall", 0.6)[0] == 0.8  # recall 2/3 there, 1/3 above
    assert choose_threshold(y, p, "target_recall", 0.9)[0] == 0.6  # full recall needs the third positive
