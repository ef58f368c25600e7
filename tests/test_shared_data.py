"""Adapters and the model loader on the real files in ../shared (marked `shared`; skipped without it)."""

import pytest
from conftest import REPO, SHARED_DATASETS, SHARED_MODEL

pytestmark = pytest.mark.shared


def test_real_cold_reads_every_row_with_fine_grained_test_labels():
    from cvguard.data.sources import read_cold

    rows = read_cold(SHARED_DATASETS / "COLD")
    assert len(rows) == 25_726 + 6_431 + 5_323
    anti_bias = [r for r in rows if r["subset"] == "anti_bias"]
    assert len(anti_bias) == 668 and all(r["labels"]["violent"] == 0 for r in anti_bias)


def test_real_toxicn_and_mhc_read_every_row():
    from cvguard.data.sources import read_mhc, read_toxicn

    toxicn = read_toxicn(SHARED_DATASETS / "ToxiCN")
    assert len(toxicn) == 9_600 + 2_411
    assert sum(r["subset"] == "reporting" for r in toxicn) == 913
    mhc = read_mhc(SHARED_DATASETS / "MHC-Mandarin")
    assert len(mhc) == 3_378 and {r["split"] for r in mhc} == {"test"}


def test_real_build_has_no_text_in_two_splits():
    from cvguard.config import DataConfig
    from cvguard.data.build import build_splits

    splits, report = build_splits(DataConfig(sources=["cold", "toxicn"], test_only_sources=["mhc"]),
                                  str(SHARED_DATASETS))
    texts = {split: {r["text"] for r in rows} for split, rows in splits.items()}
    assert not texts["train"] & texts["dev"] and not texts["train"] & texts["test"]
    assert not texts["dev"] & texts["test"]
    assert sum(report["dropped"].values()) > 0


def test_reference_config_trains_on_toxicn_reporting_as_safe_and_leaves_its_test_rows_unknown():
    from cvguard.config import load_config
    from cvguard.data.build import build_splits

    config = load_config(REPO / "configs" / "public.yaml").data
    assert config.safe_subsets == {"toxicn": ["reporting"]}
    config.sources, config.test_only_sources = ["toxicn"], []  # the other sources are not what this checks
    splits, report = build_splits(config, str(SHARED_DATASETS))
    reporting = {split: [r for r in rows if r["subset"] == "reporting"] for split, rows in splits.items()}
    pool = reporting["train"] + reporting["dev"]
    assert pool and all(set(r["labels"].values()) == {0} for r in pool)
    assert report["relabelled"] == {"toxicn: reporting taken as safe": len(pool)}
    assert reporting["test"] and all(v is None for r in reporting["test"] for v in r["labels"].values())


def test_shared_model_loads_truncated_as_a_multi_label_classifier():
    import torch

    from cvguard.config import ModelConfig
    from cvguard.training.model import build_model

    model, tokenizer, fresh = build_model(ModelConfig(model_name_or_path=str(SHARED_MODEL), num_hidden_layers=2),
                                          ["violent", "insult"])
    assert len(model.bert.encoder.layer) == 3  # e5 ships without a pooler: one mean-pooling layer on top
    assert fresh == {"classifier.weight", "classifier.bias", "bert.pooler.dense.weight", "bert.pooler.dense.bias"}
    batch = tokenizer(["你好世界", "网络暴力"], return_tensors="pt", padding=True)
    with torch.no_grad():
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    assert logits.shape == (2, 2) and torch.isfinite(logits).all()
