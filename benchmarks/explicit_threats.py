"""Explicit threats, measured (docs/results.md): each run's model on

  - the authored counterfactual triples whose attack is an explicit threat (data/counterfactual/src/cf-e..i:
    我要杀了你 to a person, "kill all X" at a group, each beside counter-speech and a harmless use of the same
    words), from the dev split (what choices rest on) and the test split of one run's data (`--authored-from`);
  - MHC-Mandarin's threat cases (`threat_dir_h` 我想杀死所有女人。, `threat_norm_h` 女人都应该被杀死。), from a
    run built with MHC as a test source (`--test-from`). MHC is test data: this reports, it chooses nothing;
  - the authored curses at one person (data/counterfactual/src/cf-j, cf-k: 去死吧, 死全家), which are `insult` and
    must not be read as threats, from the same two splits;
  - a few bare person-directed threats and curses beside harmless uses of the same words, and ten short
    死-hyperboles about oneself (累死我了), which no training file holds: they must stay unflagged.

Each run is scored at its own dev-chosen thresholds; runs that never trained on the triples can be scored on
another run's (`--authored-from`, default the last run given):

    python -m benchmarks.explicit_threats runs/m-base-42 runs/m-thr4-42 --test-from runs/public-thr
"""

import argparse
from pathlib import Path

import numpy as np

from benchmarks.quality_table import pct
from benchmarks.score_incidents import score_run
from cvguard.contracts import COUNTERFACTUAL, MHC, RunDir
from cvguard.data.counterfactual import CURSE_FILES, source_file
from cvguard.evaluation.metrics import average_precision, recall_at_precision
from cvguard.taxonomy import load_taxonomy

PROBES = ["我要杀了你", "我要弄死你全家", "再敢发一次我就砍死你", "这种人就该被打死", "我要杀了这道数学题😭", "这局杀疯了",
          "你这个废物去死吧", "累死我了"]
HYPERBOLE = ["累死我了", "吓死我了", "气死我了", "笑死我了", "热死了", "饿死我了", "烦死了", "困死我了", "疼死我了", "冻死我了"]


def authored_triples(run: Path, split: str, attack_is) -> list[dict]:
    """All three rows of each counterfactual triple in one split of a run's data whose attack row passes
    `attack_is` (only attacks have `violent` = 1)."""
    rows = [r for r in RunDir(run).read_split(split, required=True) if r.get("source") == COUNTERFACTUAL.name]
    themes = {r["theme"] for r in rows if r["labels"]["violent"] == 1 and attack_is(r)}
    return [r for r in rows if r["theme"] in themes]


def is_threat(attack: dict) -> bool:
    return attack["labels"]["threat"] == 1


def is_curse(attack: dict) -> bool:
    """A curse at one person: the attacks of cf-j and cf-k."""
    return source_file(attack["theme"]) in CURSE_FILES


def mhc_threat_rows(run: Path) -> list[dict]:
    return [r for r in RunDir(run).read_split("test", required=True)
            if r.get("source") == MHC.name and r["labels"].get("threat") is not None]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--test-from", type=Path, help="a run whose test split holds MHC rows (default: the first)")
    parser.add_argument("--authored-from", type=Path, help="a run whose data holds the explicit-threat triples "
                                                           "(default: the last)")
    args = parser.parse_args(argv)
    labels = list(load_taxonomy().labels)
    violent, threat = labels.index("violent"), labels.index("threat")
    authored_from, test_from = args.authored_from or args.runs[-1], args.test_from or args.runs[0]
    sets = {"dev triples": authored_triples(authored_from, "dev", is_threat),
            "test triples": authored_triples(authored_from, "test", is_threat),
            "MHC": mhc_threat_rows(test_from)}
    if not sets["MHC"]:
        raise SystemExit(f"no MHC row with a threat label in {test_from}'s test split: build it with mhc among "
                         "data.test_only_sources (configs/public.yaml)")
    curses = authored_triples(authored_from, "dev", is_curse) + authored_triples(authored_from, "test", is_curse)
    curse_attack = np.array([r["labels"]["violent"] == 1 for r in curses], dtype=bool)
    texts = [r["text"] for rows in sets.values() for r in rows] + PROBES + [r["text"] for r in curses] + HYPERBOLE
    for name, rows in sets.items():
        print(f"{name}: {len(rows)} rows, {sum(r['labels']['threat'] for r in rows)} threats")
    print("\nthreats flagged `threat` · harmless rows flagged `violent` · recall@P≥0.70 · PR-AUC of `threat` (%); "
          "p(violent)/p(threat) of the probes\n")
    print("| run | " + " | ".join(sets) + " | " + " | ".join(PROBES) + " |")
    print("|---|" + "---|" * (len(sets) + len(PROBES)))
    curse_rows = []
    for root in args.runs:
        cut = RunDir(root).read_thresholds(labels)
        probs = score_run(root, texts)
        cells, start = [], 0
        for rows in sets.values():
            p, start = probs[start:start + len(rows)], start + len(rows)
            if not rows:
                cells.append("–")
                continue
            y = np.array([r["labels"]["threat"] for r in rows])
            harmless = np.array([r["labels"]["violent"] == 0 for r in rows])
            cells.append(" · ".join([pct((p[y == 1, threat] >= cut["threat"]).mean()),
                                     pct((p[harmless, violent] >= cut["violent"]).mean()) if harmless.any() else "–",
                                     pct(recall_at_precision(y, p[:, threat], 0.70)),
                                     pct(average_precision(y, p[:, threat]))]))
        cells += [f"{p[violent]:.2f}/{p[threat]:.2f}" for p in probs[start:start + len(PROBES)]]
        print(f"| {root.name} | " + " | ".join(cells) + " |")
        p, short = probs[start + len(PROBES):-len(HYPERBOLE)], probs[-len(HYPERBOLE):]
        curse_rows.append(f"| {root.name} | " + " | ".join(pct(x.mean()) if x.size else "–" for x in (
            p[curse_attack, threat] >= cut["threat"], p[curse_attack, violent] >= cut["violent"],
            p[~curse_attack, violent] >= cut["violent"], short[:, violent] >= cut["violent"],
            short[:, threat] >= cut["threat"])) + " |")
    print(f"\ncurses at one person (dev + test triples): {int(curse_attack.sum())} curses, "
          f"{int((~curse_attack).sum())} harmless rows; flagged (%)\n")
    print("| run | curses flagged `threat` | curses flagged `violent` | harmless flagged `violent` | "
          "short hyperboles flagged `violent` | short hyperboles flagged `threat` |\n|---|---|---|---|---|---|")
    print("\n".join(curse_rows))


if __name__ == "__main__":
    main()
