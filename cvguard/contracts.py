"""The contracts between cvguard's stages, in one place.

- `Source`: a dataset cvguard reads, with its display name, licence, whether the project authored it and
  whether it is only ever scored (test-only).
- `RunDir`: every path inside a run folder. No other module spells a run-folder path.
- `ModelSettings`: what a trained checkpoint carries for cvguard beside the Hugging Face config.
- `Manifest`: what an exported artifact promises; export writes it, the runtime reads it.

- `EvaluationResults`: what evaluation measured, per model; metrics.json, read by the report and the model card.

This module imports the standard library and numpy only, because the torch-free runtime reads the Manifest.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cvguard.io import atomic_write, read_jsonl, write_json

# --- data sources ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    name: str  # the id in configs and in every row's "source" field
    display_name: str
    folder: str  # folder name under the data root (../shared/datasets)
    url: str  # where users with internet download it
    licence: str
    authored: bool = False  # written by this project: never reported as public data
    test_only: bool = False  # functional tests or the like: scored, never trained on


COLD = Source("cold", "COLD", "COLD", "https://github.com/thu-coai/COLDataset (folder COLDataset/)", "Apache-2.0")
TOXICN = Source("toxicn", "ToxiCN", "ToxiCN", "https://github.com/DUT-lujunyu/ToxiCN",
                "CC BY-NC-ND 4.0 (research use)")
MHC = Source("mhc", "MHC-Mandarin (HateCheck)", "MHC-Mandarin",
             "https://github.com/rewire-online/multilingual-hatecheck", "CC BY 4.0", test_only=True)
SEED = Source("seed", "seed corpus (authored)", "seed", "bundled with cvguard (data/seed/)", "Apache-2.0",
              authored=True)
THREADS = Source("threads", "incident threads (authored)", "threads", "bundled with cvguard (data/threads/)",
                 "Apache-2.0", authored=True)
COUNTERFACTUAL = Source("counterfactual", "counterfactual triples (authored)", "counterfactual",
                        "bundled with cvguard (data/counterfactual/)", "Apache-2.0", authored=True)
SOURCES: dict[str, Source] = {s.name: s for s in (COLD, TOXICN, MHC, SEED, THREADS, COUNTERFACTUAL)}


def get_source(name: str) -> Source:
    if name not in SOURCES:
        raise ValueError(f"unknown data source {name!r}; known: {sorted(SOURCES)}")
    return SOURCES[name]


# --- run folder --------------------------------------------------------------------------------------------

SPLITS = ("train", "dev", "test")
EVAL_SPLITS = ("dev", "test")  # the splits every model is scored on
MODEL_NAME = "cvguard"  # the fine-tuned transformer's name among a run's predictions (beside the baselines)


class MissingStageOutput(FileNotFoundError):
    """A stage's input is not there yet; the message names the file and the command that makes it."""


@dataclass(frozen=True)
class RunDir:
    """A run folder. `cvguard data` fills data/, `train` the checkpoint and model/, `evaluate` predictions/,
    metrics and the reports, `export` artifact/."""

    root: Path

    def __post_init__(self):
        object.__setattr__(self, "root", Path(self.root))

    # written by `cvguard data`
    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def data(self) -> Path:
        return self.root / "data"

    def split(self, name: str) -> Path:
        if name not in SPLITS:
            raise ValueError(f"unknown split {name!r}; expected one of {SPLITS}")
        return self.data / f"{name}.jsonl"

    def split_arrow(self, name: str) -> Path:
        """The split as a `datasets` folder (save_to_disk), built from the JSONL by cvguard.data.arrow."""
        return self.split(name).with_suffix(".arrow")

    def token_cache(self, name: str, key: str) -> Path:
        """Token ids of a split for one tokenizer/max_length/normalize (`key`); inside the split's Arrow folder,
        so rebuilding the split drops them."""
        return self.split_arrow(name) / f"tokens-{key}.arrow"

    @property
    def data_report(self) -> Path:
        return self.data / "report.json"

    # written by `cvguard train`
    @property
    def checkpoint(self) -> Path:
        return self.root / "checkpoint.pt"

    @property
    def model(self) -> Path:
        return self.root / "model"

    @property
    def train_log(self) -> Path:
        return self.root / "train_log.jsonl"

    @property
    def pos_weight(self) -> Path:
        return self.root / "pos_weight.json"

    # written by `cvguard evaluate` / `cvguard baseline`
    @property
    def predictions_root(self) -> Path:
        return self.root / "predictions"

    def predictions(self, model_name: str, split: str) -> Path:
        return self.predictions_root / model_name / f"{split}.npy"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.json"

    @property
    def thresholds(self) -> Path:
        return self.root / "thresholds.json"

    @property
    def report_md(self) -> Path:
        return self.root / "report.md"

    @property
    def report_html(self) -> Path:
        return self.root / "report.html"

    @property
    def model_card(self) -> Path:
        return self.model / MODEL_CARD_FILE

    # written by `cvguard export` and `cvguard run`
    @property
    def artifact(self) -> Path:
        return self.root / "artifact"

    @property
    def sample_predictions(self) -> Path:
        return self.root / "sample_predictions.jsonl"

    # reading, with errors that say which command to run first
    def require(self, path: Path, command: str) -> Path:
        if not path.exists():
            raise MissingStageOutput(f"{path} not found; run `cvguard {command}` first")
        return path

    def read_split(self, name: str, required: bool = False) -> list[dict]:
        path = self.split(name)
        if required:
            self.require(path, "data CONFIG")
        return read_jsonl(path) if path.exists() else []

    def save_predictions(self, model_name: str, split: str, probs: np.ndarray) -> None:
        atomic_write(self.predictions(model_name, split), lambda f: np.save(f, probs))

    def load_predictions(self, model_name: str, split: str) -> np.ndarray:
        return np.load(self.require(self.predictions(model_name, split), "evaluate CONFIG"))

    def prediction_models(self) -> list[str]:
        root = self.predictions_root
        return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []

    def read_thresholds(self, labels: list[str]) -> dict[str, float]:
        """The dev-chosen thresholds, or 0.5 for every label before evaluation has run."""
        if not self.thresholds.exists():
            return {name: 0.5 for name in labels}
        return json.loads(self.thresholds.read_text(encoding="utf-8"))


# --- what a checkpoint carries ------------------------------------------------------------------------------


@dataclass
class ModelSettings:
    """Stored as `cvguard` in the checkpoint's config.json, so every reader of RUN_DIR/model (evaluation,
    export, the model card) tokenises and normalises exactly as training did. Plain Hugging Face tools ignore
    it: they see an ordinary multi-label sequence classifier."""

    max_length: int = 128
    normalize: bool = False  # texts go through cvguard.normalize before tokenising
    base_model: str = ""
    revision: str = ""  # the Hub revision the base model was pinned to ("" = the default branch)
    # How texts over max_length tokens are scored (cvguard/windows.py). Checkpoints from before this setting
    # were evaluated with truncation, hence the default.
    long_texts: str = "truncate"
    window_stride: int = 0  # 0 = half a window
    pooling: str = "cls"  # "mean": the top layer was initialised to mean-pool into [CLS] (training/model.py)

    @classmethod
    def from_dict(cls, values: dict | None) -> ModelSettings:
        if values is None:
            raise ValueError("config.json has no `cvguard` settings: not a checkpoint written by cvguard train")
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# --- the exported artifact ----------------------------------------------------------------------------------

MANIFEST_FILE = "manifest.json"
ARTIFACT_TOKENIZER = "tokenizer.json"
ARTIFACT_LABELS = "labels.json"
ARTIFACT_THRESHOLDS = "thresholds.json"
MODEL_CARD_FILE = "README.md"  # where the Hub looks for a model card, in RUN_DIR/model and in the artifact
ARTIFACT_MODEL_CARD = MODEL_CARD_FILE
MANIFEST_VERSION = 3  # 3: typed Manifest, every listed file checksummed, HF-native source model
READABLE_VERSIONS = (2, 3)  # 2 differs only in having no `files` table


@dataclass
class Variant:
    file: str
    sha256: str
    bytes: int
    precision: str  # fp32 | int8 | fp16
    details: dict = field(default_factory=dict)  # preset, settings, parity against PyTorch, ...


@dataclass
class Manifest:
    labels: list[str]
    thresholds: dict[str, float]
    max_length: int
    pad_token_id: int
    normalize: bool
    long_texts: str  # window | truncate
    window_stride: int
    base_model: str
    cvguard_version: str
    created: str
    opset: int = 17
    format_version: int = MANIFEST_VERSION
    variants: dict[str, Variant] = field(default_factory=dict)
    default_variant: dict[str, str] = field(default_factory=dict)  # device -> variant
    files: dict[str, str] = field(default_factory=dict)  # every other file -> sha256 (tokenizer, labels, ...)
    build: dict = field(default_factory=dict)  # how it was made: fusions, parity gate, rejected variants

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def write(self, folder: Path) -> None:
        write_json(folder / MANIFEST_FILE, self.to_dict())

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        path = Path(folder) / MANIFEST_FILE
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found: is {folder} a cvguard artifact?")
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ValueError(f"{path}: not valid JSON ({e})") from None
        version = raw.get("format_version")
        if version not in READABLE_VERSIONS:
            raise ValueError(f"{path}: format_version {version!r}; this cvguard reads {READABLE_VERSIONS}. "
                             "Re-export the run with this version")
        if version == 2:
            raw = _upgrade_v2(raw)
        try:
            raw["variants"] = {name: Variant(**v) for name, v in raw["variants"].items()}
            return cls(**raw)
        except (TypeError, KeyError) as e:
            raise ValueError(f"{path}: malformed manifest ({e})") from None


def _upgrade_v2(raw: dict) -> dict:
    """Format 2 kept variant details inline and the long-text choice as a nested dict."""
    core = {"file", "sha256", "bytes", "precision"}
    variants = {name: {**{k: v[k] for k in core if k in v}, "bytes": v.get("bytes", 0),
                       "details": {k: x for k, x in v.items() if k not in core}}
                for name, v in raw["variants"].items()}
    long = raw.get("long_texts", {"mode": "truncate", "stride": 0})
    return {"labels": raw["labels"], "thresholds": raw["thresholds"], "max_length": raw["max_length"],
            "pad_token_id": raw["pad_token_id"], "normalize": raw.get("normalize", False),
            "long_texts": long["mode"], "window_stride": long.get("stride", 0),
            "base_model": raw.get("base_model", ""), "cvguard_version": raw.get("cvguard_version", ""),
            "created": raw.get("created", ""), "opset": raw.get("opset", 17), "format_version": 2,
            "variants": variants, "default_variant": raw.get("default_variant", {}),
            "files": {raw["tokenizer"]["file"]: raw["tokenizer"]["sha256"]} if "tokenizer" in raw else {},
            "build": {}}


# --- evaluation results (metrics.json) ----------------------------------------------------------------------
# What `cvguard evaluate` measures, per model, and what the report, the model card, the notebook read. Field
# names are the JSON keys, so metrics.json stays plain JSON with the same numbers and `from_json` rebuilds the
# objects from the annotations alone. The metric functions (evaluation/metrics.py, bias.py, calibration.py)
# return plain dicts with these keys; evaluate turns a model's dict into a ModelResult in one place.

RESULTS_VERSION = 2  # 2: {"schema_version", "models"}; 1 (no version): the models dict at the top level

CI = list[float] | None  # a 95% bootstrap interval [low, high]; None without resamples or data


@dataclass
class LabelMetrics:
    n: int  # rows where the label is known
    support: int  # positives among them
    threshold: float
    low_support: bool  # fewer positives than eval.min_support: shown, flagged as too little data
    tp: int
    fp: int
    fn: int
    tn: int
    precision: float | None
    recall: float | None
    f1: float | None
    fpr: float | None
    fnr: float | None
    precision_ci: CI
    recall_ci: CI
    f1_ci: CI
    fpr_ci: CI
    fnr_ci: CI
    accuracy: float | None
    macro_f1: float | None
    flag_rate: float | None
    roc_auc: float | None
    pr_auc: float | None
    # The best recall at any threshold where precision is at least 0.70: ranking quality at a usable
    # operating point, read off the test curve (not a deployable threshold; those come from dev).
    recall_at_precision_70: float | None = None


@dataclass
class Threshold:
    threshold: float
    how: str  # display only: how dev chose it
    target_recall: float
    dev_support: int


@dataclass
class SplitResult:
    n: int
    overall: dict[str, LabelMetrics]
    by_source: dict[str, dict[str, LabelMetrics]]
    # "source:subset" -> {"n", "flag_rate"}: a display-only table, kept as a dict
    violent_flag_rate_by_subset: dict[str, dict]


@dataclass
class PRCurve:
    recall: list[float]
    precision: list[float]


@dataclass
class Calibration:
    ece: float | None
    n: int
    bins: int
    count: list[int]  # per non-empty bin
    mean_prob: list[float]
    pos_rate: list[float]


@dataclass
class BlockResult:
    """Test rows the report keeps apart: public data, a test-only suite, or an authored corpus."""
    title: str
    sources: list[str]
    authored: bool
    n: int
    labels: dict[str, LabelMetrics]  # labels known on no row of the block are absent
    pr_curves: dict[str, PRCurve | None]  # None where the block has one class only
    calibration: dict[str, Calibration]


@dataclass
class GroupBias:
    n: int
    n_pos: int
    n_neg: int
    subgroup_auc: float | None
    bpsn_auc: float | None
    bnsp_auc: float | None
    fpr: float | None
    fpr_ci: CI
    fnr: float | None
    fnr_ci: CI


@dataclass
class Gap:
    """The widest spread of one rate (FPR or FNR) between groups with enough rows."""
    gap: float
    high_group: str
    high: float
    low_group: str
    low: float
    groups_compared: int


@dataclass
class PowerMeans:
    """Each AUC's power mean (p = -5) over the groups."""
    subgroup_auc: float | None
    bpsn_auc: float | None
    bnsp_auc: float | None


@dataclass
class SourceBias:
    threshold: float
    n: int
    groups: dict[str, GroupBias]
    overall_auc: float | None
    power_means: PowerMeans
    final: float | None  # the Jigsaw bias score
    fpr_gap: Gap | None
    fnr_gap: Gap | None

    def gap(self, rate: str) -> Gap | None:
        return {"fpr": self.fpr_gap, "fnr": self.fnr_gap}[rate]


@dataclass
class GroupRate:
    n: int
    rate: float


@dataclass
class Rate:
    n: int
    rate: float | None
    rate_ci: CI


@dataclass
class FlagRates:
    """How often non-violent texts of one (source, subset) are flagged: counter-speech, identity mentions."""
    source: str
    subset: str
    what: str  # display only
    n: int
    rate: float | None
    rate_ci: CI
    by_group: dict[str, GroupRate]


@dataclass
class Functionality:
    gold: str  # display only: "hateful" | "non-hateful"
    our_labels: str  # display only: our taxonomy's labels for it, e.g. "violent, insult"
    differs: bool  # our taxonomy's overall label disagrees with HateCheck's gold
    n: int
    rate: float | None  # accuracy against HateCheck's gold
    rate_ci: CI


@dataclass
class TargetAccuracy:
    n: int
    rate: float | None
    rate_ci: CI
    hateful: float | None
    non_hateful: float | None


@dataclass
class HateCheck:
    overall: Rate
    hateful: Rate
    non_hateful: Rate
    by_functionality: dict[str, Functionality]
    by_target: dict[str, TargetAccuracy]


@dataclass
class LabelVerdict:
    target: float
    status: str  # meets | below | too_few
    support: int
    recall: float | None
    recall_ci: CI
    # The block it was judged on: the verdict's block, or, for a label with too few positives there (the six
    # categories COLD and ToxiCN leave unknown), the next block that has enough, the incident threads first.
    block: str = ""


@dataclass
class GroupGap:
    source: str
    authored: bool
    rate: str  # fpr | fnr
    gap: float
    high_group: str
    high: float
    low_group: str
    low: float
    groups_compared: int


@dataclass
class Verdict:
    block: str  # the block it was judged on
    authored: bool  # that block is authored data (there was no public test data)
    min_support: int
    labels: dict[str, LabelVerdict]
    meets: list[str]
    below: list[str]
    too_few: list[str]
    largest_gaps: list[GroupGap]  # public data first, widest first


@dataclass
class ModelResult:
    model: str
    eval_config: dict  # config.EvalConfig as a dict (contracts does not import the config module)
    thresholds: dict[str, Threshold]
    splits: dict[str, SplitResult]
    # The rest needs test rows; a run without them has only the thresholds and dev.
    blocks: dict[str, BlockResult] = field(default_factory=dict)
    bias: dict[str, SourceBias | None] = field(default_factory=dict)  # None: the source has no groups
    counter_speech: list[FlagRates] = field(default_factory=list)
    identity_mentions: list[FlagRates] = field(default_factory=list)
    hatecheck: HateCheck | None = None
    verdict: Verdict | None = None

    @classmethod
    def from_dict(cls, raw: dict) -> ModelResult:
        return from_json(cls, raw)


@dataclass
class EvaluationResults:
    models: dict[str, ModelResult]  # model name ("cvguard", "tfidf_baseline", ...) -> its results
    schema_version: int = RESULTS_VERSION

    def __getitem__(self, name: str) -> ModelResult:
        return self.models[name]

    def write(self, path: Path) -> None:
        write_json(path, {"schema_version": self.schema_version,
                          "models": {name: dataclasses.asdict(m) for name, m in self.models.items()}})

    @classmethod
    def read(cls, path: Path) -> EvaluationResults:
        try:
            raw = json.loads(Path(path).read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ValueError(f"{path}: not valid JSON ({e})") from None
        version = raw.get("schema_version", 1)
        if version not in (1, RESULTS_VERSION):
            raise ValueError(f"{path}: schema_version {version!r}; this cvguard reads 1 and {RESULTS_VERSION}. "
                             "Re-run `cvguard report RUN_DIR`")
        models = raw if version == 1 else raw["models"]  # 1 held the same objects, without the envelope
        try:
            return cls({name: ModelResult.from_dict(m) for name, m in models.items()})
        except (TypeError, KeyError, AttributeError) as e:
            raise ValueError(f"{path}: malformed metrics ({e!r})") from None


def from_json(kind, value):
    """A JSON value as the annotated type: dataclasses field by field, dict[str, X] and list[X] item by item,
    X | None as X unless None. Unknown or missing fields raise TypeError."""
    if value is None or (isinstance(kind, type) and isinstance(value, kind)):  # None, or already built
        return value
    if dataclasses.is_dataclass(kind):
        hints = _hints(kind)
        return kind(**{k: from_json(hints.get(k), v) if k in hints else _unknown(kind, k) for k, v in value.items()})
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is dict and args:
        return {k: from_json(args[1], v) for k, v in value.items()}
    if origin is list and args:
        return [from_json(args[0], v) for v in value]
    if origin in (typing.Union, types.UnionType):
        return from_json(next(a for a in args if a is not type(None)), value)
    return value


@functools.cache
def _hints(kind) -> dict:
    return typing.get_type_hints(kind)


def _unknown(kind, name):
    raise TypeError(f"{kind.__name__} has no field {name!r}")
