"""Load test for `cvguard serve`: a bounded number of real HTTP requests on loopback at 1, 8 and 32
concurrent clients; requests/s, p50/p99 latency and errors per level.

From the repository root:

    python -m benchmarks.serve_load runs/public/artifact                  # starts its own server
    python -m benchmarks.serve_load ARTIFACT --requests 2000 --texts-per-request 4
    python -m benchmarks.serve_load --url http://127.0.0.1:8000           # an already running server
    python -m benchmarks.serve_load ARTIFACT --head-of-line                # a big request vs 1-text ones

--head-of-line sends one maximal allowed request (max_request_tokens // max_chars texts of max_chars
characters) and, while it runs, 1-text requests from one client, to a server with fair (round-robin)
scheduling and to one taking requests in queue order; it reports the small requests' latency next to the
big one's.

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


# fair_scheduling is a benchmark switch the CLI does not offer: the server is started through serve() itself
SERVE_FAIR = ("import sys; from cvguard.export.options import RuntimeOptions, ServeOptions; "
              "from cvguard.export.serve import serve; serve(sys.argv[1], RuntimeOptions(threads=int(sys.argv[3]), "
              "long_texts=sys.argv[5] or None), ServeOptions(port=int(sys.argv[2]), fair_scheduling=sys.argv[4] == '1'))")


def start_server(artifact: Path, threads: int, extra: list[str], fair: bool | None = None,
                 long_texts: str | None = None) -> tuple[subprocess.Popen, str]:
    port = free_port()
    if fair is None:
        command = [sys.executable, "-m", "cvguard.cli", "serve", str(artifact), "--port", str(port),
                   "--threads", str(threads), *extra]
    else:
        command = [sys.executable, "-c", SERVE_FAIR, str(artifact), str(port), str(threads), str(int(fair)),
                   long_texts or ""]
    # The server runs this checkout's cvguard, whatever the caller's folder or an installed copy.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    return process, f"http://127.0.0.1:{port}"


def post(connection: http.client.HTTPConnection, body: bytes) -> float:
    """Seconds for one /v1/classify request that must succeed."""
    started = time.perf_counter()
    connection.request("POST", "/v1/classify", body, {"Content-Type": "application/json"})
    response = connection.getresponse()
    payload = response.read()
    if response.status != 200:
        raise RuntimeError(f"{response.status}: {payload[:200]!r}")
    return time.perf_counter() - started


def head_of_line(url: str, big: bytes, small: list[bytes], rounds: int) -> dict:
    """`rounds` times: the big request from one thread, and 1-text requests one after another from another
    until it is answered."""
    parts = urlparse(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=600)
    bigs, latencies = [], []
    for _ in range(rounds):
        thread = threading.Thread(target=lambda: bigs.append(post(http.client.HTTPConnection(
            parts.hostname, parts.port, timeout=600), big)))
        thread.start()
        time.sleep(0.02)  # let the big request reach the server first
        while thread.is_alive():
            latencies.append(post(connection, small[len(latencies) % len(small)]))
        thread.join()
    connection.close()
    ms = np.array(latencies) * 1000
    return {"big_ms": float(np.median(bigs)) * 1000, "small_requests": len(latencies),
            "small_p50_ms": float(np.percentile(ms, 50)), "small_p99_ms": float(np.percentile(ms, 99)),
            "small_max_ms": float(ms.max())}


def run_head_of_line(args, texts: list[str]) -> None:
    from benchmarks.machine import cpu_name
    from cvguard.export.options import ServeOptions

    d = ServeOptions()
    long = "".join(texts)
    count = d.max_request_tokens // d.max_chars
    big = json.dumps({"texts": [long[i * d.max_chars:(i + 1) * d.max_chars] for i in range(count)]},
                     ensure_ascii=False).encode()
    small = [json.dumps({"texts": [text]}, ensure_ascii=False).encode() for text in texts[:200]]
    rows = []
    for fair in (True, False):
        process, url = start_server(args.artifact, args.threads, [], fair=fair, long_texts=args.long_texts)
        try:
            health = wait_healthy(url, process)
            load(url, small[:20], 1)  # warm-up
            rows.append((fair, head_of_line(url, big, small, args.rounds)))
        finally:
            process.terminate()
            process.wait(timeout=30)
    print(f"\nCPU: {cpu_name()} ({os.cpu_count()} cores); variant {health['variant']}, long texts "
          f"{health['long_texts']}; big request: {count} texts x {d.max_chars} characters, {args.rounds} rounds\n")
    print("| scheduling | big request ms (median) | small requests meanwhile | small p50 ms | small p99 ms | small max ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for fair, r in rows:
        print(f"| {'round-robin' if fair else 'queue order'} | {r['big_ms']:.0f} | {r['small_requests']} | "
              f"{r['small_p50_ms']:.1f} | {r['small_p99_ms']:.1f} | {r['small_max_ms']:.1f} |")
    if args.out:
        args.out.write_text(json.dumps([{"fair": fair, **r} for fair, r in rows], indent=2))


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
    parser.add_argument("--head-of-line", action="store_true",
                        help="one maximal request and 1-text requests meanwhile, round-robin vs queue order")
    parser.add_argument("--long-texts", choices=("window", "truncate"), help="with --head-of-line")
    parser.add_argument("--rounds", type=int, default=5, help="big requests per scheduling, with --head-of-line")
    args, server_args = parser.parse_known_args(argv)  # anything else goes to `cvguard serve`
    if args.quick:
        args.requests = min(args.requests, 200)
    if not (args.artifact or args.url):
        parser.error("give an ARTIFACT to serve or the --url of a running server")

    from cvguard.data.sources import read_cold

    texts = [r["text"] for r in read_cold(args.cold) if r["split"] == "test"]
    if args.head_of_line:
        if not args.artifact:
            parser.error("--head-of-line starts its own servers: give an ARTIFACT")
        return run_head_of_line(args, texts)
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
