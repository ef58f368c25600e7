"""Imbalance: per-label positive weights from the config, and what they do to the loss."""

import numpy as np
import pyarrow as pa
import pytest
import torch
import torch.nn.functional as F

from cvguard.config import load_config
from cvguard.taxonomy import UNKNOWN
from cvguard.training.model import masked_bce_loss
from cvguard.training.train import positive_weights, repeat_index

LABELS = ["violent", "insult", "threat", "privacy"]
U = UNKNOWN
Y = np.array([  # violent: 2 pos / 3 neg; insult: 1 / 3 (one unknown); threat: 0 / 5; privacy: 1 / 4
    [1, 1, 0, 0], [1, U, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0],
], dtype=np.float32)


def weights_for(setting, cap=10.0):
    config = load_config(None, [f"train.pos_weight={setting}", f"train.pos_weight_max={cap}"])
    return positive_weights(Y, LABELS, config.train)


def test_auto_pos_weight_is_negatives_over_positives_among_known_rows_clipped():
    assert weights_for("auto") == {"violent": 1.5, "insult": 3.0, "threat": 1.0, "privacy": 4.0}
    assert weights_for("auto", cap=2.0) == {"violent": 1.5, "insult": 2.0, "threat": 1.0, "privacy": 2.0}


def test_pos_weight_none_and_a_mapping_from_the_config():
    assert weights_for("none") == dict.fromkeys(LABELS, 1.0)
    assert weights_for("{privacy: 5, threat: 2.5}") == {"violent": 1.0, "insult": 1.0, "threat": 2.5, "privacy": 5.0}
    with pytest.raises(ValueError, match="unknown label"):
        weights_for("{privcy: 5}")
    with pytest.raises(ValueError, match="none, auto or"):
        weights_for("balanced")
    with pytest.raises(ValueError, match="train.pos_weight: expected"):
        load_config(None, ["train.pos_weight=3"])


def test_pos_weight_multiplies_only_the_positive_term_of_the_masked_bce():
    logits = torch.tensor([[0.3, -1.2], [2.0, 0.5]])
    labels = torch.tensor([[1.0, 0.0], [UNKNOWN, 1.0]])
    pos_weight = torch.tensor([4.0, 2.0])
    known = labels != UNKNOWN
    y, p = labels[known], torch.sigmoid(logits[known])
    w = pos_weight.expand_as(labels)[known]
    expected = -(w * y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()
    assert torch.allclose(masked_bce_loss(logits, labels, pos_weight), expected)
    assert torch.allclose(masked_bce_loss(logits, labels, torch.ones(2)), masked_bce_loss(logits, labels))
    assert not torch.allclose(F.binary_cross_entropy_with_logits(logits[known], y), expected)


def test_source_repeats_oversample_a_source_in_place_and_reject_bad_settings():
    rows = [{"source": "cold", "text": "a"}, {"source": "seed", "text": "b"}, {"source": "cold", "text": "c"}]
    sources = pa.array([r["source"] for r in rows], pa.string())
    repeats = load_config(None, ["train.source_repeats={seed: 3}"]).train.source_repeats
    assert [rows[i]["text"] for i in repeat_index(sources, repeats)] == ["a", "b", "b", "b", "c"]
    assert repeat_index(sources, {}).tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="whole numbers >= 1"):
        repeat_index(sources, {"seed": 0})
    with pytest.raises(ValueError, match=r"no training rows: \['toxicn'\]"):
        repeat_index(sources, {"toxicn": 2})
