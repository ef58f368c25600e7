"""Scale: more processes, gradient accumulation and mixed precision change the memory per micro-batch, not
the model. Dropout is off here, so two runs can only differ by floating-point summation order."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from cvguard.cli import main as cli
from cvguard.config import load_config, save_config
from cvguard.contracts import RunDir

# Runs train on 2 * 23 + 1 rows of the fixture corpus, so with 23 rows a step the last batch of an epoch has one
# row: in the 2-process run one process has nothing of its own in that step and must still join the all-reduce.
STEP_ROWS = 23
TRAIN_ROWS = 2 * STEP_ROWS + 1


@pytest.fixture(scope="module")
def no_dropout_model_dir(tiny_model_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-bert-no-dropout")
    shutil.copytree(tiny_model_dir, folder, dirs_exist_ok=True)
    config = json.loads((folder / "config.json").read_text())
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    (folder / "config.json").write_text(json.dumps(config))
    return folder


@pytest.fixture()
def make_run(tiny_config, no_dropout_model_dir, tmp_path):
    """make_run(name, *overrides) -> config path of a run on the fixture corpus, ready for `cvguard train`."""
    source = RunDir(tiny_config.run_path)
    save_config(tiny_config, tmp_path / "data.yaml")
    cli(["data", str(tmp_path / "data.yaml")])

    def make(name, *overrides):
        run = RunDir(tmp_path / name)
        shutil.copytree(source.data, run.data)
        train_file = run.split("train")
        train_file.write_text("".join(train_file.read_text().splitlines(keepends=True)[:TRAIN_ROWS]))
        config = load_config(None, [f"run_dir={run.root}", f"model.model_name_or_path={no_dropout_model_dir}",
                                    "model.max_length=32", "model.dropout=0.0", "train.epochs=2",
                                    "train.learning_rate=1e-3", "train.num_threads=1", *overrides])
        save_config(config, tmp_path / f"{name}.yaml")
        return tmp_path / f"{name}.yaml"

    return make


def weights(config_path):
    run = RunDir(load_config(config_path).run_path)
    return load_file(str(run.model / "model.safetensors"))


def assert_close(a, b, atol):
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_allclose(a[key].float().numpy(), b[key].float().numpy(), atol=atol, err_msg=key)


def test_two_cpu_processes_train_the_same_weights_as_one(make_run):
    one = make_run("one", f"train.batch_size={STEP_ROWS}")
    two = make_run("two", f"train.batch_size={STEP_ROWS}")
    assert len(RunDir(load_config(one).run_path).read_split("train")) == TRAIN_ROWS
    cli(["train", str(one)])
    # `accelerate launch --multi_gpu --num_processes 2` starts the same two gloo processes on a CPU machine;
    # `accelerate launch --cpu --num_processes 2` would start only one (without MPI).
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                             "-m", "cvguard.cli", "train", str(two)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count('"steps": 6') == 2  # both processes ran all 2 epochs x 3 steps (23, 23, 1 rows)
    assert_close(weights(one), weights(two), atol=1e-5)


def test_gradient_accumulation_of_three_micro_batches_equals_one_batch_of_twelve(make_run):
    full = make_run("full", "train.batch_size=12")
    accumulated = make_run("accumulated", "train.batch_size=4", "train.grad_accum_steps=3")  # last: 4 + 4 + 2 rows
    cli(["train", str(full)])
    cli(["train", str(accumulated)])
    assert_close(weights(full), weights(accumulated), atol=1e-5)


def train_with_fresh_accelerate_state(config_path):
    """accelerate keeps one state per process and refuses to switch precision inside it; tests that compare
    precisions in one process clear it first (and the fixture below clears it again for later tests)."""
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state()
    cli(["--debug", "train", str(config_path)])  # --debug: errors raise, as in library use


@pytest.fixture()
def restores_accelerate_state():
    from accelerate.state import AcceleratorState

    yield
    AcceleratorState._reset_state()


def test_bf16_autocast_on_cpu_trains_close_to_fp32_and_fp16_without_a_gpu_is_refused(make_run,
                                                                                       restores_accelerate_state):
    fp32 = make_run("fp32", "train.batch_size=8")
    bf16 = make_run("bf16", "train.batch_size=8", "train.mixed_precision=bf16")
    train_with_fresh_accelerate_state(fp32)
    train_with_fresh_accelerate_state(bf16)
    a, b = weights(fp32), weights(bf16)
    assert_close(a, b, atol=2e-2)
    assert any(not torch.equal(a[k], b[k]) for k in a)  # bf16 really ran: not bit-identical
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="fp16 needs a GPU"):
            train_with_fresh_accelerate_state(make_run("fp16", "train.mixed_precision=fp16"))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="fp16 autocast and its grad scaler need a CUDA GPU")
def test_fp16_on_gpu_trains_close_to_fp32(make_run, restores_accelerate_state):
    fp32 = make_run("fp32", "train.batch_size=8")
    fp16 = make_run("fp16", "train.batch_size=8", "train.mixed_precision=fp16")
    train_with_fresh_accelerate_state(fp32)
    train_with_fresh_accelerate_state(fp16)
    assert_close(weights(fp32), weights(fp16), atol=2e-2)
