"""A tiny random artifact for the engine-only benchmark runs: the tests' 2-layer BERT of hidden 32
(cvguard/testing.py), exported as `cvguard export` does. Its scores mean nothing; it makes the model's own cost
small, so what a run measures is the engine's (e.g. `batch_scoring --memory-artifact`).

    python -m benchmarks.tiny_artifact runs/tiny      # writes runs/tiny/artifact, prints its path
"""

import argparse
from pathlib import Path


def build(root: Path, max_length: int = 64) -> Path:
    from cvguard.contracts import RunDir
    from cvguard.export.onnx_export import export
    from cvguard.testing import make_run, write_tiny_bert

    (root / "tiny-bert").mkdir(parents=True, exist_ok=True)
    config = make_run(root, write_tiny_bert(root / "tiny-bert"), max_length=max_length,
                      overrides=["export.fp16=false"])
    export(config)
    return RunDir(config.run_path).artifact


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="folder for the tiny model, its run and its artifact")
    parser.add_argument("--max-length", type=int, default=64, help="tokens per window (the model holds 64)")
    args = parser.parse_args(argv)
    print(build(args.root, args.max_length))


if __name__ == "__main__":
    main()
