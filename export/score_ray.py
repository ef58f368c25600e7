"""The `ray` engine of `cvguard score` (pip install 'cvguard[ray]'): Ray Data reads each input file
(read_parquet, read_json, read_csv) and `map_batches` scores it with a callable class, so each actor loads the
artifact once; rows are scored by the same `score_table` as the local engine. Each actor writes the parts it
scored itself and hands Ray back one row per part (its name and status counts), not the scored rows: with
`write_parquet` after the actors, a 2M-row file never finished on 2 cores (docs/benchmarks.md), most likely
because every scored row then crossed the object store into write tasks that waited on the actors' CPUs.

Without `address`, Ray starts on this machine; with one ("auto", "ray://head:10001"), the job joins that
cluster, whose nodes must all see the artifact, the input and OUTPUT at the same paths (shared storage).
There, keep actors x cpus_per_actor below the cluster's CPUs: Ray's read tasks need CPUs too.

Resume works per input file: a file's output goes to a staging folder, is renamed into OUTPUT as
`<file key>-ray-<n>.parquet`, and then gets its completion marker; a rerun skips marked files and redoes the
others from scratch. So with this engine, split a backlog into many files. Ray's readers fail a file that
is not UTF-8 or not JSON Lines as a whole, where the local engine gives the bad lines a status: such a file
is reported as unreadable, and the others go on.
"""

import json
import math
import shutil
import uuid
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from cvguard.export.options import RuntimeOptions, ScoreOptions, usable_cores
from cvguard.export.score import Summary, as_fragment, marker_path, score_table, status_counts, unreadable
from cvguard.io import atomic_write, fsync_dir, write_json


class ScoreBatch:
    """One per Ray actor: the artifact is loaded once, then every batch the actor gets is scored with it and
    written to `staging` as one part."""

    def __init__(self, artifact: Path, options: ScoreOptions, runtime: RuntimeOptions, sha256: str, staging: Path):
        from dataclasses import replace

        from cvguard.export.runtime import Classifier

        threads = runtime.threads or max(1, int(options.cpus_per_actor))  # the cores Ray reserved for this actor
        self.classifier = Classifier.from_options(artifact, replace(runtime, threads=threads))
        self.options, self.runtime, self.sha256, self.staging = options, runtime, sha256, staging

    def __call__(self, batch: pa.Table) -> pa.Table:
        scored = score_table(self.classifier, as_fragment(batch, self.options), self.options, self.sha256,
                             self.runtime.batch_size)
        part = self.staging / f"{uuid.uuid4().hex}.parquet"  # Ray may retry a batch: a retry writes a new part
        atomic_write(part, lambda f: pq.write_table(scored, f))
        first_id = str(scored.column(self.options.id_column)[0]) if scored.num_rows else ""
        return pa.table({"part": [part.name], "first_id": [first_id], "by_status": [json.dumps(status_counts(scored))]})


def read(path: Path, options: ScoreOptions):
    import ray.data

    columns = list(dict.fromkeys([options.id_column, options.text_column, *options.keep]))
    if path.suffix == ".parquet":
        return ray.data.read_parquet(str(path)).select_columns(columns)  # pushed down into the reader
    if path.suffix == ".csv":
        return ray.data.read_csv(str(path))
    return ray.data.read_json(str(path), lines=True)


def score_with_ray(artifact: Path, files: dict[Path, str], output: Path, options: ScoreOptions, runtime: RuntimeOptions,
                   sha256: str) -> Summary:
    import ray

    if not ray.is_initialized() and options.address:
        ray.init(address=options.address, log_to_driver=False)
    elif not ray.is_initialized():
        # Read and write tasks need a CPU beside the actors': an actor pool holding every CPU starves them and
        # the job hangs. So a local Ray gets one logical CPU more than the actors reserve.
        cpus = max(usable_cores(), math.ceil(options.actors * options.cpus_per_actor) + 1)
        ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
    summary = Summary(files=len(files))
    for path, key in files.items():  # file -> its output name
        if marker_path(output, key).exists():
            summary.fragments_skipped += 1
            continue
        for stale in output.glob(f"{key}-ray-*.parquet"):  # an earlier run died before this file's marker
            stale.unlink()
        staging = output / f".{key}.staging"
        shutil.rmtree(staging, ignore_errors=True)
        try:
            # Ray reads a Parquet file as one block whatever its row groups, and a block goes to one actor: cut it
            # into fragments as it streams, so every actor gets work from a single large file.
            blocks = read(path, options).repartition(target_num_rows_per_block=options.fragment_rows)
            parts = blocks.map_batches(
                ScoreBatch, fn_constructor_args=(artifact, options, runtime, sha256, staging),
                batch_size=options.fragment_rows, batch_format="pyarrow", concurrency=options.actors,
                num_cpus=options.cpus_per_actor, num_gpus=options.gpus_per_actor or None).take_all()
        except Exception as e:  # Ray wraps a reader's error in its own types: the file is what failed
            unreadable(summary, path, e)
            shutil.rmtree(staging, ignore_errors=True)
            continue
        counts: Counter = Counter()
        # Only the parts Ray handed back count (not a failed try's leftovers), in a fixed order for the names.
        for n, part in enumerate(sorted(parts, key=lambda p: p["first_id"])):
            counts.update(json.loads(part["by_status"]))
            (staging / part["part"]).rename(output / f"{key}-ray-{n:05d}.parquet")
        fsync_dir(output)
        write_json(marker_path(output, key), {"rows": sum(counts.values()), "by_status": dict(counts)})
        shutil.rmtree(staging, ignore_errors=True)
        summary.fragments_written += 1
    return summary
