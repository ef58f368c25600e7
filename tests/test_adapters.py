"""Each adapter on small fixture files written here, and the errors malformed input must give."""

import json

import pytest
from conftest import REPO

from cvguard.config import DataConfig
from cvguard.data.build import build_splits, deduplicate
from cvguard.data.sources import DataError, read_cold, read_mhc, read_toxicn
from cvguard.io import InputError
from cvguard.taxonomy import load_taxonomy

COLD_HEADER = ",split,topic,label,TEXT\n"


def write_cold(folder, train_rows, test_rows):
    folder.mkdir(exist_ok=True)
    (folder / "train.csv").write_text(COLD_HEADER + "".join(train_rows), encoding="utf-8")
    (folder / "dev.csv").write_text(COLD_HEADER + "0,dev,region,0,开发集的一句话\n", encoding="utf-8")
    (folder / "test.csv").write_text(",split,topic,label,fine-grained-label,TEXT\n" + "".join(test_rows),
                                     encoding="utf-8-sig")  # the real file has a BOM


def test_cold_labels_only_violent_in_train_and_categories_from_fine_grained_test(tmp_path):
    write_cold(tmp_path / "COLD", ["0,train,race,1,黑人都是坏人\n", "1,train,gender,0,男女平等\n"],
               ["0,test,region,1,2,河南人都是骗子\n", "1,test,gender,1,1,你这种人真恶心\n",
                "2,test,race,0,3,不要歧视黑人\n"])
    rows = {r["text"]: r for r in read_cold(tmp_path / "COLD")}
    offensive = rows["黑人都是坏人"]
    assert offensive["labels"]["violent"] == 1 and offensive["labels"]["insult"] is None
    assert offensive["groups"] == ["race"] and offensive["split"] == "train"
    assert all(v == 0 for v in rows["男女平等"]["labels"].values())
    assert rows["开发集的一句话"]["split"] == "train"  # dev joins the pool; build.py holds out its own dev
    assert rows["河南人都是骗子"]["labels"]["discrimination"] == 1
    assert rows["你这种人真恶心"]["groups"] == ["gender", "individual"]
    anti_bias = rows["不要歧视黑人"]
    assert anti_bias["subset"] == "anti_bias" and anti_bias["labels"]["violent"] == 0


def test_toxicn_maps_offensive_to_insult_hate_to_discrimination_and_reporting_to_unknown(tmp_path):
    folder = tmp_path / "ToxiCN"
    folder.mkdir()
    base = {"platform": "zhihu", "topic": "gender", "length": 5}
    rows = [dict(base, content="滚吧你", toxic=1, toxic_type=1, expression=0, target=[0, 0, 0, 0, 0]),
            dict(base, content="女的都不行", toxic=1, toxic_type=2, expression=1, target=[0, 0, 1, 0, 0]),
            dict(base, content="有人说女的不行", toxic=1, toxic_type=2, expression=3, target=[0, 0, 1, 0, 0]),
            dict(base, content="挺好的", toxic=0, toxic_type=0, expression=0, target=[0, 0, 0, 0, 0])]
    (folder / "train.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    (folder / "test.json").write_text("[]", encoding="utf-8")
    got = {r["text"]: r for r in read_toxicn(folder)}
    assert got["滚吧你"]["labels"]["insult"] == 1 and got["滚吧你"]["labels"]["discrimination"] is None
    assert got["女的都不行"]["labels"]["discrimination"] == 1 and got["女的都不行"]["groups"] == ["gender"]
    assert all(v is None for v in got["有人说女的不行"]["labels"].values())
    assert got["挺好的"]["labels"]["violent"] == 0


def test_mhc_is_test_only_and_individual_abuse_counts_as_insult(tmp_path):
    folder = tmp_path / "MHC"
    folder.mkdir()
    (folder / "hatecheck_cases_final_mandarin.csv").write_text(
        "functionality,test_case,label_gold,target_ident\n"
        "derog_neg_emote_h,我恨女人。,hateful,women\n"
        "threat_dir_h,我要杀了所有穆斯林。,hateful,Muslims\n"
        "ident_neutral_nh,我是同性恋。,non-hateful,gay people\n"
        "target_indiv_nh,你就是个骗子。,non-hateful,\n", encoding="utf-8")
    got = {r["text"]: r for r in read_mhc(folder)}
    assert {r["split"] for r in got.values()} == {"test"}
    assert got["我要杀了所有穆斯林。"]["labels"]["threat"] == 1
    assert got["我要杀了所有穆斯林。"]["groups"] == ["religion"]
    assert got["我是同性恋。"]["labels"]["violent"] == 0 and got["我是同性恋。"]["subset"] == "ident_neutral_nh"
    assert got["你就是个骗子。"]["labels"]["insult"] == 1


def test_missing_column_error_names_the_file(tmp_path):
    folder = tmp_path / "COLD"
    folder.mkdir()
    (folder / "train.csv").write_text("split,topic,TEXT\ntrain,race,你好\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"train\.csv, line 1: missing column.*label"):
        read_cold(folder)


def test_bad_label_value_error_names_file_and_row(tmp_path):
    write_cold(tmp_path / "COLD", ["0,train,race,0,好的\n", "1,train,race,maybe,坏的\n"], [])
    with pytest.raises(DataError, match=r"train\.csv, line 3: bad value 'maybe' in 'label'"):  # the file's line
        read_cold(tmp_path / "COLD")


def test_undecodable_bytes_error_names_file_and_line(tmp_path):
    write_cold(tmp_path / "COLD", [], [])
    (tmp_path / "COLD" / "train.csv").write_bytes(COLD_HEADER.encode() + b"0,train,race,0,\xff\xfe bad\n")
    with pytest.raises(InputError, match=r"train\.csv, line 2: not valid UTF-8"):
        read_cold(tmp_path / "COLD")


def test_missing_dataset_folder_names_the_public_source(tmp_path):
    config = DataConfig(sources=["cold"], paths={"cold": str(tmp_path / "nowhere")})
    with pytest.raises(FileNotFoundError, match="github.com/thu-coai/COLDataset"):
        build_splits(config)


def ex(text, split, violent=1, source="cold"):
    return {"text": text, "split": split, "source": source, "labels": {"violent": violent}, "groups": []}


def test_dedup_drops_repeats_conflicts_and_cross_split_leaks_and_counts_them():
    rows = [ex("a", "train"), ex("a", "train"),  # exact repeat: keep one
            ex("b", "train", 1), ex("b", "train", 0),  # conflicting labels: drop both
            ex("c", "train"), ex("c", "test"),  # leak: keep the test copy only
            ex("d", "dev"), ex("d", "test", source="toxicn")]
    kept, stats = deduplicate(rows)
    assert sorted((r["text"], r["split"]) for r in kept) == [("a", "train"), ("c", "test"), ("d", "test")]
    assert stats["train: exact duplicates dropped"] == 1
    assert stats["train: duplicate texts with conflicting labels (all copies dropped)"] == 2
    assert stats["train: dropped, text also in test"] == 1
    assert stats["dev: dropped, text also in test"] == 1


def test_excluded_terms_leave_a_sources_training_pool_but_never_its_test_rows(tmp_path):
    write_cold(tmp_path / "COLD", ["0,train,race,1,不要歧视黑人\n", "1,train,race,1,黑人都是坏人\n"],
               ["0,test,race,0,3,不要歧视外国人\n"])
    config = DataConfig(sources=["cold"], paths={"cold": str(tmp_path / "COLD")}, dev_fraction=0.0,
                        exclude_terms={"cold": ["歧视"]})
    splits, report = build_splits(config)
    assert [r["text"] for r in splits["train"]] == ["黑人都是坏人", "开发集的一句话"]
    assert [r["text"] for r in splits["test"]] == ["不要歧视外国人"]
    assert report["dropped"]["cold: contains an excluded term"] == 1
    with pytest.raises(ValueError, match="toxicn"):
        build_splits(DataConfig(sources=["cold"], paths={"cold": str(tmp_path / "COLD")},
                                exclude_terms={"toxicn": ["歧视"]}))


def test_safe_subsets_relabel_a_sources_training_pool_but_never_its_test_rows(tmp_path):
    folder = tmp_path / "ToxiCN"
    folder.mkdir()
    base = {"platform": "zhihu", "topic": "gender", "length": 5, "toxic": 1, "toxic_type": 2, "target": [0, 0, 1, 0, 0]}
    train = [dict(base, content="有人说女的不行，这种话太恶心", expression=3),
             dict(base, content="女的都不行", expression=1)]
    (folder / "train.json").write_text(json.dumps(train, ensure_ascii=False), encoding="utf-8")
    (folder / "test.json").write_text(json.dumps([dict(base, content="转述：女的不行", expression=3)], ensure_ascii=False),
                                      encoding="utf-8")
    config = DataConfig(sources=["toxicn"], paths={"toxicn": str(folder)}, dev_fraction=0.0,
                        safe_subsets={"toxicn": ["reporting"]})
    splits, report = build_splits(config)
    train_labels = {r["text"]: r["labels"] for r in splits["train"]}
    assert set(train_labels["有人说女的不行，这种话太恶心"].values()) == {0}
    assert train_labels["女的都不行"]["violent"] == 1
    assert all(v is None for v in splits["test"][0]["labels"].values())  # test rows keep ToxiCN's "unknown"
    assert report["relabelled"] == {"toxicn: reporting taken as safe": 1}
    with pytest.raises(ValueError, match="no rows in subset"):
        build_splits(DataConfig(sources=["toxicn"], paths={"toxicn": str(folder)}, safe_subsets={"toxicn": ["reportng"]}))
    with pytest.raises(ValueError, match="data.safe_subsets names"):
        build_splits(DataConfig(sources=["toxicn"], paths={"toxicn": str(folder)}, safe_subsets={"cold": ["anti_bias"]}))


def test_build_holds_out_dev_by_theme_so_paraphrases_stay_together(seed_dir):
    splits, report = build_splits(DataConfig(sources=["seed"], paths={"seed": str(seed_dir)}, dev_fraction=0.3))
    themes = {split: {r["theme"] for r in rows} for split, rows in splits.items()}
    assert themes["dev"] and not themes["dev"] & themes["train"]
    assert report["kept"]["test"]["seed"] == 16


def test_dev_hold_out_of_the_seed_corpus_has_positives_and_hard_negatives_for_every_category():
    seed_dir = REPO / "data" / "seed"
    splits, _ = build_splits(DataConfig(sources=["seed"], paths={"seed": str(seed_dir)}, dev_fraction=0.1))
    dev = splits["dev"]
    for category in load_taxonomy().categories:
        assert sum(r["labels"][category] == 1 for r in dev) >= 5, category
        assert any(r["subset"] == f"hard_negative:{category}" for r in dev), category
    assert 0.08 < len(dev) / (len(dev) + len(splits["train"])) < 0.12
