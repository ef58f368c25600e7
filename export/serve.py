"""HTTP serving for an exported artifact: `cvguard serve ARTIFACT` (needs the `serve` extra).

    POST /v1/classify                 {"texts": ["...", ...]} -> {"results": [{"probs": {...}, "labels": [...]}]}
    POST /v1alpha1/comments:analyze   Perspective API's AnalyzeComment, for clients written against Perspective
    POST /v1/events                   {"events": [...]}: the monitor's comment events (with --monitor-db)
    GET  /v1/alerts                   the monitor's open alerts, highest priority first (with --monitor-db)
    GET  /healthz                     {"status": "ok", ...}; 503 when the batcher has stopped
    GET  /docs, /openapi.json         the request and response schemas (the pydantic models below)

Concurrent requests are micro-batched: requests gather for up to `max_wait_ms` (or until a call is full:
`max_batch` texts or `max_call_tokens` characters), one predict_proba call scores them in a worker thread,
and each request gets its own rows back. One call at a time: onnxruntime already uses every core inside a
call, and batching many short requests into one call is what makes a CPU fast. A request is cut into chunks
(at most the runtime batch size of texts and max_call_tokens characters) taken round-robin across waiting
requests, so a 1-text request waits about one call behind a big one, not the whole big request. If a call
raises, each of its chunks is scored again on its own: only the request whose text fails gets a 500.
Bad input gets a 4xx answer that says what is wrong: 400 malformed JSON (lone surrogate escapes included),
413 body too large, 422 anything else (empty list, non-string, empty string, too many texts, text too long,
over max_request_tokens characters in all), checked by options.validate_texts, the runtime's own check.

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
import json
import re
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Literal, TypeVar

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
    isolated: int


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


def chunks(texts: list[str], max_texts: int, max_chars: int) -> list[tuple[int, int, int]]:
    """(start, end, characters) of consecutive slices of at most max_texts texts and max_chars characters
    (a text longer than max_chars is a chunk of its own)."""
    bounds, start, chars = [], 0, 0
    for i, text in enumerate(texts):
        if i > start and (i - start == max_texts or chars + len(text) > max_chars):
            bounds.append((start, i, chars))
            start, chars = i, 0
        chars += len(text)
    return bounds + [(start, len(texts), chars)]


class Job:
    """One request: its texts, the chunks not yet scored, and a future that gets every row at the end."""

    def __init__(self, texts: list[str], bounds: list[tuple[int, int, int]], future: asyncio.Future):
        self.texts, self.chunks, self.future = texts, deque(bounds), future
        self.left = len(bounds)  # chunks whose rows have not come back
        self.probs: np.ndarray | None = None

    def fill(self, start: int, end: int, rows: np.ndarray | Exception) -> bool:
        """The rows of one chunk (or why it failed); True when the request is answered."""
        if self.future.done():  # failed already, or the client went away (a cancelled future)
            return False
        if isinstance(rows, Exception):
            self.future.set_exception(rows)
            return False
        if self.probs is None:
            self.probs = np.empty((len(self.texts), rows.shape[1]), dtype=rows.dtype)
        self.probs[start:end] = rows
        self.left -= 1
        if self.left == 0:
            self.future.set_result(self.probs)
        return self.left == 0


class MicroBatcher:
    """Requests wait as jobs; each onnxruntime call takes chunks of them round-robin (fair: a 1-text request
    waits about one call behind a big one, not the whole big request), or whole requests in arrival order."""

    def __init__(self, classifier: Classifier, options: ServeOptions, batch_size: int):
        self.classifier = classifier
        self.max_batch = options.max_batch
        self.max_wait = options.max_wait_ms / 1000
        self.max_call_chars = options.max_call_tokens
        self.fair = options.fair_scheduling
        self.batch_size = batch_size
        # isolated: calls that raised and were re-scored chunk by chunk, so one bad request fails alone
        self.stats = {"requests": 0, "texts": 0, "batches": 0, "errors": 0, "isolated": 0}

    async def start(self) -> None:
        self.waiting: deque[Job] = deque()  # jobs with chunks left, in round-robin order
        self.arrived = asyncio.Event()
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cvguard-ort")
        self.task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        self.task.cancel()
        self.executor.shutdown(wait=True)

    @property
    def alive(self) -> bool:
        return not self.task.done()

    @property
    def queued(self) -> int:
        """Texts waiting to be scored."""
        return sum(end - start for job in self.waiting for start, end, _ in job.chunks)

    def full(self) -> bool:
        """Enough waits to fill a call: waiting for more would only delay it."""
        chars = sum(cost for job in self.waiting for _, _, cost in job.chunks)
        return self.queued >= self.max_batch or chars >= self.max_call_chars

    async def submit(self, texts: list[str]) -> np.ndarray:
        future = asyncio.get_running_loop().create_future()
        whole = [(0, len(texts), sum(map(len, texts)))]
        self.waiting.append(Job(texts, chunks(texts, self.batch_size, self.max_call_chars) if self.fair else whole,
                                future))
        self.arrived.set()
        return await future

    async def _gather(self) -> list[tuple[Job, int, int]]:
        while not self.waiting:
            self.arrived.clear()
            await self.arrived.wait()
        deadline = time.monotonic() + self.max_wait
        while not self.full() and (left := deadline - time.monotonic()) > 0:
            self.arrived.clear()  # wait a little for others to batch with
            try:
                await asyncio.wait_for(self.arrived.wait(), left)
            except asyncio.TimeoutError:
                break
        batch, texts, chars = [], 0, 0
        while self.waiting:
            job = self.waiting.popleft()
            if job.future.done():  # failed or abandoned: its other chunks are not worth scoring
                continue
            start, end, cost = job.chunks[0]
            if batch and (texts + end - start > self.max_batch or chars + cost > self.max_call_chars):
                self.waiting.appendleft(job)
                break
            job.chunks.popleft()
            batch.append((job, start, end))
            texts, chars = texts + end - start, chars + cost
            if job.chunks:
                self.waiting.append(job)  # its next chunk waits for the next round
        return batch

    async def _score(self, texts: list[str]) -> np.ndarray:
        loop = asyncio.get_running_loop()
        probs = await loop.run_in_executor(self.executor, self.classifier.predict_proba, texts, self.batch_size)
        self.stats["batches"] += 1
        return probs

    async def _loop(self) -> None:
        while True:
            batch = await self._gather()
            if not batch:
                continue
            sizes = [end - start for _, start, end in batch]
            try:
                probs = await self._score([text for job, start, end in batch for text in job.texts[start:end]])
                parts = np.split(probs, np.cumsum(sizes)[:-1])
            except Exception:  # one bad text must not fail the others: each chunk again on its own
                self.stats["isolated"] += 1
                parts = []
                for job, start, end in batch:
                    try:
                        parts.append(await self._score(job.texts[start:end]))
                    except Exception as e:
                        self.stats["errors"] += 1
                        parts.append(e)
            for (job, start, end), rows in zip(batch, parts):
                if job.fill(start, end, rows):
                    self.stats["requests"] += 1
                    self.stats["texts"] += len(job.texts)


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


Body = TypeVar("Body", bound=BaseModel)


def parse(model: type[Body], body: bytes, limits: TextLimits) -> Body:
    """The body validated by `model`; HTTPException 400 (not JSON) or 422 (not the model) otherwise."""
    try:
        # pydantic's JSON parser bounds nesting depth itself: "[" * 100000 is a 400, not a RecursionError
        return model.model_validate_json(body, context={"limits": limits})
    except ValidationError as e:
        error = e.errors(include_url=False, include_input=False)[0]
        if error["type"] == "json_invalid":
            raise HTTPException(400, f"body is not valid JSON: {error['ctx']['error']}") from None
        if isinstance(error.get("ctx", {}).get("error"), InvalidTexts):
            raise HTTPException(422, str(error["ctx"]["error"])) from None
        raise HTTPException(422, f"{'.'.join(map(str, error['loc'])) or 'body'}: {error['msg']}") from None


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
               batch_size: int = RuntimeOptions.batch_size, monitor=None) -> FastAPI:
    """monitor: a cvguard.monitor.engine.Monitor on `classifier`, for /v1/events and /v1/alerts."""
    batcher = MicroBatcher(classifier, options, batch_size)
    limits = options.limits

    @asynccontextmanager
    async def lifespan(app):
        await batcher.start()
        yield
        await batcher.stop()

    async def score(texts: list[str]) -> np.ndarray:
        try:
            return await batcher.submit(texts)
        except Exception as e:  # only this request's texts failed (the batcher re-scores the others alone)
            raise HTTPException(500, f"scoring failed: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from None

    app = FastAPI(title="cvguard", summary="Chinese cyber-violence classifier", lifespan=lifespan)
    add_schemas(app, [ClassifyRequest, AnalyzeCommentRequest])

    @app.post("/v1/classify", response_model=ClassifyResponse, openapi_extra=request_body(ClassifyRequest))
    async def classify(request: Request):
        body = await read_body(request, options.max_body_bytes)
        texts = parse(ClassifyRequest, body, limits).texts
        probs = await score(texts)
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
            raise PerspectiveError(e.detail, code=400 if e.status_code == 422 else e.status_code) from None
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
            raise PerspectiveError(f"comment.text {e.problem}", "COMMENT_TOO_LONG" if text.strip() else "COMMENT_EMPTY") from None
        spans = sentence_spans(text) if req.spanAnnotations else []
        texts = [text] + [text[begin:end] for begin, end in spans]
        rows = classifier.format(texts, await score(texts))  # rounded as /v1/classify rounds
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

    if monitor is not None:
        add_monitor_routes(app, monitor, batcher, options)

    @app.get("/healthz", response_model=Health, responses={503: {"model": Health}})
    async def healthz():
        health = Health(status="ok" if batcher.alive else "batcher stopped", variant=classifier.variant,
                        device=classifier.device, labels=classifier.labels, long_texts=classifier.long_texts,
                        queue=batcher.queued, **batcher.stats)
        return JSONResponse(health.model_dump(), status_code=200 if batcher.alive else 503)

    return app


def add_monitor_routes(app: FastAPI, monitor, batcher: MicroBatcher, options: ServeOptions) -> None:
    from cvguard.monitor.engine import public

    async def in_worker(func, *args):
        # The batcher's one thread: the monitor's onnxruntime calls and database writes never overlap the
        # classifier's calls or each other.
        return await asyncio.get_running_loop().run_in_executor(batcher.executor, func, *args)

    @app.post("/v1/events")
    async def events(request: Request):
        body = await read_body(request, options.max_body_bytes)
        try:
            value = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise HTTPException(400, f"body is not valid JSON: {e}") from None
        items = value.get("events") if isinstance(value, dict) else value
        if not isinstance(items, list) or not items:
            raise HTTPException(422, 'expected {"events": [event, ...]} with at least one event')
        result = await in_worker(lambda: monitor.process(items, list(range(len(items))), "http"))
        return {"accepted": result.accepted, "duplicates": result.duplicates,
                "rejected": [{"index": r["line"], "reason": r["reason"]} for r in result.rejected],
                "alerts": [public(a) for a in result.alerts]}

    @app.get("/v1/alerts")
    async def alerts(target: str | None = None, status: str = "open"):
        listed = await in_worker(monitor.alerts, None if status == "all" else status, target)
        return {"alerts": [public(a) for a in listed]}


def serve(artifact, runtime: RuntimeOptions = RuntimeOptions(), options: ServeOptions = ServeOptions(),
          monitor_db: str | None = None, monitor_config=None) -> None:
    import uvicorn

    classifier = Classifier.from_options(artifact, runtime, spin_wait=False)
    monitor = None
    if monitor_db:
        from cvguard.monitor.config import MonitorConfig
        from cvguard.monitor.engine import Monitor
        from cvguard.monitor.stream import announcer

        config = monitor_config or MonitorConfig()
        monitor = Monitor.open(classifier, monitor_db, config, announcer(config.webhook))
    app = create_app(classifier, options, runtime.batch_size, monitor)
    # No access log: at a few thousand requests per second it costs more CPU than it is worth.
    uvicorn.run(app, host=options.host, port=options.port, access_log=False, log_level="info")
