"""Batch plans: every row once per epoch, a pure function of (seed, epoch), and length grouping pads less."""

import random

import numpy as np

from cvguard.training.batching import collate, plan_batches

RNG = random.Random(0)
LENGTHS = [RNG.randint(5, 128) for _ in range(1000)]


def pad_share(batches) -> float:
    real = sum(LENGTHS[i] for b in batches for i in b)
    return 1 - real / sum(len(b) * max(LENGTHS[i] for i in b) for b in batches)


def test_plan_covers_every_row_once_and_depends_only_on_seed_and_epoch():
    for grouped in (True, False):
        plan = plan_batches(LENGTHS, 32, seed=7, epoch=2, group_by_length=grouped)
        assert sorted(i for b in plan for i in b) == list(range(len(LENGTHS)))
        assert [len(b) for b in plan].count(32) == len(LENGTHS) // 32
        assert plan == plan_batches(LENGTHS, 32, seed=7, epoch=2, group_by_length=grouped)
        assert plan != plan_batches(LENGTHS, 32, seed=7, epoch=3, group_by_length=grouped)


def test_length_grouping_cuts_padding_but_keeps_the_batch_order_random():
    grouped = plan_batches(LENGTHS, 32, seed=0, epoch=0)
    assert pad_share(grouped) < 0.1 < 0.4 < pad_share(plan_batches(LENGTHS, 32, seed=0, epoch=0, group_by_length=False))
    longest = [max(LENGTHS[i] for i in b) for b in grouped]
    assert longest != sorted(longest) and longest != sorted(longest, reverse=True)


def test_collate_pads_each_batch_to_its_own_longest_row():
    batch = collate([[5, 6, 7], [8]], pad_id=0, labels=np.zeros((2, 3), dtype=np.float32))
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 0, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert batch["labels"].shape == (2, 3)
