"""Training throughput: cvguard's loop against transformers' Trainer, in one run, on the same work.

Every contender trains the same classifier, cvguard's model: the stock Hugging Face
AutoModelForSequenceClassification ([CLS] pooler + linear head) with cvguard's masked BCE, from the same
initial weights, on the same COLD rows, with the same batch size, number of steps, optimiser (AdamW, two
learning rates), schedule (cvguard's warm-up + linear decay, passed to Trainer as a LambdaLR) and gradient
clipping. Only the training loop and the batching differ:

  trainer              transformers.Trainer, its defaults: random batches, padded to each batch's longest row
  trainer_grouped      Trainer with train_sampling_strategy="group_by_length" (LengthGroupedSampler)
  cvguard              cvguard's loop (training/train.py): length-grouped batches, padded to each batch's longest
  cvguard_ungrouped    cvguard with train.group_by_length=false: random batches, like Trainer's defaults

Both pad dynamically, so the speed-up over Trainer's defaults comes from length grouping (less padding); the
two ungrouped/grouped pairs show that. samples/s is measured from the end of step 10 to the end of the last
step, so start-up, tokenising and the first, slower steps count for nobody. The pad share says how much of
each padded batch was padding. Loss curves are the mean training loss over each 10 steps; the rows are the
same but their order differs between samplers, so the curves should track each other, not coincide.

From the repository root:

    python -m benchmarks.training                    # e5-small (4 layers), 60 steps of 32 COLD rows
    python -m benchmarks.training --quick            # a tiny random BERT, 30 steps of 16: checks the script
Run it on an otherwise idle machine: with the cores busy, OpenMP threads wait on each other and every figure
collapses (--threads 1 limits the damage when a quiet machine is not to be had).
Writes OUT/results.json and OUT/loss_curves.png (default runs/bench-training[-quick]/).
"""

import argparse
import json
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.machine import cpu_name
from cvguard.config import load_config
from cvguard.contracts import RunDir
from cvguard.data.sources import read_cold
from cvguard.io import write_jsonl
from cvguard.taxonomy import label_matrix, load_taxonomy
from cvguard.training.batching import encode_texts, plan_batches
from cvguard.training.model import build_model, masked_bce_loss
from cvguard.training.train import LOG_EVERY_STEPS, learning_rate_scale, train

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
WINDOW_START = LOG_EVERY_STEPS  # throughput is timed from the end of this step


def tiny_model(folder: Path, tokenizer_from: Path) -> Path:
    """--quick: a random 2-layer BERT (hidden 64) with the shared model's tokenizer, so lengths are real."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_from)
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=len(tokenizer), hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=128, max_position_embeddings=512,
                         pad_token_id=tokenizer.pad_token_id)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def cold_rows(n: int, seed: int) -> list[dict]:
    rows = [r for r in read_cold(SHARED / "datasets" / "COLD") if r["split"] == "train"]
    random.Random(seed).shuffle(rows)
    return rows[:n]


def run_cvguard(name: str, base_overrides: list[str], rows: list[dict], workdir: Path, grouped: bool) -> dict:
    run = RunDir(workdir / name)
    write_jsonl(run.split("train"), rows)
    write_jsonl(run.split("dev"), [])
    config = load_config(None, [f"run_dir={run.root}", *base_overrides, "train.checkpoint_every_steps=0",
                                f"train.group_by_length={str(grouped).lower()}"])
    train(config)
    log = [json.loads(line) for line in run.train_log.read_text().splitlines()]
    steps = {e["step"]: e for e in log if "loss" in e}
    tc = config.train
    # The pad share of exactly the batches this run trained on, from the same plan the loop used.
    _, tokenizer, _ = build_model(config.model, list(load_taxonomy().labels))
    lengths = [len(ids) for ids in encode_texts(tokenizer, [r["text"] for r in rows], config.model.max_length)]
    batches = plan_batches(lengths, tc.batch_size, tc.seed, 0, grouped)[:tc.max_steps]
    real = sum(lengths[i] for b in batches for i in b)
    padded = sum(len(b) * max(lengths[i] for i in b) for b in batches)
    last = max(steps)
    seconds = steps[last]["elapsed_s"] - steps[WINDOW_START]["elapsed_s"]
    return {"samples_per_s": (last - WINDOW_START) * tc.batch_size / seconds, "timed_steps": last - WINDOW_START,
            "timed_seconds": seconds, "pad_share": 1 - real / padded,
            "loss": {s: e["loss"] for s, e in sorted(steps.items())}}


def run_trainer(name: str, base_overrides: list[str], rows: list[dict], workdir: Path, grouped: bool) -> dict:
    from datasets import Dataset
    from transformers import DataCollatorWithPadding, Trainer, TrainerCallback, TrainingArguments
    from transformers.trainer_utils import set_seed as hf_set_seed

    config = load_config(None, base_overrides)
    tc, labels = config.train, list(load_taxonomy().labels)
    hf_set_seed(tc.seed)  # the same initial head as cvguard's run: both seed, then build
    classifier, tokenizer, fresh = build_model(config.model, labels)
    counts = {"real": 0, "padded": 0}

    class WithLoss(torch.nn.Module):
        """The same classifier and masked BCE, in the (loss, logits) form Trainer expects."""

        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, labels=None):
            if self.training:
                counts["real"] += int(attention_mask.sum())
                counts["padded"] += attention_mask.numel()
            logits = self.model(input_ids=input_ids, attention_mask=attention_mask).logits
            return {"loss": masked_bce_loss(logits.float(), labels), "logits": logits}

    ids = encode_texts(tokenizer, [r["text"] for r in rows], config.model.max_length)
    dataset = Dataset.from_dict({"input_ids": ids, "attention_mask": [[1] * len(x) for x in ids],
                                 "labels": label_matrix(rows, labels).tolist()})
    model = WithLoss(classifier)
    # The same two groups as cvguard's loop: the parameters the checkpoint lacked (the head) learn faster.
    pretrained = [p for n, p in classifier.named_parameters() if n not in fresh]
    new = [p for n, p in classifier.named_parameters() if n in fresh]
    optimizer = torch.optim.AdamW([{"params": pretrained, "lr": tc.learning_rate},
                                   {"params": new, "lr": tc.head_learning_rate}],
                                  weight_decay=tc.weight_decay)
    warmup = max(1, int(tc.warmup_ratio * tc.max_steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: learning_rate_scale(s, tc.max_steps, warmup))

    times, losses = {}, {}

    class Record(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            times[state.global_step] = time.perf_counter()

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                losses[state.global_step] = logs["loss"]

    args = TrainingArguments(
        output_dir=str(workdir / name), max_steps=tc.max_steps, per_device_train_batch_size=tc.batch_size,
        logging_steps=LOG_EVERY_STEPS, save_strategy="no", report_to="none", seed=tc.seed, data_seed=tc.seed,
        max_grad_norm=tc.max_grad_norm, disable_tqdm=True, dataloader_pin_memory=False,
        use_cpu=not torch.cuda.is_available(),
        train_sampling_strategy="group_by_length" if grouped else "random")
    trainer = Trainer(model=model, args=args, train_dataset=dataset, data_collator=DataCollatorWithPadding(tokenizer),
                      processing_class=tokenizer, optimizers=(optimizer, schedule), callbacks=[Record()])
    trainer.train()
    last = max(times)
    seconds = times[last] - times[WINDOW_START]
    return {"samples_per_s": (last - WINDOW_START) * tc.batch_size / seconds, "timed_steps": last - WINDOW_START,
            "timed_seconds": seconds, "pad_share": 1 - counts["real"] / counts["padded"], "loss": losses}


def plot(results: dict, path: Path, title: str) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, r in results.items():
        steps = sorted(r["loss"], key=int)
        ax.plot([int(s) for s in steps], [r["loss"][s] for s in steps], marker="o", label=name)
    ax.set_xlabel("step")
    ax.set_ylabel(f"mean training loss over {LOG_EVERY_STEPS} steps")
    ax.set_title(title, fontsize=9)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny random model, 30 steps of 16: checks the script")
    parser.add_argument("--model", default=str(SHARED / "models" / "multilingual-e5-small-zh"))
    parser.add_argument("--layers", type=int, default=4, help="keep the first N encoder layers")
    parser.add_argument("--steps", type=int, help="optimiser steps per contender (default 60; --quick 30)")
    parser.add_argument("--batch-size", type=int, help="default 32; --quick 16")
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads for everyone (0 = torch's default)")
    parser.add_argument("--only", nargs="+", choices=["trainer", "trainer_grouped", "cvguard", "cvguard_ungrouped"],
                        default=["trainer", "trainer_grouped", "cvguard", "cvguard_ungrouped"])
    parser.add_argument("--out", type=Path, help="default runs/bench-training (or runs/bench-training-quick)")
    args = parser.parse_args(argv)
    steps = args.steps or (30 if args.quick else 60)
    batch_size = args.batch_size or (16 if args.quick else 32)
    if steps <= WINDOW_START:
        sys.exit(f"--steps must be more than {WINDOW_START}: the first {WINDOW_START} are warm-up")
    if args.threads:
        torch.set_num_threads(args.threads)
    out = args.out or REPO / "runs" / ("bench-training-quick" if args.quick else "bench-training")
    out.mkdir(parents=True, exist_ok=True)
    if not (SHARED / "datasets" / "COLD").is_dir():
        sys.exit(f"needs COLD under {SHARED / 'datasets'} (see data/README.md)")

    with tempfile.TemporaryDirectory(prefix="cvguard-bench-") as tmp:
        workdir = Path(tmp)
        model_path, layers = (tiny_model(workdir / "tiny", Path(args.model)), 0) if args.quick else (args.model, args.layers)
        base = [f"model.model_name_or_path={model_path}", f"model.num_hidden_layers={layers}",
                f"model.max_length={args.max_length}", f"train.batch_size={batch_size}", f"train.max_steps={steps}",
                "train.epochs=1", "train.learning_rate=5e-5", "train.head_learning_rate=1e-3"]
        rows = cold_rows(steps * batch_size, seed=0)  # one pass over the same rows for everyone
        contenders = {"trainer": (run_trainer, False), "trainer_grouped": (run_trainer, True),
                      "cvguard": (run_cvguard, True), "cvguard_ungrouped": (run_cvguard, False)}
        results = {}
        for name in args.only:
            runner, grouped = contenders[name]
            print(f"--- {name}", flush=True)
            results[name] = runner(name, base, rows, workdir, grouped)

    import transformers

    machine = {"cpu": cpu_name(), "torch_threads": torch.get_num_threads(),
               "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
               "python": platform.python_version(), "torch": torch.__version__,
               "transformers": transformers.__version__}
    setup = {"quick": args.quick, "model": "tiny random BERT (2 layers, hidden 64)" if args.quick
             else f"{Path(args.model).name}, first {args.layers} layers", "rows": len(rows), "steps": steps,
             "batch_size": batch_size, "max_length": args.max_length, "timed_from_step": WINDOW_START}
    print(f"\n{'QUICK (script check, not a result): ' if args.quick else ''}{setup['model']}, {steps} steps x "
          f"{batch_size} COLD rows, max_length {args.max_length}; {machine['cpu']}, {machine['torch_threads']} threads")
    print(f"{'contender':<20}{'samples/s':>10}{'pad share':>11}   loss at steps {', '.join(map(str, range(10, steps + 1, 10)))}")
    for name, r in results.items():
        curve = ", ".join(f"{r['loss'].get(s, float('nan')):.4f}" for s in range(10, steps + 1, 10))
        print(f"{name:<20}{r['samples_per_s']:>10.1f}{r['pad_share']:>10.1%}   {curve}")
    ratios = {}
    for a, b in (("cvguard", "trainer"), ("cvguard", "trainer_grouped"), ("trainer_grouped", "trainer"),
                 ("cvguard_ungrouped", "trainer")):
        if a in results and b in results:
            ratios[f"{a}/{b}"] = results[a]["samples_per_s"] / results[b]["samples_per_s"]
            print(f"speed-up {a} / {b}: {ratios[f'{a}/{b}']:.2f}x")
    if "cvguard" in results and "trainer" in results:
        a, b = results["cvguard"]["loss"], results["trainer"]["loss"]
        shared = sorted(set(a) & set(b))
        print("loss curves, cvguard vs trainer: max |difference| of the 10-step means "
              f"{max(abs(a[s] - b[s]) for s in shared):.4f} (different row order: they track, not coincide)")

    results_json = {"setup": setup, "machine": machine, "results": results, "ratios": ratios}
    (out / "results.json").write_text(json.dumps(results_json, indent=2) + "\n")
    title = (f"{'QUICK: ' if args.quick else ''}{setup['model']}, {steps} steps x {batch_size}, "
             f"{machine['cpu'][:40]}")
    drew = plot(results, out / "loss_curves.png", title)
    print(f"wrote {out / 'results.json'}" + (f" and {out / 'loss_curves.png'}" if drew else " (no matplotlib: no plot)"))


if __name__ == "__main__":
    main()
