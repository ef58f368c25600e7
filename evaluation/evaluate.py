"""The evaluation stage: score dev and test, pick thresholds on dev, then write the metrics, the thresholds,
the report (markdown and HTML) and the model card.

Probabilities are kept per model ("cvguard", "tfidf_baseline", ...) under RunDir.predictions, so the report
can set any model beside any other on exactly the same rows. The metrics hold every number the report
shows; the report is rendered from them alone.
"""

import dataclasses
from pathlib import Path

from cvguard.config import RunConfig, load_config
from cvguard.contracts import (
    EVAL_SPLITS,
    MODEL_NAME,
    THREADS,
    EvaluationResults,
    GroupGap,
    LabelVerdict,
    MissingStageOutput,
    ModelResult,
    RunDir,
    Verdict,
    get_source,
)
from cvguard.evaluation.bias import COUNTER_SPEECH, IDENTITY_MENTIONS, flag_rates, hatecheck, source_bias
from cvguard.evaluation.calibration import reliability
from cvguard.evaluation.metrics import (
    choose_thresholds,
    flag_rate_by_subset,
    known_columns,
    label_metrics,
    pr_curve,
    slice_metrics,
)
from cvguard.io import write_json
from cvguard.taxonomy import label_matrix, load_taxonomy


def predict_with_checkpoint(config: RunConfig) -> None:
    """Scores dev and test with the trained model in RUN_DIR/model."""
    import torch

    from cvguard.training.batching import predict_probs
    from cvguard.training.model import load_model

    run = RunDir(config.run_path)
    model, tokenizer, _ = load_model(run.require(run.model, "train CONFIG"))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model.to(device)
    for split in EVAL_SPLITS:
        rows = run.read_split(split)
        probs = predict_probs(model, tokenizer, [r["text"] for r in rows], config.eval.batch_size, device,
                              progress=True)
        run.save_predictions(MODEL_NAME, split, probs)


def report_blocks(rows: list[dict], test_only: list[str]) -> dict:
    """Test rows in the groups the report keeps apart: public data from the training sources (the same
    distribution as dev, where the recall targets were set), each test-only suite, and each authored corpus,
    which must never be mistaken for public data."""
    present = [get_source(name) for name in dict.fromkeys(r["source"] for r in rows)]
    scored_only = [s for s in present if not s.authored and (s.test_only or s.name in test_only)]
    public = [s for s in present if not s.authored and s not in scored_only]
    blocks = {}
    if public:
        blocks["public"] = {"title": f"Public test data ({', '.join(s.display_name for s in public)})",
                            "sources": [s.name for s in public], "authored": False}
    for source in scored_only:
        blocks[source.name] = {"title": f"{source.display_name}: test-only suite",
                               "sources": [source.name], "authored": False}
    for source in (s for s in present if s.authored):
        blocks[source.name] = {"title": f"{source.display_name}: written by this project, not public data",
                               "sources": [source.name], "authored": True}
    for block in blocks.values():
        block["idx"] = [i for i, r in enumerate(rows) if r["source"] in block["sources"]]
    return blocks


def verdict(result: ModelResult, labels: list[str], min_support: int) -> Verdict:
    """The top of the report: does each label reach its recall target on test, and which groups are treated
    most unequally. Judged on public data when there is any, else on the authored corpus (and said so)."""
    blocks = result.blocks
    # Authored: the incident threads (evaluation incidents written apart from training) before a templated corpus.
    authored = sorted((name for name, block in blocks.items() if block.authored), key=lambda n: n != THREADS.name)
    name = "public" if "public" in blocks else authored[0] if authored else next(iter(blocks))
    order = [name, *(b for b in authored if b != name), *(b for b in blocks if b != name and b not in authored)]
    status = {}
    for label in labels:
        judged = next((b for b in order if blocks[b].labels.get(label) and
                       blocks[b].labels[label].support >= min_support), name)
        m = blocks[judged].labels.get(label)
        target = result.thresholds[label].target_recall
        if m is None or m.support < min_support:
            state = "too_few"
        else:
            state = "meets" if m.recall >= target else "below"
        status[label] = LabelVerdict(target, state, m.support if m else 0, m.recall if m else None,
                                     m.recall_ci if m else None, judged)
    gaps = [GroupGap(source, get_source(source).authored, rate, **dataclasses.asdict(bias.gap(rate)))
            for source, bias in result.bias.items() if bias for rate in ("fpr", "fnr") if bias.gap(rate)]
    gaps.sort(key=lambda g: (g.authored, -g.gap))
    return Verdict(name, blocks[name].authored, min_support, status,
                   meets=[k for k, v in status.items() if v.status == "meets"],
                   below=[k for k, v in status.items() if v.status == "below"],
                   too_few=[k for k, v in status.items() if v.status == "too_few"], largest_gaps=gaps)


def evaluate_predictions(config: RunConfig, model_name: str, rows: dict, y: dict) -> ModelResult:
    """Thresholds from dev; metrics on dev and test; on test also per block, per group, calibration."""
    run, ec = RunDir(config.run_path), config.eval
    labels = list(load_taxonomy().labels)
    probs = {split: run.load_predictions(model_name, split) for split in EVAL_SPLITS}
    thresholds = choose_thresholds(labels, y["dev"], probs["dev"], ec.threshold_policy, ec.target_recall,
                                   ec.target_recall_per_label)
    cut = {name: t["threshold"] for name, t in thresholds.items()}
    resamples, min_support = ec.bootstrap_resamples, ec.min_support
    # Built as plain JSON-shaped dicts, typed once at the end by ModelResult.from_dict.
    result: dict = {"model": model_name, "eval_config": dataclasses.asdict(ec), "thresholds": thresholds,
                    "splits": {}}
    for split in EVAL_SPLITS:
        if not rows[split]:
            continue
        result["splits"][split] = {
            "n": len(rows[split]),
            "overall": label_metrics(labels, y[split], probs[split], cut, resamples, min_support),
            "by_source": slice_metrics(rows[split], labels, y[split], probs[split], cut, "source", resamples,
                                       min_support),
            "violent_flag_rate_by_subset": flag_rate_by_subset(rows[split], probs[split], cut[labels[0]]),
        }
    if not rows["test"]:
        return ModelResult.from_dict(result)

    test, yt, pt = rows["test"], y["test"], probs["test"]
    result["blocks"] = {}
    for name, block in report_blocks(test, config.data.test_only_sources).items():
        idx = block.pop("idx")
        result["blocks"][name] = {
            **block, "n": len(idx),
            "labels": label_metrics(labels, yt[idx], pt[idx], cut, resamples, min_support),
            "pr_curves": {name: pr_curve(gold, p) for name, gold, p in known_columns(labels, yt[idx], pt[idx])},
            "calibration": {name: reliability(gold, p, ec.calibration_bins)
                            for name, gold, p in known_columns(labels, yt[idx], pt[idx])},
        }
    sources = [s for block in result["blocks"].values() for s in block["sources"]]
    result["bias"] = {}
    for source in sources:
        idx = [i for i, r in enumerate(test) if r["source"] == source]
        result["bias"][source] = source_bias([test[i] for i in idx], yt[idx, 0], pt[idx, 0], cut[labels[0]],
                                             resamples, min_support)
    flagged = pt[:, 0] >= cut[labels[0]]
    result["counter_speech"] = flag_rates(test, yt[:, 0], flagged, COUNTER_SPEECH, resamples)
    result["identity_mentions"] = flag_rates(test, yt[:, 0], flagged, IDENTITY_MENTIONS, resamples)
    result["hatecheck"] = hatecheck(test, flagged, resamples)
    # The metric functions return plain dicts with the schema's keys: typed here, in one place.
    typed = ModelResult.from_dict(result)
    typed.verdict = verdict(typed, labels, min_support)
    return typed


def evaluate(config: RunConfig, models: list[str] | None = None) -> EvaluationResults:
    from cvguard.evaluation.model_card import write_model_card
    from cvguard.evaluation.report import write_report

    run = RunDir(config.run_path)
    rows = {split: run.read_split(split, required=True) for split in EVAL_SPLITS}
    if models is None:
        models = run.prediction_models()
    if not models:
        raise MissingStageOutput(f"{run.predictions_root} holds no predictions; run `cvguard evaluate CONFIG` "
                                 "(without --skip-predict) or `cvguard baseline CONFIG`")
    labels = list(load_taxonomy().labels)
    y = {split: label_matrix(rows[split], labels) for split in EVAL_SPLITS}
    results = EvaluationResults({name: evaluate_predictions(config, name, rows, y) for name in models})
    results.write(run.metrics)
    if MODEL_NAME in results.models:
        write_json(run.thresholds, {k: v.threshold for k, v in results[MODEL_NAME].thresholds.items()})
        if run.model.is_dir():
            write_model_card(run, config, results)
    write_report(run, results)
    return results


def run_config(run_dir: str | Path, overrides: list[str] = ()) -> RunConfig:
    """The config a run was made with (its config.yaml, else the defaults), pointed at run_dir."""
    path = RunDir(Path(run_dir)).config
    return load_config(path if path.is_file() else None, [*overrides, f"run_dir={run_dir}"])
