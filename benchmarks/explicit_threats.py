"""Explicit threats, measured (docs/results.md): each run's model on MHC-Mandarin's threat cases (`threat_dir_h`
我想杀死所有女人。, `threat_norm_h` 女人都应该被杀死。) and on a few bare person-directed threats beside harmless
uses of the same words. MHC is test data: this reports, it chooses nothing.

The MHC rows come from a run built with MHC as a test source (`--test-from`, default the first run given);
each run is scored at its own dev-chosen thresholds:

    python -m benchmarks.explicit_threats runs/public-thr runs/default --test-from runs/public-thr
"""

import argparse
from pathlib import Path

import numpy as np

from benchmarks.quality_table import pct
from benchmarks.score_incidents import score_run
from cvguard.contracts import MHC, RunDir
from cvguard.evaluation.metrics import average_precision, recall_at_precision
from cvguard.taxonomy import load_taxonomy

PROBES = ["我要杀了你", "我要弄死你全家", "再敢发一次我就砍死你", "这种人就该被打死", "我要杀了这道数学题😭", "这局杀疯了"]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--test-from", type=Path, help="a run whose test split holds MHC rows (default: the first)")
    args = parser.parse_args(argv)
    labels = list(load_taxonomy().labels)
    violent, threat = labels.index("violent"), labels.index("threat")
    rows = [r for r in RunDir(args.test_from or args.runs[0]).read_split("test", required=True)
            if r.get("source") == MHC.name and r["labels"].get("threat") is not None]
    if not rows:
        raise SystemExit(f"no MHC row with a threat label in {args.test_from or args.runs[0]}'s test split: build "
                         "it with mhc among data.test_only_sources (configs/public.yaml)")
    y = np.array([r["labels"]["threat"] for r in rows])
    print(f"{len(rows)} MHC rows with `threat` known, {int(y.sum())} threats\n")
    print("| run | threats flagged `threat` | flagged `violent` | recall@P≥0.70 · PR-AUC | "
          + " | ".join(f"p(violent)/p(threat) {t}" for t in PROBES) + " |")
    print("|---|---|---|---|" + "---|" * len(PROBES))
    for root in args.runs:
        cut = RunDir(root).read_thresholds(labels)
        probs = score_run(root, [r["text"] for r in rows] + PROBES)
        mhc, probes = probs[:len(rows)], probs[len(rows):]
        positives = mhc[y == 1]
        cells = [pct((positives[:, threat] >= cut["threat"]).mean()), pct((positives[:, violent] >= cut["violent"]).mean()),
                 f"{pct(recall_at_precision(y, mhc[:, threat], 0.70))} · {pct(average_precision(y, mhc[:, threat]))}"]
        cells += [f"{p[violent]:.2f}/{p[threat]:.2f}" for p in probes]
        print(f"| {root.name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
