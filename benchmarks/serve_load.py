"""Load test for `cvguard serve`: a bounded number of real HTTP requests on loopback at 1, 8 and 32
concurrent clients; requests/s, p50/p99 latency and errors per level.

From the repository root:

    python -m benchmarks.serve_load runs/public/artifact                  # starts its own server
    python -m benchmarks.serve_load ARTIFACT --requests 2000 --texts-per-request 4
    python -m benchmarks.serve_load --url http://127.0.0.1:8000           # an already running server

The clients are threads with one keep-alive connection each, on the same machine as the server: on a
small CPU they compete with it, so the figures are a floor for what a separate client machine would see.
"""

import argparse
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen | None, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{process.stderr.read()[-3000:]}")
        try:
            return get_json(url, "/healthz")
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url}/healthz did not answer within {timeout:.0f} s")


def get_json(url: str, path: str) -> dict:
    parts = urlparse(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("GET", path)
        return json.loads(connection.getresponse().read())
    finally:
        connection.close()


def start_server(artifact: Path, threads: int, extra: list[str]) -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = [sys.executable, "-m", "cvguard.cli", "serve", str(artifact), "--port", str(port),
               "--threads", str(threads), *extra]
    # The server runs this checkout's cvguard, whatever the caller's folder or an installed copy.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    return process, f"http://127.0.0.1:{port}"


def load(url: str, bodies: list[bytes], concurrency: int) -> dict:
    """Sends every body once, from `concurrency` client threads; returns the level's figures."""
    parts = urlparse(url)
    latencies, errors, lock = [], [], threading.Lock()
    work = iter(range(len(bodies)))

    def client():
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        while True:
            with lock:
                i = next(work, None)
            if i is None:
                break
            started = time.perf_counter()
            try:
                connection.request("POST", "/v1/classify", bodies[i], {"Content-Type": "application/json"})
                response = connection.getresponse()
                payload = response.read()
                ok = response.status == 200 and "results" in json.loads(payload)
            except (OSError, http.client.HTTPException, ValueError) as e:
                ok, payload = False, str(e).encode()
                connection.close()
                connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
            elapsed = time.perf_counter() - started
            with lock:
                (latencies if ok else errors).append(elapsed if ok else payload[:200])
        connection.close()

    started = time.perf_counter()
    clients = [threading.Thread(target=client) for _ in range(concurrency)]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join()
    wall = time.perf_counter() - started
    ms = np.array(latencies) * 1000 if latencies else np.array([np.nan])
    return {"concurrency": concurrency, "requests": len(bodies), "ok": len(latencies), "errors": len(errors),
            "requests_s": len(latencies) / wall, "p50_ms": float(np.percentile(ms, 50)),
            "p99_ms": float(np.percentile(ms, 99)), "first_error": errors[0].decode(errors="replace") if errors else None}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifact", type=Path, nargs="?", help="artifact to serve (omit with --url)")
    parser.add_argument("--url", help="load an already running server instead of starting one")
    parser.add_argument("--cold", type=Path, default=REPO.parent / "shared" / "datasets" / "COLD")
    parser.add_argument("--requests", type=int, default=1000, help="requests per concurrency level")
    parser.add_argument("--texts-per-request", type=int, default=1)
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--threads", type=int, default=0, help="server's onnxruntime intra-op threads")
    parser.add_argument("--quick", action="store_true", help="200 requests per level")
    parser.add_argument("--out", type=Path, help="also write the results as JSON here")
    args, server_args = parser.parse_known_args(argv)  # anything else goes to `cvguard serve`
    if args.quick:
        args.requests = min(args.requests, 200)
    if not (args.artifact or args.url):
        parser.error("give an ARTIFACT to serve or the --url of a running server")

    from cvguard.data.sources import read_cold

    texts = [r["text"] for r in read_cold(args.cold) if r["split"] == "test"]
    rng = random.Random(0)
    bodies = [json.dumps({"texts": rng.sample(texts, args.texts_per_request)}, ensure_ascii=False).encode()
              for _ in range(args.requests)]

    process, url = (None, args.url) if args.url else start_server(args.artifact, args.threads, server_args)
    try:
        health = wait_healthy(url, process)
        load(url, bodies[:20], 4)  # warm-up
        results = [load(url, bodies, int(c)) for c in args.concurrency.split(",")]
        after = get_json(url, "/healthz")
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
    print(f"\nserver: variant {health['variant']} on {health['device']}; {args.requests} requests per level, "
          f"{args.texts_per_request} text(s) each; mean texts per onnxruntime call "
          f"{after['texts'] / max(after['batches'], 1):.1f}\n")
    print("| clients | requests/s | p50 ms | p99 ms | errors |\n|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['concurrency']} | {r['requests_s']:.1f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['errors']} |")
    if args.out:
        args.out.write_text(json.dumps({"health": after, "results": results}, indent=2))
    if any(r["errors"] for r in results):
        raise SystemExit(f"errors: {[r['first_error'] for r in results if r['errors']]}")


if __name__ == "__main__":
    main()
