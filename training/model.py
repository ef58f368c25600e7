"""The classifier: a BERT-family encoder, mean (or [CLS]) pooling, one linear head, masked BCE."""

import json
import os
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import AutoConfig, AutoModel, AutoTokenizer
from transformers.utils import logging as hf_logging

from cvguard.config import ModelConfig
from cvguard.io import write_json
from cvguard.taxonomy import UNKNOWN



class Classifier(nn.Module):
    def __init__(self, encoder: nn.Module, num_labels: int, pooling: str = "mean", dropout: float = 0.1,
                 normalize: bool = False):
        super().__init__()
        if pooling not in ("mean", "cls"):
            raise ValueError(f"pooling must be 'mean' or 'cls', got {pooling!r}")
        # We pool ourselves; an unused pooler would also break DDP (parameters without gradients).
        if getattr(encoder, "pooler", None) is not None:
            encoder.pooler = None
        self.encoder = encoder
        self.pooling = pooling
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.config.hidden_size, num_labels)
        # Whether texts go through cvguard.normalize before tokenising; travels with the weights so every
        # later reader (evaluation, export parity, the runtime via the manifest) does what training did.
        self.normalize = normalize

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        if self.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return self.head(self.dropout(pooled))


def masked_bce_loss(logits: torch.Tensor, labels: torch.Tensor, pos_weight: torch.Tensor | None = None):
    """Mean BCE over the known labels only; entries equal to UNKNOWN contribute nothing."""
    known = (labels != UNKNOWN).to(logits.dtype)
    loss = F.binary_cross_entropy_with_logits(logits, labels.clamp(min=0.0), weight=known,
                                              pos_weight=pos_weight, reduction="sum")
    return loss / known.sum().clamp(min=1.0)


def load_encoder_and_tokenizer(config: ModelConfig):
    overrides = {"num_hidden_layers": config.num_hidden_layers} if config.num_hidden_layers else {}
    previous = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # truncation leaves "unexpected" weights by design: not worth a page of output
    try:
        encoder = AutoModel.from_pretrained(config.model_name_or_path, **overrides)
    finally:
        hf_logging.set_verbosity(previous)
    tokenizer = AutoTokenizer.from_pretrained(config.model_name_or_path)
    return encoder, tokenizer


def build_classifier(config: ModelConfig, labels: list[str]):
    encoder, tokenizer = load_encoder_and_tokenizer(config)
    return Classifier(encoder, len(labels), config.pooling, config.dropout, config.normalize), tokenizer


def save_classifier(model: Classifier, tokenizer, labels: list[str], config: ModelConfig, folder: Path) -> None:
    """A self-contained folder: encoder config, tokenizer, weights and cvguard.json."""
    folder.mkdir(parents=True, exist_ok=True)
    model.encoder.config.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    tmp = folder / ".model.safetensors.tmp"
    save_file(state, str(tmp))
    os.replace(tmp, folder / "model.safetensors")  # atomic: readers see the old weights or the new
    write_json(folder / "cvguard.json", {"labels": labels, "pooling": model.pooling,
                                         "max_length": config.max_length, "normalize": model.normalize,
                                         "base_model": config.model_name_or_path})


def load_classifier(folder: str | Path):
    folder = Path(folder)
    meta = json.loads((folder / "cvguard.json").read_text(encoding="utf-8"))
    encoder = AutoModel.from_config(AutoConfig.from_pretrained(folder))
    meta.setdefault("normalize", False)  # models saved before normalisation existed
    model = Classifier(encoder, len(meta["labels"]), meta["pooling"], normalize=meta["normalize"])
    model.load_state_dict(load_file(str(folder / "model.safetensors")))
    model.eval()
    return model, AutoTokenizer.from_pretrained(folder), meta
