"""Builds the train/dev/test splits from the configured sources: dev hold-out, dedup, leak removal."""

import hashlib
from collections import Counter, defaultdict

from cvguard.config import DEFAULT_DATA_ROOT, DataConfig
from cvguard.contracts import SPLITS, get_source
from cvguard.data.sources import make_labels, read_source, source_folder


def stable_fraction(key: str) -> float:
    """A number in [0, 1) fixed by the key, so splits never depend on file order or seeds."""
    return int.from_bytes(hashlib.sha1(key.encode("utf-8")).digest()[:8], "big") / 2**64


def hold_out_dev(examples: list[dict], dev_fraction: float) -> None:
    """Moves a stable share of each source's training pool to dev, by theme where a source has themes (so
    paraphrases of one authored item never straddle train and dev), stratified by the labels a unit is
    positive for and by its subset (a seed hard negative's category, a COLD topic). A plain hash split of
    the seed corpus's ~300 themes once left three categories without a dev positive to tune a threshold on."""
    units = defaultdict(list)
    presplit = {ex["source"] for ex in examples if ex["split"] == "dev"}  # sources that bring their own dev
    for ex in examples:
        if ex["split"] == "train" and ex["source"] not in presplit:
            units[(ex["source"], ex.get("theme") or ex["text"])].append(ex)
    strata = defaultdict(list)
    for (source, key), rows in units.items():
        positives = sorted({name for ex in rows for name, value in ex["labels"].items() if value == 1})
        subsets = sorted({ex.get("subset", "") for ex in rows})  # e.g. "hard_negative:threat" in the seed corpus
        strata[(source, tuple(positives), tuple(subsets))].append(key)
    for (source, *_), keys in strata.items():
        keys.sort(key=lambda key: stable_fraction(f"{source}:{key}"))
        for key in keys[:int(len(keys) * dev_fraction + 0.5)]:
            for ex in units[(source, key)]:
                ex["split"] = "dev"


def deduplicate(examples: list[dict]) -> tuple[list[dict], Counter]:
    """Within a split keeps one copy of a repeated text (none if the copies disagree on labels);
    across splits keeps the copy in the later split (test > dev > train) so nothing leaks."""
    stats = Counter()
    by_split_text = defaultdict(list)
    for ex in examples:
        by_split_text[(ex["split"], ex["text"])].append(ex)
    kept = []
    for (split, _), copies in by_split_text.items():
        if len({tuple(sorted(c["labels"].items(), key=lambda kv: kv[0])) for c in copies}) > 1:
            stats[f"{split}: duplicate texts with conflicting labels (all copies dropped)"] += len(copies)
            continue
        stats[f"{split}: exact duplicates dropped"] += len(copies) - 1
        kept.append(copies[0])
    rank = {split: i for i, split in enumerate(SPLITS)}
    latest = {}
    for ex in kept:
        latest[ex["text"]] = max(latest.get(ex["text"], 0), rank[ex["split"]])
    result = []
    for ex in kept:
        if rank[ex["split"]] < latest[ex["text"]]:
            stats[f"{ex['split']}: dropped, text also in {SPLITS[latest[ex['text']]]}"] += 1
        else:
            result.append(ex)
    return result, Counter({k: v for k, v in stats.items() if v})


def exclude_by_terms(examples: list[dict], exclude_terms: dict[str, list[str]]) -> tuple[list[dict], Counter]:
    """Leaves out a source's training-pool rows whose text contains one of its terms. Test rows stay, so runs
    with and without the exclusion are scored on the same rows."""
    kept, excluded = [], Counter()
    for ex in examples:
        terms = exclude_terms.get(ex["source"], ())
        if ex["split"] != "test" and any(term in ex["text"] for term in terms):
            excluded[f"{ex['source']}: contains an excluded term"] += 1
        else:
            kept.append(ex)
    return kept, excluded


def relabel_safe(examples: list[dict], safe_subsets: dict[str, list[str]]) -> Counter:
    """Takes a source's training-pool rows of the given subsets as safe, in place. Test rows keep their labels,
    so runs with and without it are scored against the same labels."""
    relabelled = Counter()
    for ex in examples:
        if ex["split"] != "test" and ex.get("subset") in safe_subsets.get(ex["source"], ()):
            ex["labels"] = make_labels(0)
            relabelled[f"{ex['source']}: {ex['subset']} taken as safe"] += 1
    return relabelled


def cap_rows(examples: list[dict], split: str, cap: int) -> list[dict]:
    """Keeps a stable sample of at most `cap` rows per source in one split (0 = no cap)."""
    if not cap:
        return examples
    by_source = defaultdict(list)
    for ex in examples:
        by_source[ex["source"]].append(ex)
    kept_ids = set()
    for rows in by_source.values():
        rows = [r for r in rows if r["split"] == split]
        rows.sort(key=lambda r: stable_fraction(r["text"]))
        kept_ids.update(id(r) for r in rows[:cap])
    return [ex for ex in examples if ex["split"] != split or id(ex) in kept_ids]


def build_splits(config: DataConfig, data_root: str = DEFAULT_DATA_ROOT) -> tuple[dict[str, list[dict]], dict]:
    """Returns {split: examples} and a report of what was read and dropped."""
    examples = []
    read_counts = {}
    for name in config.sources:
        if get_source(name).test_only:
            raise ValueError(f"data.sources: {name} is a test-only source (never trained on); "
                             "list it under data.test_only_sources")
    for option in ("exclude_terms", "safe_subsets"):
        unknown = set(getattr(config, option)) - set(config.sources)
        if unknown:
            raise ValueError(f"data.{option} names {sorted(unknown)}, which data.sources does not train on")
    for name in [*config.sources, *config.test_only_sources]:
        rows = read_source(name, source_folder(name, config.paths, data_root))
        if name in config.test_only_sources:
            for ex in rows:
                ex["split"] = "test"
        read_counts[name] = len(rows)
        examples.extend(rows)
    examples, excluded = exclude_by_terms(examples, config.exclude_terms)
    for name, subsets in config.safe_subsets.items():
        missing = set(subsets) - {ex.get("subset") for ex in examples if ex["source"] == name}
        if missing:
            raise ValueError(f"data.safe_subsets: {name} has no rows in subset(s) {sorted(missing)}")
    hold_out_dev(examples, config.dev_fraction)
    examples, dropped = deduplicate(examples)
    dropped.update(excluded)
    # After the dev hold-out and dedup, so the splits hold the same rows with and without it.
    relabelled = relabel_safe(examples, config.safe_subsets)
    examples = cap_rows(examples, "train", config.max_train_rows)
    examples = cap_rows(examples, "test", config.max_test_rows)
    splits = {split: [ex for ex in examples if ex["split"] == split] for split in SPLITS}
    counts = {split: dict(Counter(ex["source"] for ex in rows)) for split, rows in splits.items()}
    report = {"read": read_counts, "dropped": dict(dropped), "relabelled": dict(relabelled), "kept": counts}
    return splits, report
