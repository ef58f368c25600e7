"""The fault suite: each input or state that once ended in a raw traceback or a silent wrong answer, replayed.

CLI errors are one line that names the file and what to run first; the traceback comes only with --debug.
"""

import subprocess
import sys

import pytest


def cvguard(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "cvguard.cli", *args], capture_output=True, text=True, cwd=cwd)


@pytest.mark.parametrize("command, expected", [
    (["train", "run_dir={run}"], "data/train.jsonl not found; run `cvguard data CONFIG` first"),
    (["evaluate", "run_dir={run}", "--skip-predict"], "data/dev.jsonl not found; run `cvguard data CONFIG` first"),
    (["export", "run_dir={run}"], "model not found; run `cvguard train CONFIG` first"),
    (["predict", "{run}"], "manifest.json not found: is"),
    (["predict", "{run}", "-i", "{run}/missing.jsonl"], "missing.jsonl: No such file or directory"),
], ids=["train-before-data", "evaluate-before-data", "export-before-train", "predict-no-artifact",
        "predict-missing-input"])
def test_a_stage_run_too_early_says_so_in_one_line(tmp_path, command, expected):
    run = tmp_path / "run"
    result = cvguard(*[part.format(run=run) for part in command])
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0] and "--debug" in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_debug_shows_the_traceback(tmp_path):
    result = cvguard("--debug", "train", f"run_dir={tmp_path / 'run'}")
    assert result.returncode == 1 and "Traceback (most recent call last)" in result.stderr
    assert "MissingStageOutput" in result.stderr
