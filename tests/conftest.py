"""Shared fixtures: the tiny random BERT of cvguard/testing.py as a session checkpoint, and small fixture datasets.

Nothing here downloads anything; tests that need ../shared carry the `shared` marker and skip without it.
"""

import http.client
import json
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from cvguard.testing import SAFE_TEXTS, VIOLENT_TEXTS, make_run, seed_row, write_tiny_bert  # noqa: F401

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SHARED_MODEL = SHARED / "models" / "multilingual-e5-small-zh"
SHARED_DATASETS = SHARED / "datasets"


def taxonomy_labels() -> list[str]:
    from cvguard.taxonomy import load_taxonomy

    return list(load_taxonomy().labels)


@contextmanager
def running_server(artifact, *options: str):
    """`cvguard serve ARTIFACT OPTIONS` on a free loopback port, up and healthy; yields the port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "cvguard.cli", "serve", str(artifact), "--port", str(port),
                                *options], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            try:
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                pass
            finally:
                connection.close()
            assert process.poll() is None, process.stderr.read()
            assert time.monotonic() < deadline, "server did not come up"
            time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def pytest_collection_modifyitems(config, items):
    if SHARED.is_dir():
        return
    skip = pytest.mark.skip(reason=f"needs {SHARED} (real datasets / shared model); CI always has it")
    for item in items:
        if "shared" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    return write_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture()
def seed_dir(tmp_path) -> Path:
    """A small corpus in the seed schema: numbered variants of the fixture texts, split by theme."""
    folder = tmp_path / "seed"
    folder.mkdir()
    rows = {"train": [], "test": []}
    i = 0
    for variant in range(6):
        split = "test" if variant == 5 else "train"
        for k, text in enumerate(VIOLENT_TEXTS + SAFE_TEXTS):
            violent = int(text in VIOLENT_TEXTS)
            rows[split].append(seed_row(i, f"{text}{variant}号", violent, split, f"{split}-{k}"))
            i += 1
    for split, items in rows.items():
        (folder / f"{split}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in items),
                                               encoding="utf-8")
    return folder


@pytest.fixture()
def tiny_config(tmp_path, tiny_model_dir, seed_dir):
    from cvguard.config import load_config

    return load_config(None, [f"run_dir={tmp_path / 'run'}", f"data.paths={{seed: {seed_dir}}}",
                              "data.dev_fraction=0.2", f"model.model_name_or_path={tiny_model_dir}",
                              "model.max_length=32", "train.epochs=2", "train.batch_size=8",
                              "train.learning_rate=1e-3", "train.checkpoint_every_steps=3",
                              "export.parity_texts=50",
                              # A tiny random model's probabilities crowd its thresholds, so a 1e-3 shift
                              # flips flags: gate these runs on the probabilities, not on flag agreement.
                              "export.min_label_agreement=0", "export.max_macro_f1_diff=1",
                              "export.max_prob_diff=0.05"])


# --- a fake evaluated run, for the report and the notebook ---------------------------------------------------
# Shaped like a real one: rows of every source with the data/README.md label mapping, and probabilities for two
# models, where `cvguard` is built to flag harmless texts about `region` too often.

def make_row(i, source, subset, groups, violent, split="test", fill=None, **categories):
    """A row in the data schema. violent 0 sets every category 0; violent 1 sets the named categories 1 and
    the others to `fill` (unknown for public data, 0 for the fully labelled seed corpus)."""
    labels = {name: (None if violent is None else 0 if violent == 0 else categories.get(name, fill))
              for name in taxonomy_labels()}
    labels["violent"] = violent
    return {"text": f"{source}-{split}-{i}", "labels": labels, "groups": groups, "source": source,
            "split": split, "subset": subset}


def fake_rows(split: str) -> list[dict]:
    rows = []
    add = rows.append
    for i in range(240 if split == "test" else 160):
        group = ["region", "gender", "race"][i % 3]
        kind = ["safe", "safe", "attack_group", "attack_individual", "anti_bias"][i % 5 if split == "test" else i % 3]
        if kind in ("safe", "anti_bias"):
            add(make_row(len(rows), "cold", kind, [group], 0, split))
        elif kind == "attack_group":
            add(make_row(len(rows), "cold", kind, [group], 1, split, discrimination=1))
        else:
            add(make_row(len(rows), "cold", kind, [group, "individual"], 1, split))
    for i in range(160 if split == "test" else 100):
        group = ["lgbtq", "gender", "race", "region"][i % 4]
        kind = ["non_toxic", "non_toxic", "explicit", "implicit", "reporting"][i % 5]
        if kind == "non_toxic":
            add(make_row(len(rows), "toxicn", kind, [group], 0, split))
        elif kind == "reporting":
            add(make_row(len(rows), "toxicn", kind, [group], None, split))
        else:
            add(make_row(len(rows), "toxicn", kind, [group], 1, split, **{["insult", "discrimination"][i % 2]: 1}))
    for i in range(120 if split == "test" else 60):  # authored: every label known
        category = taxonomy_labels()[1 + i % 7]
        add(make_row(len(rows), "seed", "positive" if i % 2 else "hard_negative", ["gender"] if i % 4 else [],
                     i % 2, split, fill=0, **{category: 1}))
    if split == "test":
        targets = {"women": "gender", "gay people": "lgbtq", "Muslims": "religion"}
        functionalities = {"derog_neg_emote_h": (1, dict(discrimination=1)),
                           "threat_dir_h": (1, dict(discrimination=1, threat=1)),
                           "ident_neutral_nh": (0, {}), "ident_pos_nh": (0, {}),
                           "counter_quote_nh": (0, {}), "counter_ref_nh": (0, {}),
                           "target_indiv_nh": (1, dict(insult=1)), "target_group_nh": (None, {})}
        for functionality, (violent, categories) in functionalities.items():
            for k in range(36):
                target = list(targets)[k % 3] if functionality not in ("target_indiv_nh", "target_group_nh") else ""
                row = make_row(len(rows), "mhc", functionality, [targets[target]] if target else [], violent,
                               **categories)
                row["target_ident"] = target
                add(row)
    return rows


def fake_probs(rows: list[dict], rng, noise: float, region_bias: float) -> np.ndarray:
    """Scores that separate the classes (less so with more noise); harmless `region` texts get region_bias
    added to every logit, so the model over-flags them."""
    truth = np.array([[r["labels"][k] if r["labels"][k] is not None else (r["labels"]["violent"] or 0)
                       for k in taxonomy_labels()] for r in rows], dtype=float)
    logits = 2.5 * (2 * truth - 1) + rng.normal(0, noise, truth.shape)
    harmless_region = np.array([("region" in r["groups"]) and r["labels"]["violent"] == 0 for r in rows])
    logits[harmless_region] += region_bias
    return 1 / (1 + np.exp(-logits))


def write_fake_run(root: Path, seed: int = 0) -> Path:
    """A run folder as `cvguard baseline` and the prediction step leave it: config, dev and test rows, and
    probabilities for `cvguard` and `tfidf_baseline`. Returns its root."""
    import yaml

    from cvguard.contracts import RunDir
    from cvguard.io import write_jsonl

    run, rng = RunDir(root), np.random.default_rng(seed)
    for split in ("dev", "test"):
        rows = fake_rows(split)
        write_jsonl(run.split(split), rows)
        for model, noise, region_bias in (("cvguard", 1.2, 3.0), ("tfidf_baseline", 2.0, 0.0)):
            run.save_predictions(model, split, fake_probs(rows, rng, noise, region_bias))
    config = {"run_dir": str(root), "data": {"sources": ["cold", "toxicn", "seed"], "test_only_sources": ["mhc"]}}
    run.config.write_text(yaml.safe_dump(config), encoding="utf-8")
    return root
