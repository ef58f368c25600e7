"""A random artifact for the engine-only benchmark runs, exported as `cvguard export` does; its scores mean
nothing. By default the tests' 2-layer BERT of hidden 32 (cvguard/testing.py), which makes the model's own cost
small, so what a run measures is the engine's (e.g. `batch_scoring --memory-artifact`). With `--model`, a
pretrained encoder cut to `--layers` with an untrained head: the reference model's architecture and so its
cost per row, without training it first (e.g. for the Ray engine with batches that take minutes).

    python -m benchmarks.tiny_artifact runs/tiny      # writes runs/tiny/artifact, prints its path
    python -m benchmarks.tiny_artifact runs/ref-sized --model ../shared/models/multilingual-e5-small-zh \\
        --layers 4 --max-length 128
"""

import argparse
from pathlib import Path


def build(root: Path, max_length: int = 64, model: Path | None = None, layers: int | None = None) -> Path:
    from cvguard.contracts import RunDir
    from cvguard.export.onnx_export import export
    from cvguard.testing import make_run, write_tiny_bert

    if model is None:
        (root / "tiny-bert").mkdir(parents=True, exist_ok=True)
        model = write_tiny_bert(root / "tiny-bert")
    overrides = ["export.fp16=false"] + ([f"model.num_hidden_layers={layers}"] if layers else [])
    config = make_run(root, model, max_length=max_length, overrides=overrides)
    export(config)
    return RunDir(config.run_path).artifact


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="folder for the model, its run and its artifact")
    parser.add_argument("--max-length", type=int, default=64, help="tokens per window (the tiny model holds 64)")
    parser.add_argument("--model", type=Path, help="a pretrained encoder to use instead of the tiny random one")
    parser.add_argument("--layers", type=int, help="keep only the first N layers of --model")
    args = parser.parse_args(argv)
    print(build(args.root, args.max_length, args.model, args.layers))


if __name__ == "__main__":
    main()
