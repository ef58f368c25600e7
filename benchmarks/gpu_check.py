"""GPU check: PyTorch fp32 and fp16 against onnxruntime fp16 on CUDA, for a machine with no internet.

Here (any machine with the repo installed), from the repository root, pack what the GPU machine needs, well
under 64 MiB:

    echo /gpu_bundle/ >> .git/info/exclude
    .venv/bin/python -m benchmarks.gpu_check bundle --run runs/public --out gpu_bundle

There (the repo copied, `gpu_bundle` carried; no install needed: run from the repository root, `-m` puts it
on sys.path, and cvguard/ reaches the stage folders through its links), in one short command:

    PYTHONUNBUFFERED=1 python3 -m benchmarks.gpu_check check gpu_bundle --out $OUT

The bundle holds the PyTorch weights in fp16 (half the bytes; the fp32 engine upcasts them, so it runs
fp16-rounded weights in fp32), the tokenizer, the artifact's manifest and COLD, laid out as a run folder
(model/, artifact/) plus COLD/. `check` prints what it
finds (GPU, torch, onnxruntime and its providers), builds the fused fp32 and fp16 ONNX graphs there
when torch and onnx are present, and runs benchmarks/inference.py on CUDA with every engine it can:
pytorch_fp32 (the baseline), pytorch_fp16, and ort_fp32_optimized and ort_fp16 when onnxruntime has a
CUDAExecutionProvider (the onnxruntime-gpu package). It says what it skipped and why.
"""

import argparse
import importlib.metadata
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cvguard.contracts import Manifest, RunDir, Variant

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ["torch", "transformers", "tokenizers", "safetensors", "onnx", "onnxruntime", "onnxruntime-gpu",
            "numpy", "pyyaml"]


def bundle(run_dir: Path, out: Path, cold: Path) -> None:
    from safetensors.torch import load_file, save_file
    from transformers.utils import SAFE_WEIGHTS_NAME

    run, packed = RunDir(run_dir), RunDir(out)
    if out.exists():
        shutil.rmtree(out)
    packed.model.mkdir(parents=True)
    for path in run.model.iterdir():
        if path.is_file() and path.name != SAFE_WEIGHTS_NAME:
            shutil.copy2(path, packed.model / path.name)
    state = {k: v.half() if v.is_floating_point() else v for k, v in load_file(str(run.model / SAFE_WEIGHTS_NAME)).items()}
    save_file(state, str(packed.model / SAFE_WEIGHTS_NAME), metadata={"format": "pt"})

    packed.artifact.mkdir()
    manifest = Manifest.read(run.artifact)
    manifest.variants, manifest.default_variant = {}, {}  # the ONNX files are rebuilt there: they would not fit
    manifest.write(packed.artifact)
    for name in manifest.files:  # tokenizer, labels, thresholds (and the model card): small
        shutil.copy2(run.artifact / name, packed.artifact / name)
    (out / "COLD").mkdir()
    for name in ("train.csv", "dev.csv", "test.csv"):  # read_cold reads all three
        shutil.copyfile(cold / name, out / "COLD" / name)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"wrote {out}: {size / 2**20:.1f} MiB" + ("  (over the 64 MiB a device call carries!)" if size > 64 * 2**20 else ""))


def report_environment() -> dict:
    found = {"python": sys.version.split()[0], "platform": platform.platform()}
    try:
        found["gpu"] = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version",
                                       "--format=csv,noheader"], capture_output=True, text=True).stdout.strip()
    except OSError:
        found["gpu"] = "nvidia-smi not found"
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    try:
        import torch

        found["torch_cuda"] = torch.cuda.is_available() and torch.cuda.get_device_name(0)
    except ImportError:
        found["torch_cuda"] = False
    try:
        import onnxruntime

        found["ort_providers"] = onnxruntime.get_available_providers()
    except ImportError:
        found["ort_providers"] = []
    for key, value in found.items():
        print(f"  {key}: {value}")
    return found


def build_onnx(bundle_dir: Path) -> list[str]:
    """Fused fp32 and fp16 graphs from the bundle's weights, added to its artifact; returns their engines."""
    from cvguard.export.onnx_export import convert_fp16, export_onnx, optimize_fp32
    from cvguard.export.runtime import sha256_of
    from cvguard.training.model import load_model

    packed = RunDir(bundle_dir)
    artifact = packed.artifact
    model, tokenizer, _ = load_model(packed.model)
    manifest = Manifest.read(artifact)
    export_onnx(model, artifact / "plain.onnx", manifest.opset, tokenizer.pad_token_id)
    optimize_fp32(artifact / "plain.onnx", artifact / "model.onnx", model.config.num_attention_heads,
                  model.config.hidden_size)
    convert_fp16(artifact / "model.onnx", artifact / "model.fp16.onnx")
    for name, file in (("fp32", "model.onnx"), ("fp16", "model.fp16.onnx")):
        manifest.variants[name] = Variant(file=file, sha256=sha256_of(artifact / file),
                                          bytes=(artifact / file).stat().st_size, precision=name)
    manifest.write(artifact)
    return ["ort_fp32_optimized", "ort_fp16"]


def check(bundle_dir: Path, out: Path | None, texts: int, device: str = "cuda") -> None:
    started = time.time()
    print("environment:")
    found = report_environment()
    engines, skipped = [], []
    if device == "cpu":  # a dry run of this script on a machine without a GPU
        engines.append("pytorch_fp32")
    elif found["torch_cuda"]:
        engines += ["pytorch_fp32", "pytorch_fp16"]
    else:
        skipped.append("pytorch_fp32, pytorch_fp16: torch has no CUDA device here")
    if device == "cuda" and "CUDAExecutionProvider" not in found["ort_providers"]:
        skipped.append(f"ort_fp32_optimized, ort_fp16: onnxruntime {found['onnxruntime'] or found['onnxruntime-gpu']}"
                       f" has no CUDAExecutionProvider (providers {found['ort_providers']}; needs onnxruntime-gpu)")
    elif not (found["torch"] and found["onnx"]):
        skipped.append("ort_fp32_optimized, ort_fp16: building the graphs needs torch and onnx")
    else:
        work = Path(tempfile.mkdtemp(prefix="cvguard-gpu-"))
        shutil.copytree(bundle_dir, work / "bundle")
        bundle_dir = work / "bundle"
        engines += build_onnx(bundle_dir)
        print(f"built fused fp32 and fp16 ONNX in {time.time() - started:.0f} s")
    for line in skipped:
        print(f"skipped {line}")
    if not engines:
        raise SystemExit("nothing can run on CUDA here")

    from benchmarks import inference

    packed = RunDir(bundle_dir)
    arguments = ["--model", str(packed.model), "--artifact", str(packed.artifact),
                 "--cold", str(bundle_dir / "COLD"), "--device", device, "--engines", ",".join(engines),
                 "--texts", str(texts), "--single-texts", "200", "--rounds", "3"]
    if out:
        arguments += ["--out", str(out / "gpu_check.json")]
    inference.main(arguments)
    if out:
        (out / "gpu_environment.json").write_text(json.dumps({"found": found, "skipped": skipped}, indent=2))
    print(f"\ngpu check done in {time.time() - started:.0f} s")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("bundle", help="pack a run's model, tokenizer, manifest and COLD for the GPU machine")
    p.add_argument("--run", type=Path, required=True, help="run folder holding model/ and artifact/")
    p.add_argument("--out", type=Path, default=REPO / "gpu_bundle")
    p.add_argument("--cold", type=Path, default=REPO.parent / "shared" / "datasets" / "COLD")
    p = sub.add_parser("check", help="on the GPU machine: report the environment, run the CUDA benchmark")
    p.add_argument("bundle", type=Path)
    p.add_argument("--out", type=Path, help="folder for gpu_check.json and gpu_environment.json")
    p.add_argument("--texts", type=int, default=0, help="COLD test texts, 0 = all")
    p.add_argument("--device", default="cuda", choices=["cuda", "cpu"], help="cpu = a dry run of this script")
    args = parser.parse_args(argv)
    if args.command == "bundle":
        bundle(args.run, args.out, args.cold)
    else:
        check(args.bundle, args.out, args.texts, args.device)


if __name__ == "__main__":
    main()
