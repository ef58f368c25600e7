"""How much respelling hurts each run's model: the violent rows of one source's dev split (or test),
scored as written and respelled by training/augment.py (pinyin, homophones, split characters; one or two
spans a text).

MHC-Mandarin's spell_* cases are the independent test of evasion robustness (hand-written, never trained
on); this is the in-distribution check beside it: did training on respelled texts teach the model to see
through the respellings it was shown? Reports, per run, the recall of `violent` at the run's dev threshold
on the originals and on the respelled copies, and the share of originally flagged texts that stay flagged.

    python benchmarks/evasion.py runs/robust-before runs/robust-after --source cold --split dev
"""

import argparse
import random
from pathlib import Path

import numpy as np
import torch

from cvguard.contracts import COLD, RunDir
from cvguard.taxonomy import load_taxonomy
from cvguard.training.augment import augment_text
from cvguard.training.batching import predict_probs
from cvguard.training.model import load_model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="evaluated RUN_DIRs (model/ and thresholds.json)")
    parser.add_argument("--source", default=COLD.name, help=f"rows of this source (default {COLD.name})")
    parser.add_argument("--split", default="dev", choices=["dev", "test"],
                        help="dev (default) for decisions such as augmentation settings; test only to report")
    parser.add_argument("--seed", type=int, default=0, help="seed of the respelling (default 0)")
    parser.add_argument("--max-rows", type=int, default=0, help="first N violent rows only (0 = all)")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args(argv)

    rows = [r for r in RunDir(args.runs[0]).read_split(args.split, required=True)
            if r["source"] == args.source and r["labels"]["violent"] == 1]
    rows = rows[:args.max_rows or None]
    originals = [r["text"] for r in rows]
    rng = random.Random(f"evasion:{args.seed}")
    respelled = [augment_text(text, rng) for text in originals]
    changed = np.array([a != b for a, b in zip(originals, respelled)])
    print(f"{len(rows)} violent {args.split} rows of {args.source}; {changed.mean():.1%} changed, e.g.")
    for a, b in [pair for pair in zip(originals, respelled) if pair[0] != pair[1]][:3]:
        print(f"  {a[:40]}  →  {b[:40]}")

    print("\n| run | recall as written | recall respelled | flagged texts still flagged |\n|---|---|---|---|")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    labels = list(load_taxonomy().labels)
    for root in args.runs:
        run = RunDir(root)
        model, tokenizer, _ = load_model(run.require(run.model, "train CONFIG"))
        model.to(device)
        run.require(run.thresholds, "evaluate CONFIG")
        cut = run.read_thresholds(labels)["violent"]
        index = model.config.label2id["violent"]  # id2label comes from the taxonomy
        flag_original, flag_respelled = (
            predict_probs(model, tokenizer, texts, args.batch_size, device)[:, index] >= cut
            for texts in (originals, respelled))
        kept = (flag_respelled & flag_original)[changed].sum() / max((flag_original & changed).sum(), 1)
        print(f"| `{run.root.name}` | {flag_original.mean():.1%} | {flag_respelled.mean():.1%} | {kept:.1%} |")


if __name__ == "__main__":
    main()
