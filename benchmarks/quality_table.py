"""The person-directed quality table (docs/results.md), read from each run's metrics.json, for cvguard and
the TF-IDF baseline trained on the same rows:

  - per category on the incident threads' evaluation incidents: recall at precision >= 0.70 and PR-AUC;
  - share flagged `violent` among texts that must not be flagged: COLD anti-bias, MHC counter_quote_nh and
    counter_ref_nh, ToxiCN reporting (labels unknown: shown, not judged), and the threads' criticism of
    conduct, counter-speech, quotation and reporting;
  - COLD and ToxiCN test `violent` macro-F1; ToxiCN `insult` and `discrimination` PR-AUC; MHC `violent` F1 and
    spell_* accuracy; the seed corpus's mean PR-AUC over the seven categories.

    python -m benchmarks.quality_table runs/x-threads-42 runs/x-threads-7
"""

import argparse
from pathlib import Path

from cvguard.contracts import COLD, MHC, MODEL_NAME, SEED, THREADS, TOXICN, EvaluationResults, RunDir
from cvguard.taxonomy import load_taxonomy

MUST_NOT_FLAG = [(COLD.name, "anti_bias"), (MHC.name, "counter_quote_nh"), (MHC.name, "counter_ref_nh"),
                 (TOXICN.name, "reporting"), (THREADS.name, "criticism"), (THREADS.name, "counter_speech"),
                 (THREADS.name, "quotation"), (THREADS.name, "reporting")]


def pct(value) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def rows_for(result) -> dict[str, str]:
    out = {}
    threads = result.blocks.get(THREADS.name)
    for label in load_taxonomy().labels:
        m = threads.labels.get(label) if threads else None
        out[f"threads eval `{label}` recall@P≥0.70 · PR-AUC"] = (
            f"{pct(m.recall_at_precision_70)} · {pct(m.pr_auc)}" if m else "–")
    flags = {(f.source, f.subset): f for f in result.counter_speech}
    for key in MUST_NOT_FLAG:
        f = flags.get(key)
        out[f"flagged: {key[0]} {key[1]}"] = f"{pct(f.rate)} of {f.n}" if f and f.n else "–"
    by_source = result.splits["test"].by_source
    for source in (COLD.name, TOXICN.name):
        m = by_source.get(source, {}).get("violent")
        out[f"{source} test `violent` macro-F1"] = pct(m.macro_f1) if m else "–"
    for label in ("insult", "discrimination"):
        m = by_source.get(TOXICN.name, {}).get(label)
        out[f"{TOXICN.name} test `{label}` PR-AUC"] = pct(m.pr_auc) if m else "–"
    mhc = result.blocks.get(MHC.name)
    out["MHC `violent` F1"] = pct(mhc.labels["violent"].f1) if mhc and "violent" in mhc.labels else "–"
    seed = result.blocks.get(SEED.name)
    aucs = [seed.labels[c].pr_auc for c in load_taxonomy().categories if c in seed.labels] if seed else []
    out["seed test mean PR-AUC, seven categories"] = pct(sum(aucs) / len(aucs)) if aucs else "–"
    if result.hatecheck:
        spell = {k: v for k, v in result.hatecheck.by_functionality.items() if k.startswith("spell_")}
        hits = sum((v.rate or 0) * v.n for v in spell.values())
        n = sum(v.n for v in spell.values())
        out["MHC spell_* accuracy"] = pct(hits / n) if n else "–"
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--models", default=f"{MODEL_NAME},tfidf_baseline")
    args = parser.parse_args(argv)
    columns, table = [], {}
    for root in args.runs:
        results = EvaluationResults.read(RunDir(root).metrics)
        for model in args.models.split(","):
            if model in results.models:
                columns.append(f"{root.name} {model}")
                for measure, value in rows_for(results[model]).items():
                    table.setdefault(measure, {})[columns[-1]] = value
    print("| measure | " + " | ".join(columns) + " |")
    print("|---|" + "---|" * len(columns))
    for measure, values in table.items():
        print(f"| {measure} | " + " | ".join(values.get(c, "–") for c in columns) + " |")


if __name__ == "__main__":
    main()
