"""Counterfactual triples (data/counterfactual/): an attack on a group, counter-speech against the same
prejudice, and a neutral mention of the group. They teach the model that naming a group, or quoting a slur
to reject it, is not an attack: COLD's anti-bias texts are the public test of that. The explicit-threat
triples (cf-e..i) have the same form: a threat to kill or maim a person or a group, a report or rebuke that
quotes it, and a harmless use of the same words (杀青, 砍价, 这题要弄死我了).

Writers author data/counterfactual/src/*.txt, one `group | form | labels | text` line per text, triples
in the order attack, counter, neutral. This module checks them and writes train.jsonl and test.jsonl in the
seed corpus's schema (a stable fifth of the triples is test; a triple never straddles splits):

    python -m cvguard.data.counterfactual
"""

import argparse
import sys
from pathlib import Path

from cvguard.contracts import COUNTERFACTUAL
from cvguard.data.build import stable_fraction
from cvguard.data.sources import bundled_folder
from cvguard.io import InputError, decode_text, write_jsonl
from cvguard.taxonomy import load_taxonomy

FORMS = ("attack", "counter", "neutral")
KIND = {"attack": "positive", "counter": "counter_speech", "neutral": "identity_mention"}
TEST_FRACTION = 0.2
# The files whose attacks are curses at one person: `insult`, never `threat` (data/GUIDELINES.md, section 6).
# Named by file, not by label, because other files also hold person-directed attacks without a threat.
CURSE_FILES = ("cf-j", "cf-k")


def source_file(theme: str) -> str:
    """The source file a triple's theme (`cf-j-007`) came from (`cf-j`)."""
    return theme.rsplit("-", 1)[0]


def parse_source(path: Path) -> list[list[dict]]:
    """The file's triples, each a list of three rows; InputError names the line and the problem."""
    tax = load_taxonomy()
    triples: list[list[dict]] = []
    for line_no, raw in enumerate(decode_text(path, path.read_bytes()).splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.split("|", 3)]
        if len(parts) != 4 or not parts[3]:
            raise InputError(path, line_no, "expected 'group | form | labels | text'")
        group, form, labels, text = parts
        if group not in tax.groups:
            raise InputError(path, line_no, f"unknown group {group!r}; expected one of {', '.join(tax.groups)}")
        expected = FORMS[len(triples[-1]) % 3] if triples and len(triples[-1]) < 3 else "attack"
        if form != expected:
            raise InputError(path, line_no, f"form {form!r} out of order: expected {expected!r} (attack, counter, "
                                            "neutral)")
        names = [] if labels == "-" else [n.strip() for n in labels.split(",")]
        if set(names) - set(tax.categories):
            raise InputError(path, line_no, f"unknown label(s) {sorted(set(names) - set(tax.categories))}")
        if (form == "attack") != bool(names):
            raise InputError(path, line_no, "an attack carries its categories; counter and neutral lines carry '-'")
        if form == "attack":
            triples.append([])
        elif triples[-1][0]["groups"] != [group]:
            raise InputError(path, line_no, f"group {group!r} differs from its attack's {triples[-1][0]['groups'][0]!r}")
        label_values = {name: int(name in names) for name in tax.categories}
        triples[-1].append({"text": text, "labels": {tax.overall: int(bool(names)), **label_values},
                            "groups": [group], "kind": KIND[form]})
    if triples and len(triples[-1]) < 3:
        raise InputError(path, None, "the last triple is incomplete")
    return triples


def build(folder: Path) -> dict[str, list[dict]]:
    splits: dict[str, list[dict]] = {"train": [], "test": []}
    for path in sorted((folder / "src").glob("*.txt")):
        for number, triple in enumerate(parse_source(path), start=1):
            theme = f"{path.stem}-{number:03d}"
            split = "test" if stable_fraction(f"counterfactual:{theme}") < TEST_FRACTION else "train"
            for form, row in zip(FORMS, triple):
                splits[split].append({"id": f"{theme}-{form}", **row, "register": "", "theme": theme,
                                      "hard_negative_for": None})
    return splits


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", type=Path, default=bundled_folder(COUNTERFACTUAL))
    args = parser.parse_args(argv)
    try:
        splits = build(args.folder)
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for split, rows in splits.items():
        write_jsonl(args.folder / f"{split}.jsonl", rows)
        print(f"{split}: {len(rows) // 3} triples, {len(rows)} texts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
