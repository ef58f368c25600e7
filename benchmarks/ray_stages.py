"""Where the `ray` engine's time goes: its own pipeline (export/score_ray.py: read -> repartition ->
map_batches(ScoreBatch)) stopped after one stage, with Ray Data's per-operator stats.

    python -m benchmarks.ray_stages ARTIFACT FILE.parquet --stage score      # read | repartition | score | write

`score` is the engine's pipeline: its actors write their parts into a temporary folder. `write` runs read,
repartition and Ray's write_parquet without scoring (the engine's earlier ending); the others end in
materialize().
"""

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from benchmarks.machine import cpu_name


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifact", type=Path)
    parser.add_argument("input", type=Path, help="one Parquet file with id and text columns")
    parser.add_argument("--stage", choices=["read", "repartition", "score", "write"], default="score")
    parser.add_argument("--actors", type=int, default=2)
    parser.add_argument("--fragment-rows", type=int, default=20_000)
    args = parser.parse_args(argv)

    import ray

    from cvguard.export import score_ray
    from cvguard.export.options import RuntimeOptions, ScoreOptions

    print("machine", {"cpu": cpu_name()}, flush=True)
    start = time.perf_counter()
    ray.init(num_cpus=args.actors + 1, include_dashboard=False, log_to_driver=False)  # as score_with_ray does
    print(f"ray.init {time.perf_counter() - start:.1f} s", flush=True)
    options = ScoreOptions(engine="ray", actors=args.actors, fragment_rows=args.fragment_rows)
    start = time.perf_counter()
    ds = score_ray.read(args.input, options)
    if args.stage != "read":
        ds = ds.repartition(target_num_rows_per_block=args.fragment_rows)
    out = Path(tempfile.mkdtemp(prefix="ray-stages-"))
    if args.stage == "score":
        ds = ds.map_batches(score_ray.ScoreBatch, batch_size=args.fragment_rows, batch_format="pyarrow",
                            fn_constructor_args=(args.artifact, options, RuntimeOptions(), "-", out),
                            concurrency=args.actors, num_cpus=1)
    if args.stage == "write":
        ds.write_parquet(str(out))
    else:
        print(ds.materialize().stats())
    shutil.rmtree(out)
    print(f"{args.stage}: {time.perf_counter() - start:.1f} s after ray.init", flush=True)


if __name__ == "__main__":
    main()
