"""The OpenAI Batch API as a transport: upload a request file, create a batch, poll it, read its results.

This module knows nothing of the pipeline. It turns a list of `BatchRequest` into a batch id (`submit`),
follows a batch to its end (`wait`), and turns the output and error files into a `Completion` or a failure
per custom_id (`results`). Remembering which batches are in flight, across restarts, is the caller's job:
`submit` returns the id before anything else can go wrong, so the caller can write it down at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from selfinstruct.engine.aio import deadline
from selfinstruct.engine.raw_reply import MalformedResponse, reply_of
from selfinstruct.engine.retry import fatal_status, retry_after, retry_reason, retry_wait
from selfinstruct.engine.types import Api, Completion, EndpointSettings, StepParams
from selfinstruct.engine.wire import CHAT_PATH, COMPLETIONS_PATH, request_body, request_path
from selfinstruct.errors import EndpointError

log = logging.getLogger(__name__)
# The fix for a 404 from a Batch API call: local servers (vLLM, llama.cpp, Ollama) have no such API, and a batch
# or file made with another key is not found with this one.
NOT_FOUND = (
    "check that the endpoint offers the Batch API (/v1/files, /v1/batches) and that OPENAI_API_KEY is the key "
    "that made it"
)

T = TypeVar("T")
MALFORMED = "malformed response body"  # a line answered 200 that is not a completion: billed, and retried

_API_OF_PATH: dict[str, Api] = {CHAT_PATH: "chat", COMPLETIONS_PATH: "completions"}
# The states a batch cannot leave; "expired" and "cancelled" batches may still hold part of their results.
TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})


@dataclass(frozen=True)
class BatchRequest:
    """One line of a batch: the same request the synchronous engine would send for (step, prompt, seed)."""

    custom_id: str
    prompt: str
    params: StepParams
    seed: int | None = None


@dataclass(frozen=True)
class BatchStatus:
    id: str
    status: str
    total: int = 0
    completed: int = 0
    failed: int = 0
    output_file_id: str | None = None
    error_file_id: str | None = None
    errors: str = ""
    endpoint: str = ""  # the path its lines went to, as the server tells it

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    def describe(self) -> str:
        """`in_progress 12/40 (1 failed)`: what a progress line shows."""
        text = self.status
        if self.total:
            text += f" {self.completed}/{self.total}"
        if self.failed:
            text += f" ({self.failed} failed)"
        return text


@dataclass
class BatchResults:
    completions: dict[str, Completion] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)  # custom_id -> why; these may be sent again


def batch_path(settings: EndpointSettings, requests: Sequence[BatchRequest]) -> str:
    """The one endpoint path of a batch's requests (each request's step decides its API, StepParams.api): a
    batch names one endpoint, and the Batch API fails a file whose lines go to another."""
    paths = {request_path(settings, r.params) for r in requests}
    if len(paths) != 1:
        raise ValueError(f"a batch holds requests to one endpoint path, not {sorted(paths)}")
    return paths.pop()


def request_file(settings: EndpointSettings, requests: Sequence[BatchRequest]) -> bytes:
    """The JSONL request file of a batch; custom_ids must be unique, and every line go to one path."""
    url = batch_path(settings, requests)
    seen: set[str] = set()
    lines = []
    for r in requests:
        if r.custom_id in seen:
            raise ValueError(f"custom_id {r.custom_id!r} appears twice in one batch")
        seen.add(r.custom_id)
        line = {
            "custom_id": r.custom_id,
            "method": "POST",
            "url": url,
            "body": request_body(settings, r.prompt, r.params, r.seed),
        }
        lines.append(json.dumps(line, ensure_ascii=False, separators=(",", ":")))
    return ("\n".join(lines) + "\n").encode()


def _status(batch: Any) -> BatchStatus:
    counts = batch.request_counts
    errors = ""
    if batch.errors is not None and batch.errors.data:
        errors = "; ".join(f"{e.code}: {e.message}" for e in batch.errors.data[:3])
    return BatchStatus(
        id=batch.id,
        status=str(batch.status),
        total=counts.total if counts else 0,
        completed=counts.completed if counts else 0,
        failed=counts.failed if counts else 0,
        output_file_id=batch.output_file_id,
        error_file_id=batch.error_file_id,
        errors=errors,
        endpoint=str(getattr(batch, "endpoint", "") or ""),
    )


class BatchClient:
    """Batches on one endpoint, through the official SDK; control calls are retried like completions."""

    def __init__(self, settings: EndpointSettings, *, poll_seconds: float = 5.0, max_poll_seconds: float = 60.0):
        import openai

        self.settings = settings
        self.poll_seconds = poll_seconds
        self.max_poll_seconds = max_poll_seconds
        self._client = openai.AsyncOpenAI(
            base_url=settings.base_url, api_key=settings.api_key, max_retries=0, timeout=settings.timeout
        )
        self._jitter = random.Random()

    async def aclose(self) -> None:
        await self._client.close()

    async def _retrying(self, what: str, call: Callable[[], Awaitable[T]], *, bounded: bool = True) -> T:
        """`call`, retried on 429, 5xx, timeouts and dropped connections; other errors are one clear line. A
        `bounded` call has --timeout for the whole attempt, as a completion request has; file transfers, whose
        length grows with the batch, are bounded per read by the SDK only."""
        import openai

        where, timeout = self.settings.where, self.settings.timeout
        last = ""
        guessed = 0  # waits so far that no Retry-After named (retry_wait)
        for attempt in range(self.settings.max_retries + 1):
            delay: float | None = None
            try:
                return await (deadline(call(), timeout) if bounded else call())
            except TimeoutError:
                last = f"no answer within {timeout:g} s"
            except (openai.APITimeoutError, openai.APIConnectionError) as exc:
                last = f"{type(exc).__name__}: {exc}"
            except openai.APIStatusError as exc:
                fatal = fatal_status(exc, self.settings, not_found=NOT_FOUND)
                if fatal is not None:
                    raise EndpointError(f"{where}: {what} failed: {fatal}") from None
                last, delay = retry_reason(exc), retry_after(exc)
            if attempt < self.settings.max_retries:
                wait = retry_wait(guessed, delay, self._jitter)
                guessed += delay is None
                log.info("%s failed (%s); retry %d in %.1f s", what, last, attempt + 1, wait)
                await asyncio.sleep(wait)
        raise EndpointError(
            f"{where}: {what} gave up after {self.settings.max_retries + 1} attempts ({last}); "
            "run the same command again to pick up the batches in flight"
        )

    async def upload(self, requests: Sequence[BatchRequest]) -> str:
        """The id of the uploaded request file (uploads cost nothing; a lost one is simply made again)."""
        data = request_file(self.settings, requests)
        uploaded = await self._retrying(
            "uploading a batch file",
            lambda: self._client.files.create(file=("requests.jsonl", data), purpose="batch"),
            bounded=False,
        )
        return uploaded.id

    async def create(self, file_id: str, *, path: str | None = None, maybe_exists: bool = False) -> BatchStatus:
        """The batch of an uploaded file (24 h window) to `path` (by default the endpoint's API), created at most
        once.

        A create whose answer was lost may have created the batch anyway: before trying again (or at once, with
        `maybe_exists`, for a file an earlier process uploaded), look for a batch of this file, so that neither a
        flaky connection nor a kill ever pays for the same requests twice.
        """
        endpoint: Any = path or request_path(self.settings)
        tried = maybe_exists

        async def create_once() -> Any:
            nonlocal tried
            if tried:
                found = await self.find_by_file(file_id)
                if found is not None:
                    return found
            tried = True
            return _status(
                await self._client.batches.create(
                    input_file_id=file_id, endpoint=endpoint, completion_window="24h", metadata={"file": file_id}
                )
            )

        status: BatchStatus = await self._retrying("creating a batch", create_once)
        return status

    async def submit(self, requests: Sequence[BatchRequest]) -> BatchStatus:
        return await self.create(await self.upload(requests), path=batch_path(self.settings, requests))

    async def find_by_file(self, file_id: str, limit: int = 1000) -> BatchStatus | None:
        """The batch created from this request file, among the newest `limit` batches of the account."""
        seen = 0
        async for batch in self._client.batches.list(limit=100):
            if batch.input_file_id == file_id:
                return _status(batch)
            seen += 1
            if seen >= limit:
                break
        return None

    async def retrieve(self, batch_id: str) -> BatchStatus:
        batch = await self._retrying(f"checking batch {batch_id}", lambda: self._client.batches.retrieve(batch_id))
        return _status(batch)

    async def wait(self, batch_id: str, on_change: Callable[[BatchStatus], None] | None = None) -> BatchStatus:
        """Poll until the batch ends, backing off from `poll_seconds` to `max_poll_seconds`."""
        delay = self.poll_seconds
        last: tuple[str, int, int] | None = None
        while True:
            status = await self.retrieve(batch_id)
            key = (status.status, status.completed, status.failed)
            if key != last:
                last = key
                delay = self.poll_seconds
                if on_change is not None:
                    on_change(status)
            if status.done:
                return status
            await asyncio.sleep(delay)
            delay = min(self.max_poll_seconds, delay * 1.5)

    async def _file_text(self, file_id: str) -> str:
        content = await self._retrying(
            f"downloading {file_id}", lambda: self._client.files.content(file_id), bounded=False
        )
        return content.text

    async def results(self, status: BatchStatus, expected: Iterable[str], path: str | None = None) -> BatchResults:
        """Completions and failures for every expected custom_id; lines missing from both files are failures.
        Replies are read in the shape of the batch's API: `path`, else the endpoint the batch names, else --api's."""
        api = _API_OF_PATH.get(path or status.endpoint, self.settings.api)
        out = BatchResults()
        if status.status == "failed":
            reason = f"batch {status.id} failed" + (f": {status.errors}" if status.errors else "")
            out.failures = dict.fromkeys(expected, reason)
            return out
        for file_id in (status.output_file_id, status.error_file_id):
            if file_id:
                self._read_lines(await self._file_text(file_id), out, api)
        for custom_id in expected:
            if custom_id not in out.completions and custom_id not in out.failures:
                out.failures[custom_id] = f"missing from the output of batch {status.id} ({status.status})"
        return out

    def _read_lines(self, text: str, out: BatchResults, api: Api) -> None:
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                custom_id = str(record["custom_id"])
            except (json.JSONDecodeError, KeyError, TypeError):
                log.warning("batch output line %d is not a result line; ignored", number)
                continue
            if custom_id in out.completions:
                continue
            out.failures.pop(custom_id, None)
            response = record.get("response") or {}
            error = record.get("error")
            if error or response.get("status_code") != 200:
                out.failures[custom_id] = _failure_text(error, response)
                continue
            try:  # read as the online client reads a 200 (raw_reply): the same shapes, the same refusals
                out.completions[custom_id] = reply_of(response.get("body"), api)
            except MalformedResponse as exc:
                out.failures[custom_id] = f"{MALFORMED}: {exc}"


def _failure_text(error: Any, response: dict[str, Any]) -> str:
    """`HTTP 400 context_length_exceeded: ...` or `batch_expired: ...`: status and code first, for the caller."""
    if isinstance(error, dict):
        return f"{error.get('code') or 'error'}: {error.get('message') or ''}".strip(": ")
    body = response.get("body")
    inner = body.get("error") if isinstance(body, dict) else None
    inner = inner if isinstance(inner, dict) else {}
    head = " ".join(str(x) for x in (f"HTTP {response.get('status_code')}", inner.get("code")) if x)
    return f"{head}: {inner.get('message') or ''}".rstrip(": ")
