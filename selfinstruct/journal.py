"""The response journal: every paid response, on disk before it is used, replayed instead of paid for again.

A run that is interrupted (Ctrl-C, kill -9, a crash, a fatal endpoint error) or extended with a larger -n
re-dispatches requests it already paid for: the ones in flight, and those finished but not yet committed in
request order. Every response is appended to responses.jsonl in the run directory, fsync'd, and only then
handed to the pipeline; a later run that asks the same question gets the journaled answer without a request.

A response is keyed by what produced it: a hash of (step, model, API, the full prompt, the sampling
parameters, the per-request seed). The seed is derived from the run seed and the request's coordinates
(request, candidate, step), so the key pins down one question of one run; a run with other settings asks other
questions and simply finds no match. The request/candidate labels stored beside the key are for humans only.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from selfinstruct.llm import Completer, Completion, StepParams, Usage
from selfinstruct.pool import Repair, open_locked

JOURNAL = "responses.jsonl"

_LABEL: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("journal_label", default=None)


def label(**coordinates: Any) -> None:
    """Tag the responses the current asyncio task receives (e.g. request=3, candidate=5) in the journal.

    A context variable: tasks created afterwards inherit it, so one call at the top of a job labels all of
    its requests. Labels never enter the key."""
    _LABEL.set(coordinates)


def response_key(step: str, model: str, api: str, prompt: str, params: StepParams, seed: int | None) -> str:
    """What produced a response, as one hash: equal keys mean the same question asked the same way."""
    question = {
        "step": step,
        "model": model,
        "api": api,
        "prompt": prompt,
        "params": asdict(params) | {"stop": list(params.stop)},
        "seed": seed,
    }
    return hashlib.sha256(json.dumps(question, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


class ResponseJournal:
    """responses.jsonl: append-only, one response per line; only offsets are kept in memory.

    A torn last line (killed mid-write) is cut off on open; a line that does not parse elsewhere is skipped
    (the journal is a cache: a lost entry costs one request, never a wrong answer, because keys are checked)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._fd = open_locked(self.path)
        self._offsets: dict[str, tuple[int, int]] = {}
        self.repair: Repair | None = None
        self.skipped = 0
        try:
            self._load()
        except BaseException:
            self.close()
            raise

    def __len__(self) -> int:
        return len(self._offsets)

    def _load(self) -> None:
        offset = 0
        with self.path.open("rb") as fh:
            for number, line in enumerate(fh, start=1):
                if not line.endswith(b"\n"):
                    os.truncate(self.path, offset)
                    self.repair = Repair(str(self.path), "truncated", number, len(line))
                    break
                key = _parse(line)
                if key is None:
                    self.skipped += 1
                else:
                    self._offsets[key] = (offset, len(line))
                offset += len(line)

    def get(self, key: str) -> Completion | None:
        """The journaled response for `key`, or None."""
        where = self._offsets.get(key)
        if where is None:
            return None
        record = json.loads(os.pread(self._fd, where[1], where[0]))
        return Completion(
            record["text"],
            record["finish_reason"],
            record["prompt_tokens"],
            record["completion_tokens"],
            record.get("stop_reason"),
        )

    async def append(self, key: str, step: str, seed: int | None, completion: Completion) -> None:
        """Write one response and wait until it is on disk (fsync in a thread: the event loop keeps running)."""
        record = {"key": key, "step": step, "seed": seed, **(_LABEL.get() or {})}
        record |= {
            "text": completion.text,
            "finish_reason": completion.finish_reason,
            "prompt_tokens": completion.prompt_tokens,
            "completion_tokens": completion.completion_tokens,
        }
        if completion.stop_reason is not None:  # a replay must see the cut the first run saw
            record["stop_reason"] = completion.stop_reason
        data = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        offset = os.lseek(self._fd, 0, os.SEEK_END)
        view = memoryview(data)
        while view:  # one write() of one line on an O_APPEND descriptor: never interleaved with another
            view = view[os.write(self._fd, view) :]
        self._offsets[key] = (offset, len(data))
        fd = self._fd
        await asyncio.to_thread(_fsync, fd)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _fsync(fd: int) -> None:
    with contextlib.suppress(OSError):  # closed under us at exit: what was written is in the page cache
        os.fsync(fd)


def _parse(line: bytes) -> str | None:
    try:
        record = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(record, dict):
        return None
    fields_ok = (
        isinstance(record.get("key"), str)
        and isinstance(record.get("text"), str)
        and isinstance(record.get("finish_reason"), str)
        and isinstance(record.get("prompt_tokens"), int)
        and isinstance(record.get("completion_tokens"), int)
    )
    return str(record["key"]) if fields_ok else None


class JournaledClient:
    """A client whose every paid response goes through the journal, and whose journaled ones cost nothing.

    It wraps a client (synchronous or batching) rather than re-creating one: same `complete` interface, same
    settings, usage (paid requests only) and budget; `replayed` counts what the journal answered instead."""

    def __init__(self, inner: Completer, journal: ResponseJournal, replayed: Usage | None = None) -> None:
        self.inner = inner
        self.journal = journal
        self.replayed = replayed or Usage()
        self.settings = inner.settings
        self.usage = inner.usage
        self.budget = inner.budget

    @property
    def in_flight(self) -> int:
        return self.inner.in_flight

    @property
    def waiting(self) -> Mapping[Any, str]:
        return self.inner.waiting

    async def complete(self, step: str, prompt: str, params: StepParams, *, seed: int | None = None) -> Completion:
        s = self.inner.settings
        key = response_key(step, s.model, s.api, prompt, params, seed)
        hit = self.journal.get(key)
        if hit is not None:
            stats = self.replayed.step(step)
            stats.requests += 1
            stats.prompt_tokens += hit.prompt_tokens
            stats.completion_tokens += hit.completion_tokens
            return hit
        result = await self.inner.complete(step, prompt, params, seed=seed)
        await self.journal.append(key, step, seed, result)
        return result

    async def aclose(self) -> None:
        await self.inner.aclose()
