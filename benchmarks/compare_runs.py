"""Sets evaluated runs side by side, for the before/after experiments (imbalance, evasion robustness).

Reads each RUN_DIR's own test rows, cvguard's test probabilities and the thresholds chosen on dev (RunDir's
split("test"), predictions and thresholds), so it needs only `cvguard data/train/evaluate` to have run, and it
does not depend on the layout of metrics.json. Prints Markdown:
  - per label and source: recall, precision, F1 at the dev threshold, and PR-AUC (threshold-free);
  - COLD test macro-F1 of `violent` (the published COLD figure);
  - MHC-Mandarin accuracy per functionality, spell_* (pinyin, homophone, split characters) first.

    python benchmarks/compare_runs.py runs/robust-before runs/robust-after
"""

import argparse
from pathlib import Path

import numpy as np

from cvguard.contracts import COLD, MHC, MODEL_NAME, RunDir
from cvguard.evaluation.metrics import auc, binary_metrics, label_metrics
from cvguard.taxonomy import label_matrix, load_taxonomy


def load_run(root: Path, fixed_threshold: float | None) -> dict:
    run = RunDir(root)
    rows = run.read_split("test", required=True)
    labels = list(load_taxonomy().labels)
    thresholds = run.read_thresholds(labels)
    cut = [fixed_threshold if fixed_threshold is not None else thresholds[name] for name in labels]
    return {"rows": rows, "labels": labels, "y": label_matrix(rows, labels),
            "probs": run.load_predictions(MODEL_NAME, "test"), "cut": np.array(cut, dtype=np.float32)}


def label_table(r: dict, source: str) -> dict:
    """Metrics per label on one source's rows, for the labels with positives there."""
    idx = np.array([i for i, row in enumerate(r["rows"]) if row["source"] == source])
    metrics = label_metrics(r["labels"], r["y"][idx], r["probs"][idx], dict(zip(r["labels"], r["cut"].tolist())))
    return {name: m for name, m in metrics.items() if m.support}


def cold_violent_macro_f1(r: dict) -> float | None:
    idx = [i for i, row in enumerate(r["rows"]) if row["source"] == COLD.name and row["labels"]["violent"] is not None]
    if not idx:
        return None
    return binary_metrics(r["y"][idx, 0].astype(int), r["probs"][idx, 0], float(r["cut"][0]))["macro_f1"]


def mhc_accuracy(r: dict) -> dict:
    """Accuracy of the `violent` flag per functionality (spell_* are all hateful: accuracy = recall)."""
    out = {}
    for functionality in sorted({row["subset"] for row in r["rows"] if row["source"] == MHC.name}):
        idx = [i for i, row in enumerate(r["rows"]) if row["source"] == MHC.name and row["subset"] == functionality
               and row["labels"]["violent"] is not None]
        if idx:
            flagged, gold = r["probs"][idx, 0] >= r["cut"][0], r["y"][idx, 0] == 1
            out[functionality] = {"n": len(idx), "accuracy": float((flagged == gold).mean())}
    return dict(sorted(out.items(), key=lambda kv: (not kv[0].startswith("spell_"), kv[0])))


def mhc_evasion_summary(r: dict) -> dict:
    """The spell_* (respelled hate) cases against MHC's other hateful cases, at the dev threshold and without
    one: a run whose threshold moved changes every recall, so the ratio and the AUCs are what compare."""
    mhc = [i for i, row in enumerate(r["rows"]) if row["source"] == MHC.name and row["labels"]["violent"] is not None]
    respelled = {i for i in mhc if r["rows"][i]["subset"].startswith("spell_")}
    spell = sorted(respelled)
    other = [i for i in mhc if r["rows"][i]["labels"]["violent"] == 1 and i not in respelled]
    safe = [i for i in mhc if r["rows"][i]["labels"]["violent"] == 0]
    if not (spell and other and safe):
        return {}
    p = r["probs"][:, 0]
    recall_spell, recall_other = (float((p[idx] >= r["cut"][0]).mean()) for idx in (spell, other))
    auc_vs_safe = [auc(np.r_[np.ones(len(idx)), np.zeros(len(safe))], np.r_[p[idx], p[safe]])
                   for idx in (spell, other)]
    return {"spell_* recall": recall_spell, "other hateful recall": recall_other,
            "spell_* recall ÷ other hateful recall": recall_spell / recall_other,
            "ROC-AUC spell_* vs non-hateful": auc_vs_safe[0], "ROC-AUC other hateful vs non-hateful": auc_vs_safe[1]}


def pct(x) -> str:
    return "–" if x is None or x != x else f"{100 * x:.1f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="evaluated RUN_DIRs, e.g. before then after")
    parser.add_argument("--threshold", type=float, help="score every label at this threshold instead of each "
                        "run's dev thresholds (e.g. 0.5, to see what pos_weight does before re-tuning)")
    args = parser.parse_args(argv)
    runs = {str(run): load_run(run, args.threshold) for run in args.runs}
    names = list(runs)
    header = " | ".join(f"`{Path(n).name}`" for n in names)

    cold = [cold_violent_macro_f1(r) for r in runs.values()]
    if any(v is not None for v in cold):
        print(f"## COLD test, `violent` macro-F1\n\n| | {header} |\n|---|{'---|' * len(names)}")
        print(f"| macro-F1 | {' | '.join(pct(v) for v in cold)} |\n")

    mhc = [mhc_accuracy(r) for r in runs.values()]
    if any(mhc):
        print(f"## MHC-Mandarin, accuracy of the `violent` flag per functionality\n\n| functionality | n | {header} |")
        print(f"|---|---|{'---|' * len(names)}")
        for functionality, first in mhc[0].items():
            print(f"| {functionality} | {first['n']} | "
                  + " | ".join(pct(m.get(functionality, {}).get("accuracy")) for m in mhc) + " |")
        summaries = [mhc_evasion_summary(r) for r in runs.values()]
        print(f"\n| MHC-Mandarin, respelled vs other hate | {header} |\n|---|{'---|' * len(names)}")
        for key in summaries[0]:
            print(f"| {key} | " + " | ".join(f"{s[key]:.3f}" for s in summaries) + " |")
        print()

    sources = sorted({row["source"] for r in runs.values() for row in r["rows"]})
    for source in sources:
        tables = [label_table(r, source) for r in runs.values()]
        at = f"threshold {args.threshold}" if args.threshold is not None else "the dev threshold"
        print(f"## test · {source}: recall / precision / F1 at {at}, PR-AUC\n")
        print(f"| label | support | {' | '.join(f'R · P · F1 · PR-AUC `{Path(n).name}`' for n in names)} |")
        print(f"|---|---|{'---|' * len(names)}")
        for label in tables[0]:
            cells = [" · ".join(pct(v) for v in ((m.recall, m.precision, m.f1, m.pr_auc) if m else (None,) * 4))
                     for m in (t.get(label) for t in tables)]
            print(f"| {label} | {tables[0][label].support} | {' | '.join(cells)} |")
        print()


if __name__ == "__main__":
    main()
