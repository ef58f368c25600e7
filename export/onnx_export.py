"""The export stage: trained PyTorch model -> ONNX fp32 -> dynamic int8, checked for parity, as one artifact.

The artifact folder holds model.onnx, model.int8.onnx, tokenizer.json, labels.json, thresholds.json and
manifest.json. It is built in a temporary folder and swapped in only when everything succeeded, so a
failed export leaves the previous artifact untouched.
"""

import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from onnxruntime.quantization import QuantType, quantize_dynamic

from cvguard import __version__
from cvguard.config import RunConfig
from cvguard.export.runtime import MANIFEST, Classifier, sha256_of
from cvguard.io import write_json
from cvguard.training.batching import predict_probs
from cvguard.training.model import load_classifier

FORMAT_VERSION = 1


def export_onnx(model: torch.nn.Module, path: Path, opset: int, pad_id: int) -> None:
    model.eval()
    dummy = (torch.full((2, 8), pad_id, dtype=torch.long), torch.ones((2, 8), dtype=torch.long))
    dummy[0][:, :4] = 5  # any real ids; the values only have to be valid
    # The TorchScript exporter gives the classic graph that onnxruntime's transformer fusions and
    # dynamic quantisation are tuned for.
    torch.onnx.export(model, dummy, str(path), input_names=["input_ids", "attention_mask"],
                      output_names=["logits"], opset_version=opset, dynamo=False,
                      dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                                    "attention_mask": {0: "batch", 1: "sequence"}, "logits": {0: "batch"}})


def quantize_int8(source: Path, target: Path) -> None:
    quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True)


def parity(reference: np.ndarray, probs: np.ndarray, thresholds: np.ndarray) -> dict:
    return {"n_texts": int(len(reference)),
            "max_abs_prob_diff": float(np.abs(reference - probs).max()),
            "label_agreement": float(((reference >= thresholds) == (probs >= thresholds)).mean()),
            "text_agreement": float(((reference >= thresholds) == (probs >= thresholds)).all(axis=1).mean())}


def parity_texts(run: Path, limit: int) -> list[str]:
    from cvguard.evaluation.evaluate import load_split

    texts = [r["text"] for split in ("dev", "test") for r in load_split(run, split)]
    return texts[:limit] or ["你好", "你这个废物，滚出去！"]


def export(config: RunConfig, out_dir: Path | None = None) -> dict:
    run = config.run_path
    out_dir = Path(out_dir or run / "artifact")
    model, tokenizer, meta = load_classifier(run / "model")
    labels = meta["labels"]
    thresholds_path = run / "thresholds.json"
    thresholds = json.loads(thresholds_path.read_text()) if thresholds_path.exists() else {n: 0.5 for n in labels}
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        export_onnx(model, staging / "model.onnx", config.export.opset, tokenizer.pad_token_id)
        variants = {"fp32": {"file": "model.onnx"}}
        if config.export.quantize:
            quantize_int8(staging / "model.onnx", staging / "model.int8.onnx")
            variants["int8"] = {"file": "model.int8.onnx"}
        tokenizer.backend_tokenizer.save(str(staging / "tokenizer.json"))
        write_json(staging / "labels.json", labels)
        write_json(staging / "thresholds.json", thresholds)
        for spec in variants.values():
            spec["sha256"] = sha256_of(staging / spec["file"])
            spec["bytes"] = (staging / spec["file"]).stat().st_size
        manifest = {
            "format_version": FORMAT_VERSION, "cvguard_version": __version__, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "base_model": meta["base_model"], "labels": labels, "thresholds": thresholds,
            "max_length": meta["max_length"], "pad_token_id": tokenizer.pad_token_id, "opset": config.export.opset,
            "variants": variants, "default_variant": {"cpu": "int8" if "int8" in variants else "fp32", "cuda": "fp32"},
        }
        write_json(staging / MANIFEST, manifest)

        texts = parity_texts(run, config.export.parity_texts)
        reference = predict_probs(model, tokenizer, texts, meta["max_length"], 32)
        cut = np.array([thresholds[n] for n in labels], dtype=np.float32)
        for name, spec in variants.items():
            probs = Classifier.load(staging, variant=name).predict_proba(texts)
            spec["parity_vs_pytorch"] = parity(reference, probs, cut)
            print(f"parity {name}: {json.dumps(spec['parity_vs_pytorch'])}")
        write_json(staging / MANIFEST, manifest)
        _swap_in(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def _swap_in(staging: Path, target: Path) -> None:
    """Replaces `target` with `staging`; the old artifact is removed only once the new one is in place."""
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)
