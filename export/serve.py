"""HTTP serving for an exported artifact: `cvguard serve ARTIFACT` (needs the `serve` extra).

    POST /v1/classify  {"texts": ["...", ...]} -> {"results": [{"probs": {...}, "labels": [...]}, ...]}
    GET  /healthz      -> {"status": "ok", ...}

Concurrent requests are micro-batched: a queue gathers requests for up to `max_wait_ms` (or until
`max_batch` texts), one onnxruntime call scores them all in a worker thread, and each request gets its
own rows back. One call at a time: onnxruntime already uses every core inside a call, and batching many
short requests into one call is what makes a CPU fast. Bad input gets a 4xx answer that says what is wrong:
400 malformed JSON, 413 body too large, 422 anything else (empty list, non-string, empty string, too many
texts, text too long).
"""

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass

import numpy as np
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

from cvguard.export.runtime import Classifier


@dataclass
class Limits:
    max_texts: int = 64  # per request
    max_chars: int = 2000  # per text
    max_body_bytes: int = 1 << 20


class MicroBatcher:
    def __init__(self, classifier: Classifier, max_batch: int = 64, max_wait_ms: float = 5.0, batch_size: int = 32):
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


def check_texts(payload, limits: Limits) -> list[str]:
    if not isinstance(payload, dict) or "texts" not in payload:
        raise HTTPException(422, 'expected a JSON object {"texts": ["...", ...]}')
    texts = payload["texts"]
    if not isinstance(texts, list):
        raise HTTPException(422, f"texts must be a list of strings, got {type(texts).__name__}")
    if not texts:
        raise HTTPException(422, "texts is empty")
    if len(texts) > limits.max_texts:
        raise HTTPException(422, f"too many texts: {len(texts)} > {limits.max_texts} per request")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise HTTPException(422, f"texts[{i}] is {type(text).__name__}, expected a string")
        if not text.strip():
            raise HTTPException(422, f"texts[{i}] is empty or whitespace only")
        if len(text) > limits.max_chars:
            raise HTTPException(422, f"texts[{i}] is too long: {len(text)} > {limits.max_chars} characters")
    return texts


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


def create_app(classifier: Classifier, limits: Limits = Limits(), max_batch: int = 64,
               max_wait_ms: float = 5.0, batch_size: int = 32) -> FastAPI:
    batcher = MicroBatcher(classifier, max_batch, max_wait_ms, batch_size)

    @asynccontextmanager
    async def lifespan(app):
        await batcher.start()
        yield
        await batcher.stop()

    app = FastAPI(title="cvguard", lifespan=lifespan)

    @app.post("/v1/classify")
    async def classify(request: Request):
        body = await read_body(request, limits.max_body_bytes)
        try:
            payload = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise HTTPException(400, f"body is not valid JSON: {e}")
        texts = check_texts(payload, limits)
        probs = await batcher.submit(texts)
        results = classifier.format(texts, probs)
        for result in results:
            del result["text"]  # the caller has it; echoing doubles the response
        return {"results": results}

    @app.get("/healthz")
    async def healthz():
        body = {"status": "ok" if batcher.alive else "batcher stopped", "variant": classifier.variant,
                "device": classifier.device, "labels": classifier.labels, "long_texts": classifier.long_texts,
                "queue": batcher.queue.qsize(), **batcher.stats}
        return JSONResponse(body, status_code=200 if batcher.alive else 503)

    return app


def serve(artifact, host: str = "127.0.0.1", port: int = 8000, device: str = "cpu", variant: str | None = None,
          intra_op_threads: int = 0, limits: Limits = Limits(), max_batch: int = 64, max_wait_ms: float = 5.0,
          batch_size: int = 32, long_texts: str | None = None) -> None:
    import uvicorn

    classifier = Classifier.load(artifact, device=device, variant=variant, intra_op_threads=intra_op_threads,
                                 long_texts=long_texts, spin_wait=False)
    app = create_app(classifier, limits, max_batch, max_wait_ms, batch_size)
    # No access log: at a few thousand requests per second it costs more CPU than it is worth.
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="info")
