"""HTTP serving for an exported artifact: `cvguard serve ARTIFACT` (needs the `serve` extra).

    POST /v1/classify                 {"texts": ["...", ...]} -> {"results": [{"probs": {...}, "labels": [...]}]}
    POST /v1alpha1/comments:analyze   Perspective API's AnalyzeComment, for clients written against Perspective
    GET  /healthz                     {"status": "ok", ...}; 503 when the batcher has stopped
    GET  /docs, /openapi.json         the request and response schemas (the pydantic models below)

Concurrent requests are micro-batched: a queue gathers requests for up to `max_wait_ms` (or until
`max_batch` texts), one onnxruntime call scores them all in a worker thread, and each request gets its
own rows back. One call at a time: onnxruntime already uses every core inside a call, and batching many
short requests into one call is what makes a CPU fast. Bad input gets a 4xx answer that says what is wrong:
400 malformed JSON, 413 body too large, 422 anything else (empty list, non-string, empty string, too many
texts, text too long), checked by options.validate_texts, the runtime's own check.

The Perspective endpoint (https://developers.perspectiveapi.com, request and response as in
github.com/conversationai/perspectiveapi 2-api/methods.md) maps attributes onto the taxonomy:

    TOXICITY -> violent    INSULT -> insult    THREAT -> threat    IDENTITY_ATTACK -> discrimination

Any other attribute (SEVERE_TOXICITY, PROFANITY, ...) has no counterpart in the taxonomy and gets a 400, as
do languages other than Chinese (zh, zh-Hans, zh-Hant, zh-CN, ...: LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE).
Errors have Perspective's shape: {"error": {"code": 400, "message": ..., "status": "INVALID_ARGUMENT",
"details": [{"errorType": ...}]}}. The summary score is the model's probability for the whole comment, the
same number /v1/classify returns. spanAnnotations=true adds one span per sentence (split after 。！？!?；;
and at line breaks), each scored on its own, with begin/end in characters (code points); without it there
are no spanScores, as in Perspective's documented example. scoreThreshold leaves out scores below it.
languages is echoed (["zh"] when omitted); cvguard detects no language, so detectedLanguages is never set.
doNotStore is accepted and moot: nothing is stored.
"""

import asyncio
import re
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Literal

import numpy as np
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError, ValidationInfo, field_validator

from cvguard.export.options import InvalidTexts, RuntimeOptions, ServeOptions, TextLimits, validate_texts
from cvguard.export.runtime import Classifier

EXAMPLE_TEXTS = ["你这个废物赶紧滚", "今天天气很好"]


# --- /v1/classify -----------------------------------------------------------------------------------------


class ClassifyRequest(BaseModel):
    texts: list[str] = Field(description="texts to score, each non-empty; at most max_texts of max_chars each",
                             examples=[EXAMPLE_TEXTS])

    @field_validator("texts", mode="before")
    @classmethod
    def check(cls, texts, info: ValidationInfo):
        # before, not after: the runtime's check sees the raw JSON and names the offending index itself
        return validate_texts(texts, (info.context or {}).get("limits", TextLimits()))


class Result(BaseModel):
    probs: dict[str, float] = Field(description="label -> probability")
    labels: list[str] = Field(description="labels whose probability is at or above the artifact's threshold")


class ClassifyResponse(BaseModel):
    results: list[Result]


class Health(BaseModel):
    status: str
    variant: str | None
    device: str
    labels: list[str]
    long_texts: str
    queue: int
    requests: int
    texts: int
    batches: int
    errors: int


# --- Perspective API: field names are Perspective's wire format, hence camelCase --------------------------

ATTRIBUTES = {"TOXICITY": "violent", "INSULT": "insult", "THREAT": "threat", "IDENTITY_ATTACK": "discrimination"}
SENTENCE = re.compile(r"[^\s。！？!?；;][^。！？!?；;\n]*[。！？!?；;]*")


class TextEntry(BaseModel):
    text: str
    type: Literal["PLAIN_TEXT"] = "PLAIN_TEXT"


class AttributeParameters(BaseModel):
    scoreType: Literal["PROBABILITY"] = "PROBABILITY"
    scoreThreshold: float | None = None


class AnalyzeCommentRequest(BaseModel):
    comment: TextEntry
    requestedAttributes: dict[str, AttributeParameters] = Field(min_length=1, examples=[{"TOXICITY": {}}])
    languages: list[str] | None = Field(None, examples=[["zh"]])
    spanAnnotations: bool = False
    doNotStore: bool = False
    clientToken: str | None = None
    sessionId: str | None = None
    context: dict | None = None  # accepted and unused, as by Perspective


class Score(BaseModel):
    value: float
    type: Literal["PROBABILITY"] = "PROBABILITY"


class SpanScore(BaseModel):
    begin: int
    end: int
    score: Score


class AttributeScore(BaseModel):
    summaryScore: Score | None = None
    spanScores: list[SpanScore] | None = None


class AnalyzeCommentResponse(BaseModel):
    attributeScores: dict[str, AttributeScore]
    languages: list[str]
    clientToken: str | None = None


class PerspectiveError(Exception):
    def __init__(self, message: str, error_type: str = "INVALID_REQUEST", code: int = 400):
        super().__init__(message)
        self.body = {"error": {"code": code, "message": message, "status": "INVALID_ARGUMENT",
                               "details": [{"errorType": error_type}]}}
        self.code = code


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """[begin, end) of each sentence, without the whitespace around it."""
    return [(m.start(), m.start() + len(m.group().rstrip())) for m in SENTENCE.finditer(text)]


def chinese(language: str) -> bool:
    return re.split(r"[-_]", language)[0].lower() == "zh"


# --- the app ----------------------------------------------------------------------------------------------


class MicroBatcher:
    def __init__(self, classifier: Classifier, max_batch: int, max_wait_ms: float, batch_size: int):
        self.classifier = classifier
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000
        self.batch_size = batch_size
        self.stats = {"requests": 0, "texts": 0, "batches": 0, "errors": 0}

    async def start(self) -> None:
        self.queue: asyncio.Queue = asyncio.Queue()
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cvguard-ort")
        self.task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        self.task.cancel()
        self.executor.shutdown(wait=True)

    @property
    def alive(self) -> bool:
        return not self.task.done()

    async def submit(self, texts: list[str]) -> np.ndarray:
        future = asyncio.get_running_loop().create_future()
        await self.queue.put((texts, future))
        return await future

    async def _gather(self) -> list[tuple[list[str], asyncio.Future]]:
        pending = [await self.queue.get()]
        count = len(pending[0][0])
        deadline = time.monotonic() + self.max_wait
        while count < self.max_batch:
            try:
                item = self.queue.get_nowait()
            except asyncio.QueueEmpty:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    item = await asyncio.wait_for(self.queue.get(), left)
                except asyncio.TimeoutError:
                    break
            pending.append(item)
            count += len(item[0])
        return pending

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            pending = await self._gather()
            texts = [text for item_texts, _ in pending for text in item_texts]
            try:
                probs = await loop.run_in_executor(self.executor, self.classifier.predict_proba, texts,
                                                   self.batch_size)
            except Exception as e:  # one bad batch must not kill the loop; every waiter hears of it
                self.stats["errors"] += 1
                for _, future in pending:
                    if not future.done():
                        future.set_exception(e)
                continue
            self.stats["batches"] += 1
            self.stats["requests"] += len(pending)
            self.stats["texts"] += len(texts)
            start = 0
            for item_texts, future in pending:
                if not future.done():  # a client that went away leaves a cancelled future
                    future.set_result(probs[start:start + len(item_texts)])
                start += len(item_texts)


async def read_body(request: Request, max_bytes: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise HTTPException(413, f"body is {declared} bytes; the limit is {max_bytes}")
    body = bytearray()
    async for chunk in request.stream():  # chunked uploads declare no length: count as they arrive
        body += chunk
        if len(body) > max_bytes:
            raise HTTPException(413, f"body is over the limit of {max_bytes} bytes")
    return bytes(body)


def parse(model: type[BaseModel], body: bytes, limits: TextLimits) -> BaseModel:
    """The body validated by `model`; HTTPException 400 (not JSON) or 422 (not the model) otherwise."""
    try:
        # pydantic's JSON parser bounds nesting depth itself: "[" * 100000 is a 400, not a RecursionError
        return model.model_validate_json(body, context={"limits": limits})
    except ValidationError as e:
        error = e.errors(include_url=False, include_input=False)[0]
        if error["type"] == "json_invalid":
            raise HTTPException(400, f"body is not valid JSON: {error['ctx']['error']}")
        if isinstance(error.get("ctx", {}).get("error"), InvalidTexts):
            raise HTTPException(422, str(error["ctx"]["error"]))
        raise HTTPException(422, f"{'.'.join(map(str, error['loc'])) or 'body'}: {error['msg']}")


def request_body(model: type[BaseModel]) -> dict:
    """openapi_extra for a route that reads its body itself (for the byte limit): the schema to show."""
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}}


def add_schemas(app: FastAPI, models: list[type[BaseModel]]) -> None:
    """Put the request models, which no route parameter names, into the app's OpenAPI components."""
    generate = app.openapi

    def openapi():
        if app.openapi_schema is None:
            schema = generate()
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in models:
                model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                components.update(model_schema.pop("$defs", {}))
                components[model.__name__] = model_schema
        return app.openapi_schema

    app.openapi = openapi


def create_app(classifier: Classifier, options: ServeOptions = ServeOptions(),
               batch_size: int = RuntimeOptions.batch_size) -> FastAPI:
    batcher = MicroBatcher(classifier, options.max_batch, options.max_wait_ms, batch_size)
    limits = options.limits

    @asynccontextmanager
    async def lifespan(app):
        await batcher.start()
        yield
        await batcher.stop()

    app = FastAPI(title="cvguard", summary="Chinese cyber-violence classifier", lifespan=lifespan)
    add_schemas(app, [ClassifyRequest, AnalyzeCommentRequest])

    @app.post("/v1/classify", response_model=ClassifyResponse, openapi_extra=request_body(ClassifyRequest))
    async def classify(request: Request):
        body = await read_body(request, options.max_body_bytes)
        texts = parse(ClassifyRequest, body, limits).texts
        probs = await batcher.submit(texts)
        results = classifier.format(texts, probs)
        for result in results:
            del result["text"]  # the caller has it; echoing doubles the response
        return {"results": results}

    @app.exception_handler(PerspectiveError)
    async def perspective_error(request: Request, e: PerspectiveError):
        return JSONResponse(e.body, status_code=e.code)

    @app.post("/v1alpha1/comments:analyze", response_model=AnalyzeCommentResponse, response_model_exclude_none=True,
              openapi_extra=request_body(AnalyzeCommentRequest))
    async def analyze(request: Request):
        try:
            req = parse(AnalyzeCommentRequest, await read_body(request, options.max_body_bytes), limits)
        except HTTPException as e:  # Perspective's clients read its error shape, not FastAPI's
            raise PerspectiveError(e.detail, code=400 if e.status_code == 422 else e.status_code)
        languages = req.languages or ["zh"]
        unknown = sorted(set(req.requestedAttributes) - set(ATTRIBUTES))
        if unknown:
            raise PerspectiveError(f"unsupported attributes {unknown}; cvguard serves {sorted(ATTRIBUTES)}")
        if not any(chinese(language) for language in languages):
            attribute = next(iter(req.requestedAttributes))
            raise PerspectiveError(f"Attribute {attribute} does not support request languages: "
                                   f"{', '.join(languages)}", "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE")
        text = req.comment.text
        try:
            validate_texts([text], TextLimits(max_chars=limits.max_chars))
        except InvalidTexts as e:
            raise PerspectiveError(f"comment.text {e.problem}", "COMMENT_TOO_LONG" if text.strip() else "COMMENT_EMPTY")
        spans = sentence_spans(text) if req.spanAnnotations else []
        texts = [text] + [text[begin:end] for begin, end in spans]
        rows = classifier.format(texts, await batcher.submit(texts))  # rounded as /v1/classify rounds
        scores = {}
        for attribute, parameters in req.requestedAttributes.items():
            label, floor = ATTRIBUTES[attribute], parameters.scoreThreshold or 0.0
            entry = {}
            if rows[0]["probs"][label] >= floor:
                entry["summaryScore"] = {"value": rows[0]["probs"][label], "type": "PROBABILITY"}
            if req.spanAnnotations:
                entry["spanScores"] = [{"begin": begin, "end": end, "score": {"value": row["probs"][label],
                                                                              "type": "PROBABILITY"}}
                                       for (begin, end), row in zip(spans, rows[1:]) if row["probs"][label] >= floor]
            if entry:
                scores[attribute] = entry
        return {"attributeScores": scores, "languages": languages, "clientToken": req.clientToken}

    @app.get("/healthz", response_model=Health, responses={503: {"model": Health}})
    async def healthz():
        health = Health(status="ok" if batcher.alive else "batcher stopped", variant=classifier.variant,
                        device=classifier.device, labels=classifier.labels, long_texts=classifier.long_texts,
                        queue=batcher.queue.qsize(), **batcher.stats)
        return JSONResponse(health.model_dump(), status_code=200 if batcher.alive else 503)

    return app


def serve(artifact, runtime: RuntimeOptions = RuntimeOptions(), options: ServeOptions = ServeOptions()) -> None:
    import uvicorn

    classifier = Classifier.from_options(artifact, runtime, spin_wait=False)
    app = create_app(classifier, options, runtime.batch_size)
    # No access log: at a few thousand requests per second it costs more CPU than it is worth.
    uvicorn.run(app, host=options.host, port=options.port, access_log=False, log_level="info")
