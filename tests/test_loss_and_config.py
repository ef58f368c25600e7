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

    from cvguard.monitor.config import load_monitor_config

    configs = sorted((Path(__file__).parents[1] / "configs").glob("*.yaml"))
    for path in configs:
        if path.name == "monitor.yaml":  # the monitor's alert rules, not a run config
            load_monitor_config(path)
        elif path.name != "taxonomy.yaml":
            load_config(path)


def test_an_identity_pooler_passes_cls_through_tanh_and_trains_with_the_encoder(tiny_model_dir):
    """tiny_model_dir holds a BertModel with a pooler; drop it to stand for e5-like checkpoints."""
    import json
    import shutil

    from safetensors.torch import load_file, save_file

    from cvguard.config import ModelConfig
    from cvguard.training.model import build_model

    folder = tiny_model_dir.parent / "no-pooler"
    if not folder.exists():
        shutil.copytree(tiny_model_dir, folder)
        weights = {k: v for k, v in load_file(str(folder / "model.safetensors")).items() if "pooler" not in k}
        save_file(weights, str(folder / "model.safetensors"), metadata={"format": "pt"})
    assert "pooler" not in json.dumps(list(load_file(str(folder / "model.safetensors"))))
    labels = ["violent", "insult"]
    _, _, random_fresh = build_model(ModelConfig(model_name_or_path=str(folder)), labels)
    model, _, fresh = build_model(ModelConfig(model_name_or_path=str(folder), fresh_pooler="identity"), labels)
    assert {n for n in random_fresh if "pooler" in n} == {"bert.pooler.dense.weight", "bert.pooler.dense.bias"}
    assert fresh == {"classifier.weight", "classifier.bias"}
    hidden = torch.randn(3, 5, model.config.hidden_size)
    torch.testing.assert_close(model.bert.pooler(hidden), torch.tanh(hidden[:, 0]))
