"""What a caller of the runtime or the server can set, with every default spelled once, and the one check
of input texts that the runtime and the server share.

Standard library only: `cvguard predict` (base install) and the CLI's argument parser read these defaults
without importing fastapi, onnxruntime or torch.
"""

import os
from dataclasses import dataclass, fields
from enum import Enum

from cvguard.windows import LONG_TEXT_MODES  # noqa: F401 (the runtime and the CLI take it from here)


def usable_cores() -> int:
    """The cores this process may run on: its CPU affinity (taskset, a container's cpuset) where the OS says,
    else every core. os.cpu_count() counts the machine's, so under `taskset -c 1` it sized two workers."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


@dataclass(frozen=True)
class RuntimeOptions:
    """How an artifact is loaded and run; `cvguard predict` and `cvguard serve` both take these."""
    device: str = "cpu"  # "cpu" | "cuda"
    variant: str | None = None  # None = the manifest's default for the device (int8 on CPU, fp16 on CUDA)
    threads: int = 0  # onnxruntime intra-op threads; 0 = one per core
    batch_size: int = 32  # rows per onnxruntime call
    long_texts: str | None = None  # "window" | "truncate"; None = the artifact's choice


@dataclass(frozen=True)
class TextLimits:
    """Bounds on one call's input; None = unbounded. The library accepts an empty list (nothing to score),
    the server does not (an empty request is a client bug)."""
    min_texts: int = 0
    max_texts: int | None = None
    max_chars: int | None = None
    max_total_chars: int | None = None  # summed over the list: the server's per-request token budget


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    max_batch: int = 64  # texts gathered into one onnxruntime call
    max_wait_ms: float = 5.0  # how long a request waits for others to batch with
    max_texts: int = 64  # per request
    max_chars: int = 2000  # per text
    max_body_bytes: int = 1 << 20
    # A request's cost is its characters, a cheap stand-in for tokens counted before any tokenising: the
    # Chinese tokenizers give about one token per character (fewer for Latin words; window mode scores a long
    # text's overlapping windows, up to ~2x). The budget bounds how long one request holds the model.
    max_request_tokens: int = 16384
    max_call_tokens: int = 2048  # per batched call: requests are scored in chunks of at most this (one long text)
    fair_scheduling: bool = True  # chunks of waiting requests taken round-robin; False = queue order (benchmark)

    @property
    def limits(self) -> TextLimits:
        return TextLimits(1, self.max_texts, self.max_chars, self.max_request_tokens)


@dataclass(frozen=True)
class ScoreOptions:
    """`cvguard score`: a backlog of files scored into a folder of Parquet files (export/score.py)."""
    text_column: str = "text"
    id_column: str = "id"
    keep: tuple[str, ...] = ()  # input columns copied to the output beside the id
    engine: str = "local"  # "local" | "ray"
    # local: worker processes, each with one onnxruntime session of `threads` threads (0 = cores / workers).
    # 0 = one per fragment to score, at most one per core, the cores' threads shared out: 2 processes x 1 thread
    # matched or beat 1 x 2 on the 2-core VM when each had fragments, and an input of one fragment ran 0.92x bare
    # as 1 x 2 against 0.55x as 2 x 1, one of them idle (docs/benchmarks.md, "Batch scoring").
    workers: int = 0
    fragment_rows: int = 20_000  # rows per output file: the unit of resume, and of what one worker holds
    # Longer texts get status too_long: they bound what one row costs (window mode scores every window).
    max_chars: int = 10_000
    actors: int = 2  # ray: actors, each loading the artifact once
    cpus_per_actor: float = 1.0
    gpus_per_actor: float = 0.0  # > 0 needs onnxruntime-gpu and --device cuda
    address: str | None = None  # ray: an existing cluster ("auto", "ray://host:10001"); None = start one here


def from_args(cls, args):
    """An options dataclass from an argparse namespace whose dests are the field names; a field the parser
    does not offer keeps its default."""
    return cls(**{f.name: getattr(args, f.name) for f in fields(cls) if hasattr(args, f.name)})


class InvalidTexts(ValueError, TypeError):
    """Bad input: what is wrong, and the index of the offending text (None when the list itself is wrong).
    Both a ValueError and a TypeError, so callers that caught either before this class existed still do."""

    def __init__(self, problem: str, index: int | None = None):
        super().__init__(problem if index is None else f"texts[{index}] {problem}")
        self.problem = problem
        self.index = index


class TextStatus(str, Enum):
    """Why a text is not scored, as the short code a per-row caller records (`cvguard score`'s status
    column); OK for a text that is."""
    OK = "ok"
    NULL = "null"
    EMPTY = "empty"  # empty or whitespace only
    NOT_STRING = "not_string"
    TOO_LONG = "too_long"
    INVALID_UNICODE = "invalid_unicode"  # a lone surrogate
    # Set by readers, before any text exists: bytes that are not UTF-8, a line that is not JSON, a CSV row with
    # the wrong number of fields.
    INVALID_UTF8 = "invalid_utf8"
    INVALID_JSON = "invalid_json"
    BAD_CSV_ROW = "bad_csv_row"


def text_problem(text, max_chars: int | None = None) -> tuple[TextStatus, str] | None:
    """The one check of a single text: None when it can be scored, else its status and what is wrong."""
    if not isinstance(text, str):
        return TextStatus.NULL if text is None else TextStatus.NOT_STRING, f"is {type(text).__name__}, expected a string"
    if not text.strip():
        return TextStatus.EMPTY, "is empty or whitespace only"
    if max_chars is not None and len(text) > max_chars:
        return TextStatus.TOO_LONG, f"is too long: {len(text)} > {max_chars} characters"
    try:  # a lone surrogate ("\ud800", valid in JSON) makes the tokenizer raise: refuse it here
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        return TextStatus.INVALID_UNICODE, f"is not valid Unicode: lone surrogate {text[e.start]!r} at character {e.start}"
    return None


def validate_texts(texts, limits: TextLimits = TextLimits()) -> list[str]:
    if isinstance(texts, str) or not hasattr(texts, "__iter__"):
        raise InvalidTexts(f"texts must be a list of strings, got {type(texts).__name__}")
    texts = list(texts)
    if len(texts) < limits.min_texts:
        raise InvalidTexts("texts is empty" if not texts else f"too few texts: {len(texts)} < {limits.min_texts}")
    if limits.max_texts is not None and len(texts) > limits.max_texts:
        raise InvalidTexts(f"too many texts: {len(texts)} > {limits.max_texts} per request")
    for i, text in enumerate(texts):
        problem = text_problem(text, limits.max_chars)
        if problem is not None:
            raise InvalidTexts(problem[1], i)
    total = sum(map(len, texts))
    if limits.max_total_chars is not None and total > limits.max_total_chars:
        raise InvalidTexts(f"too long in total: {total} > {limits.max_total_chars} characters per request; "
                           f"split the texts over several requests of at most {limits.max_total_chars} characters")
    return texts
