"""Resuming: a training process killed with SIGKILL, mid-epoch or mid-checkpoint-write, loses at most the
steps since its last checkpoint, and the rerun ends with the weights of a run that was never interrupted."""

import json
import multiprocessing
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from conftest import SAFE_TEXTS, VIOLENT_TEXTS
from safetensors.torch import load_file

from cvguard.cli import main as cli
from cvguard.config import load_config, save_config
from cvguard.contracts import RunDir
from cvguard.taxonomy import load_taxonomy
from cvguard.training.train import load_checkpoint

CHECKPOINT_EVERY = 4


def write_run(folder, tiny_model_dir, **overrides):
    """A run folder with data and a config: 240 training rows, 30 steps an epoch, 2 epochs. Long enough for a
    kill to land mid-run, short enough to finish in seconds. Augmentation, the consistency loss, normalisation
    and pos_weight are on, so resuming must replay them too."""
    labels = load_taxonomy().labels

    def row(text, violent):
        y = {name: 0 for name in labels}
        if violent:
            y.update(violent=1, insult=1, threat=None)  # threat unknown: the masked loss skips it
        return json.dumps({"text": text, "labels": y}, ensure_ascii=False) + "\n"

    texts = VIOLENT_TEXTS + SAFE_TEXTS
    RunDir(folder).data.mkdir(parents=True)
    RunDir(folder).split("train").write_text(
        "".join(row(f"{t}{i}号", t in VIOLENT_TEXTS) for i in range(15) for t in texts), encoding="utf-8")
    RunDir(folder).split("dev").write_text(
        "".join(row(f"{t}。", t in VIOLENT_TEXTS) for t in texts), encoding="utf-8")
    values = {"run_dir": str(folder), "model.model_name_or_path": str(tiny_model_dir), "model.max_length": 32,
              "model.normalize": True, "train.epochs": 2, "train.batch_size": 8, "train.learning_rate": 1e-3,
              "train.checkpoint_every_steps": CHECKPOINT_EVERY, "train.num_threads": 1,
              "train.augment_prob": 0.3, "train.consistency_weight": 0.5, "train.pos_weight": "auto", **overrides}
    config = load_config(None, [f"{key}={value}" for key, value in values.items()])
    path = folder.parent / f"{folder.name}.yaml"  # outside the run: `cvguard train` writes RUN_DIR/config.yaml
    save_config(config, path)
    return path


def log_of(run):
    path = RunDir(run).train_log
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def dev_scores(run):
    return {e["epoch"]: e["dev_mean_pr_auc"] for e in log_of(run) if "dev_mean_pr_auc" in e}


def assert_same_weights(run_a, run_b):
    a = load_file(str(RunDir(run_a).model / "model.safetensors"))
    b = load_file(str(RunDir(run_b).model / "model.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_allclose(a[key].numpy(), b[key].numpy(), atol=1e-5, err_msg=key)


@pytest.fixture(scope="module")
def model_dir(tiny_model_dir, tmp_path_factory):
    """The tiny BERT with a tokenizer that knows its characters (the fixture's own maps every character to
    [UNK] under transformers 5), so augmentation and normalisation change what the model sees."""
    from transformers import BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-bert-wordpiece")
    shutil.copytree(tiny_model_dir, folder, dirs_exist_ok=True)
    BertTokenizerFast(str(folder / "vocab.txt")).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, model_dir):
    run = tmp_path_factory.mktemp("uninterrupted")
    cli(["train", str(write_run(run, model_dir))])
    return run


def test_sigkill_mid_epoch_then_rerun_resumes_from_the_last_checkpoint_to_the_same_weights(
        uninterrupted, model_dir, tmp_path):
    run = tmp_path / "killed"
    config_path = write_run(run, model_dir)
    proc = subprocess.Popen([sys.executable, "-m", "cvguard.cli", "train", str(config_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    # A checkpoint exists and the log shows step 10 of 60: we are mid-epoch 0 with ~50 steps to go.
    while not (RunDir(run).checkpoint.exists() and any("step" in e for e in log_of(run))):
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.time() < deadline, "training never reached its first logged step"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL  # it was still running: killed, not finished
    proc.stderr.close()
    saved_step = load_checkpoint(RunDir(run).checkpoint)["step"]
    assert saved_step > 0 and saved_step % CHECKPOINT_EVERY == 0
    assert not RunDir(run).model.exists()  # no epoch had ended

    cli(["train", str(config_path)])  # the same command again

    resumed = [e for e in log_of(run) if "resumed_at_step" in e]
    assert [e["resumed_at_step"] for e in resumed] == [saved_step]  # not from scratch: from the checkpoint
    assert load_checkpoint(RunDir(run).checkpoint)["step"] == 60
    assert_same_weights(run, uninterrupted)
    assert dev_scores(run) == pytest.approx(dev_scores(uninterrupted), abs=1e-6)
    assert json.loads(RunDir(run).pos_weight.read_text())["weights"]["insult"] == 1.0  # 120 positives, 120 negatives


class BlocksWhilePickled:
    """Stands for a slow write: pickling it signals the test and then hangs until the process is killed."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        open(self.marker, "w").close()
        time.sleep(600)
        return (str, ())


def write_checkpoint_until_killed(path, marker):
    from cvguard.training.train import save_checkpoint

    save_checkpoint(path, {"step": 999, "model": {}, "stuck": BlocksWhilePickled(marker)})


def test_kill_during_checkpoint_write_leaves_the_previous_checkpoint_usable(uninterrupted, model_dir, tmp_path):
    run = tmp_path / "torn"
    config_path = write_run(run, model_dir)
    cli(["train", str(config_path), "train.stop_after_steps=10"])  # checkpoints at 4, 8 and the pause at 10
    checkpoint = RunDir(run).checkpoint
    before = checkpoint.read_bytes()

    marker = tmp_path / "writing"
    writer = multiprocessing.get_context("fork").Process(target=write_checkpoint_until_killed,
                                                         args=(checkpoint, marker))
    writer.start()
    deadline = time.time() + 60
    while not marker.exists():
        assert writer.is_alive() and time.time() < deadline
        time.sleep(0.01)
    os.kill(writer.pid, signal.SIGKILL)  # inside save_checkpoint, with the temporary file open
    writer.join()
    assert writer.exitcode == -signal.SIGKILL
    assert list(run.glob(".checkpoint.pt.*.tmp"))  # the torn write is left behind ...
    assert checkpoint.read_bytes() == before  # ... and the previous checkpoint is untouched
    assert load_checkpoint(checkpoint)["step"] == 10

    cli(["train", str(config_path)])
    assert [e["resumed_at_step"] for e in log_of(run) if "resumed_at_step" in e] == [10]
    assert_same_weights(run, uninterrupted)


class RunsCodeWhenUnpickled:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_a_crafted_checkpoint_is_refused_instead_of_running_its_code(tmp_path):
    """torch.load(weights_only=True): a pickle that would call a function on load is rejected."""
    marker = tmp_path / "code-ran"
    path = tmp_path / "checkpoint.pt"
    torch.save({"step": 1, "payload": RunsCodeWhenUnpickled(marker)}, path)
    with pytest.raises(pickle.UnpicklingError):
        load_checkpoint(path)
    assert not marker.exists()
