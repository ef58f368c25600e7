"""`cvguard serve`: a real server process on a loopback port, real HTTP requests, good and bad."""

import http.client
import json
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from conftest import SAFE_TEXTS, VIOLENT_TEXTS, running_server
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cvguard.contracts import RunDir
from cvguard.export.runtime import Classifier

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")


def export_tiny_artifact(root, model_dir) -> Path:
    from conftest import make_run

    from cvguard.export.onnx_export import export

    config = make_run(root, model_dir, overrides=["export.quantize=false", "export.fp16=false"])
    export(config)
    return RunDir(config.run_path).artifact


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


# --- one bad request, big requests, fair scheduling -------------------------------------------------------

@contextmanager
def app_server(artifact: Path, options, batch_size: int = 32):
    """create_app(options) under uvicorn in a thread on a free loopback port, for options the CLI does not
    offer; yields the port and the Classifier it serves."""
    import uvicorn

    from cvguard.export.serve import create_app

    classifier = Classifier.load(artifact, variant="fp32", spin_wait=False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(classifier, options, batch_size), host="127.0.0.1",
                                           port=port, log_level="warning"))
    thread = threading.Thread(target=server.run)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "server did not come up"
            time.sleep(0.05)
        yield port, classifier
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def probs_of(body: dict, labels: list[str]) -> list[list[float]]:
    return [[result["probs"][name] for name in labels] for result in body["results"]]


def test_a_lone_surrogate_fails_its_own_request_alone(server):
    """pydantic's JSON parser already refuses a lone surrogate escape (400); the others are untouched."""
    port, classifier = server
    texts = (VIOLENT_TEXTS + SAFE_TEXTS) * 2
    bad = {i for i in range(len(texts)) if i % 10 == 3}  # 1 request in 10
    bodies = [b'{"texts": ["\\ud800abc"]}' if i in bad else json.dumps({"texts": [text]}).encode()
              for i, text in enumerate(texts)]
    start = threading.Barrier(len(bodies))
    answers = {}

    def client(i):
        start.wait()
        answers[i] = request(port, "POST", "/v1/classify", bodies[i])

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i, text in enumerate(texts):
        status, body = answers[i]
        if i in bad:
            assert status == 400 and ("surrogate" in body["detail"] or "hex escape" in body["detail"]), body
        else:
            assert status == 200, body
            want = classifier.predict_proba([text])
            np.testing.assert_allclose(probs_of(body, classifier.labels), want, atol=1e-5)


def test_the_runtime_refuses_a_lone_surrogate_at_its_index(artifact):
    from cvguard.export.options import InvalidTexts

    with pytest.raises(InvalidTexts, match=r"texts\[1\] is not valid Unicode: lone surrogate '\\ud800' at character 3"):
        Classifier.load(artifact).predict_proba(["好", "abc\ud800"])


def test_a_call_that_raises_is_rescored_chunk_by_chunk(artifact):
    """Defence behind validate_texts: texts that reach the batcher unchecked and make predict_proba raise
    (here a lone surrogate, which the runtime's own check refuses) fail their request only."""
    import asyncio

    from cvguard.export.options import InvalidTexts, ServeOptions
    from cvguard.export.serve import MicroBatcher

    classifier = Classifier.load(artifact, variant="fp32")
    requests = [[text] for text in VIOLENT_TEXTS] + [["好", "\ud800abc"]] + [[text] for text in SAFE_TEXTS]

    async def main():
        batcher = MicroBatcher(classifier, ServeOptions(max_wait_ms=50), batch_size=32)
        await batcher.start()
        results = await asyncio.gather(*(batcher.submit(texts) for texts in requests), return_exceptions=True)
        await batcher.stop()
        return results, batcher.stats

    results, stats = asyncio.run(main())
    for texts, got in zip(requests, results):
        if "\ud800abc" in texts:
            assert isinstance(got, InvalidTexts) and got.index == 1
        else:
            np.testing.assert_allclose(got, classifier.predict_proba(texts), atol=1e-5)
    assert stats["isolated"] >= 1 and stats["errors"] == 1
    assert stats["requests"] == len(requests) - 1


def test_a_request_over_the_token_budget_gets_a_422_that_says_how_to_split(artifact):
    from cvguard.export.options import ServeOptions

    options = ServeOptions(max_texts=8, max_chars=50, max_request_tokens=100)
    with app_server(artifact, options) as (port, _):
        status, body = classify(port, {"texts": ["长" * 50, "长" * 50, "好"]})
        assert status == 422
        assert body["detail"] == ("too long in total: 101 > 100 characters per request; split the texts over "
                                  "several requests of at most 100 characters")
        assert classify(port, {"texts": ["长" * 50, "长" * 50]})[0] == 200


def test_chunks_respect_the_text_and_character_bounds():
    from cvguard.export.serve import chunks

    texts = ["a" * 3, "b" * 3, "c" * 10, "d", "e", "f"]
    assert chunks(texts, 2, 6) == [(0, 2, 6), (2, 3, 10), (3, 5, 2), (5, 6, 1)]
    assert chunks(["x"], 32, 4096) == [(0, 1, 1)]


@pytest.mark.parametrize("fair", [True, False])
def test_round_robin_answers_a_small_request_before_a_big_one_with_the_same_scores(artifact, fair):
    import asyncio

    from cvguard.export.options import ServeOptions
    from cvguard.export.serve import MicroBatcher

    classifier = Classifier.load(artifact, variant="fp32")
    big = [f"{text}{i}号" * 3 for i in range(5) for text in VIOLENT_TEXTS + SAFE_TEXTS]  # 80 texts
    small = ["今天天气很好"]

    async def main():
        batcher = MicroBatcher(classifier, ServeOptions(max_batch=8, fair_scheduling=fair), batch_size=4)
        await batcher.start()
        done = []
        tasks = [asyncio.create_task(batcher.submit(texts)) for texts in (big, small)]  # big first
        for task, name in zip(tasks, ("big", "small")):
            task.add_done_callback(lambda _, name=name: done.append((name, batcher.stats["batches"])))
        results = await asyncio.gather(*tasks)
        await batcher.stop()
        return results, done

    (big_probs, small_probs), done = asyncio.run(main())
    if fair:  # the small request rode in the first call with 4 texts of the big one; then 8 big texts a call
        assert done == [("small", 1), ("big", 1 + -(-76 // 8))]
    else:  # queue order: the whole big request, then the small one
        assert [name for name, _ in done] == ["big", "small"]
    # chunked or not, the same probabilities as scoring each request alone
    np.testing.assert_allclose(big_probs, classifier.predict_proba(big), atol=1e-5)
    np.testing.assert_allclose(small_probs, classifier.predict_proba(small), atol=1e-5)


def test_nested_chunked_and_oversized_bodies_get_a_4xx(server):
    port, _ = server
    assert request(port, "POST", "/v1/classify", b'{"texts": [["ok"]]}')[0] == 422
    assert request(port, "POST", "/v1/classify", b'{"texts": [' + b"[" * 1500)[0] == 400
    assert request(port, "POST", "/v1/classify", b'{"texts": [{"text": "ok"}]}')[0] == 422
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:  # chunked: no Content-Length to refuse up front, so the server counts the bytes as they come
        connection.request("POST", "/v1/classify", iter([b'{"texts": ["', b"x" * 1500, b"x" * 1500, b'"]}']),
                           {"Content-Type": "application/json"}, encode_chunked=True)
        response = connection.getresponse()
        assert response.status == 413 and "over the limit of 2000 bytes" in json.loads(response.read())["detail"]
    finally:
        connection.close()


UNICODE = st.text(st.characters(codec=None, exclude_categories=()), max_size=60)  # surrogates and controls too


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.one_of(UNICODE, st.sampled_from(["你这个废物", "今天天气很好", " ", "\ud800"])),
                      min_size=1, max_size=4))
def test_random_unicode_never_breaks_the_server_and_valid_texts_keep_their_scores(server, texts):
    port, classifier = server
    body = json.dumps({"texts": texts}).encode()  # ASCII-escaped, so lone surrogates travel as \ud800
    status, answer = request(port, "POST", "/v1/classify", body)
    assert status in (200, 400, 413, 422), (status, answer)
    if status == 200:
        alone = classifier.predict_proba(texts, batch_size=1)
        served = np.array([[r["probs"][name] for name in classifier.labels] for r in answer["results"]])
        assert np.abs(served - alone).max() <= 1e-5
    assert request(port, "GET", "/healthz")[0] == 200
