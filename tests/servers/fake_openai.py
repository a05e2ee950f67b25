"""A scripted, fault-injecting fake of the OpenAI HTTP API for tests and benchmarks.

The server is a real HTTP/1.1 server (stdlib ``ThreadingHTTPServer``) on 127.0.0.1; clients use the
official ``openai`` SDK unchanged and simply point ``base_url`` at :attr:`FakeOpenAIServer.url`.

Endpoints (each also accepted without the ``/v1`` prefix):

* ``POST /v1/chat/completions`` and ``POST /v1/completions``: answered by the *responder*;
* ``GET /v1/models`` and ``GET /v1/models/{id}``;
* anything else: 404 with an OpenAI-style error body.

Usage::

    with FakeOpenAIServer(lambda req: Reply(text="hi")) as server:
        server.inject(Fault(status=429, retry_after=1))
        client = OpenAI(base_url=server.url, api_key="x", max_retries=0)

Command line (for benchmarks that need the server in another process)::

    python tests/servers/fake_openai.py --port 0 --latency 0.2 --responder package.module:function

prints ``READY http://127.0.0.1:PORT/v1`` once listening and serves until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import itertools
import json
import logging
import random
import re
import signal
import socket
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

try:
    from tests.servers.context_rules import ContextOutcome, context_rule
    from tests.servers.server_rules import PROFILES, apply_stop, check_request
except ModuleNotFoundError:  # run as a script (tests/ first on sys.path): __main__ re-imports tests.servers.fake_openai
    from context_rules import ContextOutcome, context_rule  # type: ignore[no-redef]
    from server_rules import PROFILES, apply_stop, check_request  # type: ignore[no-redef]

__all__ = [
    "COMPLETION_PATHS",
    "ExtraRoutes",
    "FakeOpenAIServer",
    "Fault",
    "Reply",
    "Request",
    "Responder",
    "Stats",
    "bpe_like_count",
    "echo_responder",
    "main",
]

log = logging.getLogger(__name__)

CHAT_PATH = "/v1/chat/completions"
COMPLETIONS_PATH = "/v1/completions"
MODELS_PATH = "/v1/models"
COMPLETION_PATHS = (CHAT_PATH, COMPLETIONS_PATH)

_ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "permission_error",
    404: "invalid_request_error",
    409: "invalid_request_error",
    422: "invalid_request_error",
    429: "requests",
}
_DEFAULT_MESSAGES: dict[int, str] = {
    400: "Bad request (injected fault).",
    401: "Incorrect API key provided (injected fault).",
    403: "You are not allowed to access this resource (injected fault).",
    404: "The model does not exist or you do not have access to it (injected fault).",
    429: "Rate limit reached (injected fault). Please try again later.",
    500: "The server had an error while processing your request (injected fault).",
    502: "Bad gateway (injected fault).",
    503: "The engine is currently overloaded (injected fault). Please try again later.",
}


@dataclass
class Request:
    """One request as the server received it (recorded in arrival order)."""

    path: str  # normalised: "/v1/chat/completions" or "/v1/completions"
    body: dict[str, Any]
    headers: dict[str, str]  # lower-cased names
    prompt: str
    # Extension: how the request was answered ("ok", "fault_status", ...); "" while in flight.
    outcome: str = ""


@dataclass
class Reply:
    """What the responder wants the model to say."""

    text: str
    finish_reason: str = "stop"
    prompt_tokens: int | None = None  # default: whitespace word count of the prompt
    completion_tokens: int | None = None  # default: whitespace word count of text


@dataclass
class Fault:
    """An injected failure; applied to one request before the responder runs.

    ``hang`` is applied first (sleep), then the first of ``drop``, ``status``, ``body``, ``text``,
    ``empty_choices``, ``null_choices`` that is set decides the answer; with only ``hang`` set the request is
    answered normally. ``retry_after`` adds ``Retry-After`` / ``retry-after-ms`` headers to whatever is answered.
    ``body`` is sent verbatim with status 200 and ``content_type``: a broken
    JSON document, or the HTML page a proxy answers with; in a batch line (FakeBatches), a JSON ``body`` is the
    line's body. ``null_choices`` answers ``{"choices": null}``.

    Faults that change a normal answer instead of replacing it: ``cut`` keeps only that fraction of the
    responder's text (cut mid-word, as a token limit does) and reports ``finish_reason="length"``, the way
    a reply that ran into ``max_tokens`` arrives; ``reasoning_content`` adds a reasoning model's separate
    thinking field to a chat answer, which a client must never take for the answer; ``trickle`` sends the
    answer's headers at once and then its body one byte every ``trickle`` seconds (a server that is alive but
    never done: no read ever waits long, so only a deadline on the whole attempt ends it); a streamed answer
    (``"stream": true``) is sent one chunk every ``trickle`` seconds instead; ``stream_cut`` sends that many
    chunks of a streamed answer and then closes the connection without ending the stream (a proxy or a server
    that died mid-reply).
    """

    status: int | None = None
    retry_after: float | None = None
    message: str = ""
    code: str | None = None
    hang: float | None = None
    drop: bool = False
    text: str | None = None
    finish_reason: str | None = None
    empty_choices: bool = False
    body: str | None = None
    content_type: str = "application/json"
    null_choices: bool = False
    cut: float | None = None
    reasoning_content: str | None = None
    trickle: float | None = None
    stream_cut: int | None = None
    # Hostile usage, as some proxies and older local servers send it: `omit_usage` leaves the field out, `usage`
    # replaces it verbatim (negative, string or fractional counts). The server still meters what it served.
    omit_usage: bool = False
    usage: Any = None


Responder = Callable[[Request], "Reply | str"]


class ExtraRoutes(Protocol):
    """More endpoints on the same server (e.g. tests.servers.fake_batches): answers and returns True when a
    path is its own."""

    def handle(self, fake: FakeOpenAIServer, h: _Handler, method: str, path: str, raw: bytes) -> bool: ...


@dataclass(frozen=True)
class Stats:
    """Snapshot of request counters. ``sum(by_outcome.values()) == total``."""

    total: int
    by_path: dict[str, int]
    by_outcome: dict[str, int]
    connections: int  # TCP connections accepted (keep-alive reuse keeps this low)


def echo_responder(request: Request) -> Reply:
    """Default responder: deterministic echo of the start of the prompt."""
    return Reply(text=f"ok: {request.prompt[:40]}")


def _word_count(text: str) -> int:
    return len(text.split())


def bpe_like_count(text: str) -> int:
    """Closer to a real tokenizer than word counts: words, numbers and each punctuation mark are tokens, as
    GPT-style pre-tokenization splits them, and each CJK character is one."""
    return len(_BPE_PIECES.findall(text))


_BPE_PIECES = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[^\W\d_\u3400-\u9fff]+|\d{1,3}|[^\w\s]")


def _content_text(content: Any) -> str:
    """Text of a chat message ``content`` (string or list of typed parts)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts: list[str] = []
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
            elif isinstance(part, str):
                parts.append(part)
        return "\n".join(parts)
    return str(content)


def _extract_prompt(path: str, body: dict[str, Any]) -> str:
    if path == CHAT_PATH:
        messages = body.get("messages") or []
        if not isinstance(messages, list):
            return ""
        return "\n\n".join(_content_text(m.get("content")) for m in messages if isinstance(m, dict))
    prompt = body.get("prompt", "")
    if isinstance(prompt, list):
        prompt = prompt[0] if prompt else ""
    return prompt if isinstance(prompt, str) else json.dumps(prompt)


def _normalise_path(raw_path: str) -> str:
    path = raw_path.split("?", 1)[0].rstrip("/") or "/"
    if not path.startswith("/v1/") and path != "/v1":
        path = "/v1" + path
    return path


def _error_body(status: int, message: str, code: str | None, err_type: str | None = None) -> dict[str, Any]:
    if err_type is None:
        err_type = _ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": err_type, "param": None, "code": code}}


def _stream_events(payload: dict[str, Any], body: dict[str, Any]) -> list[dict[str, Any]]:
    """A completion payload as the chunks of a stream: a word per chunk, then the finish reason, then (with
    ``stream_options.include_usage``) the usage in a chunk without choices, as OpenAI sends them."""
    chat = payload["object"] == "chat.completion"
    head = {k: payload[k] for k in ("id", "created", "model")} | {
        "object": "chat.completion.chunk" if chat else "text_completion"
    }
    events: list[dict[str, Any]] = []
    for choice in payload["choices"]:
        text = (choice["message"]["content"] if chat else choice["text"]) or ""
        for piece in re.findall(r"\s*\S+\s*", text) or [""]:
            delta = {"delta": {"content": piece}} if chat else {"text": piece}
            events.append(head | {"choices": [{"index": choice["index"], **delta, "finish_reason": None}]})
        end = {"delta": {}} if chat else {"text": ""}
        last = {"index": choice["index"], **end, "finish_reason": choice["finish_reason"]}
        if "stop_reason" in choice:  # vLLM sends it with the finish reason
            last["stop_reason"] = choice["stop_reason"]
        events.append(head | {"choices": [last]})
    if (body.get("stream_options") or {}).get("include_usage") and "usage" in payload:
        events.append(head | {"choices": [], "usage": payload["usage"]})
    return events


class _ClientGone(Exception):
    """The peer closed the connection while we were answering."""


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() closes connections itself; never wait on idle keep-alive sockets
    request_queue_size = 512
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], fake: FakeOpenAIServer) -> None:
        self.fake = fake
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, _ClientGone)) or self.fake._stopping.is_set():
            return
        log.error("fake_openai: unhandled error for %s\n%s", client_address, traceback.format_exc())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without TCP_NODELAY, Nagle + delayed ACK add ~40 ms per reply.
    disable_nagle_algorithm = True
    server: _HTTPServer
    server_version = "FakeOpenAI/1.0"

    # -- plumbing -----------------------------------------------------------------------------------

    def setup(self) -> None:
        super().setup()
        self.server.fake._register_connection(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.fake._unregister_connection(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("fake_openai: %s - %s", self.address_string(), format % args)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            while True:
                size_line = self.rfile.readline(65537)
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """Around every write to the client: an OSError there means it went away, and the connection closes."""
        try:
            yield
        except OSError as exc:
            self.close_connection = True
            raise _ClientGone(str(exc)) from exc

    def _send_json(
        self, status: int, payload: Any, extra_headers: dict[str, str] | None = None, trickle: float | None = None
    ) -> None:
        self._send_raw(status, json.dumps(payload).encode("utf-8"), "application/json", extra_headers, trickle)

    def _send_raw(
        self,
        status: int,
        data: bytes,
        content_type: str,
        extra_headers: dict[str, str] | None = None,
        trickle: float | None = None,
    ) -> None:
        with self._writing():
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-request-id", self.server.fake._next_id("req_fake"))
            for name, value in (extra_headers or {}).items():
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if trickle:
                self.wfile.flush()
                for i in range(len(data)):
                    if self.server.fake._stopping.wait(trickle):
                        break
                    self.wfile.write(data[i : i + 1])
                    self.wfile.flush()
            else:
                self.wfile.write(data)
            self.wfile.flush()

    def _send_stream(
        self, events: list[dict[str, Any]], extra_headers: dict[str, str], gap: float | None, cut: int | None = None
    ) -> None:
        """Server-sent events, chunked, one event every `gap` seconds (at once without), then ``[DONE]``; with
        `cut`, the connection closes after that many events, the stream never ended."""
        with self._writing():
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            for name, value in extra_headers.items():
                self.send_header(name, value)
            self.end_headers()
            for sent, data in enumerate([*(json.dumps(e) for e in events), "[DONE]"]):
                if gap and self.server.fake._stopping.wait(gap):
                    break
                if cut is not None and sent >= cut:
                    self.close_connection = True
                    return
                event = f"data: {data}\n\n".encode()
                self.wfile.write(f"{len(event):x}\r\n".encode() + event + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    def _send_bytes(self, status: int, data: bytes, content_type: str) -> None:
        with self._writing():
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()

    def _send_error(
        self,
        status: int,
        message: str,
        code: str | None = None,
        extra_headers: dict[str, str] | None = None,
        err_type: str | None = None,
    ) -> None:
        self._send_json(status, _error_body(status, message, code, err_type), extra_headers)

    # -- methods ------------------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def _dispatch(self, method: str) -> None:
        try:
            raw = self._read_body()
            self.server.fake._handle(self, method, raw)
        except _ClientGone:
            self.close_connection = True
        except Exception as exc:  # never let a bug kill the connection thread silently
            self.server.fake._record_error(traceback.format_exc())
            log.error("fake_openai: internal error\n%s", traceback.format_exc())
            try:
                self._send_error(500, f"fake server internal error: {exc!r}", "internal_error")
            except _ClientGone:
                self.close_connection = True


class FakeOpenAIServer:
    """Scripted OpenAI-compatible HTTP server. See the module docstring."""

    def __init__(
        self,
        responder: Responder | None = None,
        *,
        latency: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        models: list[str] | None = None,
        count_tokens: Callable[[str], int] | None = None,
        enforce_max_tokens: bool = False,
        routes: ExtraRoutes | None = None,
        profile: str | None = "strict",
        context: int | None = None,
    ) -> None:
        self.responder: Responder = responder or echo_responder
        # Real servers' request checks (tests/servers/server_rules.py): "strict" applies OpenAI's, vLLM's, llama.cpp's
        # and Ollama's; one server's name applies its own; None accepts anything (for tests of odd bodies).
        if profile is not None and profile != "strict" and profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r}; use strict, {', '.join(PROFILES)} or None")
        self.profile = profile
        # The model's context in the fake's tokens (words): a request beyond it meets the profile's treatment
        # (tests/servers/context_rules.py); None: unlimited.
        self.context = context
        self.routes = routes
        # Usage reported for a text without an explicit count: whitespace words by default.
        self.count_tokens: Callable[[str], int] = count_tokens or _word_count
        # Like a real server: a reply longer than the request's max_tokens (counted as whitespace-separated
        # words, the fake's token unit) is cut there and reported with finish_reason "length".
        self.enforce_max_tokens = enforce_max_tokens
        self.latency = latency
        self.host = host
        self.api_key = api_key
        self.models: list[str] = list(models) if models is not None else ["fake-model"]
        self._requested_port = port
        self._lock = threading.RLock()
        self._faults: list[Fault] = []
        self._conditional: list[tuple[Callable[[Request], bool], Fault, list[int]]] = []
        self._requests: list[Request] = []
        self._errors: list[str] = []
        self._by_path: Counter[str] = Counter()
        self._by_outcome: Counter[str] = Counter()
        self._connections_total = 0
        self.served_tokens = 0  # what the server generated and would bill, replies the client gave up on included
        self._open_connections: set[socket.socket] = set()
        self._ids = itertools.count(1)
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> FakeOpenAIServer:
        if self._httpd is not None:
            raise RuntimeError("FakeOpenAIServer already started")
        self._httpd = _HTTPServer((self.host, self._requested_port), self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-openai-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        if httpd is None or self._stopping.is_set():
            return
        self._stopping.set()  # wakes requests sleeping in latency / hang
        httpd.shutdown()
        with self._lock:
            conns = list(self._open_connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAIServer:
        """Start the server, unless a fixture already did (`with fake_openai(...) as server:` ends it sooner)."""
        return self if self._httpd is not None else self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("FakeOpenAIServer not started")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    # -- scripting ----------------------------------------------------------------------------------

    def inject(self, *faults: Fault) -> None:
        """Queue faults; each completion request consumes one (FIFO) before the responder runs."""
        with self._lock:
            self._faults.extend(faults)

    def inject_when(self, predicate: Callable[[Request], bool], fault: Fault, times: int = 1) -> None:
        """Apply ``fault`` to the next ``times`` requests matching ``predicate`` (checked before FIFO)."""
        if times < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            self._conditional.append((predicate, fault, [times]))

    def pending_faults(self) -> int:
        """Faults not yet consumed (FIFO queue plus remaining conditional applications)."""
        with self._lock:
            return len(self._faults) + sum(remaining[0] for _, _, remaining in self._conditional)

    def reset(self) -> None:
        """Forget recorded requests, errors, counters and pending faults."""
        with self._lock:
            self._faults.clear()
            self._conditional.clear()
            self._requests.clear()
            self._errors.clear()
            self._by_path.clear()
            self._by_outcome.clear()
            self._connections_total = 0
            self.served_tokens = 0

    # -- observation --------------------------------------------------------------------------------

    @property
    def requests(self) -> list[Request]:
        """Completion requests received so far, in arrival order (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def errors(self) -> list[str]:
        """Tracebacks of responder / predicate exceptions (a copy)."""
        with self._lock:
            return list(self._errors)

    @property
    def stats(self) -> Stats:
        with self._lock:
            return Stats(
                total=sum(self._by_path.values()),
                by_path=dict(self._by_path),
                by_outcome=dict(self._by_outcome),
                connections=self._connections_total,
            )

    # -- internals ----------------------------------------------------------------------------------

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids)}"

    def _register_connection(self, conn: socket.socket) -> None:
        with self._lock:
            self._open_connections.add(conn)
            self._connections_total += 1

    def _unregister_connection(self, conn: socket.socket) -> None:
        with self._lock:
            self._open_connections.discard(conn)

    def _record_error(self, text: str) -> None:
        with self._lock:
            self._errors.append(text)

    def _count(self, path: str, outcome: str, request: Request | None = None) -> None:
        with self._lock:
            self._by_path[path] += 1
            self._by_outcome[outcome] += 1
            if request is not None:
                request.outcome = outcome

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)

    def _take_fault(self, request: Request, completion: bool) -> Fault | None:
        with self._lock:
            for entry in self._conditional:
                predicate, fault, remaining = entry
                try:
                    matched = bool(predicate(request))
                except Exception:
                    self._errors.append("inject_when predicate raised:\n" + traceback.format_exc())
                    matched = False
                if matched:
                    remaining[0] -= 1
                    if remaining[0] <= 0:
                        self._conditional.remove(entry)
                    return fault
            if completion and self._faults:
                return self._faults.pop(0)
        return None

    def _authorized(self, headers: dict[str, str]) -> bool:
        return self.api_key is None or headers.get("authorization") == f"Bearer {self.api_key}"

    def _handle(self, h: _Handler, method: str, raw: bytes) -> None:
        path = _normalise_path(h.path)
        headers = {k.lower(): v for k, v in h.headers.items()}
        if self.routes is not None and self._authorized(headers) and self.routes.handle(self, h, method, path, raw):
            return
        completion = method == "POST" and path in COMPLETION_PATHS
        is_models = method == "GET" and (path == MODELS_PATH or path.startswith(MODELS_PATH + "/"))

        if not completion and not is_models:
            self._count(path, "not_found")
            h._send_error(404, f"Unknown request URL: {method} {h.path}.", "unknown_url")
            return

        body: dict[str, Any] = {}
        if completion:
            try:
                parsed = json.loads(raw.decode("utf-8") or "{}")
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                self._count(path, "bad_request")
                h._send_error(400, f"We could not parse the JSON body of your request: {exc}", None)
                return
            if not isinstance(parsed, dict):
                self._count(path, "bad_request")
                h._send_error(400, "The request body must be a JSON object.", None)
                return
            body = parsed

        request = Request(path=path, body=body, headers=headers, prompt=_extract_prompt(path, body))
        if completion:
            with self._lock:
                self._requests.append(request)

        if not self._authorized(headers):
            self._count(path, "unauthorized", request)
            h._send_error(
                401,
                "Incorrect API key provided (fake server).",
                "invalid_api_key",
                err_type="invalid_request_error",
            )
            return

        violation = check_request(path, body, self.profile) if completion and self.profile else None
        if violation is not None:
            self._count(path, "invalid_request", request)
            h._send_json(violation.status, violation.body())
            return

        fits = self._fit(request) if completion else ContextOutcome()
        if fits.violation is not None:
            self._count(path, "context_exceeded", request)
            h._send_json(fits.violation.status, fits.violation.body())
            return

        fault = self._take_fault(request, completion)
        extra: dict[str, str] = {}
        if fault is not None and fault.retry_after is not None:
            extra["Retry-After"] = f"{fault.retry_after:g}"
            extra["retry-after-ms"] = str(round(fault.retry_after * 1000))

        self._sleep(self.latency)
        if fault is not None and fault.hang:
            self._sleep(fault.hang)

        if fault is not None and fault.drop:
            self._count(path, "fault_drop", request)
            h.close_connection = True
            with contextlib.suppress(OSError):
                h.connection.shutdown(socket.SHUT_RDWR)
            return

        if fault is not None and fault.status is not None:
            self._count(path, "fault_status", request)
            status = fault.status
            message = fault.message or _DEFAULT_MESSAGES.get(status, f"Injected fault with status {status}.")
            h._send_error(status, message, fault.code, extra)
            return

        if is_models:
            self._answer_models(h, path, request, extra, fault)
            return

        if fault is not None and fault.body is not None:
            self._count(path, "fault_body", request)
            h._send_raw(200, fault.body.encode("utf-8"), fault.content_type, extra)
            return

        model = str(body.get("model") or self.models[0])
        n = body.get("n") or 1
        n = n if isinstance(n, int) and n > 0 else 1

        replies: list[Reply] = []
        if fault is not None and fault.null_choices:
            self._count(path, "fault_null_choices", request)
            payload = self._completion_payload(path, model, request, [])
            h._send_json(200, {**payload, "choices": None}, extra)
            return
        if fault is not None and fault.empty_choices:
            outcome = "fault_empty_choices"
        elif fault is not None and fault.text is not None:
            outcome = "fault_text"
            reply = Reply(text=fault.text, finish_reason=fault.finish_reason or "stop")
            replies = [reply] * n
        else:
            outcome = "ok"
            if fault is not None:
                outcome = "fault_cut" if fault.cut is not None else "fault_hang"
                outcome = "fault_reasoning" if fault.reasoning_content is not None else outcome
                outcome = "fault_trickle" if fault.trickle else outcome
            try:
                for _ in range(n):
                    replies.append(self._call_responder(request))
            except Exception as exc:
                self._record_error(traceback.format_exc())
                self._count(path, "responder_error", request)
                h._send_error(500, f"Responder raised {type(exc).__name__}: {exc}", "responder_error", extra)
                return

        limited = [self._limit(self._in_context(r, fits), body, fault) for r in replies]
        replies = [r for r, _ in limited]
        payload = self._completion_payload(path, model, request, replies)
        self._add_stop_reasons(payload, [stop for _, stop in limited])
        self._count(path, outcome, request)  # after metering: a request with an outcome is billed
        if fault is not None and fault.omit_usage:
            del payload["usage"]
        elif fault is not None and fault.usage is not None:
            payload["usage"] = fault.usage
        if fault is not None and fault.reasoning_content is not None and path == CHAT_PATH:
            for choice in payload["choices"]:
                choice["message"]["reasoning_content"] = fault.reasoning_content
        trickle = fault.trickle if fault is not None else None
        if body.get("stream"):
            h._send_stream(_stream_events(payload, body), extra, trickle, fault.stream_cut if fault else None)
        else:
            h._send_json(200, payload, extra, trickle)

    def _fit(self, request: Request) -> ContextOutcome:
        """What the server does with `request` for its context (nothing without a ``context``)."""
        if self.context is None:
            return ContextOutcome()
        return context_rule(self.profile or "strict", request.body, self.count_tokens(request.prompt), self.context)

    @staticmethod
    def _in_context(reply: Reply, fits: ContextOutcome) -> Reply:
        """The reply as the context lets it be: the prompt tokens the server kept, cut where the context ends."""
        if fits.prompt_tokens is not None:
            reply = Reply(reply.text, reply.finish_reason, fits.prompt_tokens, reply.completion_tokens)
        words = list(re.finditer(r"\S+", reply.text))
        if fits.room is not None and len(words) > fits.room:
            text = reply.text[: words[fits.room - 1].end()] if fits.room > 0 else ""
            reply = Reply(text, "length", reply.prompt_tokens)
        return reply

    def _add_stop_reasons(self, payload: dict[str, Any], stops: list[str | None]) -> None:
        """vLLM names the stop string that ended a choice (``stop_reason``, null otherwise); the strict profile
        answers in that shape too, since a client must read replies with and without it."""
        if self.profile in ("vllm", "strict"):
            for choice, stop in zip(payload["choices"], stops, strict=True):
                choice["stop_reason"] = stop

    def _limit(self, reply: Reply, body: dict[str, Any], fault: Fault | None) -> tuple[Reply, str | None]:
        """Apply the request's stop sequences as a server does (the model stops at the earliest, which is not
        returned), then a ``cut`` fault and, when enforced, max_tokens; with the stop string that matched."""
        text, finish = reply.text, reply.finish_reason
        stop = None
        if fault is None or fault.text is None:
            text, stop = apply_stop(text, body.get("stop"))
            finish = "stop" if stop is not None else finish
        if fault is not None and fault.cut is not None and text:
            text, finish = text[: int(len(text) * fault.cut)], "length"
        limit = body.get("max_tokens")
        if self.enforce_max_tokens and isinstance(limit, int) and _word_count(text) > limit:
            words = list(re.finditer(r"\S+", text))
            text, finish = text[: words[limit - 1].end()] if limit > 0 else "", "length"
        if finish == "length":
            stop = None
        if (text, finish) == (reply.text, reply.finish_reason):
            return reply, stop
        return Reply(text=text, finish_reason=finish, prompt_tokens=reply.prompt_tokens), stop

    def answer_body(self, path: str, body: dict[str, Any]) -> Any:
        """The 200 body a completion request would get: used for the lines of a batch (recorded as "batch")."""
        path = _normalise_path(path)
        request = Request(path=path, body=body, headers={}, prompt=_extract_prompt(path, body))
        with self._lock:
            self._requests.append(request)
        reply, stop = self._limit(self._call_responder(request), body, None)
        payload = self._completion_payload(path, str(body.get("model") or self.models[0]), request, [reply])
        self._add_stop_reasons(payload, [stop])
        self._count(path, "batch", request)
        # Of the scripted faults, a line takes a JSON `body` (its body verbatim: a shape the reader must refuse or
        # read) and the usage faults.
        fault = self._take_fault(request, completion=False)
        if fault is not None and fault.body is not None:
            return json.loads(fault.body)
        if fault is not None and fault.omit_usage:
            del payload["usage"]
        elif fault is not None and fault.usage is not None:
            payload["usage"] = fault.usage
        return payload

    def _call_responder(self, request: Request) -> Reply:
        result = self.responder(request)
        if isinstance(result, str):
            return Reply(text=result)
        if isinstance(result, Reply):
            return result
        if isinstance(getattr(result, "text", None), str):  # a Reply from another copy of this module
            return Reply(
                text=result.text,
                finish_reason=getattr(result, "finish_reason", "stop"),
                prompt_tokens=getattr(result, "prompt_tokens", None),
                completion_tokens=getattr(result, "completion_tokens", None),
            )
        raise TypeError(f"responder must return Reply or str, got {type(result).__name__}")

    def _completion_payload(self, path: str, model: str, request: Request, replies: list[Reply]) -> dict[str, Any]:
        prompt_tokens = self.count_tokens(request.prompt)
        if replies and replies[0].prompt_tokens is not None:
            prompt_tokens = replies[0].prompt_tokens
        completion_tokens = sum(
            r.completion_tokens if r.completion_tokens is not None else self.count_tokens(r.text) for r in replies
        )
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        with self._lock:  # metered once generated, whether or not the client is still there to read it
            self.served_tokens += prompt_tokens + completion_tokens
        created = int(time.time())
        if path == CHAT_PATH:
            return {
                "id": self._next_id("chatcmpl-fake"),
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [
                    {
                        "index": i,
                        "message": {"role": "assistant", "content": r.text},
                        "finish_reason": r.finish_reason,
                        "logprobs": None,
                    }
                    for i, r in enumerate(replies)
                ],
                "usage": usage,
            }
        return {
            "id": self._next_id("cmpl-fake"),
            "object": "text_completion",
            "created": created,
            "model": model,
            "choices": [
                {"index": i, "text": r.text, "finish_reason": r.finish_reason, "logprobs": None}
                for i, r in enumerate(replies)
            ],
            "usage": usage,
        }

    def _answer_models(
        self, h: _Handler, path: str, request: Request, extra: dict[str, str], fault: Fault | None
    ) -> None:
        def model_obj(name: str) -> dict[str, Any]:
            return {"id": name, "object": "model", "created": 0, "owned_by": "fake-openai"}

        if path == MODELS_PATH:
            self._count(path, "models", request)
            h._send_json(200, {"object": "list", "data": [model_obj(m) for m in self.models]}, extra)
            return
        name = path[len(MODELS_PATH) + 1 :]
        if name in self.models:
            self._count(path, "models", request)
            h._send_json(200, model_obj(name), extra)
        else:
            self._count(path, "not_found", request)
            h._send_error(404, f"The model '{name}' does not exist", "model_not_found", extra)


# -- command line -------------------------------------------------------------------------------------


def _load_responder(spec: str) -> Responder:
    module_name, sep, attr_path = spec.partition(":")
    if not sep or not module_name or not attr_path:
        raise SystemExit(f"--responder must look like package.module:function, got {spec!r}")
    obj: Any = importlib.import_module(module_name)
    for attr in attr_path.split("."):
        obj = getattr(obj, attr)
    if not callable(obj):
        raise SystemExit(f"--responder {spec!r} is not callable")
    responder: Responder = obj
    return responder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fake OpenAI-compatible HTTP server (for tests/benchmarks).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds to sleep per request")
    parser.add_argument("--responder", default=None, help="package.module:function (default: echo)")
    parser.add_argument("--api-key", default=None, help="require 'Authorization: Bearer KEY'")
    parser.add_argument("--model", action="append", dest="models", help="model id to list (repeatable)")
    parser.add_argument(
        "--profile", default="strict", help="request checks: strict (default), openai, vllm, llamacpp, ollama, none"
    )
    parser.add_argument(
        "--enforce-max-tokens", action="store_true", help="cut replies at the request's max_tokens (words)"
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="STATUS:SHARE[:RETRY_AFTER]",
        help="answer this share of completion requests with STATUS (repeatable), e.g. 429:0.1:1 500:0.05",
    )
    parser.add_argument("--fault-seed", type=int, default=0, help="seed of the random fault mix")
    args = parser.parse_args(argv)

    repo_root = str(Path(__file__).resolve().parents[2])
    if repo_root not in sys.path:
        sys.path.insert(0, repo_root)
    responder = _load_responder(args.responder) if args.responder else None

    stop_requested = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop_requested.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)

    server = FakeOpenAIServer(
        responder,
        latency=args.latency,
        host=args.host,
        port=args.port,
        api_key=args.api_key,
        models=args.models,
        enforce_max_tokens=args.enforce_max_tokens,
        profile=None if args.profile == "none" else args.profile,
    )
    _inject_mix(server, args.fault, args.fault_seed)
    server.start()
    try:
        print(f"READY {server.url}", flush=True)
        while not stop_requested.wait(0.5):
            pass
    finally:
        server.stop()
    return 0


def _inject_mix(server: FakeOpenAIServer, specs: list[str], seed: int) -> None:
    """A random mix of faults on completion requests: each spec is STATUS:SHARE[:RETRY_AFTER], one draw per request."""
    rng = random.Random(seed)
    draws: dict[int, float] = {}  # id(request) -> its draw, shared by the predicates of one request
    start = 0.0
    for spec in specs:
        status, share, *after = spec.split(":")
        low, high = start, start + float(share)
        start = high

        def hit(request: Request, low: float = low, high: float = high) -> bool:
            if not request.path.endswith("completions"):
                return False
            draw = draws.setdefault(id(request), rng.random())
            return low <= draw < high

        fault = Fault(status=int(status), retry_after=float(after[0]) if after else None)
        server.inject_when(hit, fault, times=2**62)


if __name__ == "__main__":
    # Run as a script: make the repo root importable, then use the canonical ``tests.servers.fake_openai``
    # module so responders importing Reply from it share the same classes.
    _root = str(Path(__file__).resolve().parents[2])
    if _root not in sys.path:
        sys.path.insert(0, _root)
    from tests.servers.fake_openai import main as _main

    sys.exit(_main())
