"""Inference benchmark: the same model and the same real texts (COLD test) through several engines.

From the repository root:

    python -m benchmarks.inference --run runs/public            # RUN_DIR/model and RUN_DIR/artifact
    python -m benchmarks.inference --run runs/public --quick    # a few hundred texts, one pass: minutes
    python -m benchmarks.inference --run RUN --device cuda --engines pytorch_fp32,pytorch_fp16,ort_fp32_optimized,ort_fp16

Engines: pytorch_fp32 (eager, what training and evaluation use), ort_fp32 (plain ONNX export, onnxruntime's
own session optimisations only), ort_fp32_optimized (the artifact's fused graph), ort_int8 (the artifact's
int8), and on CUDA pytorch_fp16 and ort_fp16. Each engine runs in its own subprocess, so its peak RSS is its
own (the ONNX engines never import torch); engines take turns over --rounds rounds and each keeps its best
round, so a busy spell on the machine does not land on one engine only. Every engine tokenises, sorts by
length and pads per batch the same way; throughput includes tokenisation. macro-F1 is COLD test's
`violent` at the artifact's threshold; flag agreement and max |Δprob| compare every label with the first
engine. Every figure is also printed as a ratio to the first engine (pytorch_fp32).
"""

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.machine import cpu_name
from cvguard.contracts import Manifest, RunDir, Variant

REPO = Path(__file__).resolve().parents[1]
CPU_ENGINES = ["pytorch_fp32", "ort_fp32", "ort_fp32_optimized", "ort_int8"]
ONNX_VARIANT = {"ort_fp32": "plain_fp32", "ort_fp32_optimized": "fp32", "ort_int8": "int8",
                "ort_int8_dynamic": "int8_dynamic", "ort_fp16": "fp16"}
BATCH_CHECK_TEXTS = 256  # scored alone and in mixed batches: does a text's score depend on its neighbours?


def cold_test(folder: Path, limit: int) -> tuple[list[str], np.ndarray]:
    from cvguard.data.sources import read_cold

    rows = [r for r in read_cold(folder) if r["split"] == "test"]
    random.Random(0).shuffle(rows)  # a limit must not take one topic only
    rows = rows[:limit] if limit else rows
    return [r["text"] for r in rows], np.array([r["labels"]["violent"] for r in rows], dtype=np.int64)


def scratch_artifact(artifact: Path, folder: Path, variant: str, build) -> Path:
    """A copy of the artifact's small files (tokenizer, labels, thresholds) beside one extra variant that
    `build(path)` writes. A separate folder, because the runtime refuses files that lie (or link) outside the
    artifact, and copying the other variants would only cost disk."""
    from cvguard.export.runtime import sha256_of

    folder.mkdir(parents=True)
    manifest = Manifest.read(artifact)
    for name in manifest.files:
        shutil.copyfile(artifact / name, folder / name)
    path = folder / f"{variant}.onnx"
    build(path)
    manifest.variants = {variant: Variant(file=path.name, sha256=sha256_of(path), bytes=path.stat().st_size,
                                          precision="int8" if "int8" in variant else "fp32")}
    manifest.default_variant = {"cpu": variant, "cuda": variant}
    manifest.write(folder)
    return folder


def prepare(engine: str, model_dir: Path, artifact: Path, work: Path) -> Path | None:
    """The scratch artifact an engine needs, or None for one that runs the real artifact.
    ort_fp32: the plain, unfused ONNX export. ort_int8_dynamic: the dynamic int8 preset earlier versions
    shipped (per-batch activation scales), quantised from the artifact's fused fp32 graph."""
    from cvguard.export.onnx_export import INT8_PRESETS, export_onnx, quantize_int8
    from cvguard.training.model import load_model

    if engine == "ort_fp32":
        model, tokenizer, _ = load_model(model_dir)
        return scratch_artifact(artifact, work / "artifact-plain", "plain_fp32",
                                lambda path: export_onnx(model, path, 17, tokenizer.pad_token_id))
    if engine == "ort_int8_dynamic":
        fp32 = artifact / Manifest.read(artifact).variants["fp32"].file
        return scratch_artifact(artifact, work / "artifact-dynamic", "int8_dynamic", lambda path: quantize_int8(
            fp32, path, INT8_PRESETS["s8_per_channel_fp32_embeddings"]))
    return None


def load_engine(engine: str, args):
    """Returns (predict(texts, batch_size) -> probs, model file size in bytes)."""
    if engine.startswith("pytorch"):
        import torch
        from transformers.utils import SAFE_WEIGHTS_NAME

        from cvguard.training.batching import predict_probs
        from cvguard.training.model import load_model

        if args.threads:
            torch.set_num_threads(args.threads)
        model, tokenizer, _ = load_model(Path(args.model))
        model.to(args.device)
        if engine == "pytorch_fp16":
            model.half()
        size = (Path(args.model) / SAFE_WEIGHTS_NAME).stat().st_size

        def predict(texts, batch_size):
            return predict_probs(model, tokenizer, texts, batch_size, args.device)  # max_length: the model's
        return predict, size

    from cvguard.export.runtime import Classifier

    variant = ONNX_VARIANT[engine]
    classifier = Classifier.load(args.artifact, device=args.device, variant=variant, intra_op_threads=args.threads,
                                 long_texts="truncate", verify=False)
    if classifier.device != args.device:  # the runtime falls back to the CPU with a warning; not here
        raise SystemExit(f"{engine}: onnxruntime could not run on {args.device}")
    size = (Path(args.artifact) / classifier.manifest.variants[variant].file).stat().st_size

    def predict(texts, batch_size, sort_by_length=True):
        return classifier.predict_proba(texts, batch_size, sort_by_length=sort_by_length)
    return predict, size


def worker(args) -> dict:
    """Runs in its own process: load one engine, measure, print one JSON line."""
    texts, gold = cold_test(Path(args.cold), args.texts)
    manifest = Manifest.read(Path(args.artifact))
    threshold = float(manifest.thresholds[manifest.labels[0]])
    started = time.perf_counter()
    predict, size = load_engine(args.worker, args)
    load_s = time.perf_counter() - started
    predict(texts[:64], 32)  # warm-up: allocator, thread pools, kernels' first-call set-up

    started = time.perf_counter()
    probs = predict(texts, 32)
    best = time.perf_counter() - started

    single = texts[:args.single_texts]
    latencies = []
    for text in single:
        started = time.perf_counter()
        predict([text], 1)
        latencies.append(time.perf_counter() - started)
    latencies = np.array(latencies) * 1000
    batch = {}
    if not args.worker.startswith("pytorch"):  # predict_probs always sorts by length: no mixed batches to test
        sample = texts[:BATCH_CHECK_TEXTS]
        alone, mixed = predict(sample, 1), predict(sample, 32, sort_by_length=False)
        batch = {"batch_max_dp": float(np.abs(alone - mixed).max()),
                 "batch_flag_flips": int(((alone >= threshold) != (mixed >= threshold))[:, 0].sum())}
    if args.save_probs:
        np.save(Path(args.save_probs) / f"{args.worker}.npy", probs)
    return {"engine": args.worker, "device": args.device, "texts": len(texts), "single_texts": len(single),
            "file_mb": size / 1e6, "load_s": load_s,
            "peak_rss_mb": peak_rss_mb(),
            "b32_texts_s": len(texts) / best, "b1_texts_s": len(single) / (latencies.sum() / 1000),
            "b1_p50_ms": float(np.percentile(latencies, 50)), "b1_p99_ms": float(np.percentile(latencies, 99)),
            "macro_f1": macro_f1(gold, probs[:, 0] >= threshold), "threshold": threshold,
            "imported_torch": "torch" in sys.modules, **batch}


def peak_rss_mb() -> float:
    """This process's peak resident memory. Linux's ru_maxrss survives exec, so a worker would report its
    parent's peak; VmHWM belongs to the process's own address space."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def macro_f1(gold: np.ndarray, flags: np.ndarray) -> float:
    """Mean of the F1 of the positive and of the negative class (sklearn's average="macro", without
    importing sklearn into a process whose peak RSS is being measured)."""
    scores = []
    for positive in (1, 0):
        tp = int(((flags == positive) & (gold == positive)).sum())
        wrong = int((flags != gold).sum())
        scores.append(2 * tp / (2 * tp + wrong) if tp + wrong else 0.0)
    return float(np.mean(scores))


COLUMNS = [("file_mb", "file MB", "{:.0f}"), ("peak_rss_mb", "peak RSS MB", "{:.0f}"),
           ("b32_texts_s", "texts/s b=32", "{:.1f}"), ("b1_texts_s", "texts/s b=1", "{:.1f}"),
           ("b1_p50_ms", "p50 ms b=1", "{:.1f}"), ("b1_p99_ms", "p99 ms b=1", "{:.1f}"),
           ("macro_f1", "macro-F1 violent", "{:.4f}")]


def best_of(runs: list[dict]) -> dict:
    """An engine's figures from its least disturbed rounds: batch 32 and batch 1 separately."""
    best = dict(max(runs, key=lambda r: r["b32_texts_s"]))
    single = max(runs, key=lambda r: r["b1_texts_s"])
    best.update({key: single[key] for key in ("b1_texts_s", "b1_p50_ms", "b1_p99_ms")})
    best["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
    best["rounds"] = len(runs)
    return best


def agreement(results: list[dict], work: Path, artifact: Path) -> None:
    """The newest engine's flags and probabilities against the first engine's, on every label."""
    manifest = Manifest.read(artifact)
    cut = np.array([manifest.thresholds[name] for name in manifest.labels], dtype=np.float32)
    base, probs = (np.load(work / f"{r['engine']}.npy") for r in (results[0], results[-1]))
    results[-1]["flag_agreement"] = float(((base >= cut) == (probs >= cut)).mean())
    results[-1]["max_abs_prob_diff"] = float(np.abs(base - probs).max())


def table(results: list[dict]) -> str:
    base = results[0]
    lines = ["| engine | " + " | ".join(title for _, title, _ in COLUMNS) + " | flag agreement / max Δprob |",
             "|---|" + "---:|" * (len(COLUMNS) + 1)]
    for r in results:
        cells = []
        for key, _, fmt in COLUMNS:
            if key == "macro_f1":
                cells.append(f"{fmt.format(r[key])} ({100 * (r[key] - base[key]):+.2f} pt)")
            else:
                cells.append(f"{fmt.format(r[key])} ({r[key] / base[key]:.2f}×)")
        cells.append(f"{r['flag_agreement']:.4f} / {r['max_abs_prob_diff']:.3f}")
        lines.append(f"| {r['engine']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def worker_env() -> dict:
    """A worker imports benchmarks and cvguard from this checkout, whatever the caller's folder: the repo
    root goes first on its PYTHONPATH (cvguard/ holds the stage folders as links, so nothing to install)."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}


def machine() -> str:
    return f"{cpu_name()}, {os.cpu_count()} logical CPUs"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="run folder holding model/ and artifact/")
    parser.add_argument("--model", type=Path, help="PyTorch model folder (default RUN/model)")
    parser.add_argument("--artifact", type=Path, help="exported artifact (default RUN/artifact)")
    parser.add_argument("--cold", type=Path, default=REPO.parent / "shared" / "datasets" / "COLD")
    parser.add_argument("--texts", type=int, default=0, help="COLD test texts for throughput, 0 = all (5,323)")
    parser.add_argument("--single-texts", type=int, default=300, help="texts timed one by one (batch 1)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds over all engines, one process each; each figure is an engine's best round")
    parser.add_argument("--threads", type=int, default=0, help="intra-op threads, 0 = the library's default")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--engines", default=",".join(CPU_ENGINES), help="comma-separated, first = baseline")
    parser.add_argument("--quick", action="store_true", help="512 texts, 100 at batch 1, two rounds")
    parser.add_argument("--out", type=Path, help="also write the results as JSON here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--save-probs", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.texts, args.single_texts, args.rounds = args.texts or 512, min(args.single_texts, 100), 2
    if args.worker:
        print(json.dumps(worker(args)))
        return
    if not (args.model or args.run) or not (args.artifact or args.run):
        parser.error("give --run, or --model and --artifact")
    args.model = args.model or RunDir(args.run).model
    args.artifact = args.artifact or RunDir(args.run).artifact
    engines = args.engines.split(",")

    work = Path(tempfile.mkdtemp(prefix="cvguard-bench-"))
    try:
        scratch = {engine: prepare(engine, args.model, args.artifact, work) for engine in engines}
        # Round-robin, so that a busy spell on the machine hurts every engine alike.
        runs = {engine: [] for engine in engines}
        for round_no in range(args.rounds):
            for engine in engines:
                artifact = scratch[engine] or args.artifact
                command = [sys.executable, "-m", "benchmarks.inference", "--worker", engine, "--model", str(args.model),
                           "--artifact", str(artifact), "--cold", str(args.cold), "--texts", str(args.texts),
                           "--single-texts", str(args.single_texts), "--threads", str(args.threads),
                           "--device", args.device, "--save-probs", str(work)]
                print(f"round {round_no + 1}/{args.rounds}: {engine} ...", file=sys.stderr, flush=True)
                done = subprocess.run(command, capture_output=True, text=True, env=worker_env())
                if done.returncode != 0:
                    print(f"{engine} failed:\n{done.stderr[-3000:]}", file=sys.stderr)
                    continue
                runs[engine].append(json.loads(done.stdout.strip().splitlines()[-1]))
        results = []
        for engine in engines:
            if runs[engine]:
                results.append(best_of(runs[engine]))
                agreement(results, work, args.artifact)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if not results:
        raise SystemExit("no engine ran")
    print(f"\nmachine: {machine()}; device {args.device}; threads {args.threads or 'default'}; "
          f"{results[0]['texts']} COLD test texts at batch 32, best of {args.rounds} rounds, "
          f"{results[0]['single_texts']} at batch 1\n")
    print(table(results))
    if args.out:
        args.out.write_text(json.dumps({"machine": machine(), "args": {k: str(v) for k, v in vars(args).items()},
                                        "results": results}, indent=2))


if __name__ == "__main__":
    main()
