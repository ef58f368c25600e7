"""`cvguard serve`: a real server process on a loopback port, real HTTP requests, good and bad."""

import http.client
import json
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from cvguard.contracts import RunDir

from conftest import SAFE_TEXTS, VIOLENT_TEXTS
from cvguard.export.runtime import Classifier

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")


def export_tiny_artifact(root, model_dir) -> Path:
    from cvguard.export.onnx_export import export
    from conftest import make_run

    config = make_run(root, model_dir, overrides=["export.quantize=false", "export.fp16=false"])
    export(config)
    return RunDir(config.run_path).artifact


@contextmanager
def running_server(artifact: Path, *options: str):
    """`cvguard serve ARTIFACT OPTIONS` on a free loopback port, up and healthy; yields the port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "cvguard.cli", "serve", str(artifact), "--port", str(port),
                                *options], stderr=subprocess.PIPE, text=True)
    try:
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
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def artifact(tmp_path_factory, tiny_model_dir) -> Path:
    return export_tiny_artifact(tmp_path_factory.mktemp("run"), tiny_model_dir)


@pytest.fixture(scope="module")
def server(artifact):
    with running_server(artifact, "--max-wait-ms", "20", "--max-texts", "4", "--max-chars", "50",
                        "--max-body-bytes", "2000") as port:
        yield port, Classifier.load(artifact)


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
    (b'["just", "a", "list"]', 422, "body: Input should be an object"),
    (b'{"text": ["ok"]}', 422, "texts: Field required"),
    (b"[" * 1500, 400, "recursion limit"),  # deeper than any parser's stack: a 400, not a 500
    (b'{"texts": ["\xff"]}', 400, "not valid JSON"),
    (b'{"texts": "one string"}', 422, "must be a list"),
    (b'{"texts": []}', 422, "texts is empty"),
    (b'{"texts": ["ok", 3]}', 422, "texts[1] is int, expected a string"),
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


def test_openapi_shows_the_request_and_response_schemas(server):
    port, _ = server
    status, spec = request(port, "GET", "/openapi.json")
    assert status == 200
    schemas = spec["components"]["schemas"]
    assert schemas["ClassifyRequest"]["properties"]["texts"]["type"] == "array"
    assert schemas["ClassifyRequest"]["required"] == ["texts"]
    assert set(schemas["ClassifyResponse"]["properties"]) == {"results"}
    assert set(schemas["Result"]["properties"]) == {"probs", "labels"}
    body = spec["paths"]["/v1/classify"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/ClassifyRequest"}
    analyze = spec["paths"]["/v1alpha1/comments:analyze"]["post"]
    assert analyze["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("AnalyzeCommentRequest")
    assert "comment" in schemas["AnalyzeCommentRequest"]["properties"]
    assert "Health" in schemas
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/docs")
    assert connection.getresponse().status == 200


def test_the_runtime_and_the_server_share_one_check(artifact):
    from cvguard.export.options import InvalidTexts, TextLimits

    with pytest.raises(InvalidTexts, match=r"texts\[1\] is too long: 6 > 5") as caught:
        Classifier.load(artifact).predict(["好", "长" * 6], limits=TextLimits(max_chars=5))
    assert caught.value.index == 1


def test_predict_cli_takes_the_runtime_options_serve_takes(artifact, tmp_path):
    from cvguard.cli import main

    texts = ["你" * 500, "今天天气很好"]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    for mode in ("truncate", "window"):
        out = tmp_path / f"{mode}.jsonl"
        main(["predict", str(artifact), "-i", str(tmp_path / "in.jsonl"), "-o", str(out), "--long-texts", mode,
              "--threads", "1", "--batch-size", "1", "--variant", "fp32"])
        got = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        want = Classifier.load(artifact, long_texts=mode).predict(texts)
        for g, w in zip(got, want):
            assert g["probs"] == pytest.approx(w["probs"], abs=1e-5)
