"""The counterfactual triples (data/counterfactual/): built files current, triples whole, errors by line."""

import json

import pytest

from cvguard.contracts import COUNTERFACTUAL
from cvguard.data.counterfactual import CURSE_FILES, build, parse_source, source_file
from cvguard.data.sources import bundled_folder, read_source
from cvguard.io import InputError

FOLDER = bundled_folder(COUNTERFACTUAL)


def test_jsonl_is_rebuilt_exactly_from_the_sources():
    for split, rows in build(FOLDER).items():
        lines = (FOLDER / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
        assert [json.loads(line) for line in lines] == rows


def test_each_triple_is_an_attack_a_counter_and_a_neutral_mention_of_one_group_in_one_split():
    examples = read_source(COUNTERFACTUAL.name, FOLDER)
    by_theme: dict[str, list[dict]] = {}
    for ex in examples:
        by_theme.setdefault(ex["theme"], []).append(ex)
    assert len(by_theme) >= 150
    for rows in by_theme.values():
        assert [r["subset"] for r in rows] == ["positive", "counter_speech", "identity_mention"]
        assert [r["labels"]["violent"] for r in rows] == [1, 0, 0]
        # An attack demeans a group; the only ones that do not are at one person: threats, curses (cf-j/cf-k:
        # `insult`, never `threat`, data/GUIDELINES.md) and the person-directed attacks of cf-m and cf-n.
        attack = rows[0]
        at_one_person = attack["groups"] in (["individual"], ["minors"], ["elderly"], ["disability"])
        labels = attack["labels"]
        if source_file(attack["theme"]) in CURSE_FILES:
            assert at_one_person and labels["insult"] == 1 and labels["threat"] == 0
        elif attack["groups"] == ["individual"]:
            assert labels["discrimination"] == 0
        else:
            assert labels["discrimination"] == 1 or (labels["threat"] == 1 and at_one_person)
        assert len({r["split"] for r in rows}) == 1 and len({tuple(r["groups"]) for r in rows}) == 1


@pytest.mark.parametrize("text, problem", [
    ("region | counter | - | 别地域黑", "line 1: form 'counter' out of order: expected 'attack'"),
    ("planet | attack | discrimination | 火星人都坏", "line 1: unknown group 'planet'"),
    ("region | attack | - | 都是骗子", "line 1: an attack carries its categories"),
    ("region | attack | discrimination | 都是骗子\ngender | counter | - | 别这样", "line 2: group 'gender' differs"),
    ("region | attack | discrimination | 都是骗子\nregion | counter | - | 别这样", "the last triple is incomplete"),
])
def test_a_bad_line_is_named(tmp_path, text, problem):
    source = tmp_path / "bad.txt"
    source.write_text(text + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=problem):
        parse_source(source)


def test_the_held_out_check_is_whole_and_shares_no_text_with_the_training_sources():
    # benchmarks/counter_speech.py rests choices on it: it must never reach training.
    check = [row["text"] for triple in parse_source(FOLDER / "heldout" / "cs-check.txt") for row in triple]
    assert len(check) >= 180
    squash = str.maketrans("", "", " ，。！？、,.!?“”\"'")
    trained = {row["text"].translate(squash) for rows in build(FOLDER).values() for row in rows}
    assert not {text.translate(squash) for text in check} & trained

