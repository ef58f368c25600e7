"""Should `violent` be flagged whenever any category is? The guideline derives `violent` from the seven
categories, but the runtime thresholds each label on its own, so a text can get `defamation` without `violent`.
This compares, on a run's saved dev predictions (what choices rest on), the shipped rule (the `violent` head at
its threshold) with the derived one (the head, or any category at its threshold), per source and per subset:

    python -m benchmarks.violent_rule runs/public-thr4
"""

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score

from benchmarks.quality_table import pct
from cvguard.contracts import MODEL_NAME, RunDir
from cvguard.taxonomy import load_taxonomy


def flags(run: RunDir, split: str) -> tuple[list[dict], np.ndarray, np.ndarray]:
    """The split's rows, and per row whether the head flags `violent` and whether the derived rule does."""
    labels = list(load_taxonomy().labels)
    rows = run.read_split(split, required=True)
    probs = run.load_predictions(MODEL_NAME, split)
    cut = run.read_thresholds(labels)
    flagged = probs >= np.array([cut[name] for name in labels])
    return rows, flagged[:, labels.index("violent")], flagged.any(axis=1)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path)
    parser.add_argument("--split", default="dev")
    args = parser.parse_args(argv)
    rows, head, derived = flags(RunDir(args.run), args.split)
    gold = np.array([r["labels"]["violent"] if r["labels"]["violent"] is not None else -1 for r in rows])
    print(f"{len(rows)} {args.split} rows of {args.run}; head = the `violent` head, derived = head or any category\n")
    print("| source | n | macro-F1 head · derived | recall head · derived | safe flagged head · derived |")
    print("|---|---|---|---|---|")
    for source in sorted({r["source"] for r in rows}) + ["all"]:
        idx = np.array([source in ("all", r["source"]) for r in rows]) & (gold >= 0)
        pos, neg = idx & (gold == 1), idx & (gold == 0)
        cells = [" · ".join(pct(f1_score(gold[idx], rule[idx], average="macro")) for rule in (head, derived)),
                 " · ".join(pct(rule[pos].mean()) if pos.any() else "–" for rule in (head, derived)),
                 " · ".join(pct(rule[neg].mean()) if neg.any() else "–" for rule in (head, derived))]
        print(f"| {source} | {int(idx.sum())} | " + " | ".join(cells) + " |")
    subsets = defaultdict(list)
    for i, r in enumerate(rows):
        if r.get("subset"):
            subsets[f'{r["source"]} {r["subset"]}'].append(i)
    print("\n| subset | n | flagged head · derived |\n|---|---|---|")
    for name, idx in sorted(subsets.items()):
        print(f"| {name} | {len(idx)} | {pct(head[idx].mean())} · {pct(derived[idx].mean())} |")


if __name__ == "__main__":
    main()
