"""Counter-speech, measured (docs/results.md): how often each run's model flags texts that quote, report or
answer abuse in order to oppose it, beside how many attacks it still finds.

  - a held-out authored check (data/counterfactual/heldout/cs-check.txt): triples of an attack, a text that
    opposes the same attack while quoting or reporting its words, and a harmless mention, written by a writer who
    saw no training file and never trained on. This is what choices rest on;
  - the public counter-speech of a run built with COLD, ToxiCN and MHC (`--test-from`): COLD's anti-bias texts,
    ToxiCN's reporting rows and MHC's `counter_quote_nh` / `counter_ref_nh`, with the attacks of the same sets
    as the control. Test data: this reports, it chooses nothing.

Each run is scored at its own dev-chosen `violent` threshold, and threshold-free: the ROC-AUC of each set's
attacks against its counter-speech.

    python -m benchmarks.counter_speech runs/r-base-42 runs/r-lmn-42 --test-from runs/r-base-42
"""

import argparse
from pathlib import Path

import numpy as np

from benchmarks.quality_table import pct
from benchmarks.score_incidents import score_run
from cvguard.contracts import COLD, COUNTERFACTUAL, MHC, TOXICN, RunDir
from cvguard.data.counterfactual import parse_source
from cvguard.data.sources import bundled_folder
from cvguard.evaluation.metrics import auc
from cvguard.taxonomy import load_taxonomy

CHECK = bundled_folder(COUNTERFACTUAL) / "heldout" / "cs-check.txt"
# (source, subset) of the public sets' counter-speech, and the subsets of the same sets that attack.
PUBLIC_COUNTER = {"COLD anti-bias": (COLD.name, ("anti_bias",)),
                  "ToxiCN reporting": (TOXICN.name, ("reporting",)),
                  "MHC counter_quote_nh": (MHC.name, ("counter_quote_nh",)),
                  "MHC counter_ref_nh": (MHC.name, ("counter_ref_nh",))}
PUBLIC_ATTACK = {"COLD attacks": (COLD.name, ("attack_group", "attack_individual")),
                 "ToxiCN toxic": (TOXICN.name, ("explicit", "implicit"))}


def public_sets(run: Path) -> dict[str, list[str]]:
    rows = RunDir(run).read_split("test", required=True)
    sets = {name: [r["text"] for r in rows if r.get("source") == source and r.get("subset") in subsets]
            for name, (source, subsets) in {**PUBLIC_COUNTER, **PUBLIC_ATTACK}.items()}
    sets["MHC hateful"] = [r["text"] for r in rows if r.get("source") == MHC.name and r["labels"]["violent"] == 1]
    return sets


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--test-from", type=Path, help="a run whose test split holds COLD, ToxiCN and MHC rows "
                                                       "(default: public counter-speech is left out)")
    parser.add_argument("--check", type=Path, default=CHECK, help="held-out triples (default: %(default)s)")
    args = parser.parse_args(argv)
    labels = list(load_taxonomy().labels)
    triples = parse_source(args.check)
    check = {form: [t[i]["text"] for t in triples] for i, form in enumerate(("attack", "counter", "neutral"))}
    public = public_sets(args.test_from) if args.test_from else {}
    if args.test_from and not any(public.values()):
        raise SystemExit(f"no COLD, ToxiCN or MHC test row in {args.test_from}: build it with configs/public.yaml")
    sets = {f"check {form}": texts for form, texts in check.items()} | {n: t for n, t in public.items() if t}
    print(f"held-out check: {len(triples)} triples ({args.check.name}); " + ", ".join(
        f"{name}: {len(texts)}" for name, texts in sets.items() if not name.startswith("check")))
    # A flag rate moves with the threshold, which each run chooses anew; the ranking of the attacks above the
    # counter-speech that quotes them does not, so choices rest on both.
    pairs = {name: (attacks, counter) for name, attacks, counter in [
        ("check", "check attack", "check counter"), ("COLD", "COLD attacks", "COLD anti-bias"),
        ("ToxiCN", "ToxiCN toxic", "ToxiCN reporting"), ("MHC quote", "MHC hateful", "MHC counter_quote_nh"),
        ("MHC ref", "MHC hateful", "MHC counter_ref_nh")] if attacks in sets and counter in sets}
    texts = [t for group in sets.values() for t in group]
    flag_rows, rank_rows = [], []
    for root in args.runs:
        cut = RunDir(root).read_thresholds(labels)["violent"]
        scores, start = {}, 0
        p_violent = score_run(root, texts)[:, labels.index("violent")]
        for name, group in sets.items():
            scores[name], start = p_violent[start:start + len(group)], start + len(group)
        flag_rows.append(f"| {root.name} | " + " | ".join(pct(np.mean(p >= cut)) for p in scores.values()) + " |")
        rank_rows.append(f"| {root.name} | " + " | ".join(pct(auc(
            np.r_[np.ones(len(scores[a])), np.zeros(len(scores[c]))], np.r_[scores[a], scores[c]]))
            for a, c in pairs.values()) + " |")
    print("\nflagged `violent` at each run's dev threshold (%): attacks should be high, the rest low\n")
    print("| run | " + " | ".join(sets) + " |\n|---|" + "---|" * len(sets))
    print("\n".join(flag_rows))
    print("\nROC-AUC of p(violent), attacks against the counter-speech of the same set (%; 50 is chance)\n")
    print("| run | " + " | ".join(f"{name}: {a} vs {c}" for name, (a, c) in pairs.items()) + " |\n|---|"
          + "---|" * len(pairs))
    print("\n".join(rank_rows))


if __name__ == "__main__":
    main()
