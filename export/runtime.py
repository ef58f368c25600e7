"""The deployable inference path: an exported artifact -> per-label probabilities and flags.

Imports onnxruntime, tokenizers and numpy only (never torch or transformers), so a platform can serve
cvguard with the base install:

    from cvguard.export.runtime import Classifier
    clf = Classifier.load("runs/default/artifact")           # or device="cuda"
    clf.predict(["你个废物，赶紧滚出去"])
    # [{"text": ..., "probs": {"violent": 0.97, "insult": 0.95, ...}, "labels": ["violent", "insult"]}]

Texts longer than the artifact's max_length tokens are either cut into overlapping windows, each scored,
with the text's probability the maximum over its windows ("window": abuse at the end of a long post is
still seen), or truncated to the first max_length tokens ("truncate"), as cvguard/windows.py defines both.
The trained model's settings choose (`model.long_texts`); evaluation, its thresholds and the export's parity
gate score the same way, and the manifest records it. `Classifier.load(long_texts=...)` overrides it, at
the cost of serving scores the thresholds were not chosen on. Bad input (empty
strings, non-strings, anything over optional TextLimits) raises options.InvalidTexts with the offending
index, the same check the server answers 422 with; `predict(..., skip_invalid=True)` marks such a text with a
status instead, and scores the rest.
"""

import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from cvguard.contracts import ARTIFACT_TOKENIZER, Manifest
from cvguard.export.options import (
    LONG_TEXT_MODES,
    InvalidTexts,
    RuntimeOptions,
    TextLimits,
    TextStatus,
    text_problem,
    validate_texts,
)
from cvguard.io import sha256_of  # noqa: F401 (export and the benchmarks take it from here too)
from cvguard.normalize import normalize_text
from cvguard.windows import default_window_stride, windows_of


class ArtifactError(ValueError):
    """A file of the artifact is missing, outside it, or not the file the manifest recorded."""


def verified_file(folder: Path, name: str, sha256: str | None) -> Path:
    """The path of `name` inside the artifact, checked against the manifest's sha256."""
    path = (folder / name).resolve()
    if not path.is_relative_to(folder.resolve()):
        raise ArtifactError(f"{folder}: manifest names {name!r}, which is outside the artifact folder")
    if not path.is_file():
        raise ArtifactError(f"{folder / name}: listed in the manifest but missing; re-export the artifact")
    if sha256 is not None and sha256_of(path) != sha256:
        raise ArtifactError(f"{folder / name}: sha256 does not match the manifest; the artifact is corrupt")
    return path


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class Classifier:
    def __init__(self, session: ort.InferenceSession, tokenizer: Tokenizer, manifest: Manifest,
                 long_texts: str = "truncate", window_stride: int = 0, io_binding: bool = False,
                 variant: str | None = None):
        self.session = session
        self.variant = variant
        self.tokenizer = tokenizer
        self.manifest = manifest
        self.labels: list[str] = manifest.labels
        self.thresholds = np.array([manifest.thresholds[name] for name in self.labels], dtype=np.float32)
        self.pad_id: int = manifest.pad_token_id
        self.max_length: int = manifest.max_length
        if long_texts not in LONG_TEXT_MODES:
            raise ValueError(f"long_texts must be one of {LONG_TEXT_MODES}, got {long_texts!r}")
        self.long_texts = long_texts
        self.window_stride = window_stride or default_window_stride(self.max_length)
        self.io_binding = io_binding
        self.device = "cuda" if session.get_providers()[0] == "CUDAExecutionProvider" else "cpu"
        # The tokenizer runs without truncation in window mode: split_windows does the cutting.
        if long_texts == "window":
            tokenizer.no_truncation()
        else:
            tokenizer.enable_truncation(max_length=self.max_length)

    @classmethod
    def load(cls, artifact_dir: str | Path, device: str = "cpu", variant: str | None = None,
             intra_op_threads: int = 0, inter_op_threads: int = 0, long_texts: str | None = None,
             window_stride: int | None = None, io_binding: bool | None = None, spin_wait: bool = True,
             verify: bool = True) -> "Classifier":
        """variant: a key of manifest["variants"]; default int8 on CPU, fp16 (else fp32) on CUDA.
        intra_op_threads / inter_op_threads: onnxruntime's thread pools, 0 = its default (one per core).
        long_texts, window_stride: override the manifest's "window" | "truncate" choice.
        io_binding: bind inputs and outputs to the device explicitly; default on for CUDA.
        spin_wait: onnxruntime's threads spin between calls (lowest latency for back-to-back batches); off
        for a server sharing its cores with an event loop, where the spinning starves everything else.
        verify: check every file the manifest lists against its sha256 before using any of them."""
        folder = Path(artifact_dir)
        manifest = Manifest.read(folder)
        if device not in ("cpu", "cuda"):
            raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
        cuda = device == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers()
        if device == "cuda" and not cuda:
            warnings.warn("CUDA requested but onnxruntime has no CUDAExecutionProvider "
                          "(install onnxruntime-gpu); running on CPU", stacklevel=2)

        variants = manifest.variants
        variant = variant or manifest.default_variant.get("cuda" if cuda else "cpu", next(iter(variants)))
        if variant not in variants:
            raise ValueError(f"variant {variant!r} not in {folder}; available: {sorted(variants)}")
        checksum = (lambda digest: digest) if verify else (lambda digest: None)
        model_path = verified_file(folder, variants[variant].file, checksum(variants[variant].sha256))
        files = {name: verified_file(folder, name, checksum(digest)) for name, digest in manifest.files.items()}
        tokenizer_path = files.get(ARTIFACT_TOKENIZER) or verified_file(folder, ARTIFACT_TOKENIZER, None)

        options = ort.SessionOptions()
        options.intra_op_num_threads = intra_op_threads
        options.inter_op_num_threads = inter_op_threads
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin_wait else "0")
        providers = (["CUDAExecutionProvider"] if cuda else []) + ["CPUExecutionProvider"]
        session = ort.InferenceSession(str(model_path), options, providers=providers)
        if cuda and session.get_providers()[0] != "CUDAExecutionProvider":
            # onnxruntime-gpu falls back silently when CUDA or cuDNN libraries are missing.
            warnings.warn("CUDAExecutionProvider failed to initialise (CUDA/cuDNN libraries?); running on CPU",
                          stacklevel=2)

        try:
            tokenizer = Tokenizer.from_file(str(tokenizer_path))
        except Exception as e:  # tokenizers raises a bare Exception for a malformed file
            raise ArtifactError(f"{tokenizer_path}: not a valid tokenizer file ({e})") from None
        tokenizer.no_padding()
        return cls(session, tokenizer, manifest, long_texts or manifest.long_texts,
                   window_stride or manifest.window_stride,
                   io_binding=session.get_providers()[0] == "CUDAExecutionProvider" if io_binding is None else io_binding,
                   variant=variant)

    @classmethod
    def from_options(cls, artifact_dir: str | Path, options: RuntimeOptions, **kwargs) -> "Classifier":
        """`load` with the options `cvguard predict` and `cvguard serve` share; kwargs go to `load`."""
        return cls.load(artifact_dir, device=options.device, variant=options.variant,
                        intra_op_threads=options.threads, long_texts=options.long_texts, **kwargs)

    def encode(self, texts: list[str]) -> tuple[list[list[int]], np.ndarray]:
        """Token id rows to score, and for each row the index of the text it belongs to."""
        if self.manifest.normalize:  # the model was trained on normalised text (cvguard/normalize.py)
            texts = [normalize_text(t) for t in texts]
        encodings = self.tokenizer.encode_batch(texts)
        if self.long_texts == "truncate":
            return [e.ids for e in encodings], np.arange(len(texts))
        rows, owner = windows_of([e.ids for e in encodings], [e.special_tokens_mask for e in encodings],
                                 self.max_length, self.window_stride)
        return rows, np.array(owner, dtype=np.int64)

    def run(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """One onnxruntime call: logits, float32, on the CPU."""
        if not self.io_binding:
            return self.session.run(["logits"], {"input_ids": input_ids, "attention_mask": attention_mask})[0]
        binding = self.session.io_binding()
        for name, array in (("input_ids", input_ids), ("attention_mask", attention_mask)):
            binding.bind_ortvalue_input(name, ort.OrtValue.ortvalue_from_numpy(array, self.device, 0))
        binding.bind_output("logits", self.device)
        self.session.run_with_iobinding(binding)
        return binding.copy_outputs_to_cpu()[0]

    def predict_proba(self, texts, batch_size: int = RuntimeOptions.batch_size,
                      limits: TextLimits = TextLimits(), sort_by_length: bool = True) -> np.ndarray:
        """Rows x labels probabilities, in the order of `texts`. sort_by_length=False batches the texts in the
        order given (the export's batch-independence check wants batches that pad)."""
        texts = validate_texts(texts, limits)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        encoded, owner = self.encode(texts)
        # Sorting by length and padding per mini-batch keeps padding (wasted compute) small.
        order = np.argsort([len(ids) for ids in encoded], kind="stable") if sort_by_length else np.arange(len(encoded))
        logits = np.full((len(texts), len(self.labels)), -np.inf, dtype=np.float32)
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            width = max(len(encoded[i]) for i in idx)
            input_ids = np.full((len(idx), width), self.pad_id, dtype=np.int64)
            attention_mask = np.zeros((len(idx), width), dtype=np.int64)
            for row, i in enumerate(idx):
                input_ids[row, :len(encoded[i])] = encoded[i]
                attention_mask[row, :len(encoded[i])] = 1
            # max over a text's windows; sigmoid is monotonic, so max logit = max probability
            np.maximum.at(logits, owner[idx], self.run(input_ids, attention_mask).astype(np.float32))
        return sigmoid(logits)

    def predict(self, texts, batch_size: int = RuntimeOptions.batch_size,
                limits: TextLimits = TextLimits(), skip_invalid: bool = False) -> list[dict]:
        """skip_invalid: a text that fails the per-text check (null, empty, not a string, over
        limits.max_chars, a lone surrogate) gets {"text", "status", "error"} and no scores, instead of one
        InvalidTexts for the whole call; every other text is scored, with status "ok", exactly as alone."""
        if not skip_invalid:
            texts = validate_texts(texts, limits)
            return self.format(texts, self.predict_proba(texts, batch_size))
        if isinstance(texts, str) or not hasattr(texts, "__iter__"):
            raise InvalidTexts(f"texts must be a list of strings, got {type(texts).__name__}")
        texts = list(texts)
        problems = [text_problem(text, limits.max_chars) for text in texts]
        good = [text for text, problem in zip(texts, problems) if problem is None]
        scored = iter(self.format(good, self.predict_proba(good, batch_size)) if good else [])
        return [{**next(scored), "status": TextStatus.OK.value} if problem is None else
                {"text": text, "status": problem[0].value, "error": problem[1]}
                for text, problem in zip(texts, problems)]

    def format(self, texts: list[str], probs: np.ndarray) -> list[dict]:
        flags = probs >= self.thresholds
        return [{"text": text,
                 "probs": {name: round(float(p), 6) for name, p in zip(self.labels, row)},
                 "labels": [name for name, flagged in zip(self.labels, row_flags) if flagged]}
                for text, row, row_flags in zip(texts, probs, flags)]
