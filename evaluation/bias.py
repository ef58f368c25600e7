"""Bias per target group, on the overall label (`violent`), one source at a time.

- Borkan et al. (2019), "Nuanced Metrics for Measuring Unintended Bias with Real Data for Text
  Classification": subgroup, BPSN and BNSP AUC per group, and the Jigsaw Unintended Bias score
  0.25 * AUC_overall + 0.75 * mean of the three generalized power means (p = -5) over the groups.
- False positive and false negative rates per group at the shipped threshold, and the largest gap.
- How often texts that must not be flagged are flagged: counter-speech and identity mentions.
- HateCheck accuracy per functionality and per target (Röttger et al. 2021; MHC, Röttger et al. 2022).
"""

import numpy as np

from cvguard.contracts import COLD, COUNTERFACTUAL, MHC, THREADS, TOXICN
from cvguard.evaluation.metrics import auc, confusion_cis, rate_with_ci
from cvguard.taxonomy import UNKNOWN, load_taxonomy

AUC_KINDS = ("subgroup_auc", "bpsn_auc", "bnsp_auc")
POWER = -5  # Jigsaw's choice: a low AUC in any one group pulls the mean down hard
# `individual` marks a text aimed at a person, not an identity, and COLD gives it to attacks only.
NON_IDENTITY = {"individual"}

# Non-violent texts that must not be flagged: (source, subset) -> what they are.
COUNTER_SPEECH = {
    (COLD.name, "anti_bias"): "opposes bias (COLD anti-bias)",
    (MHC.name, "counter_quote_nh"): "quotes hate to denounce it",
    (MHC.name, "counter_ref_nh"): "refers to hate to denounce it",
    # ToxiCN labels these toxic; their test rows stay unknown (data/README.md): the rate is shown, not judged.
    (TOXICN.name, "reporting"): "relays hate to criticise it (ToxiCN reporting; labels unknown)",
    (THREADS.name, "counter_speech"): "rebukes a pile-on (incident threads)",
    (THREADS.name, "quotation"): "quotes abuse to condemn or report it (incident threads)",
    (THREADS.name, "reporting"): "reports or debunks a rumour (incident threads)",
    (THREADS.name, "criticism"): "criticises conduct, not the person (incident threads)",
    (THREADS.name, "banter"): "banter between friends (incident threads)",
    (COUNTERFACTUAL.name, "counter_speech"): "rejects a prejudice, often quoting it (counterfactual triples)",
}
IDENTITY_MENTIONS = {
    (MHC.name, "ident_neutral_nh"): "neutral identity mention",
    (MHC.name, "ident_pos_nh"): "positive identity mention",
    (COUNTERFACTUAL.name, "identity_mention"): "neutral mention of the attacked group (counterfactual triples)",
}


def subgroup_aucs(y: np.ndarray, p: np.ndarray, in_group: np.ndarray) -> dict:
    pos, neg = y == 1, y == 0
    return {
        "subgroup_auc": auc(y[in_group], p[in_group]),
        # Background positives vs subgroup negatives: low when harmless texts about the group score high.
        "bpsn_auc": auc(y[(in_group & neg) | (~in_group & pos)], p[(in_group & neg) | (~in_group & pos)]),
        # Background negatives vs subgroup positives: low when attacks on the group score low.
        "bnsp_auc": auc(y[(in_group & pos) | (~in_group & neg)], p[(in_group & pos) | (~in_group & neg)]),
    }


def power_mean(values: list, p: float = POWER) -> float | None:
    values = np.array([v for v in values if v is not None], dtype=float)
    if len(values) == 0:
        return None
    with np.errstate(divide="ignore"):  # an AUC of 0 gives inf, and the mean then goes to 0 as it should
        return float(np.mean(values ** p) ** (1 / p))


def bias_score(overall_auc: float | None, groups: dict) -> dict:
    means = {kind: power_mean([g[kind] for g in groups.values()]) for kind in AUC_KINDS}
    parts = [overall_auc, *means.values()]
    final = None if None in parts else 0.25 * overall_auc + 0.75 * float(np.mean(list(means.values())))
    return {"overall_auc": overall_auc, "power_means": means, "final": final}


def largest_gap(groups: dict, rate: str, count: str, min_n: int) -> dict | None:
    """The widest spread of a rate between groups that have at least min_n rows in its denominator."""
    eligible = {g: v[rate] for g, v in groups.items() if v[count] >= min_n and v[rate] is not None}
    if len(eligible) < 2:
        return None
    ranked = sorted(eligible, key=eligible.get)  # ties still give two different groups
    low, high = ranked[0], ranked[-1]
    return {"gap": eligible[high] - eligible[low], "high_group": high, "high": eligible[high],
            "low_group": low, "low": eligible[low], "groups_compared": len(eligible)}


def ordered_groups(present: set) -> list[str]:
    """Identity groups in taxonomy order, the protected ones first (as configs/taxonomy.yaml asks)."""
    tax = load_taxonomy()
    order = [g for g in tax.groups if g in tax.protected_groups] + [g for g in tax.groups
                                                                    if g not in tax.protected_groups]
    return [g for g in order if g in present and g not in NON_IDENTITY]


def source_bias(rows: list[dict], y: np.ndarray, p: np.ndarray, threshold: float, resamples: int,
                min_n: int) -> dict | None:
    """All group metrics for one source's rows; y and p are its overall-label column (y may be unknown)."""
    known = np.flatnonzero(y != UNKNOWN)
    rows, y, p = [rows[i] for i in known], y[known].astype(int), p[known]
    groups = ordered_groups({g for r in rows for g in r["groups"]})
    if not groups:
        return None
    flagged = p >= threshold
    per_group = {}
    for group in groups:
        in_group = np.array([group in r["groups"] for r in rows])
        yg, fg = y[in_group], flagged[in_group]
        tp, fp = int((fg & (yg == 1)).sum()), int((fg & (yg == 0)).sum())
        fn, tn = int((~fg & (yg == 1)).sum()), int((~fg & (yg == 0)).sum())
        cis = confusion_cis(tp, fp, fn, tn, resamples)
        per_group[group] = {"n": int(in_group.sum()), "n_pos": tp + fn, "n_neg": fp + tn,
                            **subgroup_aucs(y, p, in_group),
                            "fpr": fp / (fp + tn) if fp + tn else None, "fpr_ci": cis["fpr_ci"],
                            "fnr": fn / (fn + tp) if fn + tp else None, "fnr_ci": cis["fnr_ci"]}
    return {"threshold": threshold, "n": len(rows), "groups": per_group, **bias_score(auc(y, p), per_group),
            "fpr_gap": largest_gap(per_group, "fpr", "n_neg", min_n),
            "fnr_gap": largest_gap(per_group, "fnr", "n_pos", min_n)}


def flag_rates(rows: list[dict], y: np.ndarray, flagged: np.ndarray, which: dict, resamples: int) -> list[dict]:
    """Share flagged, overall and per group, of the rows of each (source, subset) in `which` that are not
    labelled violent."""
    out = []
    for (source, subset), what in which.items():
        idx = np.array([i for i, r in enumerate(rows)
                        if r["source"] == source and r.get("subset") == subset and y[i] != 1], dtype=int)
        if len(idx) == 0:
            continue
        by_group = {}
        for group in ordered_groups({g for i in idx for g in rows[i]["groups"]}):
            in_group = idx[[group in rows[i]["groups"] for i in idx]]
            by_group[group] = {"n": len(in_group), "rate": float(flagged[in_group].mean())}
        out.append({"source": source, "subset": subset, "what": what,
                    **rate_with_ci(flagged[idx], resamples), "by_group": by_group})
    return out


def our_labels(rows: list[dict]) -> list[str] | None:
    """The labels our taxonomy gives every one of a set of rows that share one HateCheck functionality;
    None when it leaves the overall label unknown for all of them."""
    overall = load_taxonomy().overall
    if all(r["labels"][overall] is None for r in rows):
        return None
    return [k for k in rows[0]["labels"] if all(r["labels"][k] == 1 for r in rows)]


def labels_text(labels: list[str] | None) -> str:
    """our_labels for display: "unknown", "none" or "violent, insult"."""
    return "unknown" if labels is None else ", ".join(labels) or "none"


def hatecheck(rows: list[dict], flagged: np.ndarray, resamples: int) -> dict | None:
    """HateCheck scoring with its own gold (`_h` / `_nh` functionality suffix): a case counts as
    predicted hateful when the overall label is flagged."""
    idx = np.array([i for i, r in enumerate(rows) if r["source"] == MHC.name], dtype=int)
    if len(idx) == 0:
        return None
    overall = load_taxonomy().overall
    gold = np.array([rows[i]["subset"].endswith("_h") for i in idx])
    correct = flagged[idx] == gold
    functionality = np.array([rows[i]["subset"] for i in idx])
    target = np.array([rows[i].get("target_ident", "") for i in idx])
    by_functionality = {}
    for name in sorted(set(functionality), key=lambda f: (not f.endswith("_h"), f)):
        mask = functionality == name
        members = [rows[i] for i in idx[mask]]
        ours = our_labels(members)
        ours_violent = None if ours is None else members[0]["labels"][overall] == 1
        by_functionality[name] = {"gold": "hateful" if name.endswith("_h") else "non-hateful",
                                  "our_labels": labels_text(ours), "differs": ours_violent != name.endswith("_h"),
                                  **rate_with_ci(correct[mask], resamples)}
    by_target = {}
    for name in sorted(set(target) - {""}):
        mask = target == name
        by_target[name] = {**rate_with_ci(correct[mask], resamples),
                           "hateful": float(correct[mask & gold].mean()) if (mask & gold).any() else None,
                           "non_hateful": float(correct[mask & ~gold].mean()) if (mask & ~gold).any() else None}
    return {"overall": rate_with_ci(correct, resamples),
            "hateful": rate_with_ci(correct[gold], resamples),
            "non_hateful": rate_with_ci(correct[~gold], resamples),
            "by_functionality": by_functionality, "by_target": by_target}
