"""Typed run configuration: YAML file -> dataclasses -> code, with `a.b=value` CLI overrides.

Config flows one way. Stages receive the dataclass they need and never read
YAML or the environment themselves.
"""

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from cvguard import DEFAULT_DATA_ROOT  # noqa: F401 (re-exported for the stages)
from cvguard.contracts import SEED
from cvguard.io import atomic_write_text


@dataclass
class DataConfig:
    # Sources used for train/dev (and their own test splits): seed, cold, toxicn.
    sources: list[str] = field(default_factory=lambda: [SEED.name])
    # Extra sources that are only ever scored, never trained on (e.g. mhc).
    test_only_sources: list[str] = field(default_factory=list)
    # Folder per source; a source not named here is read from DEFAULT_DATA_ROOT/<Name>.
    paths: dict[str, str] = field(default_factory=dict)
    # Share of each source's training pool held out as dev (thresholds, model selection).
    dev_fraction: float = 0.1
    # Cap on training rows per source, 0 = all (quick experiments and tests).
    max_train_rows: int = 0
    # Cap on test rows per source, 0 = all.
    max_test_rows: int = 0
    # Per source, training-pool texts (train and dev, never test) containing any of these terms are left out:
    # for slices whose labels are known to be unreliable. Leaving out COLD's texts that name discrimination
    # did not help its anti-bias texts (docs/results.md, "COLD's training labels on texts about discrimination").
    exclude_terms: dict[str, list[str]] = field(default_factory=dict)
    # Per source, training-pool rows (train and dev, never test) of these subsets are taken as safe: `violent`
    # and every category 0. For slices a source labels toxic that the Provisions would not, such as ToxiCN's
    # "reporting" rows, which relay hate to criticise it (data/README.md). Test rows keep their labels.
    safe_subsets: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class ModelConfig:
    # A Hub id (bert-base-chinese, hfl/chinese-roberta-wwm-ext, hfl/rbt3) or a local folder.
    model_name_or_path: str = "hfl/rbt3"
    # A Hub branch, tag or commit to pin the base model to ("" = the default branch).
    revision: str = ""
    # Keep only the first N encoder layers (0 = all): a cheap way to trade accuracy for speed.
    num_hidden_layers: int = 0
    max_length: int = 128
    dropout: float = 0.1
    # What the head reads. "cls": BERT's own [CLS] pooler. "mean": one more BERT layer on top, initialised to
    # average the tokens into [CLS] (training/model.py), for encoders pre-trained for mean pooling such as
    # multilingual-e5, which ship without a pooler; the checkpoint stays a stock BertForSequenceClassification.
    # "auto": mean for a BERT checkpoint that has no pooler, else cls.
    pooling: str = "auto"
    # Undo evasive spellings before tokenising (cvguard/normalize.py): full-width, traditional, 傻*逼 ...
    # Saved with the model and the artifact, so the runtime normalises exactly as training did.
    normalize: bool = False
    # Texts over max_length tokens: "window" scores overlapping windows and keeps the max per label;
    # "truncate" scores the first max_length tokens. Saved with the model, so evaluation, the thresholds,
    # the export's parity gate and the artifact all score long texts the same way (cvguard/windows.py).
    long_texts: str = "window"
    window_stride: int = 0  # tokens between window starts, 0 = half a window


@dataclass
class TrainConfig:
    epochs: int = 3
    max_steps: int = 0  # stop after this many optimiser steps, 0 = run all epochs
    # End this invocation after N more steps, with a checkpoint; the next call resumes. For time-sliced
    # or preemptible queues (and the resume tests). 0 = run to the end.
    stop_after_steps: int = 0
    # Rows per micro-batch, over all processes together; an optimiser step sees batch_size * grad_accum_steps
    # rows whatever the number of processes, so 1 GPU and 8 GPUs train the same model.
    batch_size: int = 32
    grad_accum_steps: int = 1
    learning_rate: float = 5e-5
    head_learning_rate: float = 1e-3  # the head starts random, so it learns faster than the encoder
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    max_grad_norm: float = 1.0
    mixed_precision: str = "no"  # no | fp16 | bf16 (accelerate's names)
    seed: int = 42
    checkpoint_every_steps: int = 500  # plus one at the end of every epoch
    num_threads: int = 0  # torch CPU threads, 0 = torch's default
    # Bucket batches by length so padding is short; order is still seeded and resumable.
    group_by_length: bool = True
    # Weight of positive examples in the BCE, per label: none | auto | {label: weight}. auto = negatives /
    # positives among the rows where the label is known, clipped to [1, pos_weight_max]. For rare categories.
    pos_weight: str | dict[str, float] = "none"
    pos_weight_max: float = 10.0
    # Oversampling: each training row of these sources appears this many times an epoch, e.g. {seed: 4}.
    source_repeats: dict[str, int] = field(default_factory=dict)
    # Share of training rows rewritten each epoch with pinyin / homophone / split-character spellings
    # (training/augment.py), so the model learns the evasions it will meet. 0 = off.
    augment_prob: float = 0.0
    # Weight of a consistency loss: every training row is also seen respelled (training/augment.py) and its
    # probabilities are pulled toward those of the text as written (held fixed), for all eight labels, known or
    # not. Teaches that a respelling means the same thing without making odd spelling a cue. Doubles the
    # compute of a step. 0 = off.
    consistency_weight: float = 0.0


@dataclass
class EvalConfig:
    # How the per-label threshold is picked on dev: target_recall (the highest threshold whose dev recall
    # reaches the target) | max_f1. The report judges test recall against the target either way.
    threshold_policy: str = "target_recall"
    target_recall: float = 0.8
    # Per-label override of target_recall, e.g. {threat: 0.9}.
    target_recall_per_label: dict[str, float] = field(default_factory=dict)
    batch_size: int = 64
    # Resamples for the 95% bootstrap confidence intervals in the report (0 = no intervals).
    bootstrap_resamples: int = 1000
    # Fewer test positives than this and a label's recall is flagged as too little data to judge.
    min_support: int = 30
    calibration_bins: int = 10  # equal-width bins for the reliability plots and the ECE


@dataclass
class ExportConfig:
    opset: int = 17
    optimize: bool = True  # onnxruntime transformer fusions (attention, LayerNorm, GELU) for the fp32 graph
    quantize: bool = True  # int8 variant, the CPU default
    # When no int8 preset passes the parity gate: False ships the artifact without int8 (CPU falls back to
    # fp32, the rejections are in the manifest); True fails the export and keeps the previous artifact.
    require_int8: bool = False
    # int8 settings tried in order, the first to pass the parity gate is kept (export/onnx_export.py). The
    # frozen (and static) presets fix activation scales on `calibration_texts` training texts; the dynamic
    # ones (s8_per_channel, ...) make a text's scores depend on its batch and fail the gate.
    int8_presets: list[str] = field(default_factory=lambda: ["frozen_u8_per_channel",
                                                             "frozen_u8_per_channel_fp32_ffn_out",
                                                             "frozen_s8_per_channel_fp32_ffn_out"])
    calibration_texts: int = 256
    fp16: bool = True  # fp16 variant, the CUDA default
    # Parity gate against PyTorch fp32 on held-out texts; a variant that fails is not written.
    parity_texts: int = 1000
    min_label_agreement: float = 0.99  # share of (text, label) flags unchanged
    max_macro_f1_diff: float = 0.005  # overall label's macro-F1, absolute
    max_prob_diff: float = 1.0  # max |Δprob| is always reported; 1.0 = not gated
    # Every variant: each parity text alone vs inside mixed batches; more than this, or a flipped flag, fails.
    max_batch_prob_diff: float = 1e-4


@dataclass
class RunConfig:
    run_dir: str = "runs/default"
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    export: ExportConfig = field(default_factory=ExportConfig)

    @property
    def run_path(self) -> Path:
        return Path(self.run_dir)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# Keys that older run folders' config.yaml still carry: read and ignored, so those runs still evaluate.
RETIRED_KEYS = {"fresh_pooler"}  # replaced by model.pooling; its one kept value, "random", meant pooling=cls


def _build(cls, values: dict, where: str):
    if not isinstance(values, dict):
        raise ValueError(f"{where}: expected a mapping, got {type(values).__name__}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    values = {k: v for k, v in values.items() if k not in RETIRED_KEYS}
    unknown = set(values) - known
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {sorted(unknown)}; known: {sorted(known)}")
    kwargs = {}
    for name, value in values.items():
        hint = hints[name]
        if dataclasses.is_dataclass(hint):
            kwargs[name] = _build(hint, value, f"{where}.{name}")
        else:
            kwargs[name] = _check_type(value, hint, f"{where}.{name}")
    return cls(**kwargs)


def _check_type(value, hint, where: str):
    if typing.get_origin(hint) in (typing.Union, types.UnionType):  # e.g. str | dict: the first that fits
        for option in typing.get_args(hint):
            try:
                return _check_type(value, option, where)
            except ValueError:
                pass
        raise ValueError(f"{where}: expected {hint}, got {value!r}")
    expected = typing.get_origin(hint) or hint
    if expected in (int, float) and isinstance(value, str):
        try:  # YAML reads "1e-3" as a string
            value = expected(value)
        except ValueError:
            pass
    if expected is float and type(value) is int:
        value = float(value)
    if not isinstance(value, expected) or (expected in (int, float) and isinstance(value, bool)):
        raise ValueError(f"{where}: expected {getattr(expected, '__name__', expected)}, got {value!r}")
    return value


def read_yaml(path: str | Path | None, overrides: typing.Sequence[str], what: str, example: str) -> dict:
    """A YAML file (or nothing) as a dict, with `a.b=value` overrides applied; `what` names it in errors."""
    raw: dict = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{what} file not found: {path}")
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep:
            raise ValueError(f"override {item!r}: expected key=value, e.g. {example}")
        node = raw
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = yaml.safe_load(text) if text else ""
    return raw


def load_config(path: str | Path | None = None, overrides: typing.Sequence[str] = ()) -> RunConfig:
    """Reads a YAML config (or the defaults) and applies `section.key=value` overrides."""
    return _build(RunConfig, read_yaml(path, overrides, "config", "train.epochs=1"), str(path or "config"))


def save_config(config: RunConfig, path: Path) -> None:
    atomic_write_text(path, yaml.safe_dump(config.to_dict(), allow_unicode=True, sort_keys=False))
