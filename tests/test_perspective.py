"""The Perspective-compatible endpoint, POST /v1alpha1/comments:analyze, on a real server over loopback:
the documented request goes in, the documented response structure comes out."""

import json

import pytest
from test_serve import export_tiny_artifact, request, running_server

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

# Recorded from Perspective's public API reference, "AnalyzeComment example":
# https://github.com/conversationai/perspectiveapi/blob/master/2-api/methods.md#analyzecomment-example
# (the same page as https://developers.perspectiveapi.com/s/about-the-api-methods)
DOC_REQUEST = {
    "comment": {"text": "What kind of idiot name is foo? Sorry, I like your name."},
    "languages": ["en"],
    "requestedAttributes": {"TOXICITY": {}, "UNSUBSTANTIAL": {}},
}
DOC_RESPONSE = {
    "attributeScores": {
        "TOXICITY": {"summaryScore": {"value": 0.8627961, "type": "PROBABILITY"}},
        "UNSUBSTANTIAL": {
            "spanScores": [
                {"begin": 0, "end": 31, "score": {"value": 0.52690625, "type": "PROBABILITY"}},
                {"begin": 32, "end": 55, "score": {"value": 0.9106685, "type": "PROBABILITY"}},
            ],
            "summaryScore": {"value": 0.69036055, "type": "PROBABILITY"},
        },
    },
    "languages": ["en"],
}

TEXT = "你这个废物赶紧滚。今天天气很好！"
SENTENCES = [(0, 9), (9, 16)]


def shape(value):
    """The structure of a JSON value: keys and types, lists by their first element."""
    if isinstance(value, dict):
        return {key: shape(v) for key, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return "number" if isinstance(value, (int, float)) else type(value).__name__


@pytest.fixture(scope="module")
def port(tmp_path_factory, tiny_model_dir):
    with running_server(export_tiny_artifact(tmp_path_factory.mktemp("run"), tiny_model_dir)) as port:
        yield port


def analyze(port: int, payload) -> tuple[int, dict]:
    return request(port, "POST", "/v1alpha1/comments:analyze", json.dumps(payload, ensure_ascii=False).encode())


def classify(port: int, texts: list[str]) -> list[dict]:
    status, body = request(port, "POST", "/v1/classify", json.dumps({"texts": texts}).encode())
    assert status == 200, body
    return [result["probs"] for result in body["results"]]


def chinese(**changes) -> dict:
    """The documented request, asking in Chinese for attributes cvguard serves."""
    return {**DOC_REQUEST, "comment": {"text": TEXT}, "languages": ["zh"],
            "requestedAttributes": {"TOXICITY": {}, "INSULT": {}, "THREAT": {}, "IDENTITY_ATTACK": {}}, **changes}


def test_summary_scores_have_the_documented_structure_and_the_classify_probabilities(port):
    status, body = analyze(port, chinese())
    assert status == 200, body
    assert shape(body) == {"attributeScores": {name: shape(DOC_RESPONSE["attributeScores"]["TOXICITY"])
                                               for name in ("TOXICITY", "INSULT", "THREAT", "IDENTITY_ATTACK")},
                           "languages": ["str"]}
    assert body["languages"] == ["zh"]
    probs = classify(port, [TEXT])[0]
    scores = body["attributeScores"]
    assert scores["TOXICITY"]["summaryScore"]["value"] == probs["violent"]
    assert scores["INSULT"]["summaryScore"]["value"] == probs["insult"]
    assert scores["THREAT"]["summaryScore"]["value"] == probs["threat"]
    assert scores["IDENTITY_ATTACK"]["summaryScore"]["value"] == probs["discrimination"]


def test_span_annotations_score_each_sentence(port):
    status, body = analyze(port, chinese(spanAnnotations=True, doNotStore=True, clientToken="comment-53922",
                                         requestedAttributes={"TOXICITY": {}}))
    assert status == 200, body
    assert shape(body) == {"attributeScores": {"TOXICITY": shape(DOC_RESPONSE["attributeScores"]["UNSUBSTANTIAL"])},
                           "languages": ["str"], "clientToken": "str"}
    assert body["clientToken"] == "comment-53922"
    spans = body["attributeScores"]["TOXICITY"]["spanScores"]
    assert [(s["begin"], s["end"]) for s in spans] == SENTENCES
    sentence_probs = classify(port, [TEXT[begin:end] for begin, end in SENTENCES])
    assert [s["score"]["value"] for s in spans] == [p["violent"] for p in sentence_probs]
    assert body["attributeScores"]["TOXICITY"]["summaryScore"]["value"] == classify(port, [TEXT])[0]["violent"]


def test_score_threshold_leaves_out_lower_scores(port):
    status, body = analyze(port, chinese(requestedAttributes={"TOXICITY": {"scoreThreshold": 1.01},
                                                              "INSULT": {"scoreThreshold": 0}}))
    assert status == 200, body
    assert list(body["attributeScores"]) == ["INSULT"]


@pytest.mark.parametrize("payload, error_type, message", [
    (chinese(requestedAttributes={"SEVERE_TOXICITY": {}}), "INVALID_REQUEST", "SEVERE_TOXICITY"),
    (chinese(requestedAttributes={"TOXICITY": {}, "PROFANITY": {}}), "INVALID_REQUEST", "PROFANITY"),
    (chinese(requestedAttributes={}), "INVALID_REQUEST", "requestedAttributes"),
    ({**DOC_REQUEST, "requestedAttributes": {"TOXICITY": {}}}, "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE",
     "does not support request languages: en"),
    (chinese(comment={"text": "  "}), "COMMENT_EMPTY", "comment.text is empty"),
    (chinese(comment={"text": "长" * 2001}), "COMMENT_TOO_LONG", "2001 > 2000"),
    (chinese(comment={"text": TEXT, "type": "HTML"}), "INVALID_REQUEST", "comment.type"),
    ({"requestedAttributes": {"TOXICITY": {}}}, "INVALID_REQUEST", "comment: Field required"),
])
def test_bad_requests_get_perspectives_error_shape(port, payload, error_type, message):
    status, body = analyze(port, payload)
    assert status == 400, body
    assert shape(body) == {"error": {"code": "number", "message": "str", "status": "str",
                                     "details": [{"errorType": "str"}]}}
    error = body["error"]
    assert (error["code"], error["status"], error["details"][0]["errorType"]) == (400, "INVALID_ARGUMENT", error_type)
    assert message in error["message"], error


@pytest.mark.parametrize("body", [b'{"comment": {"text": "ok"', b"[" * 100000, b'{"comment": [' * 50000])
def test_malformed_or_deeply_nested_json_is_a_400_and_the_server_stays_healthy(port, body):
    for path in ("/v1alpha1/comments:analyze", "/v1/classify"):
        status, answer = request(port, "POST", path, body)
        assert status == 400, answer
    status, health = request(port, "GET", "/healthz")
    assert status == 200 and health["status"] == "ok"
