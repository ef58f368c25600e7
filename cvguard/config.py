"""Typed run configuration: YAML file -> dataclasses -> code, with `a.b=value` CLI overrides.

Config flows one way. Stages receive the dataclass they need and never read
YAML or the environment themselves.
"""

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from cvguard import DEFAULT_DATA_ROOT  # noqa: F401 (re-exported for the stages)


@dataclass
class DataConfig:
    # Sources used for train/dev (and their own test splits): seed, cold, toxicn.
    sources: list[str] = field(default_factory=lambda: ["seed"])
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


@dataclass
class ModelConfig:
    # A Hub id (bert-base-chinese, hfl/chinese-roberta-wwm-ext, hfl/rbt3) or a local folder.
    model_name_or_path: str = "hfl/rbt3"
    # Keep only the first N encoder layers (0 = all): a cheap way to trade accuracy for speed.
    num_hidden_layers: int = 0
    pooling: str = "mean"  # mean | cls
    max_length: int = 128
    dropout: float = 0.1


@dataclass
class TrainConfig:
    epochs: int = 3
    max_steps: int = 0  # stop after this many optimiser steps, 0 = run all epochs
    # End this invocation after N more steps, with a checkpoint; the next call resumes. For time-sliced
    # or preemptible queues (and the resume tests). 0 = run to the end.
    stop_after_steps: int = 0
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


@dataclass
class EvalConfig:
    # How the per-label threshold is picked on dev: target_recall | max_f1
    threshold_policy: str = "max_f1"
    target_recall: float = 0.8
    # Per-label override of target_recall, e.g. {threat: 0.9}.
    target_recall_per_label: dict[str, float] = field(default_factory=dict)
    batch_size: int = 64


@dataclass
class ExportConfig:
    opset: int = 17
    quantize: bool = True
    parity_texts: int = 1000  # held-out texts for the ONNX-vs-PyTorch parity check


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


def _build(cls, values: dict, where: str):
    if not isinstance(values, dict):
        raise ValueError(f"{where}: expected a mapping, got {type(values).__name__}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
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


def load_config(path: str | Path | None = None, overrides: list[str] = ()) -> RunConfig:
    """Reads a YAML config (or the defaults) and applies `section.key=value` overrides."""
    raw = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"config file not found: {path}")
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep:
            raise ValueError(f"override {item!r}: expected key=value, e.g. train.epochs=1")
        node = raw
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = yaml.safe_load(text) if text else ""
    return _build(RunConfig, raw, str(path or "config"))


def save_config(config: RunConfig, path: Path) -> None:
    path.write_text(yaml.safe_dump(config.to_dict(), allow_unicode=True, sort_keys=False), encoding="utf-8")
