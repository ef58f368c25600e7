"""What a caller of the runtime or the server can set, with every default spelled once, and the one check
of input texts that the runtime and the server share.

Standard library only: `cvguard predict` (base install) and the CLI's argument parser read these defaults
without importing fastapi, onnxruntime or torch.
"""

from dataclasses import dataclass, fields

LONG_TEXT_MODES = ("window", "truncate")


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


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    max_batch: int = 64  # texts gathered into one onnxruntime call
    max_wait_ms: float = 5.0  # how long a request waits for others to batch with
    max_texts: int = 64  # per request
    max_chars: int = 2000  # per text
    max_body_bytes: int = 1 << 20

    @property
    def limits(self) -> TextLimits:
        return TextLimits(1, self.max_texts, self.max_chars)


def from_args(cls, args):
    """An options dataclass from an argparse namespace whose dests are the field names."""
    return cls(**{f.name: getattr(args, f.name) for f in fields(cls)})


class InvalidTexts(ValueError, TypeError):
    """Bad input: what is wrong, and the index of the offending text (None when the list itself is wrong).
    Both a ValueError and a TypeError, so callers that caught either before this class existed still do."""

    def __init__(self, problem: str, index: int | None = None):
        super().__init__(problem if index is None else f"texts[{index}] {problem}")
        self.problem = problem
        self.index = index


def validate_texts(texts, limits: TextLimits = TextLimits()) -> list[str]:
    if isinstance(texts, str) or not hasattr(texts, "__iter__"):
        raise InvalidTexts(f"texts must be a list of strings, got {type(texts).__name__}")
    texts = list(texts)
    if len(texts) < limits.min_texts:
        raise InvalidTexts("texts is empty" if not texts else f"too few texts: {len(texts)} < {limits.min_texts}")
    if limits.max_texts is not None and len(texts) > limits.max_texts:
        raise InvalidTexts(f"too many texts: {len(texts)} > {limits.max_texts} per request")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise InvalidTexts(f"is {type(text).__name__}, expected a string", i)
        if not text.strip():
            raise InvalidTexts("is empty or whitespace only", i)
        if limits.max_chars is not None and len(text) > limits.max_chars:
            raise InvalidTexts(f"is too long: {len(text)} > {limits.max_chars} characters", i)
    return texts
