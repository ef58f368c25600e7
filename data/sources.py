"""Adapters: each public dataset (and the authored seed corpus) -> cvguard's one schema.

An example is a dict:
    text:    the text
    labels:  {label_id: 1 | 0 | None}; None means unknown, and the loss and
             metrics skip it (see data/README.md for each source's mapping)
    groups:  target-group ids from configs/taxonomy.yaml
    source:  a name from cvguard.contracts.SOURCES
    split:   train | test (train is split into train/dev later, in data/build.py)
    subset:  a finer slice for reports (COLD fine-grained label, MHC functionality, ...)
"""

import json
from importlib import resources
from pathlib import Path

from cvguard.contracts import COLD, COUNTERFACTUAL, MHC, SEED, THREADS, TOXICN, Source, get_source
from cvguard.io import InputError, decode_text, read_csv, read_jsonl_lines
from cvguard.taxonomy import load_taxonomy


class DataError(InputError):
    """Malformed input. The message names the file, the line (or, in a JSON list, "item N") and the problem."""

    def __init__(self, path, line: int | str | None, problem: str):
        super().__init__(path, line, problem)
        if isinstance(line, str):
            self.args = (f"{path}, {line}: {problem}",)


def make_labels(violent, **known) -> dict:
    """violent=0 means every category is 0: nothing violent can be insult, threat, ..."""
    tax = load_taxonomy()
    if violent == 0:
        return {label: 0 for label in tax.labels}
    labels = {label: None for label in tax.labels}
    labels[tax.overall] = violent
    labels.update(known)
    return labels


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise DataError(path, None, "file not found")
    return decode_text(path, path.read_bytes())


def _read_csv(path: Path, required: list[str]) -> list[tuple[int, dict]]:
    """(line number in the file, row) pairs, strict about quotes and field counts (cvguard.io.read_csv)."""
    return read_csv(path, _read_text(path), required)


def _int_field(path, row_no, row, key, allowed) -> int:
    value = row.get(key)
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number not in allowed:
        raise DataError(path, row_no, f"bad value {value!r} in {key!r}; expected one of {sorted(allowed)}")
    return number


def _text_field(path, row_no, row, key) -> str:
    text = row.get(key)
    if not isinstance(text, str) or not text.strip():
        raise DataError(path, row_no, f"empty or missing text in {key!r}")
    return text.strip()


# --- COLD -----------------------------------------------------------------------------

COLD_TOPIC_GROUP = {"race": "race", "region": "region", "gender": "gender"}
COLD_FINE = {0: "safe", 1: "attack_individual", 2: "attack_group", 3: "anti_bias"}


def read_cold(folder: Path) -> list[dict]:
    examples = []
    for file_split, split in (("train", "train"), ("dev", "train"), ("test", "test")):
        path = folder / f"{file_split}.csv"
        required = ["TEXT", "label", "topic"] + (["fine-grained-label"] if file_split == "test" else [])
        for row_no, row in _read_csv(path, required):
            label = _int_field(path, row_no, row, "label", {0, 1})
            topic = row["topic"].strip()
            if topic not in COLD_TOPIC_GROUP:
                raise DataError(path, row_no, f"bad topic {topic!r}; expected one of {sorted(COLD_TOPIC_GROUP)}")
            groups, subset = [COLD_TOPIC_GROUP[topic]], ""
            labels = make_labels(label)
            if file_split == "test":
                fine = _int_field(path, row_no, row, "fine-grained-label", set(COLD_FINE))
                if (fine in (1, 2)) != (label == 1):
                    raise DataError(path, row_no, f"fine-grained-label {fine} contradicts label {label}")
                subset = COLD_FINE[fine]
                if fine == 1:
                    groups.append("individual")
                if fine == 2:  # an attack on a region/gender/race group demeans it
                    labels = make_labels(1, discrimination=1)
            examples.append(dict(text=_text_field(path, row_no, row, "TEXT"), labels=labels, groups=groups,
                                 source=COLD.name, split=split, subset=subset))
    return examples


# --- ToxiCN ---------------------------------------------------------------------------

TOXICN_TARGETS = ["lgbtq", "region", "gender", "race", "other"]  # order of the `target` multi-hot
TOXICN_TOPIC_GROUP = {"lgbt": "lgbtq", "region": "region", "gender": "gender", "race": "race"}
TOXICN_EXPRESSION = {0: "non_toxic", 1: "explicit", 2: "implicit", 3: "reporting"}


def read_toxicn(folder: Path) -> list[dict]:
    examples = []
    for split in ("train", "test"):
        path = folder / f"{split}.json"
        try:
            rows = json.loads(_read_text(path))
        except json.JSONDecodeError as e:
            raise DataError(path, None, f"invalid JSON at line {e.lineno}: {e.msg}") from None
        if not isinstance(rows, list):
            raise DataError(path, None, "expected a JSON list of objects")
        for item, row in enumerate(rows, 1):
            row_no = f"item {item}"  # a JSON list has no line per row
            if not isinstance(row, dict):
                raise DataError(path, row_no, "expected an object")
            for key in ("content", "toxic", "toxic_type", "expression", "target", "topic"):
                if key not in row:
                    raise DataError(path, row_no, f"missing field {key!r}")
            toxic = _int_field(path, row_no, row, "toxic", {0, 1})
            toxic_type = _int_field(path, row_no, row, "toxic_type", {0, 1, 2})
            expression = _int_field(path, row_no, row, "expression", set(TOXICN_EXPRESSION))
            target = row["target"]
            if not (isinstance(target, list) and len(target) == 5 and set(target) <= {0, 1}):
                raise DataError(path, row_no, f"bad target {target!r}; expected a 5-long 0/1 list")
            if (toxic == 0) != (toxic_type == 0):
                raise DataError(path, row_no, f"toxic {toxic} contradicts toxic_type {toxic_type}")
            if toxic == 0:
                labels = make_labels(0)
            elif expression == 3:
                # "Reporting" rows relay someone else's hate to criticise it; ToxiCN calls them
                # toxic, the Provisions would not. We do not know, so every label is unknown.
                labels = make_labels(None)
            elif toxic_type == 1:  # offensive: abuse without an identity target
                labels = make_labels(1, insult=1)
            else:  # hate: aimed at an identity group
                labels = make_labels(1, discrimination=1)
            groups = {g for g, hot in zip(TOXICN_TARGETS, target) if hot}
            if row["topic"] in TOXICN_TOPIC_GROUP:
                groups.add(TOXICN_TOPIC_GROUP[row["topic"]])
            examples.append(dict(text=_text_field(path, row_no, row, "content"), labels=labels,
                                 groups=sorted(groups), source=TOXICN.name, split=split,
                                 subset=TOXICN_EXPRESSION[expression]))
    return examples


# --- MHC-Mandarin (HateCheck) ---------------------------------------------------------

MHC_TARGET_GROUP = {"women": "gender", "trans people": "lgbtq", "gay people": "lgbtq", "black people": "race",
                    "disabled people": "disability", "Muslims": "religion", "foreigners": "nationality"}


def read_mhc(folder: Path) -> list[dict]:
    path = folder / "hatecheck_cases_final_mandarin.csv"
    examples = []
    for row_no, row in _read_csv(path, ["functionality", "test_case", "label_gold", "target_ident"]):
        gold = row["label_gold"].strip()
        if gold not in ("hateful", "non-hateful"):
            raise DataError(path, row_no, f"bad label_gold {gold!r}; expected hateful or non-hateful")
        functionality = row["functionality"].strip()
        target = row["target_ident"].strip()
        if target and target not in MHC_TARGET_GROUP:
            raise DataError(path, row_no, f"unknown target_ident {target!r}")
        if functionality == "target_indiv_nh":
            # Abuse of a named individual: not *hate* to HateCheck, but insult under the Provisions.
            labels = make_labels(1, insult=1)
        elif functionality == "target_group_nh":
            labels = make_labels(None)  # abuse of non-protected groups: the two taxonomies disagree
        elif gold == "hateful":
            threat = 1 if functionality.startswith("threat_") else None
            labels = make_labels(1, discrimination=1, threat=threat)
        else:
            labels = make_labels(0)
        examples.append(dict(text=_text_field(path, row_no, row, "test_case"), labels=labels,
                             groups=[MHC_TARGET_GROUP[target]] if target else [], source=MHC.name, split="test",
                             subset=functionality, target_ident=target))
    return examples


# --- seed (authored, fully labelled) --------------------------------------------------

def bundled_folder(source: Source) -> Path:
    """Where an authored corpus ships inside the package (data/seed/, data/threads/)."""
    return Path(str(resources.files("cvguard.data") / source.folder))


def checked_labels(path, row_no, labels) -> dict:
    """The eight labels, each exactly 0, 1 or null (not true, 1.0 or "1"), and consistent: violent=0 means no
    category is 1, and a category that is 1 makes the text violent."""
    tax = load_taxonomy()
    if not isinstance(labels, dict) or set(labels) != set(tax.labels):
        raise DataError(path, row_no, f"labels must be an object with exactly the keys {list(tax.labels)}")
    bad = {k: v for k, v in labels.items() if not (v is None or (type(v) is int and v in (0, 1)))}
    if bad:
        raise DataError(path, row_no, f"bad label value(s) {bad}; expected 0, 1 or null")
    positive = [name for name in tax.categories if labels[name] == 1]
    if labels[tax.overall] == 0 and positive:
        raise DataError(path, row_no, f"{tax.overall}=0 contradicts {', '.join(f'{n}=1' for n in positive)}")
    if positive and labels[tax.overall] is None:
        raise DataError(path, row_no, f"{', '.join(f'{n}=1' for n in positive)} needs {tax.overall}=1, not null")
    return labels


def read_seed(folder: Path, source: Source = SEED) -> list[dict]:
    """A corpus in the seed schema (train.jsonl, test.jsonl): the seed corpus, the counterfactual triples."""
    tax = load_taxonomy()
    examples = []
    for split in ("train", "test"):
        path = folder / f"{split}.jsonl"
        if not path.is_file():
            raise DataError(path, None, "file not found")
        for row_no, row in read_jsonl_lines(path):
            if not isinstance(row, dict):
                raise DataError(path, row_no, f"expected a JSON object, got {type(row).__name__}")
            labels = checked_labels(path, row_no, row.get("labels"))
            groups = row.get("groups", [])
            if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
                raise DataError(path, row_no, f"groups must be a list of group ids, got {groups!r}")
            unknown_groups = set(groups) - set(tax.groups)
            if unknown_groups:
                raise DataError(path, row_no, f"unknown group(s) {sorted(unknown_groups)}")
            subset = row.get("kind", "")
            if row.get("hard_negative_for"):
                subset = f"hard_negative:{row['hard_negative_for']}"
            examples.append(dict(text=_text_field(path, row_no, row, "text"), labels=labels,
                                 groups=list(groups), source=source.name, split=split, subset=subset,
                                 theme=row.get("theme", "")))
    return examples


# --- incident threads (authored, fully labelled, split by incident) -------------------------------------

THREADS_FILE = "threads.jsonl"  # in data/threads/, built from its src/ by cvguard.data.incidents
THREAD_SPLIT = {"train": "train", "dev": "dev", "eval": "test"}  # the corpus's eval incidents are the test split
ATTRIBUTE_GROUP = {"minor": "minors", "elderly": "elderly", "disabled": "disability"}


def read_threads(folder: Path) -> list[dict]:
    """data/threads/threads.jsonl (built by cvguard.data.incidents). Its dev incidents stay dev: hold_out_dev
    leaves a source alone that brings its own dev split, so no incident straddles train and dev."""
    path = folder / THREADS_FILE
    if not path.is_file():
        raise DataError(path, None, "file not found; build it with `python -m cvguard.data.incidents`")
    examples = []
    for row_no, row in read_jsonl_lines(path):
        if not isinstance(row, dict):
            raise DataError(path, row_no, f"expected a JSON object, got {type(row).__name__}")
        labels = checked_labels(path, row_no, row.get("labels"))
        if row.get("split") not in THREAD_SPLIT:
            raise DataError(path, row_no, f"split must be one of {sorted(THREAD_SPLIT)}, got {row.get('split')!r}")
        attributes = row.get("target_attributes") or []
        if not isinstance(attributes, list) or set(attributes) - set(ATTRIBUTE_GROUP):
            raise DataError(path, row_no, f"target_attributes must be a list from {sorted(ATTRIBUTE_GROUP)}")
        examples.append(dict(text=_text_field(path, row_no, row, "text"), labels=labels,
                             groups=["individual", *(ATTRIBUTE_GROUP[a] for a in attributes)], source=THREADS.name,
                             split=THREAD_SPLIT[row["split"]], subset=row.get("kind", ""),
                             theme=row.get("incident", "")))
    return examples


READERS = {COLD.name: read_cold, TOXICN.name: read_toxicn, MHC.name: read_mhc, SEED.name: read_seed,
           THREADS.name: read_threads, COUNTERFACTUAL.name: lambda folder: read_seed(folder, COUNTERFACTUAL)}


def source_folder(name: str, paths: dict[str, str], data_root: str) -> Path:
    if name in paths:
        return Path(paths[name])
    if get_source(name).authored:
        return bundled_folder(get_source(name))
    return Path(data_root) / get_source(name).folder


def read_source(name: str, folder: Path) -> list[dict]:
    src = get_source(name)
    if not folder.is_dir():
        raise FileNotFoundError(f"{name}: folder {folder} not found. Download it from {src.url} "
                                f"(licence: {src.licence}) and set data.paths.{name}=FOLDER")
    return READERS[name](folder)
