"""The `cvguard` command: one subcommand per stage, plus `run` for the whole chain.

Stage modules are imported inside each command, so `cvguard predict` works with the base install
(onnxruntime, tokenizers, numpy) and never imports torch.
"""

import argparse
import json
import os
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
    from cvguard.io import write_json, write_jsonl
    from cvguard.taxonomy import load_taxonomy

    config = _config(args)
    splits, report = build_splits(config.data, args.data_root)
    run = RunDir(config.run_path)
    for split in list(splits):
        write_jsonl(run.split(split), splits.pop(split))  # each split's dicts are freed once written
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


def read_input_rows(path: str | None, field: str) -> list[tuple[int, str | None, str | None]]:
    """(line number, text, problem) per input row: one text per line on stdin, or a JSONL/CSV file with a
    `field` column. A row that cannot be read gets a problem and no text; the file's structure being wrong
    (a missing column, an unbalanced CSV quote) is an InputError for the whole file."""
    from cvguard.io import decode_lines, decode_text, read_csv

    name = path if path not in (None, "-") else "stdin"
    data = sys.stdin.buffer.read() if name == "stdin" else Path(name).read_bytes()
    if name.endswith(".csv"):
        text = decode_text(name, data)
        return [(line, row[field], None if row[field].strip() else f"empty text in column {field!r}")
                for line, row in read_csv(name, text, [field])]
    rows = []
    for line, text, problem in decode_lines(name, data):
        if problem or name == "stdin":
            rows.append((line, text, problem))
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as e:
            rows.append((line, None, f"invalid JSON ({e.msg})"))
            continue
        value = obj if isinstance(obj, str) else obj.get(field) if isinstance(obj, dict) else None
        if not isinstance(value, str) or not value.strip():
            rows.append((line, None, f"no non-empty string in field {field!r}"))
        else:
            rows.append((line, value, None))
    return rows


def cmd_predict(args):
    from cvguard.export.options import InvalidTexts, RuntimeOptions, from_args, validate_texts
    from cvguard.export.runtime import Classifier
    from cvguard.io import write_jsonl

    checked = []
    for line, text, problem in read_input_rows(args.input, args.text_field):
        if problem is None:
            try:
                validate_texts([text])
            except InvalidTexts as e:
                problem = e.problem
        checked.append((line, text, problem))
    options = from_args(RuntimeOptions, args)
    classifier = Classifier.from_options(args.artifact, options)
    good = [text for _, text, problem in checked if problem is None]
    results = iter(classifier.predict(good, batch_size=options.batch_size))
    # every input row gets an output row, in input order
    rows = [{"line": line, "error": problem} if problem else {"line": line, **next(results)}
            for line, _, problem in checked]
    if args.output:
        write_jsonl(args.output, rows)  # atomic: a kill leaves no half-written results file
    else:
        sys.stdout.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    bad = sum("error" in row for row in rows)
    if bad:
        print(f"cvguard predict: {bad} of {len(checked)} rows not scored; their output rows say why (\"error\")",
              file=sys.stderr)


def cmd_score(args):
    from dataclasses import asdict, replace

    from cvguard.export.options import RuntimeOptions, ScoreOptions, from_args

    try:
        from cvguard.export.score import failure, score
    except ImportError as e:
        raise SystemExit(f"cvguard score needs pyarrow: pip install 'cvguard[score]' ({e})") from None

    options = replace(from_args(ScoreOptions, args), keep=tuple(args.keep or ()))
    summary = score(args.artifact, args.input, args.output, options, from_args(RuntimeOptions, args))
    print(json.dumps(asdict(summary), ensure_ascii=False, indent=2))
    if summary.failed_files:  # every readable file was scored; the exit code still says some were not
        raise failure(args.output, summary)


def cmd_serve(args):
    from cvguard.export.options import RuntimeOptions, ServeOptions, from_args

    try:
        from cvguard.export.serve import serve
    except ImportError as e:
        raise SystemExit(f"cvguard serve needs the serve extra: pip install 'cvguard[serve]' ({e})") from None

    monitor_config = _monitor_config(args) if args.monitor_db else None
    serve(args.artifact, from_args(RuntimeOptions, args), from_args(ServeOptions, args), args.monitor_db, monitor_config)


def _monitor_config(args):
    from cvguard.monitor.config import load_monitor_config

    return load_monitor_config(args.rules, args.overrides)


def cmd_monitor(args):
    from cvguard.export.options import RuntimeOptions, from_args
    from cvguard.export.runtime import Classifier
    from cvguard.monitor.engine import Monitor
    from cvguard.monitor.stream import announcer, run

    config = _monitor_config(args)
    classifier = Classifier.from_options(args.artifact, from_args(RuntimeOptions, args))
    run(Monitor.open(classifier, args.db, config, announcer(config.webhook)), args.follow)


def cmd_alerts(args):
    from cvguard.monitor.engine import close_alert, list_alerts, public
    from cvguard.monitor.store import open_store

    store = open_store(args.db)
    for alert_id in args.close:
        if not close_alert(store, alert_id):
            raise ValueError(f"{args.db}: no open alert {alert_id!r}")
    alerts = list_alerts(store, None if args.all else "open", args.target)
    sys.stdout.writelines(json.dumps(public(a), ensure_ascii=False) + "\n" for a in alerts)


def cmd_evidence(args):
    from cvguard.monitor.engine import list_alerts, public
    from cvguard.monitor.evidence import export_bundle, verify
    from cvguard.monitor.store import open_store

    store = open_store(args.db)
    if args.action == "verify":
        intact, message, _ = verify(store)
        print(message, file=sys.stdout if intact else sys.stderr)
        raise SystemExit(0 if intact else 1)
    if not args.target or not args.out:
        raise ValueError("evidence export needs --target T and -o DIR")
    alerts = [public(a) for a in list_alerts(store, None, args.target)]
    bundle = export_bundle(store, args.target, args.out, alerts)
    print(f"wrote {args.out / 'evidence.json'} and {args.out / 'evidence.html'} ({len(bundle['records'])} records, "
          f"chain {'intact' if bundle['chain']['intact'] else 'BROKEN'})")


# What `cvguard run` shows a newcomer at the end: everyday replies, criticism and counter-speech that must stay
# unflagged, and one attack per kind of cyber violence.
DEMO_TEXTS = ["好的", "谢谢老师，辛苦了", "今天天气不错", "这家店上菜太慢了，希望能改进一下",
              "事情还没查清楚，大家别急着网暴她", "你这个废物去死吧", "听说她早就出轨了，懂的都懂",
              "他电话138****5521，住幸福小区3栋，大家去问候一下", "等着，我知道你孩子在哪上学"]


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
    classifier = Classifier.load(run.artifact)
    write_jsonl(run.sample_predictions, classifier.predict([r["text"] for r in run.read_split("test")[:20]]))
    for result in classifier.predict(DEMO_TEXTS):
        print(f"{', '.join(result['labels']) or '-':<40}  {result['text']}")
    print(f"done: see {run.report_html} and {run.artifact}")


def add_runtime_options(p: argparse.ArgumentParser) -> None:
    """The options `predict` and `serve` share, with the defaults of export.options.RuntimeOptions."""
    from cvguard.export.options import LONG_TEXT_MODES, RuntimeOptions

    d = RuntimeOptions()
    p.add_argument("--device", default=d.device, choices=["cpu", "cuda"])
    p.add_argument("--variant", default=d.variant,
                   help="model variant in the artifact (default: int8 on CPU, fp16 (else fp32) on CUDA)")
    p.add_argument("--threads", type=int, default=d.threads, help="onnxruntime intra-op threads (default: one per core)")
    p.add_argument("--batch-size", type=int, default=d.batch_size,
                   help=f"rows per onnxruntime call (default {d.batch_size})")
    p.add_argument("--long-texts", default=d.long_texts, choices=LONG_TEXT_MODES,
                   help="texts over max_length tokens: score overlapping windows or truncate (default: the artifact's choice)")


def build_parser() -> argparse.ArgumentParser:
    from cvguard.export.options import ScoreOptions, ServeOptions

    parser = argparse.ArgumentParser(prog="cvguard", description=__doc__.splitlines()[0],
                                     epilog="Errors are one line; add --debug anywhere for the traceback.")
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
    add_runtime_options(p)
    p.set_defaults(func=cmd_predict)

    d_score = ScoreOptions()
    p = sub.add_parser("score", help="score a backlog (Parquet, JSONL or CSV files) into a folder of Parquet files; "
                                     "resumable", description="Score every row of INPUT into OUTPUT, a folder of "
                       "Parquet files written fragment by fragment: rerun the same command after a kill to resume. "
                       "Rows that cannot be scored get a status; exit code 1 only when a file could not be read.")
    p.add_argument("artifact", type=Path, help="artifact folder written by `cvguard export`")
    p.add_argument("input", help="a .parquet, .jsonl or .csv file, a folder of them, or a glob (quote it)")
    p.add_argument("output", type=Path, help="output folder of Parquet files")
    p.add_argument("--text-column", default=d_score.text_column, help=f"default {d_score.text_column}")
    p.add_argument("--id-column", default=d_score.id_column, help=f"default {d_score.id_column}")
    p.add_argument("--keep", action="append", metavar="COLUMN", help="copy this input column to the output; repeatable")
    p.add_argument("--engine", default=d_score.engine, choices=["local", "ray"],
                   help="local: worker processes on this machine; ray: Ray Data actors (pip install 'cvguard[ray]')")
    p.add_argument("--workers", type=int, default=d_score.workers,
                   help="local: worker processes (default: one per fragment to score, at most one per core)")
    p.add_argument("--fragment-rows", type=int, default=d_score.fragment_rows,
                   help=f"rows per output file, the unit of resume (default {d_score.fragment_rows}); "
                        "ray: rows per map_batches batch")
    p.add_argument("--max-chars", type=int, default=d_score.max_chars,
                   help=f"longer texts get status too_long (default {d_score.max_chars})")
    p.add_argument("--actors", type=int, default=d_score.actors, help=f"ray: actors (default {d_score.actors})")
    p.add_argument("--cpus-per-actor", type=float, default=d_score.cpus_per_actor)
    p.add_argument("--gpus-per-actor", type=float, default=d_score.gpus_per_actor,
                   help="ray: GPUs per actor (needs onnxruntime-gpu and --device cuda)")
    p.add_argument("--address", default=d_score.address, help="ray: join this cluster (e.g. auto); default: start Ray here")
    add_runtime_options(p)
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("serve", help="serve an artifact over HTTP: POST /v1/classify, Perspective's "
                                     "/v1alpha1/comments:analyze, GET /healthz, /docs",
                       description="Serve an artifact over HTTP (needs the serve extra). Concurrent requests "
                                   "are micro-batched into one onnxruntime call.")
    p.add_argument("artifact", type=Path, help="artifact folder written by `cvguard export`")
    d = ServeOptions()
    p.add_argument("--host", default=d.host, help=f"address to bind (default {d.host}; 0.0.0.0 = all)")
    p.add_argument("--port", type=int, default=d.port)
    add_runtime_options(p)
    p.add_argument("--max-batch", type=int, default=d.max_batch, help="texts gathered into one onnxruntime call")
    p.add_argument("--max-wait-ms", type=float, default=d.max_wait_ms,
                   help="how long a request waits for others to batch with")
    p.add_argument("--max-texts", type=int, default=d.max_texts, help="texts per request")
    p.add_argument("--max-chars", type=int, default=d.max_chars, help="characters per text")
    p.add_argument("--max-body-bytes", type=int, default=d.max_body_bytes)
    p.add_argument("--max-request-tokens", type=int, default=d.max_request_tokens,
                   help="a request's budget, counted in characters; larger requests get 422 (split them)")
    p.add_argument("--max-call-tokens", type=int, default=d.max_call_tokens,
                   help="characters per onnxruntime call: requests are scored in chunks of this, round-robin, "
                        "so a small request waits about one call behind a large one")
    p.add_argument("--monitor-db", help="also serve POST /v1/events and GET /v1/alerts on this monitor database")
    p.add_argument("--rules", help="alert rules YAML for --monitor-db (default: built-in, as configs/monitor.yaml)")
    p.set_defaults(func=cmd_serve, overrides=[])

    p = sub.add_parser("monitor", help="score a stream of comment events, keep evidence, alert on pile-ons",
                       description="Reads JSONL events on stdin until EOF (or follows --follow FILE) and writes "
                                   "alerts as JSONL on stdout. Reruns on the same database change nothing.")
    p.add_argument("artifact", type=Path, help="artifact folder written by `cvguard export`")
    p.add_argument("--db", required=True, help="SQLite file or postgresql:// URL")
    p.add_argument("--rules", help="alert rules YAML (default: built-in, as configs/monitor.yaml)")
    p.add_argument("--follow", type=Path, help="follow this JSONL file as it grows (resumes where it stopped)")
    p.add_argument("overrides", nargs="*", help="rule overrides, e.g. rules.pile_on.min_violent=3")
    add_runtime_options(p)
    p.set_defaults(func=cmd_monitor)

    p = sub.add_parser("alerts", help="list a monitor database's open alerts, highest priority first, as JSONL")
    p.add_argument("--db", required=True, help="SQLite file or postgresql:// URL")
    p.add_argument("--target", help="only this target's alerts")
    p.add_argument("--all", action="store_true", help="closed alerts too")
    p.add_argument("--close", action="append", default=[], metavar="ID", help="mark this alert handled (repeatable)")
    p.set_defaults(func=cmd_alerts)

    p = sub.add_parser("evidence", help="check the evidence hash chain, or export a target's evidence bundle")
    p.add_argument("action", choices=["verify", "export"])
    p.add_argument("--db", required=True, help="SQLite file or postgresql:// URL")
    p.add_argument("--target", help="export: whose evidence")
    p.add_argument("-o", "--out", type=Path, help="export: folder for evidence.json and evidence.html")
    p.set_defaults(func=cmd_evidence)
    return parser


def one_line(error: BaseException) -> str:
    """An exception as the one line a user sees: the message (which names the file and what to run first,
    where the stage knows), or the exception's type when it has none."""
    if isinstance(error, OSError) and error.filename and error.strerror:  # "[Errno 2] ..." reads badly
        return f"{error.filename}: {error.strerror}"
    return " ".join(str(error).split()) or type(error).__name__


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv  # anywhere on the line, before or after the subcommand
    argv = [a for a in argv if a != "--debug"]
    parser = build_parser()
    # argparse stops filling `overrides` at the first option (e.g. --data-root), so collect the rest here.
    args, extra = parser.parse_known_args(argv)
    if extra and hasattr(args, "overrides") and all("=" in e and not e.startswith("-") for e in extra):
        args.overrides = [*args.overrides, *extra]
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        args.func(args)
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except BrokenPipeError:  # `cvguard monitor ... | head`: the reader left; not an error worth a message
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit-time flush stays quiet
        raise SystemExit(141) from None
    except Exception as e:  # one line for users; the traceback is one flag away
        if debug:
            raise
        print(f"cvguard {args.command}: error: {one_line(e)} (--debug shows the traceback)", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
