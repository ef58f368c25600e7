"""Batch-scoring benchmark (`cvguard score`): engine throughput against bare `Classifier.predict_proba`, peak
memory against input size, and the time to resume after a kill at 50%.

From the repository root:

    python -m benchmarks.batch_scoring runs/public/artifact                        # 200k rows, 2M for memory
    python -m benchmarks.batch_scoring RUN/artifact --rows 2000 --memory-rows 4000   # a smoke run: not results
    python -m benchmarks.tiny_artifact runs/tiny                                   # memory and resume only,
    python -m benchmarks.batch_scoring runs/public/artifact --engines '' --memory-artifact runs/tiny/artifact

Input: the COLD and ToxiCN texts (--data-root, default ../shared/datasets) repeated to --rows, written to
Parquet in row groups of 10k. Every measurement is its own subprocess, `python -m cvguard.cli score ...`
(bare: one process that reads the text column and calls predict_proba once on all of it), timed wall-clock
from start to exit, so Ray's start-up counts against Ray. Peak memory is the peak of the summed RSS of that
process and all its children (psutil, sampled every 50 ms). Engines:

- bare: `Classifier.predict_proba` in one process with every core's threads; the ratio to it is each
  engine's overhead (goal: >= 0.9 for local).
- local_WxT: the local engine with W worker processes of T onnxruntime threads (local_1x2, local_2x1 on 2 cores).
- ray_N: the ray engine, Ray started locally, N actors of 1 CPU.

The memory runs score --rows and --memory-rows rows with each of --memory-engines (local: the local
engine's default layout) and --memory-artifact (default: ARTIFACT; the tiny random artifact of
benchmarks/tiny_artifact.py makes the model's share small, so what grows with the input is the engine's). The
resume run, with that artifact too, times the default local job uninterrupted, then runs it again, kills its
process group with SIGKILL once half the fragments are marked done, and times the rerun of the same command.
The cluster figures are arithmetic on the best measured per-core rate (see `cluster_estimate`), not a
measurement.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.machine import cpu_name
from cvguard.export.options import usable_cores

REPO = Path(__file__).resolve().parents[1]
DATA_ROOT = REPO.parent / "shared" / "datasets"
ROW_GROUP = 10_000

BARE = """
import sys, pyarrow.parquet as pq
from cvguard.export.runtime import Classifier
texts = pq.read_table(sys.argv[2], columns=["text"]).column("text").to_pylist()
Classifier.load(sys.argv[1], intra_op_threads=int(sys.argv[3])).predict_proba(texts, batch_size=int(sys.argv[4]))
"""


def corpus_texts(data_root: Path) -> list[str]:
    from cvguard.data.sources import read_cold, read_toxicn

    return [r["text"] for r in read_cold(data_root / "COLD") + read_toxicn(data_root / "ToxiCN")]


def write_backlog(path: Path, texts: list[str], rows: int) -> None:
    """`rows` rows cycling over `texts`, written a row group at a time, so a 2M-row file never sits in memory."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([("id", pa.string()), ("text", pa.string())])
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, rows, ROW_GROUP):
            ids = range(start, min(rows, start + ROW_GROUP))
            writer.write_table(pa.table({"id": [f"r{i}" for i in ids], "text": [texts[i % len(texts)] for i in ids]},
                                        schema=schema))


def run_measured(command: list[str], kill_when=None) -> dict:
    """Runs `command` in its own process group; wall seconds and peak summed RSS of the group's processes.
    kill_when(): checked every sample; True kills the whole group with SIGKILL (the resume measurement).
    The child writes to files, not pipes: nothing reads a pipe while the child runs, so once Ray Data's progress
    log filled the 64 KiB pipe buffer (about 7 minutes) the driver blocked on its next write and the job hung."""
    import tempfile

    import psutil

    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        job = subprocess.Popen(command, cwd=REPO, stdout=out, stderr=err, start_new_session=True)
        root, peak, killed = psutil.Process(job.pid), 0, False
        while job.poll() is None:
            try:
                peak = max(peak, sum(p.memory_info().rss for p in [root, *root.children(recursive=True)]))
            except psutil.Error:  # a process ended between listing and reading
                pass
            if kill_when is not None and kill_when():
                os.killpg(job.pid, signal.SIGKILL)
                killed = True
                break
            time.sleep(0.05)
        job.wait()
        seconds = time.perf_counter() - start
        out.seek(0), err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if job.returncode != 0 and not killed:
        raise RuntimeError(f"{' '.join(command)} failed ({job.returncode}): {stderr[-2000:]}")
    return {"seconds": round(seconds, 2), "peak_rss_mb": round(peak / 2**20, 1), "killed": killed, "stdout": stdout}


def score_command(artifact: Path, data: Path, out: Path, extra: list[str]) -> list[str]:
    shutil.rmtree(out, ignore_errors=True)
    return [sys.executable, "-m", "cvguard.cli", "score", str(artifact), str(data), str(out), *extra]


def engine_command(engine: str, artifact: Path, data: Path, out: Path, cores: int, batch_size: int) -> list[str]:
    if engine == "bare":
        return [sys.executable, "-c", BARE, str(artifact), str(data), str(cores), str(batch_size)]
    if engine == "local":  # the default layout
        return score_command(artifact, data, out, ["--batch-size", str(batch_size)])
    if engine.startswith("local_"):
        workers, threads = engine.removeprefix("local_").split("x")
        return score_command(artifact, data, out, ["--workers", workers, "--threads", threads,
                                                   "--batch-size", str(batch_size)])
    if engine.startswith("ray_"):
        return score_command(artifact, data, out, ["--engine", "ray", "--actors", engine.removeprefix("ray_"),
                                                   "--cpus-per-actor", "1", "--batch-size", str(batch_size)])
    raise ValueError(f"unknown engine {engine!r}")


def resume_after_kill(artifact: Path, data: Path, out: Path, rows: int, fragment_rows: int) -> dict:
    fragments = -(-rows // fragment_rows)
    whole = run_measured(score_command(artifact, data, out.with_name(f"{out.name}-whole"),
                                       ["--fragment-rows", str(fragment_rows)]))
    command = score_command(artifact, data, out, ["--fragment-rows", str(fragment_rows)])
    done = out / "_done"
    killed = run_measured(command, kill_when=lambda: len(list(done.glob("*.json"))) >= fragments // 2)
    finished = len(list(done.glob("*.json")))
    rerun = run_measured(command)
    summary = json.loads(rerun["stdout"])
    import pyarrow.parquet as pq

    ids = pq.read_table(out, columns=["id"]).column("id").to_pylist()
    return {"fragments": fragments, "done_at_kill": finished, "uninterrupted_seconds": whole["seconds"],
            "seconds_until_kill": killed["seconds"], "resume_seconds": rerun["seconds"],
            "resume_to_uninterrupted": round(rerun["seconds"] / whole["seconds"], 3),
            "killed_plus_resume_to_uninterrupted": round((killed["seconds"] + rerun["seconds"]) / whole["seconds"], 3),
            "skipped": summary["fragments_skipped"],
            "rows_out": len(ids), "unique_ids": len(set(ids)), "exact": len(ids) == len(set(ids)) == rows}


def cluster_estimate(rows_per_second: float, cores: int, node_vcpus: int, price_per_hour: float) -> dict:
    """From the measured per-core rate: one actor of 1 CPU per vCPU, less one vCPU for Ray's read and write
    tasks, scaling linearly (actors share nothing but the input and output storage)."""
    per_core = rows_per_second / cores
    actors = node_vcpus - 1
    node_rate = per_core * actors
    return {"rows_per_second_per_core": round(per_core, 1), "node_vcpus": node_vcpus, "actors_per_node": actors,
            "rows_per_second_per_node": round(node_rate, 1),
            "node_hours_per_million": round(1e6 / node_rate / 3600, 3),
            "usd_per_million": round(1e6 / node_rate / 3600 * price_per_hour, 3),
            "node_price_per_hour_assumed": price_per_hour}


def main(argv=None):
    cores = usable_cores()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifact", type=Path, help="artifact folder written by `cvguard export`")
    parser.add_argument("--data-root", type=Path, default=DATA_ROOT, help="folder holding COLD/ and ToxiCN/")
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--memory-rows", type=int, default=2_000_000, help="the larger input of the memory runs")
    parser.add_argument("--engines", default=f"bare,local_1x{cores},local_{cores}x1,ray_1,ray_2",
                        help="throughput runs ('' = none)")
    parser.add_argument("--memory-engines", default="local,ray_1", help="memory runs ('' = none)")
    parser.add_argument("--memory-artifact", type=Path,
                        help="artifact of the memory and resume runs (default: ARTIFACT)")
    parser.add_argument("--batch-size", type=int, default=32, help="rows per onnxruntime call, every engine")
    parser.add_argument("--fragment-rows", type=int, default=10_000, help="for the resume run")
    parser.add_argument("--no-resume", action="store_true", help="skip the resume run")
    parser.add_argument("--node-vcpus", type=int, default=16, help="the cloud node of the cluster estimate")
    parser.add_argument("--node-price", type=float, default=0.68,
                        help="its USD per hour (default: a 16-vCPU compute-optimised on-demand node, e.g. AWS "
                             "c6i.4xlarge in us-east-1, late 2026 list price; set your own)")
    parser.add_argument("--work", type=Path, default=REPO / "runs" / "bench-batch-scoring")
    parser.add_argument("--out", type=Path, help="results JSON (default WORK/results.json)")
    args = parser.parse_args(argv)

    args.work.mkdir(parents=True, exist_ok=True)
    texts = corpus_texts(args.data_root)
    data, big = args.work / f"backlog-{args.rows}.parquet", args.work / f"backlog-{args.memory_rows}.parquet"
    for path, rows in ((data, args.rows), (big, args.memory_rows)):
        if not path.exists():
            write_backlog(path, texts, rows)

    results: dict = {"machine": {"cpu": cpu_name(), "cores": cores}, "rows": args.rows,
                     "distinct_texts": len(texts), "batch_size": args.batch_size, "throughput": {}}
    print("machine", results["machine"], flush=True)
    for engine in filter(None, args.engines.split(",")):
        measured = run_measured(engine_command(engine, args.artifact, data, args.work / f"out-{engine}", cores,
                                               args.batch_size))
        results["throughput"][engine] = {"seconds": measured["seconds"], "peak_rss_mb": measured["peak_rss_mb"],
                                         "rows_per_second": round(args.rows / measured["seconds"], 1)}
        print(engine, results["throughput"][engine], flush=True)
    bare = results["throughput"].get("bare")
    for figures in results["throughput"].values():
        if bare:
            figures["ratio_to_bare"] = round(figures["rows_per_second"] / bare["rows_per_second"], 3)

    memory_artifact = args.memory_artifact or args.artifact
    results["memory"] = {"artifact": str(memory_artifact)}
    for engine in filter(None, args.memory_engines.split(",")):
        figures = results["memory"][engine] = {}
        for path, rows in ((data, args.rows), (big, args.memory_rows)):
            measured = run_measured(engine_command(engine, memory_artifact, path, args.work / "out-memory", cores,
                                                   args.batch_size))
            figures[str(rows)] = {"peak_rss_mb": measured["peak_rss_mb"], "seconds": measured["seconds"]}
            print("memory", engine, rows, figures[str(rows)], flush=True)
        figures["ratio"] = round(figures[str(args.memory_rows)]["peak_rss_mb"] / figures[str(args.rows)]["peak_rss_mb"], 3)

    if not args.no_resume:
        results["resume"] = resume_after_kill(memory_artifact, data, args.work / "out-resume", args.rows,
                                              args.fragment_rows)
        print("resume", results["resume"], flush=True)
    local = [f for name, f in results["throughput"].items() if name.startswith("local_")]
    if local:
        best = max(f["rows_per_second"] for f in local)
        results["cluster_estimate"] = cluster_estimate(best, cores, args.node_vcpus, args.node_price)
    out = args.out or args.work / "results.json"
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
