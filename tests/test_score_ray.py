"""The `ray` engine of `cvguard score`, on Ray started in this process: fewer than 2,000 rows and a
tiny artifact, so it runs in well under a minute. Skips, saying why, where Ray is not installed or cannot
start."""

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from conftest import make_run
from test_score import backlog, read_output

from cvguard.contracts import RunDir
from cvguard.export.options import ScoreOptions
from cvguard.export.score import score

ray = pytest.importorskip("ray", reason="the ray engine needs the ray extra: pip install 'cvguard[ray]'")


@pytest.fixture(scope="module")
def local_ray():
    try:
        # 2 actors of 1 CPU, and one CPU for the read and write tasks (2 real cores, logical CPUs are a count)
        ray.init(num_cpus=3, include_dashboard=False, log_to_driver=False)
    except Exception as e:  # no shared memory, no free port, a sandbox without /dev/shm ...
        pytest.skip(f"Ray cannot start here: {type(e).__name__}: {e}")
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def artifact(tmp_path_factory, tiny_model_dir):
    from cvguard.export.onnx_export import export

    config = make_run(tmp_path_factory.mktemp("run"), tiny_model_dir, max_length=16, overrides=["export.fp16=false"])
    export(config)
    return RunDir(config.run_path).artifact


def test_ray_actors_score_like_the_local_engine_and_a_rerun_skips_finished_files(local_ray, artifact, tmp_path):
    (tmp_path / "in").mkdir()
    table = backlog(1500)
    pq.write_table(table.slice(0, 1000), tmp_path / "in" / "a.parquet", row_group_size=250)
    rows = table.slice(1000).to_pylist() + [{"id": "blank", "text": "  ", "user": 0}, {"id": "null", "text": None, "user": 0}]
    (tmp_path / "in" / "b.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                             encoding="utf-8")
    options = ScoreOptions(engine="ray", actors=2, cpus_per_actor=1, fragment_rows=300, keep=("user",))
    summary = score(artifact, tmp_path / "in", tmp_path / "ray", options)
    assert summary.rows == 1502 and summary.by_status == {"empty": 1, "null": 1, "ok": 1500}
    assert summary.fragments_written == 2 and not summary.failed_files
    # Ray reads a file as one block; cut into fragments, a single file's rows reach every actor
    assert len(list((tmp_path / "ray").glob("a.parquet-*-ray-*.parquet"))) >= 4
    score(artifact, tmp_path / "in", tmp_path / "local", ScoreOptions(keep=("user",), workers=1))
    by_ray, by_local = read_output(tmp_path / "ray"), read_output(tmp_path / "local")
    assert by_ray.column("id").to_pylist() == by_local.column("id").to_pylist()
    assert by_ray.column("status").equals(by_local.column("status"))
    assert by_ray.column("labels").to_pylist() == by_local.column("labels").to_pylist()
    np.testing.assert_allclose(by_ray.column("p_violent").to_numpy(zero_copy_only=False),
                               by_local.column("p_violent").to_numpy(zero_copy_only=False), atol=1e-5)
    again = score(artifact, tmp_path / "in", tmp_path / "ray", options)
    assert again.fragments_skipped == 2 and again.fragments_written == 0 and again.rows == 1502


def test_ray_reports_an_unreadable_file_and_scores_the_others(local_ray, artifact, tmp_path):
    (tmp_path / "in").mkdir()
    pq.write_table(backlog(40), tmp_path / "in" / "good.parquet")
    (tmp_path / "in" / "bad.parquet").write_bytes(b"PAR1 not parquet")
    summary = score(artifact, tmp_path / "in", tmp_path / "out", ScoreOptions(engine="ray", actors=1))
    assert list(summary.failed_files) == [str(tmp_path / "in" / "bad.parquet")]
    assert summary.by_status == {"ok": 40}
    assert read_output(tmp_path / "out").column("id").to_pylist() == sorted(backlog(40).column("id").to_pylist())
