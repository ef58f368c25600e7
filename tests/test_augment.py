"""Evasion augmentation: deterministic in (seed, epoch), rewrites the share it is asked to, and produces the
three kinds of respelling users actually type."""

import random
import re

from cvguard.training.augment import CHAR_SPLITS, HOMOPHONES, augment_text, augment_texts, same_pinyin

TEXTS = [f"{text}{i}" for i in range(50) for text in ("你这个傻逼赶紧去死", "我讨厌这种人", "今天天气很好", "你妈的脑残")]


def test_same_seed_and_epoch_give_the_same_rewrites_and_a_new_epoch_gives_new_ones():
    assert augment_texts(TEXTS, 0.5, seed=1, epoch=0) == augment_texts(TEXTS, 0.5, seed=1, epoch=0)
    assert augment_texts(TEXTS, 0.5, seed=1, epoch=0) != augment_texts(TEXTS, 0.5, seed=1, epoch=1)
    assert augment_texts(TEXTS, 0.5, seed=1, epoch=0) != augment_texts(TEXTS, 0.5, seed=2, epoch=0)


def test_augment_prob_is_the_share_of_rewritten_texts():
    assert augment_texts(TEXTS, 0.0, seed=0, epoch=0) == TEXTS
    assert all(a != b for a, b in zip(augment_texts(TEXTS, 1.0, seed=0, epoch=0), TEXTS))
    changed = sum(a != b for a, b in zip(augment_texts(TEXTS, 0.3, seed=0, epoch=0), TEXTS))
    assert 0.2 * len(TEXTS) < changed < 0.4 * len(TEXTS)


def test_text_without_chinese_characters_comes_back_unchanged():
    assert augment_texts(["hello world", "12345 !!"], 1.0, seed=0, epoch=0) == ["hello world", "12345 !!"]


def test_rewrites_include_pinyin_homophones_and_split_characters():
    rng = random.Random(0)
    outputs = {augment_text("你妈", rng) for _ in range(300)}
    assert any(re.search(r"[a-z]", out) for out in outputs)  # pinyin: nima, nm, ni妈, ...
    assert any(out in HOMOPHONES["你妈"] for out in outputs)  # 尼玛, 你马, 泥马
    assert any(CHAR_SPLITS["妈"] in out for out in outputs)  # 女马
    # A character outside the tables still gets a same-pinyin homophone from the common-character list.
    homophones = {augment_text("天", rng) for _ in range(100)} - {"tian"}
    assert homophones and homophones <= set(same_pinyin()["tian"]) - {"天"}
