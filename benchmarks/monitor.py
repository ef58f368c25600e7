"""The monitor end to end on this machine: events/s (scoring included), the database's size per million events,
and peak memory as the number of targets grows.

A synthetic stream: texts drawn from the incident-thread corpus (real lengths and vocabulary), authors and
targets drawn uniformly, one event a second. Each target count runs in a process of its own, so each peak RSS
is its own. Batches go through Monitor.process, the path `cvguard monitor` takes (minus reading stdin).

    python -m benchmarks.monitor ARTIFACT --events 100000 --targets 100,1000,10000
"""

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cvguard.contracts import THREADS
from cvguard.data.sources import THREADS_FILE, bundled_folder
from cvguard.io import read_jsonl

CORPUS = bundled_folder(THREADS) / THREADS_FILE


def one(artifact: Path, events: int, targets: int, batch: int, threads: int) -> dict:
    from cvguard.export.runtime import Classifier
    from cvguard.monitor.config import MonitorConfig
    from cvguard.monitor.engine import Monitor

    texts = [r["text"] for r in read_jsonl(CORPUS)]
    rng = random.Random(0)
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "bench.db"
        monitor = Monitor.open(Classifier.load(artifact, intra_op_threads=threads), db, MonitorConfig())
        began, alerts = time.perf_counter(), 0
        for first in range(0, events, batch):
            stream = [{"id": f"e{i}", "time": (start + timedelta(seconds=i)).isoformat(), "author": f"u{rng.randrange(50000)}",
                       "text": rng.choice(texts), "target": f"t{rng.randrange(targets)}"}
                      for i in range(first, min(first + batch, events))]
            alerts += len(monitor.process(stream).alerts)
        seconds = time.perf_counter() - began
        monitor.store.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        monitor.store.close()
        size = sum(p.stat().st_size for p in Path(folder).iterdir())
    return {"events": events, "targets": targets, "events_per_s": events / seconds, "alerts": alerts,
            "db_mb_per_million": size / events * 1e6 / 2 ** 20,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifact", type=Path)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--targets", default="100,1000,10000", help="comma list: one run per count")
    parser.add_argument("--batch", type=int, default=64, help="events per Monitor.process call (monitor.batch_size)")
    parser.add_argument("--threads", type=int, default=0, help="onnxruntime threads (0 = one per core)")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # a child: one target count
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(one(args.artifact, args.events, int(args.targets), args.batch, args.threads)))
        return
    print(f"{args.events} events, batches of {args.batch}, {os.cpu_count()} cores\n")
    print("| targets | events/s | alerts | DB MB per million events | peak RSS MB |\n|---:|---:|---:|---:|---:|")
    for targets in args.targets.split(","):
        out = subprocess.run([sys.executable, "-m", "benchmarks.monitor", str(args.artifact), "--one", "--events",
                              str(args.events), "--targets", targets, "--batch", str(args.batch), "--threads",
                              str(args.threads)], capture_output=True, text=True, check=True).stdout
        r = json.loads(out.splitlines()[-1])
        print(f"| {r['targets']} | {r['events_per_s']:.0f} | {r['alerts']} | {r['db_mb_per_million']:.0f} | "
              f"{r['peak_rss_mb']:.0f} |")


if __name__ == "__main__":
    main()
