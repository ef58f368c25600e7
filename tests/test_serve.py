"""`cvguard serve`: a real server process on a loopback port, real HTTP requests, good and bad."""

import http.client
import json
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from cvguard.contracts import RunDir

from conftest import SAFE_TEXTS, VIOLENT_TEXTS
from cvguard.export.runtime import Classifier

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_model_dir):
    from cvguard.export.onnx_export import export
    from conftest import make_run

    config = make_run(tmp_path_factory.mktemp("run"), tiny_model_dir, overrides=["export.quantize=false",
                                                                                 "export.fp16=false"])
    export(config)
    artifact = RunDir(config.run_path).artifact
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "cvguard.cli", "serve", str(artifact), "--port", str(port),
                                "--max-wait-ms", "20", "--max-texts", "4", "--max-chars", "50",
                                "--max-body-bytes", "2000"], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while True:
        try:
            if request(port, "GET", "/healthz")[0] == 200:
                break
        except OSError:
            pass
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() < deadline, "server did not come up"
        time.sleep(0.2)
    yield port, Classifier.load(artifact)
    process.terminate()
    process.wait(timeout=30)


def request(port: int, method: str, path: str, body: bytes | None = None) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body, {"Content-Type": "application/json"} if body else {})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def classify(port: int, payload) -> tuple[int, dict]:
    return request(port, "POST", "/v1/classify", json.dumps(payload, ensure_ascii=False).encode())


def test_classify_returns_the_runtimes_probabilities_and_flags(server):
    port, classifier = server
    texts = ["你这个废物赶紧滚", "今天天气很好"]
    status, body = classify(port, {"texts": texts})
    assert status == 200
    expected = classifier.predict(texts)
    for got, want in zip(body["results"], expected):
        assert got["labels"] == want["labels"]
        assert got["probs"] == pytest.approx(want["probs"], abs=1e-5)


@pytest.mark.parametrize("body, status, message", [
    (b'{"texts": ["ok"', 400, "not valid JSON"),
    (b'["just", "a", "list"]', 422, "expected a JSON object"),
    (b'{"texts": "one string"}', 422, "must be a list"),
    (b'{"texts": []}', 422, "texts is empty"),
    (b'{"texts": ["ok", 3]}', 422, r"texts[1] is int"),
    (b'{"texts": ["ok", "  "]}', 422, r"texts[1] is empty"),
    (b'{"texts": ["a", "b", "c", "d", "e"]}', 422, "too many texts: 5 > 4"),
    (json.dumps({"texts": ["长" * 51]}).encode(), 422, "too long: 51 > 50"),
    (json.dumps({"texts": ["x"], "pad": "x" * 3000}).encode(), 413, "limit is 2000"),
])
def test_bad_requests_get_a_clear_4xx_and_the_server_stays_healthy(server, body, status, message):
    port, _ = server
    got_status, got = request(port, "POST", "/v1/classify", body)
    assert (got_status, message in got["detail"]) == (status, True), got
    status, health = request(port, "GET", "/healthz")
    assert status == 200 and health["status"] == "ok"


def test_concurrent_requests_are_micro_batched_and_each_gets_its_own_rows(server):
    port, classifier = server
    texts = VIOLENT_TEXTS + SAFE_TEXTS
    before = request(port, "GET", "/healthz")[1]
    start = threading.Barrier(len(texts))
    answers = {}

    def client(text):
        start.wait()
        answers[text] = classify(port, {"texts": [text]})

    threads = [threading.Thread(target=client, args=(text,)) for text in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = classifier.predict_proba(texts)
    for text, row in zip(texts, expected):
        status, body = answers[text]
        assert status == 200
        np.testing.assert_allclose([body["results"][0]["probs"][n] for n in classifier.labels], row, atol=1e-5)
    status, after = request(port, "GET", "/healthz")
    assert status == 200 and after["status"] == "ok"
    assert after["requests"] - before["requests"] == len(texts)
    assert after["batches"] - before["batches"] < len(texts)  # some requests shared an onnxruntime call
