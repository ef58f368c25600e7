"""The evaluation report, rendered from metrics.json alone: report.md and a self-contained report.html.

The page is built once as a list of elements (headings, text, tables, figures) and written out twice, so the
Markdown and the HTML always hold the same numbers. Every table and figure shows each model beside the
others (cvguard beside the TF-IDF baseline), on the same rows and at each model's own dev-chosen thresholds.
"""

import base64
import html
import io

import numpy as np

# Figures are built without pyplot: no global state, no display needed, and they render with Agg.
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from cvguard.config import EvalConfig
from cvguard.contracts import SOURCES, THREADS, EvaluationResults, ModelResult, RunDir, get_source
from cvguard.evaluation.bias import ordered_groups
from cvguard.io import atomic_write_text
from cvguard.taxonomy import load_taxonomy

PRIMARY = "cvguard"
MODEL_COLORS = {"cvguard": "#2b6cb0", "tfidf_baseline": "#c05621"}
STATUS = {"meets": ("meets target", "ok"), "below": ("below target", "bad"), "too_few": ("too little data", "warn")}


def eval_settings(result: ModelResult) -> EvalConfig:
    return EvalConfig(**result.eval_config)


def source_name(name: str) -> str:
    return get_source(name).display_name


# --- formatting ------------------------------------------------------------------------------------------

def pct(value) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def pct_ci(value, ci) -> str:
    if value is None:
        return "–"
    return pct(value) if ci is None else f"{pct(value)} ({100 * ci[0]:.1f}–{100 * ci[1]:.1f})"


def num(value, digits=3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def label_name(label: str) -> str:
    return f"{label} {load_taxonomy().names[label]['zh']}"


def ordered_models(results: EvaluationResults) -> list[str]:
    return sorted(results.models, key=lambda m: (m != PRIMARY, m))


def color(model: str, k: int) -> str:
    return MODEL_COLORS.get(model, f"C{k + 2}")


# --- figures (matplotlib, drawn only for the HTML page) ---------------------------------------------------

def model_bars(ax, xs, values, cis, pale, width, fill):
    """One model's bars with their 95% CI whiskers, drawn in a few calls (matplotlib is slow per artist).
    Pale, hatched bars have too little data behind them to be trusted."""
    xs, values, pale = np.asarray(xs, float), np.asarray(values, float), np.asarray(pale, bool)
    for mask, style in ((~pale, {}), (pale, dict(alpha=0.35, hatch="//"))):
        if mask.any():
            ax.bar(xs[mask], values[mask], width, color=fill, edgecolor=fill, **style)
    low = np.array([v - (c[0] if c else v) for v, c in zip(values, cis)])
    high = np.array([(c[1] if c else v) - v for v, c in zip(values, cis)])
    ax.errorbar(xs, values, yerr=[low, high], fmt="none", ecolor="black", capsize=3, lw=1)


def legend_patches(models: list[str]) -> list:
    return [Patch(color=color(m, k), label=m) for k, m in enumerate(models)]


def recall_bars(results: EvaluationResults, block: str, labels: list[str]) -> Figure:
    models = [m for m in ordered_models(results) if block in results[m].blocks]
    fig = Figure(figsize=(10, 3.4))
    ax = fig.subplots()
    fig.subplots_adjust(left=0.07, right=0.99, top=0.95, bottom=0.3)
    width = 0.8 / len(models)
    for k, model in enumerate(models):
        metrics = results[model].blocks[block].labels
        shown = [i for i, label in enumerate(labels) if label in metrics and metrics[label].recall is not None]
        model_bars(ax, [i - 0.4 + width * (k + 0.5) for i in shown],
                   [metrics[labels[i]].recall for i in shown], [metrics[labels[i]].recall_ci for i in shown],
                   [metrics[labels[i]].low_support for i in shown], width, color(model, k))
    support = results[models[0]].blocks[block].labels
    for i, label in enumerate(labels):
        if label not in support or support[label].support == 0:
            ax.text(i, 0.05, "no test\npositives", ha="center", fontsize=8, color="grey")
    targets = results[models[0]].thresholds
    ax.hlines([targets[label].target_recall for label in labels], np.arange(len(labels)) - 0.45,
              np.arange(len(labels)) + 0.45, colors="black", linestyles="--", lw=1.2)
    ax.set_xticks(range(len(labels)), [f"{label}\n{support[label].support if label in support else 0} pos."
                                       for label in labels], fontsize=9)
    ax.set_ylim(0, 1.05)
    ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.set_ylabel("test recall (95% CI)")
    ax.legend(handles=legend_patches(models) + [Line2D([], [], color="black", ls="--", label="recall target")],
              loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=len(models) + 1, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    return fig


def curve_grid(results: EvaluationResults, block: str, labels: list[str]) -> tuple[Figure, list, list]:
    """Small panels sharing their axes, four to a row, one per label with both classes in the block."""
    models = ordered_models(results)
    shown = [label for label in labels if results[models[0]].blocks[block].pr_curves.get(label)]
    ncols, nrows = 4, max(1, -(-len(shown) // 4))
    height = 2.6 * nrows + 1.0  # inches: panels plus room for the legend on top and the axis label below
    fig = Figure(figsize=(10.5, height))
    axes = list(fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False).flat)
    fig.subplots_adjust(left=0.07, right=0.98, top=1 - 0.6 / height, bottom=0.45 / height, wspace=0.15,
                        hspace=0.3)
    for ax in axes[len(shown):]:
        ax.set_visible(False)
    for ax, label in zip(axes, shown):
        support = results[models[0]].blocks[block].labels[label].support
        ax.set_title(f"{label} ({support} pos.)", fontsize=10)
        ax.set(xlim=(0, 1), ylim=(0, 1.02), xticks=[0, 0.5, 1], xticklabels=["0", ".5", "1"], yticks=[0, 0.5, 1])
        ax.grid(alpha=0.3)
    return fig, list(zip(axes, shown)), models


def pr_curves(results: EvaluationResults, block: str, labels: list[str]) -> Figure | None:
    fig, panels, models = curve_grid(results, block, labels)
    if not panels:
        return None
    for ax, label in panels:
        for k, model in enumerate(models):
            curve = results[model].blocks[block].pr_curves[label]
            m = results[model].blocks[block].labels[label]
            ax.plot(curve.recall, curve.precision, color=color(model, k), lw=1.5,
                    label=f"AP {num(m.pr_auc, 2)}")
            if m.precision is not None:  # the operating point at the shipped threshold
                ax.plot(m.recall, m.precision, "o", color=color(model, k), ms=6, mec="black")
        ax.legend(fontsize=8, loc="lower left")
    fig.supylabel("precision", fontsize=10)
    fig.supxlabel("recall", fontsize=10)
    fig.legend(handles=legend_patches(models), loc="upper center", ncol=len(models), fontsize=9, frameon=False)
    return fig


def reliability_plots(results: EvaluationResults, block: str, labels: list[str]) -> Figure | None:
    fig, panels, models = curve_grid(results, block, labels)
    if not panels:
        return None
    for ax, label in panels:
        ax.plot([0, 1], [0, 1], ":", color="grey", lw=1)
        for k, model in enumerate(models):
            cal = results[model].blocks[block].calibration[label]
            ax.plot(cal.mean_prob, cal.pos_rate, "o-", color=color(model, k), ms=3, lw=1.2,
                    label=f"ECE {num(cal.ece)}")
        ax.legend(fontsize=8, loc="upper left")
    fig.supylabel("share positive", fontsize=10)
    fig.supxlabel("mean score in bin", fontsize=10)
    fig.legend(handles=legend_patches(models), loc="upper center", ncol=len(models), fontsize=9, frameon=False)
    return fig


def group_rate_bars(results: EvaluationResults, source: str, min_n: int) -> Figure:
    models = [m for m in ordered_models(results) if results[m].bias.get(source)]
    groups = list(results[models[0]].bias[source].groups)
    fig = Figure(figsize=(10, 3.2))
    axes = fig.subplots(1, 2, sharey=True)
    fig.subplots_adjust(left=0.06, right=0.99, top=0.9, bottom=0.22, wspace=0.06)
    width = 0.8 / len(models)
    for ax, rate, count, title in ((axes[0], "fpr", "n_neg", "false positive rate (non-violent flagged)"),
                                   (axes[1], "fnr", "n_pos", "false negative rate (violent missed)")):
        for k, model in enumerate(models):
            stats = results[model].bias[source].groups
            shown = [i for i, group in enumerate(groups) if getattr(stats[group], rate) is not None]
            model_bars(ax, [i - 0.4 + width * (k + 0.5) for i in shown],
                       [getattr(stats[groups[i]], rate) for i in shown],
                       [getattr(stats[groups[i]], f"{rate}_ci") for i in shown],
                       [getattr(stats[groups[i]], count) < min_n for i in shown], width, color(model, k))
        ax.set_xticks(range(len(groups)), groups, fontsize=9)
        ax.set(xlim=(-0.5, len(groups) - 0.5), ylim=(0, 1), yticks=[0, 0.25, 0.5, 0.75, 1])
        ax.set_title(title, fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(handles=legend_patches(models), fontsize=8)
    return fig


def png_base64(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)  # a bare Figure draws with Agg
    return base64.b64encode(buf.getvalue()).decode("ascii")


# --- the page, as a list of elements ---------------------------------------------------------------------

def build_page(results: EvaluationResults, run_name: str) -> list[tuple]:
    tax = load_taxonomy()
    labels = list(tax.labels)
    models = ordered_models(results)
    main = results[models[0]]
    ec = eval_settings(main)
    page = [("h1", f"cvguard evaluation: {run_name}"),
            ("p", f"Models compared on the same rows: {', '.join(models)}. Thresholds are chosen on dev "
                  f"({describe_policy(ec)}); test figures use them unchanged. Each label is scored only on rows "
                  f"where it is known. Brackets are 95% percentile-bootstrap intervals over "
                  f"{ec.bootstrap_resamples} resamples of the test rows. Labels with fewer than "
                  f"{ec.min_support} labelled test positives are flagged as too little data, not hidden.")]
    if not main.blocks:
        return page + [("note", "No test data in this run: only the thresholds are reported.")] + \
            threshold_section(results, labels)
    page += verdict_section(results, labels)
    page += threshold_section(results, labels)
    for block in main.blocks:
        page += block_section(results, block, labels)
    page += bias_section(results)
    page += flag_section(results)
    page += hatecheck_section(results)
    page += [("h2", "How to read this", "notes", ""),
             ("ul", ["Recall = share of labelled positives flagged; precision = share of flags that are right.",
                     "Subgroup AUC: AUC on texts that mention the group. BPSN (background positive, subgroup "
                     "negative): violent texts elsewhere vs harmless texts about the group; low = harmless "
                     "mentions of the group score high. BNSP: violent texts about the group vs harmless texts "
                     "elsewhere; low = attacks on the group score low (Borkan et al. 2019).",
                     "Bias score (Jigsaw Unintended Bias): 0.25 × overall AUC + 0.75 × mean of the power means "
                     "(p = −5) of the three AUCs over groups; 1 is perfect.",
                     "Largest gap: the widest difference of a rate between groups with at least "
                     f"{ec.min_support} rows in its denominator.",
                     "ECE: expected calibration error over equal-width score bins.",
                     "A bootstrap interval cannot reach beyond the data: at 0% or 100% it shrinks to a point. "
                     "Read 0 of n as 'at most about 3/n' (the rule of three).",
                     "Authored data (seed corpus) is written by this project; it tests the label definitions, "
                     "not performance in the wild."])]
    return page


def describe_policy(ec: EvalConfig) -> str:
    if ec.threshold_policy == "target_recall":
        extra = "".join(f", {k} {v:g}" for k, v in ec.target_recall_per_label.items())
        return f"the highest threshold whose dev recall reaches the target: {ec.target_recall:g}{extra}"
    return f"policy {ec.threshold_policy}; recall target for the verdict {ec.target_recall:g}"


def verdict_section(results: EvaluationResults, labels: list[str]) -> list[tuple]:
    models = ordered_models(results)
    main = results[models[0]]
    v = main.verdict
    block = main.blocks[v.block]
    page = [("h2", "Verdict", "verdict", ""),
            ("p", f"{models[0]}, judged on {block.title}.")]
    if v.authored:
        page.append(("note", "Authored data only: this run has no public test data, so the verdict rests on "
                             "text written by this project. It shows the labels work, not how the model does "
                             "on real posts."))

    def listed(names, recall=True):
        return ", ".join(f"{n} {pct_ci(v.labels[n].recall, v.labels[n].recall_ci)} of "
                         f"{v.labels[n].support}" if recall else f"{n} ({v.labels[n].support})"
                         for n in names) or "none"

    items = [f"Meet their recall target: {listed(v.meets)}.",
             f"Below their recall target: {listed(v.below)}.",
             f"Too little labelled test data to judge (fewer than {v.min_support} positives): "
             f"{listed(v.too_few, recall=False)}."]
    gaps = [g for g in v.largest_gaps if not g.authored][:3]
    for g in gaps:
        items.append(f"Group gap, {source_name(g.source)} {g.rate.upper()}: "
                     f"{g.high_group} {pct(g.high)} vs {g.low_group} {pct(g.low)} "
                     f"({100 * g.gap:.1f} points).")
    page.append(("ul", items))
    rows = []
    for label in labels:
        for model in models:
            s = results[model].verdict.labels[label]
            judged = s.block or v.block
            m = results[model].blocks[judged].labels.get(label)
            text, cls = STATUS[s.status]
            rows.append([label_name(label), source_name(judged) if judged in SOURCES else judged,
                         pct(s.target), str(s.support), model,
                         pct_ci(s.recall, s.recall_ci), pct_ci(m and m.precision, m and m.precision_ci),
                         (text, cls)])
    page.append(("table", "verdict-table", ["label", "judged on", "recall target", "test positives", "model",
                                            "recall (95% CI)", "precision (95% CI)", "status"], rows))
    rows = []
    for g in v.largest_gaps:
        for model in models:
            bias = results[model].bias.get(g.source)
            other = bias and bias.gap(g.rate)
            if other:
                rows.append([source_name(g.source), g.rate.upper(), model,
                             f"{100 * other.gap:.1f} pts", f"{other.high_group} {pct(other.high)}",
                             f"{other.low_group} {pct(other.low)}", num(bias.final)])
    if rows:
        page += [("h3", "Largest gaps between groups"),
                 ("table", "gaps-table", ["data", "rate", "model", "largest gap", "highest group", "lowest group",
                                          "bias score"], rows)]
    return page


def threshold_section(results: EvaluationResults, labels: list[str]) -> list[tuple]:
    models = ordered_models(results)
    rows = [[label_name(label), model, num(results[model].thresholds[label].threshold),
             results[model].thresholds[label].how, pct(results[model].thresholds[label].target_recall),
             str(results[model].thresholds[label].dev_support)] for label in labels for model in models]
    return [("h2", "Thresholds (chosen on dev)", "thresholds", ""),
            ("p", f"{models[0]}'s thresholds are the ones shipped in the exported artifact (thresholds.json)."),
            ("table", "thresholds-table", ["label", "model", "threshold", "how", "recall target", "dev positives"],
             rows)]


def block_section(results: EvaluationResults, block: str, labels: list[str]) -> list[tuple]:
    models = [m for m in ordered_models(results) if block in results[m].blocks]
    info = results[models[0]].blocks[block]
    page = [("h2", info.title, f"block-{block}", "authored" if info.authored else "")]
    if info.sources == [THREADS.name]:
        page.append(("note", "Authored incident threads: the evaluation incidents were written apart from the "
                             "training incidents (other people, places and stories) and are never trained on. "
                             "Kept apart from public-data results."))
    elif info.authored:
        page.append(("note", "Authored data: written by this project to cover every category; kept apart from "
                             "public-data results and not comparable with them."))
    rows = []
    for label in labels:
        for model in models:
            m = results[model].blocks[block].labels.get(label)
            if m is None:
                rows.append([label_name(label), model, "0", "0", "–", "–", "–", "–", "–",
                             ("no labelled rows", "warn")])
                continue
            note = ("too little data", "warn") if m.low_support else ""
            rows.append([label_name(label), model, str(m.n), str(m.support),
                         pct_ci(m.precision, m.precision_ci), pct_ci(m.recall, m.recall_ci),
                         pct(m.f1), num(m.pr_auc), pct(m.recall_at_precision_70), note])
    page += [("p", f"{info.n} test rows. Per label at the dev-chosen thresholds; the last column is read off "
                   "the test precision-recall curve (the best recall where precision is at least 0.70)."),
             ("table", f"labels-{block}", ["label", "model", "n", "positives", "precision (95% CI)",
                                           "recall (95% CI)", "F1", "PR-AUC", "recall at P≥0.70", "note"], rows),
             ("figure", f"recall-{block}", lambda: recall_bars(results, block, labels),
              "Test recall per label with 95% CIs; dashed: the recall target. Pale hatched bars: too few positives."),
             ("figure", f"pr-{block}", lambda: pr_curves(results, block, labels),
              "Precision-recall curves; dots: the operating point at the shipped threshold.")]
    rows = [[label_name(label), model, str(results[model].blocks[block].calibration[label].n),
             num(results[model].blocks[block].calibration[label].ece)]
            for label in labels if label in info.calibration for model in models]
    page += [("h3", "Calibration"),
             ("table", f"calibration-{block}", ["label", "model", "n", "ECE"], rows),
             ("figure", f"reliability-{block}", lambda: reliability_plots(results, block, labels),
              "Reliability: share positive per score bin; on the dotted diagonal a score means what it says.")]
    return page


def bias_section(results: EvaluationResults) -> list[tuple]:
    models = ordered_models(results)
    main = results[models[0]]
    sources = [s for s in main.bias if main.bias[s]]
    if not sources:
        return []
    min_n = eval_settings(main).min_support
    page = [("h2", "Bias per target group (overall label)", "bias", ""),
            ("p", "Per source, on the overall label: the AUCs of Borkan et al. (2019) and the error rates per "
                  "group at each model's shipped threshold. A text is in a group when it mentions that group "
                  "(COLD topic, ToxiCN target and topic, MHC target).")]
    for source in sources:
        authored = get_source(source).authored
        page.append(("h3", f"{source_name(source)}" + (" — authored data" if authored else "")))
        auc_rows, rate_rows, summary = [], [], []
        for model in models:
            bias = results[model].bias.get(source)
            if not bias:
                continue
            summary.append(f"{model}: overall AUC {num(bias.overall_auc)}, bias score {num(bias.final)}")
            for group, g in bias.groups.items():
                auc_rows.append([group, model, str(g.n), str(g.n_pos), num(g.subgroup_auc),
                                 num(g.bpsn_auc), num(g.bnsp_auc)])
                few = [f"< {min_n} {kind}" for kind, n in (("non-violent", g.n_neg), ("violent", g.n_pos))
                       if n < min_n]
                few = (f"too few: {', '.join(few)}", "warn") if few else ""
                rate_rows.append([group, model, str(g.n_neg), pct_ci(g.fpr, g.fpr_ci), str(g.n_pos),
                                  pct_ci(g.fnr, g.fnr_ci), few])
            means = bias.power_means
            auc_rows.append([("power mean (p = −5)", "em"), model, "", "", num(means.subgroup_auc),
                             num(means.bpsn_auc), num(means.bnsp_auc)])
            for rate in ("fpr", "fnr"):
                gap = bias.gap(rate)
                summary.append(f"{model}: largest {rate.upper()} gap " + (
                    f"{100 * gap.gap:.1f} points ({gap.high_group} {pct(gap.high)} vs "
                    f"{gap.low_group} {pct(gap.low)})" if gap else f"– (fewer than two groups with "
                                                                          f"{min_n}+ rows)"))
        page += [("ul", summary),
                 ("table", f"bias-auc-{source}", ["group", "model", "n", "violent", "subgroup AUC", "BPSN AUC",
                                                  "BNSP AUC"], auc_rows),
                 ("table", f"bias-rates-{source}", ["group", "model", "non-violent", "FPR (95% CI)", "violent",
                                                    "FNR (95% CI)", "note"], rate_rows),
                 ("figure", f"group-rates-{source}", lambda s=source: group_rate_bars(results, s, min_n),
                  f"Error rates per group at the shipped thresholds (95% CIs); pale hatched bars: fewer than "
                  f"{min_n} rows in the denominator.")]
    return page


def flag_section(results: EvaluationResults) -> list[tuple]:
    models = ordered_models(results)
    main = results[models[0]]
    kinds = (("counter-speech", lambda r: r.counter_speech), ("identity mention", lambda r: r.identity_mentions))
    entries = [(kind, get, e) for kind, get in kinds for e in get(main)]
    if not entries:
        return []
    groups = ordered_groups({g for _, _, e in entries for g in e.by_group})
    rows, group_rows = [], []
    for kind, get, entry in entries:
        for model in models:
            mine = next(e for e in get(results[model]) if (e.source, e.subset) == (entry.source, entry.subset))
            rows.append([kind, source_name(entry.source), entry.subset, entry.what,
                         model, str(mine.n), pct_ci(mine.rate, mine.rate_ci)])
            group_rows.append([f"{entry.source}:{entry.subset}", model] + [
                f"{pct(mine.by_group[g].rate)} of {mine.by_group[g].n}" if g in mine.by_group else "–"
                for g in groups])
    return [("h2", "Texts that must not be flagged", "flags", ""),
            ("p", "Share flagged as violent among non-violent texts that oppose or quote hate (counter-speech) "
                  "or mention an identity neutrally or positively. Lower is better; every flag here is a false "
                  "positive that would silence the people a moderation system should protect."),
            ("table", "counter-speech", ["kind", "data", "subset", "what", "model", "n", "flagged (95% CI)"], rows),
            ("h3", "Per group: share flagged of n"),
            ("table", "counter-speech-groups", ["subset", "model", *groups], group_rows)]


def hatecheck_section(results: EvaluationResults) -> list[tuple]:
    models = [m for m in ordered_models(results) if results[m].hatecheck]
    if not models:
        return []
    main = results[models[0]].hatecheck
    differs = [f"{name} (ours: {f.our_labels})" for name, f in main.by_functionality.items() if f.differs]
    rows = [[model, pct_ci(h.overall.rate, h.overall.rate_ci),
             pct_ci(h.hateful.rate, h.hateful.rate_ci),
             pct_ci(h.non_hateful.rate, h.non_hateful.rate_ci)]
            for model, h in ((m, results[m].hatecheck) for m in models)]
    func_rows = [[name, f.gold, (f.our_labels, "warn") if f.differs else f.our_labels, str(f.n)]
                 + [pct_ci(h.rate, h.rate_ci) for h in (results[m].hatecheck.by_functionality[name]
                                                              for m in models)]
                 for name, f in main.by_functionality.items()]
    target_rows = [[name, str(t.n)] + [pct(v) for m in models for mine in [results[m].hatecheck.by_target[name]]
                                       for v in (mine.rate, mine.hateful, mine.non_hateful)]
                   for name, t in main.by_target.items()]
    return [("h2", "MHC-Mandarin functional tests (HateCheck)", "hatecheck", ""),
            ("p", "Accuracy against HateCheck's own hateful / non-hateful gold, as the HateCheck papers report "
                  "it: a case counts as predicted hateful when the overall label is flagged."),
            ("note", "Our taxonomy labels some functionalities differently from HateCheck's gold, so accuracy "
                     "there measures disagreement between the taxonomies, not errors: "
                     + (", ".join(differs) or "none") + ". See data/README.md."),
            ("table", "hatecheck-overall", ["model", "accuracy (95% CI)", "on hateful", "on non-hateful"], rows),
            ("table", "hatecheck-functionality", ["functionality", "gold", "our labels", "n"]
             + [f"{m} accuracy (95% CI)" for m in models], func_rows),
            ("h3", "Per target"),
            ("table", "hatecheck-target", ["target", "n"] + [f"{m} {k}" for m in models
                                                             for k in ("accuracy", "on hateful", "on non-hateful")],
             target_rows)]


# --- writers ---------------------------------------------------------------------------------------------

def cell_text(cell) -> str:
    return cell[0] if isinstance(cell, tuple) else cell


def to_markdown(page: list[tuple]) -> str:
    lines = []
    for kind, *args in page:
        if kind == "h1":
            lines += [f"# {args[0]}", "", "Figures are in report.html; every number is also in metrics.json.", ""]
        elif kind == "h2":
            lines += [f"## {args[0]}" + (" [AUTHORED DATA]" if args[2] == "authored" else ""), ""]
        elif kind == "h3":
            lines += [f"### {args[0]}", ""]
        elif kind == "p":
            lines += [args[0], ""]
        elif kind == "note":
            lines += [f"> **Note.** {args[0]}", ""]
        elif kind == "ul":
            lines += [f"- {item}" for item in args[0]] + [""]
        elif kind == "table":
            _, header, rows = args
            lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            lines += ["| " + " | ".join(cell_text(c).replace("|", "\\|") for c in row) + " |" for row in rows]
            lines.append("")
    return "\n".join(lines) + "\n"


CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei",
       "WenQuanYi Micro Hei", sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #1a202c;
       line-height: 1.45; font-size: 15px; }
h1 { font-size: 1.7em; margin-bottom: 0.3em; }
h2 { border-bottom: 2px solid #e2e8f0; padding-bottom: 0.2em; margin-top: 2em; }
h2.authored { border-bottom-color: #d69e2e; }
.badge { background: #d69e2e; color: white; font-size: 0.55em; padding: 0.15em 0.5em; border-radius: 4px;
         vertical-align: middle; margin-left: 0.5em; }
nav { font-size: 0.9em; background: #f7fafc; padding: 0.5em 1em; border-radius: 6px; }
nav a { margin-right: 1em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 13px; }
th { background: #edf2f7; text-align: left; padding: 4px 8px; border-bottom: 2px solid #cbd5e0; }
td { padding: 3px 8px; border-bottom: 1px solid #e2e8f0; white-space: nowrap; }
tr.cvguard td { background: #ebf4ff; }
td.ok { color: #22543d; background: #c6f6d5 !important; font-weight: 600; }
td.bad { color: #742a2a; background: #fed7d7 !important; font-weight: 600; }
td.warn { color: #744210; background: #fefcbf !important; }
td.em { font-style: italic; }
.note { background: #fffaf0; border-left: 4px solid #d69e2e; padding: 0.5em 1em; margin: 0.8em 0; }
figure { margin: 1em 0; }
figure img { max-width: 100%; }
figcaption { font-size: 0.85em; color: #4a5568; }
"""


def to_html(page: list[tuple]) -> str:
    esc = html.escape
    nav = "".join(f'<a href="#{args[1]}">{esc(args[0])}</a>' for kind, *args in page if kind == "h2")
    body = []
    for kind, *args in page:
        if kind == "h1":
            body += [f"<h1>{esc(args[0])}</h1>", f"<nav>{nav}</nav>"]
        elif kind == "h2":
            badge = '<span class="badge">authored data</span>' if args[2] == "authored" else ""
            body.append(f'<h2 id="{args[1]}" class="{args[2]}">{esc(args[0])}{badge}</h2>')
        elif kind == "h3":
            body.append(f"<h3>{esc(args[0])}</h3>")
        elif kind == "p":
            body.append(f"<p>{esc(args[0])}</p>")
        elif kind == "note":
            body.append(f'<p class="note">{esc(args[0])}</p>')
        elif kind == "ul":
            body.append("<ul>" + "".join(f"<li>{esc(item)}</li>" for item in args[0]) + "</ul>")
        elif kind == "table":
            table_id, header, rows = args
            head = "".join(f"<th>{esc(h)}</th>" for h in header)
            model_col = header.index("model") if "model" in header else None
            trs = []
            for row in rows:
                cls = f' class="{esc(row[model_col])}"' if model_col is not None else ""
                tds = "".join(f'<td class="{c[1]}">{esc(c[0])}</td>' if isinstance(c, tuple) else f"<td>{esc(c)}</td>"
                              for c in row)
                trs.append(f"<tr{cls}>{tds}</tr>")
            body.append(f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{"".join(trs)}</tbody></table>')
        elif kind == "figure":
            figure_id, draw, caption = args
            fig = draw()
            if fig is not None:
                body.append(f'<figure id="{figure_id}"><img alt="{esc(caption)}" '
                            f'src="data:image/png;base64,{png_base64(fig)}"><figcaption>{esc(caption)}</figcaption>'
                            f"</figure>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>cvguard evaluation</title>"
            f"<style>{CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def write_report(run: RunDir, results: EvaluationResults) -> None:
    """Writes RUN_DIR/report.md and RUN_DIR/report.html from the metrics of every model."""
    page = build_page(results, run.root.name)
    atomic_write_text(run.report_md, to_markdown(page))
    atomic_write_text(run.report_html, to_html(page))
