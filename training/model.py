"""The classifier is a stock Hugging Face sequence classifier: `AutoModelForSequenceClassification` over the
chosen encoder (for BERT-family checkpoints, BertForSequenceClassification: the [CLS] pooler and one linear
head), configured as multi-label over the taxonomy. RUN_DIR/model is therefore an ordinary checkpoint that
`from_pretrained`, `pipeline("text-classification")`, Optimum and the Hub read without cvguard's code.

What stays cvguard's: the masked BCE (labels a source does not annotate contribute nothing), and the
`cvguard` block in config.json (ModelSettings: max length, normalisation, base model and revision).

Encoders pre-trained for mean pooling (multilingual-e5) carry their sentence meaning in the average of the
tokens, not in [CLS], and ship without a pooler; BERT's head reads [CLS] only, and fine-tuning it from there
cost 1-5 points (docs/results.md). `model.pooling=mean` keeps the stock class and adds one BERT layer whose
weights compute the mean: queries zero, so every token attends to every unmasked token equally; values the
identity, scaled by MEAN_LAYER_GAIN so the mean outweighs the residual [CLS] state in the LayerNorm; the
feed-forward's output zero, so it starts as the identity. The [CLS] output of that layer is then the
layer-normalised masked mean of the tokens (cosine 0.998 on e5), and training may move it from there.
"""

import shutil

import torch
import torch.nn.functional as F
from transformers import AutoModelForSequenceClassification, AutoTokenizer
from transformers.models.bert.modeling_bert import BertLayer
from transformers.utils import logging as hf_logging

from cvguard.config import ModelConfig
from cvguard.contracts import MODEL_CARD_FILE, ModelSettings
from cvguard.io import replace_dir, staging_dir
from cvguard.taxonomy import UNKNOWN
from cvguard.windows import LONG_TEXT_MODES, default_window_stride

POOLING_MODES = ("auto", "cls", "mean")
MEAN_LAYER_GAIN = 16.0  # [CLS] state vs 16 x mean into the LayerNorm: cosine 0.998 with the mean alone on e5


def masked_bce_loss(logits: torch.Tensor, labels: torch.Tensor, pos_weight: torch.Tensor | None = None):
    """Mean BCE over the known labels only; entries equal to UNKNOWN contribute nothing."""
    known = (labels != UNKNOWN).to(logits.dtype)
    loss = F.binary_cross_entropy_with_logits(logits, labels.clamp(min=0.0), weight=known,
                                              pos_weight=pos_weight, reduction="sum")
    return loss / known.sum().clamp(min=1.0)


def consistency_loss(other_logits: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """Mean Bernoulli KL divergence from the probabilities of `logits` (held fixed: the text as written
    teaches its respelling, not the reverse) to those of `other_logits`, over every label; 0 when they agree."""
    target = torch.sigmoid(logits.detach())
    cross = F.binary_cross_entropy_with_logits(other_logits, target)
    return cross - F.binary_cross_entropy_with_logits(logits.detach(), target)  # minus the target's entropy


def build_model(config: ModelConfig, labels: list[str]):
    """The base checkpoint with a fresh multi-label head. Returns (model, tokenizer, names of the parameters
    that start random and train at the head's learning rate: the head, and a pooler the checkpoint lacked)."""
    if config.pooling not in POOLING_MODES:
        raise ValueError(f"model.pooling must be one of {POOLING_MODES}, got {config.pooling!r}")
    if config.long_texts not in LONG_TEXT_MODES:
        raise ValueError(f"model.long_texts must be one of {LONG_TEXT_MODES}, got {config.long_texts!r}")
    hub = {"revision": config.revision} if config.revision else {}
    overrides = {"num_hidden_layers": config.num_hidden_layers} if config.num_hidden_layers else {}
    previous = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # truncated layers are "unexpected" weights by design: not worth a page
    try:
        model, info = AutoModelForSequenceClassification.from_pretrained(
            config.model_name_or_path, num_labels=len(labels), problem_type="multi_label_classification",
            id2label=dict(enumerate(labels)), label2id={name: i for i, name in enumerate(labels)},
            classifier_dropout=config.dropout, output_loading_info=True, **overrides, **hub)
    finally:
        hf_logging.set_verbosity(previous)
    tokenizer = AutoTokenizer.from_pretrained(config.model_name_or_path, **hub)
    fresh = set(info["missing_keys"])
    pooling = config.pooling
    if pooling == "auto":
        lacks_pooler = any(".pooler." in name for name in fresh)
        pooling = "mean" if lacks_pooler and model.config.model_type == "bert" else "cls"
    if pooling == "mean":
        add_mean_pooling_layer(model)
    model.config.cvguard = ModelSettings(max_length=config.max_length, normalize=config.normalize,
                                         base_model=config.model_name_or_path, revision=config.revision,
                                         long_texts=config.long_texts,
                                         window_stride=config.window_stride or default_window_stride(config.max_length),
                                         pooling=pooling).to_dict()
    return model, tokenizer, fresh


def add_mean_pooling_layer(model) -> None:
    """Append a BERT layer whose [CLS] output is the layer-normalised masked mean of the tokens (module doc).
    It trains at the encoder's rate: its keys start random, so attention can learn to weight tokens."""
    if model.config.model_type != "bert":
        raise ValueError(f"model.pooling=mean needs a BERT-architecture encoder, got {model.config.model_type!r}; "
                         "use model.pooling=cls")
    layers = model.base_model.encoder.layer
    layer = BertLayer(model.config, layer_idx=len(layers))
    layer.apply(model._init_weights)  # the library's init for what is not set below (keys, feed-forward input)
    size = model.config.hidden_size
    with torch.no_grad():
        layer.attention.self.query.weight.zero_()
        layer.attention.self.query.bias.zero_()
        layer.attention.self.value.weight.copy_(torch.eye(size))
        layer.attention.self.value.bias.zero_()
        layer.attention.output.dense.weight.copy_(MEAN_LAYER_GAIN * torch.eye(size))
        layer.attention.output.dense.bias.zero_()
        layer.output.dense.weight.zero_()
        layer.output.dense.bias.zero_()
    layers.append(layer.to(next(model.parameters()).dtype))
    model.config.num_hidden_layers = len(layers)


def settings_of(model) -> ModelSettings:
    return ModelSettings.from_dict(getattr(model.config, "cvguard", None))


def save_model(model, tokenizer, folder) -> None:
    """save_pretrained into a staging folder, swapped in whole: readers see the old checkpoint or the new."""
    settings = settings_of(model)
    # Tokenisers given this length truncate like cvguard does, also inside pipeline(..., truncation=True).
    tokenizer.model_max_length = settings.max_length
    staging = staging_dir(folder)
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        if (folder / MODEL_CARD_FILE).exists():  # the model card, written by evaluation, stays with the weights
            shutil.copyfile(folder / MODEL_CARD_FILE, staging / MODEL_CARD_FILE)
        replace_dir(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def load_model(folder):
    """RUN_DIR/model -> (model in eval mode, tokenizer, ModelSettings)."""
    if (folder / "cvguard.json").exists():
        raise ValueError(f"{folder} was written by cvguard 0.1 (a custom state dict); retrain it with this version")
    model = AutoModelForSequenceClassification.from_pretrained(folder)
    model.eval()
    return model, AutoTokenizer.from_pretrained(folder), settings_of(model)
