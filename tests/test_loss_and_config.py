import pytest
import torch
import torch.nn.functional as F

from cvguard.config import load_config
from cvguard.taxonomy import UNKNOWN
from cvguard.training.model import masked_bce_loss


def test_masked_bce_equals_plain_bce_over_known_labels_only():
    logits = torch.tensor([[2.0, -1.0, 0.5], [0.3, 0.7, -2.0]])
    labels = torch.tensor([[1.0, UNKNOWN, 0.0], [UNKNOWN, 1.0, UNKNOWN]])
    known = labels != UNKNOWN
    expected = F.binary_cross_entropy_with_logits(logits[known], labels[known])
    assert torch.allclose(masked_bce_loss(logits, labels), expected)


def test_unknown_labels_get_zero_gradient():
    logits = torch.zeros(2, 3, requires_grad=True)
    labels = torch.tensor([[1.0, UNKNOWN, 0.0], [UNKNOWN, UNKNOWN, 1.0]])
    masked_bce_loss(logits, labels).backward()
    assert torch.all(logits.grad[labels == UNKNOWN] == 0)
    assert torch.all(logits.grad[labels != UNKNOWN] != 0)


def test_all_unknown_batch_gives_zero_loss_not_nan():
    loss = masked_bce_loss(torch.randn(2, 3), torch.full((2, 3), UNKNOWN))
    assert loss.item() == 0.0


def test_config_overrides_are_typed_and_nested(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  epochs: 5\nmodel:\n  revision: v1.0\n", encoding="utf-8")
    config = load_config(path, ["train.epochs=1", "train.learning_rate=1e-4", "data.sources=[cold, seed]"])
    assert config.train.epochs == 1
    assert config.train.learning_rate == pytest.approx(1e-4)
    assert config.model.revision == "v1.0"
    assert config.data.sources == ["cold", "seed"]


def test_config_rejects_unknown_keys_and_wrong_types(tmp_path):
    with pytest.raises(ValueError, match="unknown key"):
        load_config(None, ["train.epochz=1"])
    with pytest.raises(ValueError, match="train.epochs: expected int"):
        load_config(None, ["train.epochs=many"])
    with pytest.raises(ValueError, match="key=value"):
        load_config(None, ["train.epochs"])


def test_every_shipped_config_loads():
    from pathlib import Path

    configs = sorted((Path(__file__).parents[1] / "configs").glob("*.yaml"))
    for path in configs:
        if path.name != "taxonomy.yaml":
            load_config(path)
