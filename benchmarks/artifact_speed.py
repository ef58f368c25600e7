"""Rows per second of several exported artifacts on the same real texts, side by side in one process: what a
deeper or wider model costs at inference. Rounds alternate between the artifacts (so a machine that slows down
slows all of them alike); each figure is an artifact's best round; ratios are to the first artifact.

    python -m benchmarks.artifact_speed /tmp/refsized/artifact runs/public/artifact --texts 2000
"""

import argparse
import json
import time
from pathlib import Path

from benchmarks.inference import cold_test
from benchmarks.machine import cpu_name
from cvguard.export.options import usable_cores

COLD = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "COLD"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifacts", type=Path, nargs="+", help="artifact folders written by `cvguard export`")
    parser.add_argument("--cold", type=Path, default=COLD, help="the COLD folder: its test texts")
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="onnxruntime intra-op threads, 0 = one per core")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args(argv)

    from cvguard.export.runtime import Classifier

    texts, _ = cold_test(args.cold, args.texts)  # the inference benchmark's texts: COLD test, shuffled once
    classifiers = {str(path): Classifier.load(path, intra_op_threads=args.threads) for path in args.artifacts}
    best = {name: float("inf") for name in classifiers}
    for _ in range(args.rounds):
        for name, classifier in classifiers.items():
            start = time.perf_counter()
            classifier.predict_proba(texts, batch_size=args.batch_size)
            best[name] = min(best[name], time.perf_counter() - start)
    first = next(iter(best.values()))
    results = {"machine": {"cpu": cpu_name(), "cores": usable_cores()}, "texts": len(texts),
               "artifacts": {name: {"rows_per_second": round(len(texts) / s, 1), "ratio_to_first": round(first / s, 3)}
                             for name, s in best.items()}}
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
