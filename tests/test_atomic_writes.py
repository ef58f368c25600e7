"""Folder replacement (artifacts, RUN_DIR/model) under failures and kills at every step.

`replace_dir` calls os.fsync, Path.rename and the atomic exchange in a fixed order. Each test makes the k-th
of those calls fail (an exception) or hang until the process is SIGKILLed, for every k, and checks that the
target is then the old folder or the new one, and that what the next writer runs first (`recover_dir`)
leaves no staging or set-aside folder behind.
"""

import multiprocessing
import os
import shutil
import signal
import time
from pathlib import Path

import pytest

from cvguard import io as cvio

STEPS = ("fsync", "rename", "exchange")


def make_target(root: Path) -> Path:
    target = root / "artifact"
    target.mkdir()
    (target / "model.onnx").write_text("old model")
    (target / "manifest.json").write_text("old manifest")
    return target


def contents(folder: Path) -> dict:
    return {p.name: p.read_text() for p in sorted(folder.iterdir())} if folder.is_dir() else {}


OLD = {"manifest.json": "old manifest", "model.onnx": "old model"}
NEW = {"manifest.json": "new manifest", "model.onnx": "new model", "tokenizer.json": "new tokenizer"}


def make_staging(target: Path) -> Path:
    staging = cvio.staging_dir(target)
    for name, text in NEW.items():
        (staging / name).write_text(text)
    return staging


class Trip:
    """Wraps os.fsync, Path.rename and the exchange; the call numbered `at` (counting all three) runs
    `action` instead. Counting only, with at=None."""

    def __init__(self, monkeypatch, at, action, exchange=True):
        self.calls, self.at, self.action = 0, at, action
        real = {"fsync": os.fsync, "rename": Path.rename,
                "exchange": cvio._exchange if exchange else (lambda a, b: False)}

        def wrap(name):
            def step(*args):
                self.calls += 1
                if self.calls == self.at:
                    self.action(name)
                return real[name](*args)
            return step

        monkeypatch.setattr(cvio.os, "fsync", wrap("fsync"))
        monkeypatch.setattr(Path, "rename", wrap("rename"))
        monkeypatch.setattr(cvio, "_exchange", wrap("exchange"))


def count_steps(tmp_path, monkeypatch, exchange) -> int:
    with monkeypatch.context() as m:
        trip = Trip(m, None, None, exchange)
        target = make_target(tmp_path / "count")
        cvio.replace_dir(make_staging(target), target)
    return trip.calls


class Injected(OSError):
    pass


@pytest.mark.parametrize("exchange", [True, False], ids=["atomic-exchange", "two-renames"])
def test_a_failure_at_any_step_leaves_the_old_or_the_new_folder(tmp_path, monkeypatch, exchange):
    (tmp_path / "count").mkdir()
    steps = count_steps(tmp_path, monkeypatch, exchange)
    assert steps >= 5  # the files' and folders' fsyncs, and the swap
    for k in range(1, steps + 1):
        root = tmp_path / f"fail-{k}"
        root.mkdir()
        target = make_target(root)
        staging = make_staging(target)
        with monkeypatch.context() as m:
            Trip(m, k, lambda name: (_ for _ in ()).throw(Injected(name)), exchange)
            with pytest.raises(Injected):
                cvio.replace_dir(staging, target)
        shutil.rmtree(staging, ignore_errors=True)  # what export's error handler does; then the next writer:
        cvio.recover_dir(target)
        state = contents(target)
        assert state in (OLD, NEW), (k, state)
        assert sorted(p.name for p in root.iterdir()) == ["artifact"], k


def hang_at(k: int, exchange: bool, target: str, marker: str) -> None:
    """Child process: replace_dir with the k-th step hanging until the parent kills it."""
    class NoPatch:
        def setattr(self, obj, name, value):
            setattr(obj, name, value)

    def hang(name):
        Path(marker).write_text(name)
        time.sleep(600)

    Trip(NoPatch(), k, hang, exchange)
    target_path = Path(target)
    cvio.replace_dir(make_staging(target_path), target_path)


@pytest.mark.parametrize("exchange", [True, False], ids=["atomic-exchange", "two-renames"])
def test_sigkill_at_any_step_then_the_next_writer_recovers(tmp_path, monkeypatch, exchange):
    (tmp_path / "count").mkdir()
    steps = count_steps(tmp_path, monkeypatch, exchange)
    fork = multiprocessing.get_context("fork")
    for k in range(1, steps + 1):
        root = tmp_path / f"kill-{k}"
        root.mkdir()
        target = make_target(root)
        marker = root.parent / f"marker-{k}"
        child = fork.Process(target=hang_at, args=(k, exchange, str(target), str(marker)))
        child.start()
        deadline = time.time() + 30
        while not marker.exists():
            assert child.is_alive() and time.time() < deadline, k
            time.sleep(0.005)
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        assert contents(target) in (OLD, NEW, {}), k  # {}: killed between the two renames of the fallback
        cvio.recover_dir(target)  # the next export starts with this
        assert contents(target) in (OLD, NEW), k
        assert sorted(p.name for p in root.iterdir()) == ["artifact"], k


def test_recover_keeps_the_staging_folder_of_a_live_writer(tmp_path):
    target = make_target(tmp_path)
    live = make_staging(target)  # this process is alive
    dead = tmp_path / ".artifact.staging-999999999-x"
    dead.mkdir()
    cvio.recover_dir(target)
    assert live.exists() and not dead.exists()


def test_written_files_and_folders_are_readable_by_others_under_the_usual_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        cvio.write_json(tmp_path / "a.json", {"x": 1})
        folder = cvio.staging_dir(tmp_path / "artifact")
    finally:
        os.umask(previous)
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o644
    assert folder.stat().st_mode & 0o777 == 0o755
