"""The deployable inference path: an exported artifact -> per-label probabilities and flags.

Imports onnxruntime, tokenizers and numpy only (never torch or transformers), so a platform can serve
cvguard with the base install:

    from cvguard.export.runtime import Classifier
    clf = Classifier.load("runs/default/artifact")           # or device="cuda"
    clf.predict(["你个废物，赶紧滚出去"])
    # [{"text": ..., "probs": {"violent": 0.97, "insult": 0.95, ...}, "labels": ["violent", "insult"]}]

Texts longer than the artifact's max_length tokens are truncated (the head sees the first max_length
tokens); empty strings and non-strings are rejected with the offending index.
"""

import hashlib
import json
import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

MANIFEST = "manifest.json"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def validate_texts(texts) -> list[str]:
    if isinstance(texts, str) or not hasattr(texts, "__iter__"):
        raise TypeError(f"texts must be a list of strings, got {type(texts).__name__}")
    texts = list(texts)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"texts[{i}] is {type(text).__name__}, expected str")
        if not text.strip():
            raise ValueError(f"texts[{i}] is empty or whitespace only")
    return texts


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class Classifier:
    def __init__(self, session: ort.InferenceSession, tokenizer: Tokenizer, manifest: dict):
        self.session = session
        self.tokenizer = tokenizer
        self.manifest = manifest
        self.labels: list[str] = manifest["labels"]
        self.thresholds = np.array([manifest["thresholds"][name] for name in self.labels], dtype=np.float32)
        self.pad_id: int = manifest["pad_token_id"]

    @classmethod
    def load(cls, artifact_dir: str | Path, device: str = "cpu", variant: str | None = None,
             intra_op_threads: int = 0, verify: bool = True) -> "Classifier":
        """variant: a key of manifest["variants"]; default int8 on CPU and fp32 on CUDA."""
        folder = Path(artifact_dir)
        manifest_path = folder / MANIFEST
        if not manifest_path.is_file():
            raise FileNotFoundError(f"{manifest_path} not found: is {folder} a cvguard artifact?")
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        variants = manifest["variants"]
        variant = variant or manifest["default_variant"].get(device, next(iter(variants)))
        if variant not in variants:
            raise ValueError(f"variant {variant!r} not in {folder}; available: {sorted(variants)}")
        model_path = folder / variants[variant]["file"]
        if verify and sha256_of(model_path) != variants[variant]["sha256"]:
            raise ValueError(f"{model_path}: sha256 does not match the manifest; the artifact is corrupt")

        providers = ["CPUExecutionProvider"]
        if device == "cuda":
            if "CUDAExecutionProvider" in ort.get_available_providers():
                providers.insert(0, "CUDAExecutionProvider")
            else:
                warnings.warn("CUDA requested but onnxruntime has no CUDAExecutionProvider "
                              "(install onnxruntime-gpu); running on CPU", stacklevel=2)
        elif device != "cpu":
            raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = intra_op_threads
        session = ort.InferenceSession(str(model_path), options, providers=providers)

        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=manifest["max_length"])
        return cls(session, tokenizer, manifest)

    def predict_proba(self, texts, batch_size: int = 32) -> np.ndarray:
        """Rows x labels probabilities, in the order of `texts`."""
        texts = validate_texts(texts)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        encoded = [e.ids for e in self.tokenizer.encode_batch(texts)]
        # Sorting by length and padding per mini-batch keeps padding (wasted compute) small.
        order = np.argsort([len(ids) for ids in encoded], kind="stable")
        probs = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            width = max(len(encoded[i]) for i in idx)
            input_ids = np.full((len(idx), width), self.pad_id, dtype=np.int64)
            attention_mask = np.zeros((len(idx), width), dtype=np.int64)
            for row, i in enumerate(idx):
                input_ids[row, :len(encoded[i])] = encoded[i]
                attention_mask[row, :len(encoded[i])] = 1
            (logits,) = self.session.run(["logits"], {"input_ids": input_ids, "attention_mask": attention_mask})
            probs[idx] = sigmoid(logits.astype(np.float32))
        return probs

    def predict(self, texts, batch_size: int = 32) -> list[dict]:
        texts = validate_texts(texts)
        probs = self.predict_proba(texts, batch_size)
        flags = probs >= self.thresholds
        return [{"text": text,
                 "probs": {name: round(float(p), 6) for name, p in zip(self.labels, row)},
                 "labels": [name for name, flagged in zip(self.labels, row_flags) if flagged]}
                for text, row, row_flags in zip(texts, probs, flags)]
