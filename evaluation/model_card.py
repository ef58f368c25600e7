"""The model card: README.md in RUN_DIR/model (and copied into the artifact), written after evaluation so it
can state the measured figures and the shipped thresholds. Its YAML block is Hugging Face Hub metadata
(`huggingface_hub.ModelCard` parses it, model-index included)."""

import json
from pathlib import Path

import yaml
from transformers import AutoConfig

from cvguard.config import RunConfig
from cvguard.contracts import MODEL_NAME, EvaluationResults, ModelResult, ModelSettings, RunDir, get_source
from cvguard.io import atomic_write_text
from cvguard.taxonomy import load_taxonomy

INTENDED_USE = """\
- Screening Chinese comments and posts for cyber-violence information (网络暴力信息) as defined by the 2024
  *Provisions on the Governance of Cyber Violence Information*, so that human reviewers see the likely cases
  first. The flags are a triage signal, not a verdict on a person.
- Not for: automated sanctions without human review, judging speech in other languages, or profiling
  authors."""

LIMITATIONS = """\
- **Counter-speech and quotation.** Texts that quote or rebuke abuse are flagged far more often than neutral
  text (figures below, where the test data has such rows). Route flagged counter-speech to review.
- **Evasion.** Pinyin, homophone and split-character spellings are caught less often than plain abuse.
- **Authored data.** Six of the seven categories have positives only in the project's authored corpora. The
  incident threads' evaluation incidents were written apart from the training incidents, by other writers,
  but by the same project and to the same guideline: expect lower figures on real traffic.
- **Person-directed pile-ons.** The public training data (COLD, ToxiCN) is mostly abuse of groups; attacks on
  one individual inside a comment thread come from the authored incident threads alone."""


def _pct(value, ci=None) -> str:
    if value is None:
        return "–"
    text = f"{100 * value:.1f}%"
    return text + (f" ({100 * ci[0]:.1f}–{100 * ci[1]:.1f})" if ci else "")


def _is_hub_id(name: str) -> bool:
    return bool(name) and not Path(name).exists() and name.count("/") <= 1 and not name.startswith((".", "/"))


def card_metadata(config: RunConfig, result: ModelResult, labels: list[str]) -> dict:
    meta = {"language": ["zh"], "license": "apache-2.0", "library_name": "transformers",
            "pipeline_tag": "text-classification",
            "tags": ["cvguard", "multi-label", "toxicity", "cyber-violence", "chinese"]}
    if _is_hub_id(config.model.model_name_or_path):
        meta["base_model"] = config.model.model_name_or_path
    results = []
    for name, block in result.blocks.items():
        metrics = [{"type": kind, "name": f"{label} {kind}", "value": round(value, 4)}
                   for label, m in block.labels.items() if label in labels
                   for kind, value in (("f1", m.f1), ("precision", m.precision), ("recall", m.recall))
                   if value is not None]
        if metrics:
            results.append({"task": {"type": "text-classification", "name": "Multi-label text classification"},
                            "dataset": {"name": block.title, "type": f"cvguard-{name}", "split": "test"},
                            "metrics": metrics})
    if results:
        meta["model-index"] = [{"name": Path(config.run_dir).name, "results": results}]
    return meta


def render_model_card(config: RunConfig, results: EvaluationResults, data_report: dict | None,
                      settings: ModelSettings | None = None) -> str:
    tax = load_taxonomy()
    labels = list(tax.labels)
    result = results[MODEL_NAME]
    thresholds = result.thresholds
    lines = ["---", yaml.safe_dump(card_metadata(config, result, labels), allow_unicode=True, sort_keys=False).strip(),
             "---", "", f"# cvguard cyber-violence classifier ({Path(config.run_dir).name})", "",
             "A multi-label classifier for Chinese cyber-violence information (网络暴力信息), fine-tuned by "
             "cvguard from "
             f"`{config.model.model_name_or_path}`" + (f" at revision `{config.model.revision}`" if config.model.revision
                                                      else "")
             + (f", first {config.model.num_hidden_layers} layers" if config.model.num_hidden_layers else "") + ".",
             "", "The head is the stock one of `AutoModelForSequenceClassification`: the [CLS] state through the "
             "pooler and one linear layer."
             + (" The top encoder layer was added by cvguard and initialised to average the tokens into [CLS], "
                "because the base model was pre-trained for mean pooling; it is an ordinary BERT layer."
                if settings and settings.pooling == "mean" else ""),
             "", "## Labels", "",
             "Every label is an independent sigmoid (`problem_type: multi_label_classification`). A text is "
             "flagged for a label when its probability reaches the label's threshold, chosen on the dev split.", "",
             "| id | label | 中文 | definition | threshold |", "|---|---|---|---|---|"]
    for i, name in enumerate(labels):
        info = tax.names[name]
        lines.append(f"| {i} | `{name}` | {info['zh']} | {info['definition']} | {thresholds[name].threshold:.4f} |")
    lines += ["", "## Use", "", "```python", "from transformers import pipeline",
              'clf = pipeline("text-classification", model="PATH_TO_THIS_FOLDER", top_k=None)',
              'clf("你这种人就该被人肉出来")  # [[{"label": "violent", "score": ...}, ...]]', "```", ""]
    if config.model.normalize:
        lines += ["This model was trained on text passed through `cvguard.normalize.normalize_text` (full-width, "
                  "traditional characters, separators). Plain `pipeline` does not do that: normalise first, or use "
                  "cvguard's runtime, which does.", ""]
    lines += ["## Intended use", "", INTENDED_USE, "", "## Training data", ""]
    if data_report:
        for split in ("train", "dev", "test"):
            counts = data_report.get("kept", {}).get(split, {})
            parts = [f"{get_source(name).display_name} {n:,}" for name, n in counts.items()]
            lines.append(f"- **{split}**: {', '.join(parts) or 'none'}")
        lines.append("")
    lines += ["Sources: " + "; ".join(f"{s.display_name} ({s.licence}, {s.url})"
                                      for s in map(get_source, [*config.data.sources, *config.data.test_only_sources])),
              "", "## Evaluation", "",
              f"Thresholds: {result.eval_config['threshold_policy']} on dev. Test figures with 95% bootstrap "
              "intervals; labels a test set does not annotate are left out.", ""]
    for block in result.blocks.values():
        lines += [f"### {block.title}", "", "| label | positives | precision | recall | F1 | PR-AUC |",
                  "|---|---|---|---|---|---|"]
        for name, m in block.labels.items():
            pr_auc = f"{m.pr_auc:.3f}" if m.pr_auc is not None else "–"
            lines.append(f"| {name} | {m.support} | {_pct(m.precision, m.precision_ci)} | "
                         f"{_pct(m.recall, m.recall_ci)} | {_pct(m.f1, m.f1_ci)} | {pr_auc} |")
        lines.append("")
    counter = result.counter_speech
    if counter:
        lines += ["Counter-speech flagged as violent (should be near 0):", ""]
        lines += [f"- {entry.what}: {_pct(entry.rate, entry.rate_ci)} of {entry.n}" for entry in counter if entry.n]
        lines.append("")
    lines += ["## Limitations", "", LIMITATIONS, ""]
    return "\n".join(lines)


def write_model_card(run: RunDir, config: RunConfig, results: EvaluationResults) -> None:
    report = json.loads(run.data_report.read_text(encoding="utf-8")) if run.data_report.exists() else None
    settings = ModelSettings.from_dict(getattr(AutoConfig.from_pretrained(run.model), "cvguard", None))
    atomic_write_text(run.model_card, render_model_card(config, results, report, settings))
