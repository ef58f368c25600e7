"""The `cvguard` command: one subcommand per stage, plus `run` for the whole chain.

Stage modules are imported inside each command, so `cvguard predict` works with the base install
(onnxruntime, tokenizers, numpy) and never imports torch.
"""

import argparse
import csv
import io
import json
import sys
from pathlib import Path

from cvguard import DEFAULT_DATA_ROOT
from cvguard.contracts import RunDir

CONFIG_HELP = "YAML run config (see configs/); omitted = built-in defaults"
OVERRIDE_HELP = "config overrides as section.key=value, e.g. train.epochs=1 model.num_hidden_layers=4"


def _config(args):
    from cvguard.config import load_config

    if args.config and "=" in args.config:  # only overrides were given
        args.config, args.overrides = None, [args.config, *args.overrides]
    return load_config(args.config, args.overrides)


def cmd_data(args):
    from cvguard.config import save_config
    from cvguard.data.arrow import arrow_split
    from cvguard.data.build import build_splits
    from cvguard.io import atomic_write, write_json
    from cvguard.taxonomy import load_taxonomy

    config = _config(args)
    splits, report = build_splits(config.data, args.data_root)
    run = RunDir(config.run_path)
    for split in list(splits):
        rows = splits.pop(split)  # each split's dicts are freed once written
        # Line by line, the bytes write_jsonl writes: it joins a split into one string first, GBs at 1M rows.
        atomic_write(run.split(split), lambda f: f.writelines(
            (json.dumps(r, ensure_ascii=False) + "\n").encode("utf-8") for r in rows))
        del rows
        arrow_split(run, split, list(load_taxonomy().labels))  # what training memory-maps
    write_json(run.data_report, report)
    save_config(config, run.config)
    print(json.dumps(report, ensure_ascii=False, indent=2))


def cmd_train(args):
    from cvguard.config import save_config
    from cvguard.training.train import train

    config = _config(args)
    save_config(config, RunDir(config.run_path).config)
    print(json.dumps(train(config)))


def cmd_baseline(args):
    from cvguard.training.baseline import train_baseline

    train_baseline(_config(args))


def cmd_evaluate(args):
    from cvguard.evaluation.evaluate import evaluate, predict_with_checkpoint

    config = _config(args)
    if not args.skip_predict:
        predict_with_checkpoint(config)
    evaluate(config)
    print(f"wrote {RunDir(config.run_path).report_html}, the markdown report, metrics and model card")


def cmd_report(args):
    from cvguard.evaluation.evaluate import evaluate, run_config

    config = run_config(args.run_dir, args.overrides)
    evaluate(config)
    print(f"wrote {RunDir(args.run_dir).report_html}, the markdown report, metrics and thresholds")


def cmd_export(args):
    from cvguard.export.onnx_export import export

    config = _config(args)
    manifest = export(config, args.out)
    print(f"wrote artifact {args.out or RunDir(config.run_path).artifact} "
          f"(variants: {', '.join(manifest.variants)})")


def read_input_texts(path: str | None, field: str) -> list[str]:
    """One text per line from stdin, or a JSONL/CSV file with a `field` column."""
    if path in (None, "-"):
        return [line.rstrip("\n") for line in sys.stdin if line.strip()]
    file = Path(path)
    raw = file.read_bytes()
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise SystemExit(f"{file}, line {line}: not UTF-8")
    if file.suffix == ".csv":
        reader = csv.DictReader(io.StringIO(content, newline=""))
        if field not in (reader.fieldnames or []):
            raise SystemExit(f"{file}: no column {field!r}; found {reader.fieldnames}")
        return [row[field] for row in reader]
    texts = []
    for line_no, line in enumerate(content.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise SystemExit(f"{file}, line {line_no}: invalid JSON ({e.msg})")
        text = obj if isinstance(obj, str) else obj.get(field) if isinstance(obj, dict) else None
        if not isinstance(text, str) or not text.strip():
            raise SystemExit(f"{file}, line {line_no}: no non-empty string in field {field!r}")
        texts.append(text)
    return texts


def cmd_predict(args):
    from cvguard.export.runtime import Classifier

    texts = read_input_texts(args.input, args.text_field)
    classifier = Classifier.load(args.artifact, device=args.device, variant=args.variant)
    try:
        results = classifier.predict(texts, batch_size=args.batch_size)
    except (TypeError, ValueError) as e:
        raise SystemExit(f"{args.input or 'stdin'}: {e}")
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
    for result in results:
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
    if args.output:
        out.close()


def cmd_serve(args):
    try:
        from cvguard.export.serve import Limits, serve
    except ImportError as e:
        raise SystemExit(f"cvguard serve needs the serve extra: pip install 'cvguard[serve]' ({e})")

    serve(args.artifact, host=args.host, port=args.port, device=args.device, variant=args.variant,
          intra_op_threads=args.threads, max_batch=args.max_batch, max_wait_ms=args.max_wait_ms,
          batch_size=args.batch_size, long_texts=args.long_texts,
          limits=Limits(args.max_texts, args.max_chars, args.max_body_bytes))

def cmd_run(args):
    """The main job: data -> train -> baseline -> evaluate -> export -> predict."""
    from cvguard.io import write_jsonl

    cmd_data(args)
    cmd_train(args)
    cmd_baseline(args)
    args.skip_predict = False
    cmd_evaluate(args)
    args.out = None
    cmd_export(args)
    from cvguard.export.runtime import Classifier

    run = RunDir(_config(args).run_path)
    rows = run.read_split("test")[:20]
    results = Classifier.load(run.artifact).predict([r["text"] for r in rows])
    write_jsonl(run.sample_predictions, results)
    for result in results[:5]:
        print(f"{result['labels'] or ['-']}  {result['text'][:60]}")
    print(f"done: see {run.report_html} and {run.artifact}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cvguard", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def stage(name, func, help_text):
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("config", nargs="?", help=CONFIG_HELP)
        p.add_argument("overrides", nargs="*", help=OVERRIDE_HELP)
        p.set_defaults(func=func)
        return p

    for p in (stage("data", cmd_data, "read the sources and write RUN_DIR/data/{train,dev,test}.jsonl"),
              stage("run", cmd_run, "the whole chain: data, train, baseline, evaluate, export, predict")):
        p.add_argument("--data-root", default=DEFAULT_DATA_ROOT,
                       help=f"folder holding COLD/, ToxiCN/, MHC-Mandarin/ (default {DEFAULT_DATA_ROOT})")
    stage("train", cmd_train, "fine-tune the encoder on RUN_DIR/data; resumes from RUN_DIR/checkpoint.pt")
    stage("baseline", cmd_baseline, "train the char 1-3-gram TF-IDF + logistic regression baseline")
    p = stage("evaluate", cmd_evaluate, "score dev/test, choose thresholds on dev, write metrics.json + report.md")
    p.add_argument("--skip-predict", action="store_true", help="reuse RUN_DIR/predictions instead of rescoring")
    p = sub.add_parser("report", help="rewrite the evaluation report of a run from its stored predictions",
                       description="Recompute thresholds and metrics from RUN_DIR/predictions (no model needed) "
                                   "with the run's config.yaml, and write report.html, report.md, metrics.json and "
                                   "thresholds.json.")
    p.add_argument("run_dir", type=Path, help="a run folder with data/ and predictions/ (e.g. runs/default)")
    p.add_argument("overrides", nargs="*", help="eval overrides, e.g. eval.target_recall=0.9")
    p.set_defaults(func=cmd_report)
    p = stage("export", cmd_export, "export RUN_DIR/model to ONNX fp32 + int8 with a parity check")
    p.add_argument("--out", type=Path, help="artifact folder (default RUN_DIR/artifact)")

    p = sub.add_parser("predict", help="score texts with an exported artifact (no torch needed)",
                       description="Score texts with an exported artifact; prints one JSON object per text.")
    p.add_argument("artifact", type=Path, help="artifact folder written by `cvguard export`")
    p.add_argument("--input", "-i", help="a .jsonl or .csv file; omitted or '-' = one text per line on stdin")
    p.add_argument("--text-field", default="text", help="JSONL key / CSV column holding the text (default: text)")
    p.add_argument("--output", "-o", help="write JSONL here instead of stdout")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--variant", help="model variant in the artifact (default: int8 on CPU, fp32 on CUDA)")
    p.add_argument("--batch-size", type=int, default=32)
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("serve", help="serve an artifact over HTTP: POST /v1/classify, GET /healthz",
                       description="Serve an artifact over HTTP (needs the serve extra). Concurrent requests "
                                   "are micro-batched into one onnxruntime call.")
    p.add_argument("artifact", type=Path, help="artifact folder written by `cvguard export`")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; 0.0.0.0 = all)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--variant", help="model variant in the artifact (default: int8 on CPU, fp16 on CUDA)")
    p.add_argument("--threads", type=int, default=0, help="onnxruntime intra-op threads (default: one per core)")
    p.add_argument("--long-texts", choices=["window", "truncate"], help="override the artifact's choice")
    p.add_argument("--max-batch", type=int, default=64, help="texts gathered into one onnxruntime call")
    p.add_argument("--max-wait-ms", type=float, default=5.0, help="how long a request waits for others to batch with")
    p.add_argument("--batch-size", type=int, default=32, help="rows per onnxruntime call inside a batch")
    p.add_argument("--max-texts", type=int, default=64, help="texts per request")
    p.add_argument("--max-chars", type=int, default=2000, help="characters per text")
    p.add_argument("--max-body-bytes", type=int, default=1 << 20)
    p.set_defaults(func=cmd_serve)
    return parser


def main(argv=None):
    parser = build_parser()
    # argparse stops filling `overrides` at the first option (e.g. --data-root), so collect the rest here.
    args, extra = parser.parse_known_args(argv)
    if extra and hasattr(args, "overrides") and all("=" in e and not e.startswith("-") for e in extra):
        args.overrides = [*args.overrides, *extra]
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.func(args)


if __name__ == "__main__":
    main()
