import pytest
import torch
import torch.nn.functional as F

from cvguard.config import load_config
from cvguard.taxonomy import UNKNOWN
from cvguard.training.model import consistency_loss, masked_bce_loss


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


def test_consistency_loss_is_the_bernoulli_kl_to_the_fixed_original():
    torch.manual_seed(0)
    logits, other = torch.randn(4, 8, requires_grad=True), torch.randn(4, 8, requires_grad=True)
    assert consistency_loss(logits.detach().clone(), logits).abs().item() < 1e-6  # agreeing views cost nothing
    loss = consistency_loss(other, logits)
    p, q = torch.sigmoid(logits.detach()), torch.sigmoid(other.detach())
    kl = p * torch.log(p / q) + (1 - p) * torch.log((1 - p) / (1 - q))
    assert loss.item() == pytest.approx(kl.mean().item(), abs=1e-5)
    loss.backward()
    assert logits.grad is None and other.grad.abs().sum() > 0  # the original teaches, the respelling learns


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
        if path.name.startswith("monitor"):  # the monitor's alert rules, not run configs
            load_monitor_config(path)
        elif path.name != "taxonomy.yaml":
            load_config(path)


def test_a_checkpoint_without_a_pooler_gets_a_stock_layer_that_mean_pools_into_cls(tiny_model_dir, tmp_path):
    """tiny_model_dir holds a BertModel with a pooler; drop it to stand for e5-like checkpoints."""
    import shutil

    import torch.nn.functional as F
    from safetensors.torch import load_file, save_file
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from cvguard.config import ModelConfig
    from cvguard.training.model import MEAN_LAYER_GAIN, build_model, save_model, settings_of

    folder = tmp_path / "no-pooler"
    shutil.copytree(tiny_model_dir, folder)
    weights = {k: v for k, v in load_file(str(folder / "model.safetensors")).items() if "pooler" not in k}
    save_file(weights, str(folder / "model.safetensors"), metadata={"format": "pt"})
    labels = ["violent", "insult"]
    stock, _, _ = build_model(ModelConfig(model_name_or_path=str(tiny_model_dir)), labels)
    model, tokenizer, fresh = build_model(ModelConfig(model_name_or_path=str(folder)), labels)
    assert settings_of(stock).pooling == "cls" and settings_of(model).pooling == "mean"
    assert model.config.num_hidden_layers == stock.config.num_hidden_layers + 1
    assert fresh == {"classifier.weight", "classifier.bias", "bert.pooler.dense.weight", "bert.pooler.dense.bias"}

    model.eval()
    batch = tokenizer(["你这个废物", "好的，谢谢大家的关心"], padding=True, return_tensors="pt")
    with torch.no_grad():
        states = model.bert(**batch, output_hidden_states=True).hidden_states
    below, top = states[-2], states[-1]
    mask = batch["attention_mask"].unsqueeze(-1).to(below.dtype)
    mean = (below * mask).sum(1) / mask.sum(1)
    expected = F.layer_norm(MEAN_LAYER_GAIN * mean + below[:, 0], (below.shape[-1],), eps=model.config.layer_norm_eps)
    torch.testing.assert_close(top[:, 0], expected, atol=1e-4, rtol=1e-4)  # padding takes no part in the mean

    save_model(model, tokenizer, tmp_path / "model")  # still a plain HF checkpoint
    reloaded = AutoModelForSequenceClassification.from_pretrained(tmp_path / "model").eval()
    with torch.no_grad():
        torch.testing.assert_close(reloaded(**batch).logits, model(**batch).logits)
    short = AutoTokenizer.from_pretrained(tmp_path / "model")(["你这个废物"], return_tensors="pt")
    with torch.no_grad():
        torch.testing.assert_close(reloaded(**short).logits[0], reloaded(**batch).logits[0], atol=1e-5, rtol=1e-5)
