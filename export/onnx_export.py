"""The export stage: trained PyTorch model -> ONNX -> fused fp32, int8 (CPU) and fp16 (CUDA), each
checked for parity against PyTorch before it joins the artifact.

1. `torch.onnx.export` with eager attention, the graph onnxruntime's transformer optimiser recognises;
2. `optimize_model(model_type="bert")` fuses embeddings+LayerNorm, attention, bias+GELU and
   residual+LayerNorm into single kernels: the "fp32" variant;
3. dynamic int8 from the fused graph, trying the presets in `export.int8_presets` in order and keeping the
   first that passes the gate (later presets keep more of the graph in fp32: slower, closer to fp32);
4. fp16 from the fused graph with fp32 inputs and outputs, for CUDA.

The parity gate scores every variant through the runtime on held-out texts (test split first, then dev)
against PyTorch fp32: agreement of the flags (every text x label), and the change in the overall label's
macro-F1 against the gold labels. The agreement of the worst single label and max |Δprob| are recorded
too. A variant that fails is not written: fp32 failing fails the export; an int8 or fp16 variant that fails
is left out with a warning (`export.require_int8` makes a missing int8 fatal).

The artifact folder holds the variants, the tokenizer, labels, thresholds, the model card and the manifest
(cvguard.contracts.Manifest), which lists every file with its sha256. It is built in a staging folder and
swapped in only when everything succeeded, so a failed export leaves the previous artifact untouched.
"""

import json
import random
import re
import shutil
import time
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_dynamic, quantize_static
from onnxruntime.transformers.fusion_options import FusionOptions
from onnxruntime.transformers.onnx_model import OnnxModel
from onnxruntime.transformers.optimizer import optimize_model
from transformers import PreTrainedModel

from cvguard import __version__
from cvguard.config import ExportConfig, RunConfig
from cvguard.contracts import (
    ARTIFACT_LABELS,
    ARTIFACT_MODEL_CARD,
    ARTIFACT_THRESHOLDS,
    ARTIFACT_TOKENIZER,
    Manifest,
    RunDir,
    Variant,
)
from cvguard.evaluation.metrics import binary_metrics
from cvguard.export.runtime import Classifier, default_window_stride, sha256_of
from cvguard.io import recover_dir, replace_dir, staging_dir, write_json
from cvguard.taxonomy import UNKNOWN, label_matrix
from cvguard.training.batching import predict_probs
from cvguard.training.model import load_model

# int8 settings; export tries `export.int8_presets` in order and keeps the first that passes the gate.
# "dynamic": onnxruntime's dynamic quantisation computes each activation scale at run time over the whole
# batch tensor, so a text's scores move with whatever else is in its batch (up to 0.09 in probability on
# COLD test): under `cvguard serve` one client's traffic would change another client's labels. Such presets
# fail the batch-independence gate; they are kept for comparison (benchmarks/inference.py).
# "frozen": the dynamic graph with every run-time scale replaced by the one it would compute over the whole
# range seen on calibration texts (freeze_activation_scales). Same integer kernels (MatMulInteger, QAttention),
# so as fast as dynamic, and a text's scores depend on that text alone. The default.
# "static": onnxruntime's static QDQ quantisation of the MatMuls (attention left unfused so its projections
# are MatMuls). Batch-independent and the closest to fp32, but slower than fp32 on AVX2 CPUs without VNNI
# (0.6x in docs/benchmarks.md): available, not a default.
# Weights per output channel: per-tensor int8 lost 3 points of agreement on the pilot model. On AVX2 without
# VNNI, U8S8 kernels (int8 weights) sum pairs of u8*s8 products in int16 (VPMADDUBSW), which can saturate;
# U8U8 (uint8 weights) and 7-bit weights (reduce_range) cannot. `embeddings` (dynamic only): quantise the
# word-embedding table too. `exclude`: node-name regexes left in fp32.
INT8_PRESETS = {
    "frozen_u8_per_channel": {"mode": "frozen", "weight_type": "quint8", "per_channel": True, "reduce_range": False,
                              "embeddings": True, "exclude": []},
    "frozen_s8_per_channel_fp32_ffn_out": {"mode": "frozen", "weight_type": "qint8", "per_channel": True,
                                           "reduce_range": False, "embeddings": False,
                                           "exclude": [r"layer\.\d+/output/dense/"]},
    "frozen_u8_per_channel_fp32_ffn_out": {"mode": "frozen", "weight_type": "quint8", "per_channel": True,
                                           "reduce_range": False, "embeddings": False,
                                           "exclude": [r"layer\.\d+/output/dense/"]},
    "static_s8_per_channel": {"mode": "static", "weight_type": "qint8", "per_channel": True,
                              "reduce_range": False, "exclude": []},
    # The FFN output projection reads GELU outputs, whose outliers dominate an int8 activation scale.
    "static_s8_per_channel_fp32_ffn_out": {"mode": "static", "weight_type": "qint8", "per_channel": True,
                                           "reduce_range": False, "exclude": [r"layer\.\d+/output/dense/"]},
    "s8_per_channel": {"mode": "dynamic", "weight_type": "qint8", "per_channel": True, "reduce_range": False,
                       "embeddings": True, "exclude": []},
    "u8_per_channel": {"mode": "dynamic", "weight_type": "quint8", "per_channel": True, "reduce_range": False,
                       "embeddings": True, "exclude": []},
    "s8_per_channel_fp32_embeddings": {"mode": "dynamic", "weight_type": "qint8", "per_channel": True,
                                       "reduce_range": False, "embeddings": False, "exclude": []},
    "s8_per_channel_fp32_ffn_out": {"mode": "dynamic", "weight_type": "qint8", "per_channel": True,
                                    "reduce_range": False, "embeddings": False,
                                    "exclude": [r"layer\.\d+/output/dense/"]},
    "s8_per_channel_reduce_range": {"mode": "dynamic", "weight_type": "qint8", "per_channel": True,
                                    "reduce_range": True, "embeddings": True, "exclude": []},
}


class ParityError(RuntimeError):
    """A variant disagrees with PyTorch beyond the gate; the artifact was not written."""


class LogitsOnly(torch.nn.Module):
    """The Hugging Face model with plain tensors in and the logits out: the graph's one output."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids, attention_mask=attention_mask).logits


def export_onnx(model: PreTrainedModel, path: Path, opset: int, pad_id: int) -> None:
    model.eval()
    # SDPA exports as a decomposed graph with NaN guards that the attention fusion does not match.
    model.set_attn_implementation("eager")
    dummy = (torch.full((2, 8), pad_id, dtype=torch.long), torch.ones((2, 8), dtype=torch.long))
    dummy[0][:, :4] = 5  # any real ids; the values only have to be valid
    # The TorchScript exporter gives the classic graph that onnxruntime's transformer fusions and
    # dynamic quantisation are tuned for.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TracerWarnings about shape-dependent Python branches
        torch.onnx.export(LogitsOnly(model), dummy, str(path), input_names=["input_ids", "attention_mask"],
                          output_names=["logits"], opset_version=opset, dynamo=False,
                          dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                                        "attention_mask": {0: "batch", 1: "sequence"}, "logits": {0: "batch"}})


def optimize_fp32(source: Path, target: Path, num_heads: int, hidden_size: int, fuse_attention: bool = True) -> dict:
    """Fuses the transformer graph for onnxruntime; returns the count of each fused operator. Without
    attention fusion the Q/K/V projections stay MatMuls, which static quantisation can calibrate."""
    options = FusionOptions("bert")
    options.enable_attention = fuse_attention
    optimized = optimize_model(str(source), model_type="bert", num_heads=num_heads, hidden_size=hidden_size,
                               optimization_options=options)
    optimized.save_model_to_file(str(target))
    return {op: n for op, n in optimized.get_fused_operator_statistics().items() if n}


class CalibrationTexts(CalibrationDataReader):
    """One text at a time, unpadded, as the runtime would tokenise it: the activation ranges of real input."""

    def __init__(self, rows: list[list[int]]):
        self.rows = iter(rows)

    def get_next(self) -> dict | None:
        ids = next(self.rows, None)
        if ids is None:
            return None
        input_ids = np.array([ids], dtype=np.int64)
        return {"input_ids": input_ids, "attention_mask": np.ones_like(input_ids)}


def freeze_activation_scales(dynamic: Path, fp32: Path, calibration: list[list[int]], target: Path) -> None:
    """Each DynamicQuantizeLinear of a dynamically quantised graph (uint8 scale and zero point from the tensor in
    hand) becomes a QuantizeLinear with the scale and zero point that DynamicQuantizeLinear's own formula gives
    over the range its input took on the calibration texts, run one at a time through the fp32 graph. Values
    beyond that range saturate, as in any static quantisation."""
    graph = onnx.load(str(dynamic))
    names = sorted({node.input[0] for node in graph.graph.node if node.op_type == "DynamicQuantizeLinear"})
    probe = onnx.load(str(fp32))  # the graph `dynamic` was quantised from: the same tensor names
    probe.graph.output.extend([onnx.helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, None) for n in names])
    session = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    low, high = dict.fromkeys(names, 0.0), dict.fromkeys(names, 0.0)  # the range always holds 0, as in DQL
    for inputs in iter(CalibrationTexts(calibration).get_next, None):
        for name, value in zip(names, session.run(names, inputs)):
            low[name], high[name] = min(low[name], float(value.min())), max(high[name], float(value.max()))
    nodes = []
    for node in graph.graph.node:
        if node.op_type != "DynamicQuantizeLinear":
            nodes.append(node)
            continue
        x, (quantized, scale_name, zero_name) = node.input[0], node.output
        scale = (high[x] - low[x]) / 255 or 1.0
        zero = int(np.clip(round(-low[x] / scale), 0, 255))
        graph.graph.initializer.extend([onnx.numpy_helper.from_array(np.array(scale, np.float32), scale_name),
                                        onnx.numpy_helper.from_array(np.array(zero, np.uint8), zero_name)])
        nodes.append(onnx.helper.make_node("QuantizeLinear", [x, scale_name, zero_name], [quantized],
                                           name=f"{node.name}_frozen"))
    del graph.graph.node[:]
    graph.graph.node.extend(nodes)
    onnx.save(graph, str(target))


def quantize_int8(source: Path, target: Path, preset: dict, calibration: list[list[int]] | None = None) -> None:
    """source: the fused fp32 graph for dynamic and frozen presets, the graph without attention fusion for
    static ones; calibration: token ids for frozen and static presets."""
    nodes = [node.name for node in onnx.load(str(source), load_external_data=False).graph.node]
    exclude = [n for n in nodes if any(re.search(pattern, n) for pattern in preset["exclude"])]
    weight_type = {"qint8": QuantType.QInt8, "quint8": QuantType.QUInt8}[preset["weight_type"]]
    # shape inference cannot type the outputs of fused (contrib) operators
    extra = {"DefaultTensorType": onnx.TensorProto.FLOAT}
    if preset["mode"] != "dynamic" and not calibration:
        raise ValueError(f"{preset['mode']} int8 needs calibration texts (the run's train split is empty)")
    if preset["mode"] == "static":
        quantize_static(str(source), str(target), CalibrationTexts(calibration), quant_format=QuantFormat.QDQ,
                        op_types_to_quantize=["MatMul"], per_channel=preset["per_channel"],
                        reduce_range=preset["reduce_range"], activation_type=QuantType.QUInt8,
                        weight_type=weight_type, nodes_to_exclude=exclude, extra_options=extra)
        return
    op_types = ["MatMul", "Attention"] + (["EmbedLayerNormalization"] if preset["embeddings"] else [])
    dynamic = target.with_name(f"{target.stem}.dynamic.onnx") if preset["mode"] == "frozen" else target
    quantize_dynamic(str(source), str(dynamic), weight_type=weight_type, per_channel=preset["per_channel"],
                     reduce_range=preset["reduce_range"], nodes_to_exclude=exclude, op_types_to_quantize=op_types,
                     extra_options=extra)
    if preset["mode"] == "frozen":
        freeze_activation_scales(dynamic, source, calibration, target)
        dynamic.unlink()


def convert_fp16(source: Path, target: Path) -> None:
    model = OnnxModel(onnx.load(str(source)))
    model.convert_float_to_float16(keep_io_types=True)  # int64 ids in, fp32 logits out
    model.save_model_to_file(str(target))


def parity_set(run: RunDir, labels: list[str], limit: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """Up to `limit` held-out texts with their gold labels: a seeded sample of test, topped up from dev."""
    rows: list[dict] = []
    for split in ("test", "dev"):
        pool = run.read_split(split)
        random.Random(seed).shuffle(pool)
        rows += pool[:limit - len(rows)]
    if not rows:
        raise ValueError(f"{run.data} has no dev or test rows to check parity on; run `cvguard data` first")
    return [r["text"] for r in rows], label_matrix(rows, labels)


def calibration_rows(run: RunDir, classifier: Classifier, limit: int, seed: int = 0) -> list[list[int]]:
    """Token ids of up to `limit` training texts (a seeded sample), tokenised and normalised by the runtime
    itself. Training rows, not held-out ones: calibration is part of making the model."""
    rows = run.read_split("train")
    random.Random(seed).shuffle(rows)
    return classifier.encode([r["text"] for r in rows[:limit]])[0]


def parity(reference: np.ndarray, probs: np.ndarray, thresholds: np.ndarray, gold: np.ndarray) -> dict:
    """How far a variant's probabilities and flags are from PyTorch's on the same texts."""
    agree = (reference >= thresholds) == (probs >= thresholds)
    known = gold[:, 0] != UNKNOWN  # column 0 is the overall label
    f1 = [binary_metrics(gold[known, 0], p[known, 0], float(thresholds[0]))["macro_f1"] for p in (reference, probs)]
    return {"n_texts": int(len(reference)),
            "max_abs_prob_diff": float(np.abs(reference - probs).max()),
            "label_agreement": float(agree.mean()),
            "worst_label_agreement": float(agree.mean(axis=0).min()),
            "text_agreement": float(agree.all(axis=1).mean()),
            "macro_f1_pytorch": f1[0], "macro_f1": f1[1],
            "macro_f1_diff": None if None in f1 else f1[1] - f1[0]}


def batch_independence(classifier: Classifier, texts: list[str], thresholds: np.ndarray, batch_size: int = 32) -> dict:
    """Each text scored alone against the same text inside batches of mixed lengths (the texts in their given,
    shuffled order, not sorted by length, so every batch pads): under `cvguard serve` the rest of a batch is
    other clients' traffic, which must not move anyone's scores."""
    alone = classifier.predict_proba(texts, batch_size=1)
    mixed = classifier.predict_proba(texts, batch_size=batch_size, sort_by_length=False)
    return {"max_abs_prob_diff": float(np.abs(alone - mixed).max()),
            "flag_flips": int(((alone >= thresholds) != (mixed >= thresholds)).sum()), "batch_size": batch_size}


def gate_failures(metrics: dict, ec: ExportConfig, batch: dict | None = None) -> list[str]:
    failures = []
    if batch is not None and (batch["max_abs_prob_diff"] > ec.max_batch_prob_diff or batch["flag_flips"]):
        failures.append(f"scores depend on the batch: max |Δprob| alone vs in a batch {batch['max_abs_prob_diff']:.2e}"
                        f" (limit {ec.max_batch_prob_diff}), {batch['flag_flips']} flags flipped")
    if metrics["label_agreement"] < ec.min_label_agreement:
        failures.append(f"label agreement {metrics['label_agreement']:.4f} < {ec.min_label_agreement}")
    if metrics["macro_f1_diff"] is not None and abs(metrics["macro_f1_diff"]) > ec.max_macro_f1_diff:
        failures.append(f"macro-F1 moved {metrics['macro_f1_diff']:+.4f} (limit ±{ec.max_macro_f1_diff})")
    if metrics["max_abs_prob_diff"] > ec.max_prob_diff:
        failures.append(f"max |Δprob| {metrics['max_abs_prob_diff']:.2e} > {ec.max_prob_diff}")
    return failures


def export(config: RunConfig, out_dir: Path | None = None) -> Manifest:
    run, ec = RunDir(config.run_path), config.export
    out_dir = Path(out_dir or run.artifact)
    model, tokenizer, settings = load_model(run.require(run.model, "train CONFIG"))
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    thresholds = run.read_thresholds(labels)
    cut = np.array([thresholds[n] for n in labels], dtype=np.float32)

    texts, gold = parity_set(run, labels, ec.parity_texts)
    if len(texts) < ec.parity_texts:
        print(f"warning: only {len(texts)} held-out texts for the parity gate (asked for {ec.parity_texts})")
    # the model's own long-text mode: the gate compares what evaluation scored with what the artifact serves
    reference = predict_probs(model, tokenizer, texts, 32)

    recover_dir(out_dir)  # a killed export's leftovers: the old artifact back in place, stale staging removed
    staging = staging_dir(out_dir)
    try:
        tokenizer.backend_tokenizer.save(str(staging / ARTIFACT_TOKENIZER))
        write_json(staging / ARTIFACT_LABELS, labels)
        write_json(staging / ARTIFACT_THRESHOLDS, thresholds)
        if run.model_card.exists():
            shutil.copyfile(run.model_card, staging / ARTIFACT_MODEL_CARD)
        manifest = Manifest(
            labels=labels, thresholds=thresholds, max_length=settings.max_length,
            pad_token_id=tokenizer.pad_token_id,
            normalize=settings.normalize,  # the runtime applies cvguard/normalize.py when true
            long_texts=settings.long_texts,
            window_stride=settings.window_stride or default_window_stride(settings.max_length),
            base_model=settings.base_model, cvguard_version=__version__,
            created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), opset=ec.opset,
            files={name: sha256_of(staging / name) for name in
                   (ARTIFACT_TOKENIZER, ARTIFACT_LABELS, ARTIFACT_THRESHOLDS, ARTIFACT_MODEL_CARD)
                   if (staging / name).exists()},
            build={"revision": settings.revision, "onnxruntime_fusions": {},
                   "parity_gate": {"texts": len(texts), "from": "held-out test split, then dev; seeded sample",
                                   "reference": f"PyTorch fp32 eager, long texts: {settings.long_texts}",
                                   "min_label_agreement": ec.min_label_agreement,
                                   "max_macro_f1_diff": ec.max_macro_f1_diff, "max_prob_diff": ec.max_prob_diff}})

        def admit(name: str, file: str, precision: str, details: dict) -> dict:
            """Scores a variant through the runtime; keeps it in the manifest only if it passes the gate."""
            variant = Variant(file=file, sha256=sha256_of(staging / file), bytes=(staging / file).stat().st_size,
                              precision=precision, details=details)
            manifest.variants[name] = variant
            manifest.write(staging)
            classifier = Classifier.load(staging, variant=name)
            details["parity_vs_pytorch"] = parity(reference, classifier.predict_proba(texts), cut, gold)
            details["batch_independence"] = batch_independence(classifier, texts, cut)
            details["parity_provider"] = "CPUExecutionProvider"
            failures = gate_failures(details["parity_vs_pytorch"], ec, details["batch_independence"])
            print(f"parity {name}: {'FAIL ' + '; '.join(failures) if failures else 'pass'} "
                  f"{json.dumps(details['parity_vs_pytorch'])} batch {json.dumps(details['batch_independence'])}")
            if failures:
                del manifest.variants[name]
                (staging / file).unlink()
            return {"passed": not failures, "failures": failures, "parity": details["parity_vs_pytorch"]}

        export_onnx(model, staging / "plain.onnx", ec.opset, tokenizer.pad_token_id)
        if ec.optimize:
            manifest.build["onnxruntime_fusions"] = optimize_fp32(staging / "plain.onnx", staging / "model.onnx",
                                                                  model.config.num_attention_heads,
                                                                  model.config.hidden_size)
        else:
            shutil.copyfile(staging / "plain.onnx", staging / "model.onnx")
        result = admit("fp32", "model.onnx", "fp32", {"optimized": ec.optimize})
        if not result["passed"]:
            raise ParityError(f"fp32 ONNX disagrees with PyTorch: {'; '.join(result['failures'])}")

        if ec.quantize:
            unknown = [name for name in ec.int8_presets if name not in INT8_PRESETS]
            if unknown:
                raise ValueError(f"unknown int8 preset(s) {unknown}; known: {sorted(INT8_PRESETS)}")
            modes = {INT8_PRESETS[name]["mode"] for name in ec.int8_presets}
            calibration, unfused = [], staging / "unfused_attention.onnx"
            if modes - {"dynamic"}:
                calibration = calibration_rows(run, Classifier.load(staging, variant="fp32", long_texts="truncate"),
                                               ec.calibration_texts)
            if "static" in modes:
                optimize_fp32(staging / "plain.onnx", unfused, model.config.num_attention_heads,
                              model.config.hidden_size, fuse_attention=False)
            tried: list[dict] = []
            for preset_name in ec.int8_presets:
                preset = INT8_PRESETS[preset_name]
                source = unfused if preset["mode"] == "static" else staging / "model.onnx"
                quantize_int8(source, staging / "model.int8.onnx", preset, calibration)
                result = admit("int8", "model.int8.onnx", "int8", {"preset": preset_name, "settings": preset,
                                                                   "rejected_presets": tried})
                if result["passed"]:
                    break
                tried.append({"preset": preset_name, "failures": result["failures"]})
            else:
                message = "no int8 preset passed the parity gate: " + json.dumps(tried)
                if ec.require_int8:
                    raise ParityError(message)
                # A small or unusual model can be too sensitive for dynamic int8: ship fp32 rather than nothing.
                warnings.warn(message + "; the artifact has no int8 variant and serves fp32 on CPU", stacklevel=2)
                manifest.build["int8_rejected_presets"] = tried

        if ec.fp16:
            convert_fp16(staging / "model.onnx", staging / "model.fp16.onnx")
            # onnxruntime runs fp16 on the CPU too (slowly): the gate is real, CUDA's rounding may differ
            # slightly; benchmarks/gpu_check.py measures it on the GPU.
            result = admit("fp16", "model.fp16.onnx", "fp16", {"for": "cuda"})
            if not result["passed"]:  # CUDA then serves fp32; like int8, a variant that fails is left out
                warnings.warn(f"fp16 failed the parity gate ({'; '.join(result['failures'])}); "
                              "the artifact has no fp16 variant", stacklevel=2)
                manifest.build["fp16_rejected"] = result["failures"]

        for scratch in ("plain.onnx", "unfused_attention.onnx"):
            (staging / scratch).unlink(missing_ok=True)
        variants = manifest.variants
        manifest.default_variant = {"cpu": "int8" if "int8" in variants else "fp32",
                                    "cuda": "fp16" if "fp16" in variants else "fp32"}
        manifest.write(staging)
        replace_dir(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest
