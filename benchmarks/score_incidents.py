"""Scores trained runs on chosen incident threads, with the labels as they stand in data/threads/threads.jsonl.

A run's test split is frozen when `cvguard data` builds it; this scores each RUN_DIR/model afresh on the
evaluation incidents whose id starts with a given prefix, so runs built before an incident was written (or
before a label was corrected) are compared on the same rows and labels. Prints, per category, recall at
precision >= 0.70 and PR-AUC (threshold-free), and the mean PR-AUC over the categories with positives:

    python -m benchmarks.score_incidents runs/x-rep-42 runs/x-thr-42 --incidents e-d
"""

import argparse
from pathlib import Path

import numpy as np

from benchmarks.quality_table import pct
from cvguard.contracts import THREADS
from cvguard.data.sources import THREADS_FILE, bundled_folder
from cvguard.evaluation.metrics import average_precision, recall_at_precision
from cvguard.io import read_jsonl
from cvguard.taxonomy import label_matrix, load_taxonomy


def score_run(root: Path, texts: list[str]) -> np.ndarray:
    from cvguard.training.batching import predict_probs
    from cvguard.training.model import load_model

    model, tokenizer, _ = load_model(root / "model")
    return predict_probs(model, tokenizer, texts, batch_size=64, progress=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--incidents", nargs="+", default=["e-"], help="incident id prefixes (default: every "
                                                                       "evaluation incident)")
    args = parser.parse_args(argv)
    rows = [r for r in read_jsonl(bundled_folder(THREADS) / THREADS_FILE)
            if r["split"] == "eval" and r["incident"].startswith(tuple(args.incidents))]
    if not rows:
        raise SystemExit(f"no evaluation incident starts with {args.incidents}")
    missing = [str(root) for root in args.runs if not (root / "model").is_dir()]
    if missing:
        raise SystemExit(f"no trained model in {', '.join(missing)}: run `cvguard train CONFIG run_dir=RUN` first")
    tax = load_taxonomy()
    y = label_matrix(rows, list(tax.labels))
    print(f"{len(rows)} comments in {len({r['incident'] for r in rows})} incidents; "
          "recall at P >= 0.70 · PR-AUC (%)\n")
    print("| label | " + " | ".join(root.name for root in args.runs) + " |")
    print("|---|" + "---|" * len(args.runs))
    columns = []
    for root in args.runs:
        probs = score_run(root, [r["text"] for r in rows])
        cells = [(recall_at_precision(y[:, k], probs[:, k], 0.70), average_precision(y[:, k], probs[:, k]))
                 for k in range(len(tax.labels))]
        columns.append(cells)
    for k, name in enumerate(tax.labels):
        print(f"| {name} | " + " | ".join(f"{pct(c[k][0])} · {pct(c[k][1])}" for c in columns) + " |")
    categories = [tax.labels.index(name) for name in tax.categories]
    # a category with no positives in the chosen incidents has no PR-AUC ("–") and is left out of the mean
    means = [np.mean([c[k][1] for k in categories if c[k][1] is not None]) for c in columns]
    print("| mean PR-AUC, categories with positives | " + " | ".join(pct(m) for m in means) + " |")


if __name__ == "__main__":
    main()
