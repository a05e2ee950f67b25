"""The Files and Batches endpoints of the OpenAI API, faked for tests and benchmarks of the batch engine.

Plug it into the completion fake: ``FakeOpenAIServer(responder, routes=FakeBatches())``. Each line of an
uploaded batch is answered by the server's responder, exactly as a synchronous request would be.

A batch walks ``validating -> in_progress -> finalizing -> completed``, one step per retrieve (or per
``step_seconds`` of wall time, whichever is later), so tests script its life by polling. Faults:

* ``fail_rate``: that share of lines fails inside the batch with ``line_error`` (status, code, message; a 500
  by default) in the error file; which lines
  fail is a pure function of (custom_id, how many times it was submitted), so a retry can succeed;
* ``errors_next``: HTTP statuses (or (status, message) pairs) answered to the next control calls, before
  any routing;
* ``fail_next`` / ``expire_next``: the next created batches end ``failed`` (validation errors) or
  ``expired`` (part of the lines done, the rest in the error file with ``batch_expired``).

As OpenAI's, a batch names one endpoint and one model: a file with a line whose ``url`` is another, or whose
body names another model than the first line's, fails its validation.

``submissions`` counts how often every custom_id was submitted, so a test can prove nothing was sent twice.
``uploads_open`` (an Event) holds file uploads while it is cleared.
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import itertools
import json
import math
import os
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tests.servers.server_rules import check_request

if TYPE_CHECKING:
    from tests.servers.fake_openai import FakeOpenAIServer, _Handler

FILES = "/v1/files"
BATCHES = "/v1/batches"
EXPIRED = "This request could not be executed before the completion window expired."
_LIFE = ("validating", "in_progress", "finalizing", "completed")


@dataclass
class _Batch:
    id: str
    input_file_id: str
    endpoint: str
    custom_ids: list[str]
    created_at: int
    ending: str = "completed"  # completed | failed | expired
    step: int = 0
    last_step_at: float = field(default_factory=time.monotonic)
    output_file_id: str | None = None
    error_file_id: str | None = None
    completed: int = 0
    failed: int = 0
    cancelled: bool = False
    error: tuple[str, int] = ("injected validation failure", 1)  # (message, line) of a failed validation


class FakeBatches:
    """Extra routes for :class:`tests.servers.fake_openai.FakeOpenAIServer`: ``/v1/files`` and ``/v1/batches``."""

    def __init__(self, *, fail_rate: float = 0.0, step_seconds: float = 0.0) -> None:
        self.fail_rate = fail_rate
        self.step_seconds = step_seconds
        self.fail_next = 0
        self.expire_next = 0
        self.line_error: tuple[int, str | None, str] = (500, None, "The server had an error (injected).")
        # HTTP statuses, or (status, message), for the next control calls (upload, create, retrieve)
        self.errors_next: list[int | tuple[int, str]] = []
        # the next retrieves of a batch answer a byte every `trickle` seconds (headers at once)
        self.trickle_retrieves = 0
        self.trickle = 0.1
        self.submissions: Counter[str] = Counter()
        self.files: dict[str, tuple[str, bytes]] = {}  # id -> (purpose, content)
        self.batches: dict[str, _Batch] = {}
        self.created: list[str] = []
        self.retrieved: Counter[str] = Counter()  # batch id -> times its state was asked (polls)
        # cleared, uploads wait (up to a minute) until it is set again: a test that kills a run at a chosen state
        # holds them, so that no new request file (and no charge journaled after it) can slip in before the kill
        self.uploads_open = threading.Event()
        self.uploads_open.set()
        self._ids = itertools.count(1)
        self._lock = threading.RLock()

    # -- dispatch ------------------------------------------------------------------------------------

    def handle(self, fake: FakeOpenAIServer, h: _Handler, method: str, path: str, raw: bytes) -> bool:
        """Answer the request and return True when it is one of ours."""
        if path.split("/")[:3] not in (FILES.split("/"), BATCHES.split("/")):
            return False
        trickle = None
        if method == "POST" and path.split("?")[0].rstrip("/") == FILES:
            self.uploads_open.wait(timeout=60)
        with self._lock:
            if self.errors_next:
                error = self.errors_next.pop(0)
                status, payload = error if isinstance(error, tuple) else (error, "injected control-call failure")
            else:
                status, payload = self._route(fake, method, path, raw, h.headers.get("Content-Type") or "")
                if self.trickle_retrieves and method == "GET" and path.startswith(BATCHES + "/"):
                    self.trickle_retrieves -= 1
                    trickle = self.trickle
        if isinstance(payload, bytes):
            h._send_bytes(status, payload, "application/octet-stream")
        elif status >= 400:
            h._send_error(status, str(payload), None)
        else:
            h._send_json(status, payload, trickle=trickle)
        return True

    def _route(self, fake: FakeOpenAIServer, method: str, path: str, raw: bytes, content_type: str) -> tuple[int, Any]:
        parts = path.strip("/").split("/")[1:]  # drop "v1"
        if parts == ["files"] and method == "POST":
            return self._upload(raw, content_type)
        if parts[0] == "files" and len(parts) >= 2 and method == "GET":
            entry = self.files.get(parts[1])
            if entry is None:
                return 404, f"No such File object: {parts[1]}"
            if len(parts) == 3 and parts[2] == "content":
                return 200, entry[1]
            return 200, self._file_object(parts[1], entry)
        if parts == ["batches"] and method == "POST":
            return self._create(fake, raw)
        if parts == ["batches"] and method == "GET":
            newest = [self._batch_object(self.batches[b]) for b in reversed(self.created)]
            first, last = (newest[0]["id"], newest[-1]["id"]) if newest else (None, None)
            return 200, {"object": "list", "data": newest, "first_id": first, "last_id": last, "has_more": False}
        if parts[0] == "batches" and len(parts) >= 2:
            batch = self.batches.get(parts[1])
            if batch is None:
                return 404, f"No such batch: {parts[1]}"
            if len(parts) == 3 and parts[2] == "cancel" and method == "POST":
                batch.cancelled = True
                return 200, self._batch_object(batch)
            if len(parts) == 2 and method == "GET":
                self.retrieved[parts[1]] += 1
                self._advance(fake, batch)
                return 200, self._batch_object(batch)
        return 404, f"Unknown request URL: {method} {path}"

    # -- files ---------------------------------------------------------------------------------------

    def _upload(self, raw: bytes, content_type: str) -> tuple[int, Any]:
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + raw
        )
        fields: dict[str, bytes] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if isinstance(name, str) and isinstance(payload, bytes):
                fields[name] = payload
        if "file" not in fields or "purpose" not in fields:
            return 400, "a file upload needs the fields 'file' and 'purpose'"
        file_id = self._new_file(fields["purpose"].decode(), fields["file"])
        return 200, self._file_object(file_id, self.files[file_id])

    def _new_file(self, purpose: str, content: bytes) -> str:
        file_id = f"file-fake{next(self._ids)}"
        self.files[file_id] = (purpose, content)
        return file_id

    @staticmethod
    def _file_object(file_id: str, entry: tuple[str, bytes]) -> dict[str, Any]:
        return {
            "id": file_id,
            "object": "file",
            "bytes": len(entry[1]),
            "created_at": int(time.time()),
            "filename": f"{file_id}.jsonl",
            "purpose": entry[0],
            "status": "processed",
        }

    # -- batches -------------------------------------------------------------------------------------

    def _create(self, fake: FakeOpenAIServer, raw: bytes) -> tuple[int, Any]:
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError as exc:
            return 400, f"We could not parse the JSON body of your request: {exc}"
        entry = self.files.get(str(body.get("input_file_id")))
        if entry is None:
            return 400, f"input_file_id {body.get('input_file_id')!r} does not exist"
        lines = [json.loads(line) for line in entry[1].decode().splitlines() if line.strip()]
        batch = _Batch(
            id=f"batch_fake{next(self._ids)}",
            input_file_id=str(body["input_file_id"]),
            endpoint=str(body.get("endpoint")),
            custom_ids=[str(line["custom_id"]) for line in lines],
            created_at=int(time.time()),
        )
        wrong = next((n for n, line in enumerate(lines, 1) if line.get("url") != batch.endpoint), None)
        model = lines[0].get("body", {}).get("model") if lines else None
        other = next((n for n, line in enumerate(lines, 1) if line.get("body", {}).get("model") != model), None)
        if wrong is not None:  # as OpenAI's validation: a batch names one endpoint, and every line must go there
            batch.ending = "failed"
            batch.error = (f"The url of line {wrong} ({lines[wrong - 1].get('url')}) does not match the batch's "
                           f"endpoint ({batch.endpoint}).", wrong)  # fmt: skip
        elif other is not None:  # ... and one model: a file with lines for two is refused whole
            batch.ending = "failed"
            batch.error = (f"The model of line {other} ({lines[other - 1]['body'].get('model')}) differs from the "
                           f"model of line 1 ({model}); a batch file takes one model.", other)  # fmt: skip
        elif self.fail_next:
            self.fail_next -= 1
            batch.ending = "failed"
        elif self.expire_next:
            self.expire_next -= 1
            batch.ending = "expired"
        self.submissions.update(batch.custom_ids)
        self.batches[batch.id] = batch
        self.created.append(batch.id)
        return 200, self._batch_object(batch)

    def _advance(self, fake: FakeOpenAIServer, batch: _Batch) -> None:
        """One step of the batch's life per retrieve, no faster than step_seconds."""
        if self._status(batch) in ("completed", "failed", "expired", "cancelled"):
            return
        if time.monotonic() - batch.last_step_at < self.step_seconds:
            return
        batch.last_step_at = time.monotonic()
        if batch.cancelled:
            batch.step = len(_LIFE)
            return
        if batch.ending == "failed":
            batch.step = len(_LIFE)
            return
        batch.step += 1
        if batch.step == len(_LIFE) - 1 or (batch.ending == "expired" and batch.step == 2):
            self._run(fake, batch)
            batch.step = len(_LIFE) - 1

    def finish(self, fake: FakeOpenAIServer) -> None:
        """Run every batch to its end now, as if its window had passed: a test's "the next day"."""
        with self._lock:
            for batch in self.batches.values():
                while self._status(batch) not in ("completed", "failed", "expired", "cancelled"):
                    batch.last_step_at = -math.inf
                    self._advance(fake, batch)

    def _status(self, batch: _Batch) -> str:
        if batch.step < len(_LIFE) - 1:
            return _LIFE[batch.step]
        if batch.cancelled:
            return "cancelled"
        return batch.ending

    def _run(self, fake: FakeOpenAIServer, batch: _Batch) -> None:
        """Answer every line: responses to the output file, failures to the error file."""
        content = self.files[batch.input_file_id][1].decode()
        out: list[str] = []
        err: list[str] = []
        lines = [json.loads(line) for line in content.splitlines() if line.strip()]
        for i, line in enumerate(lines):
            cid = str(line["custom_id"])
            if batch.ending == "expired" and i >= len(lines) // 2:
                err.append(_line(cid, None, {"code": "batch_expired", "message": EXPIRED}))
                continue
            if self._fails(cid):
                status, code, message = self.line_error
                body = {"error": {"message": message, "type": "server_error", "code": code}}
                err.append(_line(cid, {"status_code": status, "request_id": f"req_{cid}", "body": body}, None))
                continue
            violation = check_request(str(line["url"]), line["body"], fake.profile) if fake.profile else None
            if violation is not None:  # the Batch API checks each line as the endpoint checks a request
                body = violation.body()
                err.append(_line(cid, {"status_code": 400, "request_id": f"req_{cid}", "body": body}, None))
                continue
            answer = fake.answer_body(str(line["url"]), line["body"])
            out.append(_line(cid, {"status_code": 200, "request_id": f"req_{cid}", "body": answer}, None))
        batch.completed, batch.failed = len(out), len(err)
        if out:
            batch.output_file_id = self._new_file("batch_output", "".join(out).encode())
        if err:
            batch.error_file_id = self._new_file("batch_output", "".join(err).encode())

    def _fails(self, custom_id: str) -> bool:
        if self.fail_rate <= 0:
            return False
        digest = hashlib.sha256(f"{custom_id}:{self.submissions[custom_id]}".encode()).digest()
        return int.from_bytes(digest[:4], "big") / 2**32 < self.fail_rate

    def _batch_object(self, batch: _Batch) -> dict[str, Any]:
        status = self._status(batch)
        done = status in ("completed", "expired")
        errors = None
        if status == "failed":
            failure = {"code": "invalid_request", "message": batch.error[0], "param": None, "line": batch.error[1]}
            errors = {"object": "list", "data": [failure]}
        return {
            "id": batch.id,
            "object": "batch",
            "endpoint": batch.endpoint,
            "errors": errors,
            "input_file_id": batch.input_file_id,
            "completion_window": "24h",
            "status": status,
            "output_file_id": batch.output_file_id if done else None,
            "error_file_id": batch.error_file_id if done else None,
            "created_at": batch.created_at,
            "request_counts": {
                "total": len(batch.custom_ids),
                "completed": batch.completed if done else 0,
                "failed": batch.failed if done else 0,
            },
            "metadata": None,
        }


def _line(custom_id: str, response: dict[str, Any] | None, error: dict[str, Any] | None) -> str:
    record = {"id": f"batch_req_{custom_id}", "custom_id": custom_id, "response": response, "error": error}
    return json.dumps(record) + "\n"


def uploaded(*fakes: FakeBatches) -> int:
    """How many request files (purpose "batch") the fakes took, outputs not counted."""
    return sum(purpose == "batch" for fake in fakes for purpose, _ in list(fake.files.values()))


def kill_at_rest(proc: subprocess.Popen[Any], ready: Callable[[], bool], fakes: Sequence[FakeBatches],
                 timeout: float) -> None:  # fmt: skip
    """Kill -9 `proc` once `ready()` holds, checked again with every fake's uploads held: the run can then make
    no new request file (nor journal the charges that follow one) between the check and the kill, which a loaded
    machine otherwise leaves time for. Polls until `proc` ends or `timeout` seconds pass, then kills all the same."""

    def held() -> bool:
        if not ready():
            return False
        for fake in fakes:
            fake.uploads_open.clear()
        if ready():
            return True
        for fake in fakes:
            fake.uploads_open.set()
        return False

    deadline = time.monotonic() + timeout
    try:
        while not held() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        for fake in fakes:
            fake.uploads_open.set()
