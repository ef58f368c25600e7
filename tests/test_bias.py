"""Bias metrics checked against hand-computed values and against scikit-learn."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from cvguard.evaluation.bias import bias_score, power_mean, source_bias, subgroup_aucs


def rows_of(groups: list[str]) -> list[dict]:
    return [{"groups": [g], "source": "cold", "subset": ""} for g in groups]


# region: one violent text (0.9), two harmless (0.6, 0.2); gender: violent 0.8 and 0.5, harmless 0.3 and 0.1.
GROUPS = ["region"] * 3 + ["gender"] * 4
Y = np.array([1, 0, 0, 1, 1, 0, 0], dtype=float)
P = np.array([0.9, 0.6, 0.2, 0.8, 0.5, 0.3, 0.1])


def test_borkan_aucs_and_bias_score_match_hand_computation():
    result = source_bias(rows_of(GROUPS), Y, P, threshold=0.55, resamples=0, min_n=1)
    region, gender = result["groups"]["region"], result["groups"]["gender"]
    # region: its violent 0.9 beats both its harmless texts.
    assert region["subgroup_auc"] == 1.0
    # BPSN: gender's violent {0.8, 0.5} vs region's harmless {0.6, 0.2}: 0.5 < 0.6 loses 1 of 4 pairs.
    assert region["bpsn_auc"] == 0.75
    # BNSP: region's violent {0.9} vs gender's harmless {0.3, 0.1}: 2 of 2.
    assert region["bnsp_auc"] == 1.0
    assert (gender["subgroup_auc"], gender["bpsn_auc"], gender["bnsp_auc"]) == (1.0, 1.0, 0.75)
    # Overall: violent {0.9, 0.8, 0.5} vs harmless {0.6, 0.3, 0.2, 0.1}: only 0.5 < 0.6 loses, 11 of 12.
    assert result["overall_auc"] == pytest.approx(11 / 12)
    m = ((0.75 ** -5 + 1.0 ** -5) / 2) ** (-1 / 5)  # the power mean of one 0.75 and one 1.0
    assert result["power_means"] == pytest.approx({"subgroup_auc": 1.0, "bpsn_auc": m, "bnsp_auc": m})
    assert result["final"] == pytest.approx(0.25 * 11 / 12 + 0.75 * (1.0 + m + m) / 3)


def test_group_error_rates_and_largest_gap_match_hand_computation():
    # At 0.55, flagged: 0.9 and 0.6 (region), 0.8 (gender).
    result = source_bias(rows_of(GROUPS), Y, P, threshold=0.55, resamples=0, min_n=1)
    region, gender = result["groups"]["region"], result["groups"]["gender"]
    assert (region["fpr"], region["fnr"]) == (0.5, 0.0)  # harmless 0.6 flagged, of two harmless
    assert (gender["fpr"], gender["fnr"]) == (0.0, 0.5)  # violent 0.5 missed, of two violent
    assert result["fpr_gap"] == {"gap": 0.5, "high_group": "region", "high": 0.5, "low_group": "gender", "low": 0.0,
                                 "groups_compared": 2}
    assert (result["fnr_gap"]["high_group"], result["fnr_gap"]["low_group"]) == ("gender", "region")
    # With a minimum of 3 rows in the denominator neither group qualifies, so no gap is claimed.
    assert source_bias(rows_of(GROUPS), Y, P, 0.55, 0, min_n=3)["fpr_gap"] is None


def test_each_subset_auc_equals_sklearn_on_the_subset_it_defines():
    rng = np.random.default_rng(3)
    n = 400
    groups = rng.choice(["region", "gender", "race"], n)
    y = rng.integers(0, 2, n)
    p = np.round(rng.random(n) * 0.6 + 0.4 * y, 2)  # rounded: many ties, which both must count as one half
    for group in ("region", "gender", "race"):
        mine = subgroup_aucs(y, p, groups == group)
        sub = [i for i in range(n) if groups[i] == group]
        bpsn = [i for i in range(n) if (groups[i] == group and y[i] == 0) or (groups[i] != group and y[i] == 1)]
        bnsp = [i for i in range(n) if (groups[i] == group and y[i] == 1) or (groups[i] != group and y[i] == 0)]
        for key, idx in (("subgroup_auc", sub), ("bpsn_auc", bpsn), ("bnsp_auc", bnsp)):
            assert mine[key] == pytest.approx(roc_auc_score(y[idx], p[idx]), abs=1e-12), (group, key)


def test_power_mean_is_pulled_towards_the_worst_group_and_skips_undefined():
    assert power_mean([0.9, 0.9]) == pytest.approx(0.9)
    assert power_mean([1.0, 0.5]) < 0.6 < np.mean([1.0, 0.5])
    assert power_mean([0.8, None]) == pytest.approx(0.8)
    assert power_mean([0.0, 1.0]) == 0.0  # one group ranked perfectly wrong sinks the score
    assert bias_score(None, {})["final"] is None
