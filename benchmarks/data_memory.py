"""Peak memory of `cvguard data` and of `cvguard train` up to its first optimiser step, on a synthetic corpus.

The corpus is COLD's training texts repeated with a counter suffix (so every row is a distinct text) up to
--rows rows, written as a seed-format JSONL folder that `cvguard data` reads through data.paths.seed. Training
uses a tiny random BERT (2 layers, hidden 32, a character vocabulary of the corpus), so the figures are the data
path's, not a model's. Each stage runs as its own child process; its peak RSS is the child's ru_maxrss (wait4).

    python benchmarks/data_memory.py --rows 1000000 --repo .            # this checkout
    python /tmp/data_memory.py --rows 1000000 --repo /work/wt-data-before  # another checkout, same script
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
try:
    from machine import cpu_name  # benchmarks/machine.py: the script's own folder is on sys.path
except ImportError:  # the script copied elsewhere to measure another checkout
    def cpu_name() -> str:
        return next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name")), "unknown CPU")


def taxonomy_labels(repo: Path) -> list[str]:
    import yaml

    raw = yaml.safe_load((repo / "configs" / "taxonomy.yaml").read_text(encoding="utf-8"))
    return [raw["overall"]["id"], *(c["id"] for c in raw["categories"])]


def write_corpus(folder: Path, cold_csv: Path, rows: int, labels: list[str]) -> set[str]:
    """Seed-format train/test JSONL: 95% train, 5% test (by row number), every text unique."""
    with open(cold_csv, encoding="utf-8-sig", newline="") as f:
        cold = [(r["TEXT"].strip(), int(r["label"])) for r in csv.DictReader(f) if r["TEXT"].strip()]
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "train.jsonl", "w", encoding="utf-8") as train, \
            open(folder / "test.jsonl", "w", encoding="utf-8") as test:
        for i in range(rows):
            text, violent = cold[i % len(cold)]
            y = {name: (None if violent else 0) for name in labels}
            y[labels[0]] = violent
            row = {"id": f"b{i}", "text": f"{text}#{i}", "labels": y, "groups": [], "register": "weibo",
                   "theme": f"t{i}", "kind": "positive" if violent else "negative", "hard_negative_for": None}
            (test if i % 20 == 0 else train).write(json.dumps(row, ensure_ascii=False) + "\n")
    return {c for text, _ in cold for c in text} | set("#0123456789")


def write_tiny_model(folder: Path, chars: set[str]) -> None:
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(chars)]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(str(folder / "vocab.txt"))
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=130)
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def measure(repo: Path, argv: list[str]) -> dict:
    """Runs `cvguard ARGV` from `repo` in a child process; its wall time and peak RSS."""
    started = time.time()
    log = Path(argv[1].split("=", 1)[1] + f".{argv[0]}.log")  # the run_dir override comes first
    with open(log, "w") as err:
        child = subprocess.Popen([sys.executable, "-m", "cvguard.cli", *argv], cwd=repo,
                                 stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own rusage, not every child's so far
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"cvguard {argv[0]} failed:\n{log.read_text()[-3000:]}")
    return {"peak_rss_mb": round(usage.ru_maxrss / 1024), "wall_s": round(time.time() - started, 1)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[1],
                        help="the cvguard checkout to measure")
    parser.add_argument("--cold", type=Path, default=Path("/work/shared/datasets/COLD/train.csv"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/cvguard-data-memory"))
    args = parser.parse_args()
    corpus, model = args.work / f"seed-{args.rows}", args.work / "tiny-bert"
    if not (corpus / "test.jsonl").exists():
        chars = write_corpus(corpus, args.cold, args.rows, taxonomy_labels(args.repo))
        write_tiny_model(model, chars)
    run = args.work / f"run-{args.repo.resolve().name}-{args.rows}"
    subprocess.run(["rm", "-rf", str(run)], check=True)
    overrides = [f"run_dir={run}", f"data.paths={{seed: {corpus}}}", "data.dev_fraction=0.01",
                 f"model.model_name_or_path={model}", "model.max_length=128", "train.max_steps=1",
                 "train.batch_size=32", "train.num_threads=2", "eval.batch_size=256"]
    figures = {"cpu": cpu_name(), "rows": args.rows, "repo": str(args.repo),
               "data": measure(args.repo, ["data", *overrides]),
               "train_first_step": measure(args.repo, ["train", *overrides])}
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
