"""The response journal: every paid response on disk before what it decides, replayed instead of paid again.

A run that is interrupted (Ctrl-C, kill -9, a crash, a fatal endpoint error) or extended with a larger -n
re-dispatches requests it already paid for: the ones in flight, and those finished but not yet committed in
request order. Every response is appended to responses.jsonl in the run directory and fsync'd before anything
that follows from it is on disk: `generate` hands it to the pipeline once written (a kill keeps it), and the
fsync of the next request's ledger line (same file) or the journal flush before each commit covers it, so a
reply costs no fsync of its own (two per request made every request wait ~5-10 ms longer). A later run that
asks the same question gets the journaled answer without a request.

A response is keyed by what produced it: a hash of (step, model, API, the full prompt, the sampling
parameters, the per-request seed). The seed is derived from the run seed and the request's coordinates
(request, candidate, step), so the key pins down one question of one run; a run with other settings asks other
questions and simply finds no match. The request/candidate labels stored beside the key are for humans only.

The journal is also the ledger of what the run directory has spent: before an attempt is sent, a `sent` line
charges it its reservation; its reply's line (which names the charge) replaces that by what the reply is
charged, a `refused` line (4xx, 429: nothing generated) by nothing, and an attempt with neither (a timeout, a
5xx, a kill while in flight) keeps its reservation, since the server may have billed it. The spend of a run
directory is the sum over the journal; run.json only caches it. Each line names the model it went to, so
that a job asking several models under one step (respond) prices every charge at its own model's prices
(`spend_models`); lines written before lines named it are counted under "" (ModelPrices prices them).

The `sent` line of a batch line also names the key its reply goes under (`for`): a batch finished after the
request that asked for it was given up on (a kill, a resume with a smaller -n or budget, a target reached)
is still collected and journaled under that key, charged what it reports (`collected`), and a later run that
asks the same question gets it from here.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from selfinstruct.engine.budget import LineCharge
from selfinstruct.engine.types import Completion, EndpointSettings, StepParams, Usage
from selfinstruct.io.pool import Repair, open_locked
from selfinstruct.io.records import is_count

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
        "params": _params(params),
        "seed": seed,
    }
    return hashlib.sha256(json.dumps(question, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def key_of(settings: EndpointSettings, step: str, prompt: str, params: StepParams, seed: int | None) -> str:
    """The key of a request to that endpoint (its model, and the step's API on it)."""
    return response_key(step, settings.model, params.api_on(settings.api), prompt, params, seed)


@functools.lru_cache(maxsize=64)
def _params(params: StepParams) -> dict[str, Any]:
    """A step's parameters as its keys hold them, made once per parameter set (asdict took half a key's CPU);
    never mutated (json.dumps only reads it). StepParams.to_dict leaves out an unset system message and API, so
    that the keys of every response journaled before StepParams had them are unchanged."""
    return params.to_dict()


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
        self.spend = Usage()  # what the journal says the run directory spent (see the module docstring)
        self.spend_models = Usage()  # the same by the model each line names ("" : written before lines named it)
        # charges open on load -> (step, tokens reserved, model)
        self.unanswered: dict[str, tuple[str, int, int, str]] = {}
        self._lines: dict[str, LineCharge] = {}  # open batch lines (charge id -> the line), loaded or sent since
        self._charges = 0
        self._sync = _GroupSync(self._fd)
        self._prefix = os.urandom(4).hex()  # charge ids unique across the processes that share the journal
        try:
            self._load()
        except BaseException:
            self.close()
            raise

    def __len__(self) -> int:
        return len(self._offsets)

    def _load(self) -> None:
        offset = 0
        sent: dict[str, tuple[str, int, int, str]] = {}  # charge id -> (step, prompt, completion) reserved, model
        closed: set[str] = set()
        with self.path.open("rb") as fh:
            for number, line in enumerate(fh, start=1):
                if not line.endswith(b"\n"):
                    os.truncate(self.path, offset)
                    self.repair = Repair(str(self.path), "truncated", number, len(line))
                    break
                record = _parse(line)
                if record is None:
                    self.skipped += 1
                elif "key" in record:
                    self._offsets[record["key"]] = (offset, len(line))
                    charge = str(record.get("charge", ""))
                    completion = _completion(record)
                    self.spend.step(record["step"]).record(completion)
                    model = record["model"] if isinstance(record.get("model"), str) else sent.get(charge, _NO_LINE)[3]
                    self.spend_models.step(model).record(completion)
                    closed.add(charge)
                elif "sent" in record:
                    model = record["model"] if isinstance(record.get("model"), str) else ""
                    step, prompt_tokens, completion_tokens = record["step"], record[_P], record[_C]
                    sent[record["sent"]] = (step, prompt_tokens, completion_tokens, model)
                    if isinstance(record.get("for"), str):  # a batch line, and the key of its reply
                        seed = record.get("seed") if isinstance(record.get("seed"), int) else None
                        self._lines[record["sent"]] = LineCharge(record["sent"], step, prompt_tokens, completion_tokens,
                                                                 record["for"], seed, model)  # fmt: skip
                elif record["refused"] in sent:
                    closed.add(record["refused"])
                    self.spend.step(sent[record["refused"]][0]).retries += 1
                    self.spend_models.step(sent[record["refused"]][3]).retries += 1
                offset += len(line)
        for charge in closed:
            self._lines.pop(charge, None)
        for charge, (step, prompt_tokens, completion_tokens, model) in sent.items():
            if charge not in closed:
                self.unanswered[charge] = (step, prompt_tokens, completion_tokens, model)
                for stats in (self.spend.step(step), self.spend_models.step(model)):
                    stats.unanswered += 1
                    stats.retries += 1
                    stats.prompt_tokens += prompt_tokens
                    stats.completion_tokens += completion_tokens

    def get(self, key: str) -> Completion | None:
        """The journaled response for `key`, or None."""
        where = self._offsets.get(key)
        if where is None:
            return None
        return _completion(json.loads(os.pread(self._fd, where[1], where[0])))

    async def append(
        self, key: str, step: str, seed: int | None, completion: Completion, *, sync: bool = True, model: str = ""
    ) -> None:
        """Write one response (of `model`) and wait until it is on disk (fsync in a thread: the event loop keeps
        running); without `sync` the line is written (a kill keeps it) and reaches the disk with the next fsync
        (flush)."""
        record = {"key": key, "step": step, "seed": seed, **(_LABEL.get() or {})}
        if model:
            record["model"] = model
        record |= {
            "text": completion.text,
            "finish_reason": completion.finish_reason,
            "prompt_tokens": completion.prompt_tokens,
            "completion_tokens": completion.completion_tokens,
        }
        if completion.stop_reason is not None:  # a replay must see the cut the first run saw
            record["stop_reason"] = completion.stop_reason
        if completion.charge:
            record["charge"] = completion.charge
            self._lines.pop(completion.charge, None)
        if not completion.reported:
            record["no_usage"] = True
        self._offsets[key] = await self._write(record, sync=sync)

    async def flush(self) -> None:
        """Return once every line written so far is on disk (at once when it is)."""
        await self._sync.wait(self._sync.written)

    async def sent(self, step: str, prompt_tokens: int, completion_tokens: int, model: str = "") -> str:
        """The ledger line of an attempt about to be sent, on disk before it leaves (budget.Ledger)."""
        self._charges += 1
        charge = f"{self._prefix}-{self._charges}"
        record = {"sent": charge, "step": step, **({"model": model} if model else {}), **(_LABEL.get() or {})}
        await self._write(record | {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens})
        return charge

    async def sent_many(self, charges: list[LineCharge]) -> None:
        """The ledger lines of the lines of a batch, on disk before the batch is created (budget.Ledger), each
        naming the key its reply goes under (`for`), so that any later process can journal that reply."""
        for line in charges:
            record: dict[str, Any] = {"sent": line.charge, "step": line.step}
            if line.model:
                record["model"] = line.model
            record["prompt_tokens"] = line.prompt_tokens
            record["completion_tokens"] = line.completion_tokens
            if line.key:
                record |= {"for": line.key, "seed": line.seed}
                self._lines[line.charge] = line
            await self._write(record, sync=False)
        await self.flush()

    def open_line(self, charge: str) -> LineCharge | None:
        """The batch line of that charge while no reply or refusal has settled it (budget.Ledger)."""
        return self._lines.get(charge)

    async def collected(self, charge: str, result: Completion | None) -> LineCharge | None:
        """Settle a batch line nobody in this process asked for (budget.Ledger): its reply journaled under the
        key its `sent` line named (unlabelled: no request took it), or with None a refusal (failed in its
        batch, unbilled). A key already answered by another line is left alone (the charge stays open: an
        over-count, never a second answer to one question)."""
        line = self._lines.get(charge)
        if line is None or (result is not None and line.key in self._offsets):
            return None
        del self._lines[charge]
        self.unanswered.pop(charge, None)  # settled here, not by JournaledClient
        if result is None:
            await self._write({"refused": charge}, sync=False)
            return line
        token = _LABEL.set(None)
        try:
            await self.append(line.key, line.step, line.seed, dataclasses.replace(result, charge=charge), sync=False,
                              model=line.model)  # fmt: skip
        finally:
            _LABEL.reset(token)
        return line

    async def refused(self, charge: str) -> None:
        """The attempt was refused (nothing generated): its reservation is not spent. Not fsync'd: a line lost in
        a crash only over-counts."""
        self._lines.pop(charge, None)
        await self._write({"refused": charge}, sync=False)

    async def _write(self, record: dict[str, Any], *, sync: bool = True) -> tuple[int, int]:
        """Append one line; with `sync`, wait until it is on disk (fsync in a thread: the loop keeps running)."""
        data = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        offset = os.lseek(self._fd, 0, os.SEEK_END)
        view = memoryview(data)
        try:
            while view:  # one write() of one line on an O_APPEND descriptor: never interleaved with another
                view = view[os.write(self._fd, view) :]
        except OSError as exc:  # a full disk: named, and (for a `sent` line) before anything was sent
            raise OSError(exc.errno, exc.strerror, str(self.path)) from None
        self._sync.written += 1
        if sync:
            await self._sync.wait(self._sync.written)
        return offset, len(data)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class _GroupSync:
    """fsync shared by the writers of a moment: one fsync (in a thread) covers every line written before it
    began, so 32 requests in flight cost a few fsyncs per round trip rather than two each."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self.written = 0  # lines written (counted by the writer)
        self._synced = 0  # of which known to be on disk
        self._task: asyncio.Task[None] | None = None

    async def wait(self, line: int) -> None:
        """Return once the first `line` lines written are on disk."""
        while self._synced < line:
            if self._task is None or self._task.done():
                self._task = asyncio.get_running_loop().create_task(self._run())
            await asyncio.shield(self._task)  # a cancelled writer leaves the fsync to the others

    async def _run(self) -> None:
        covered = self.written
        await asyncio.to_thread(_fsync, self._fd)
        self._synced = max(self._synced, covered)


def _fsync(fd: int) -> None:
    with contextlib.suppress(OSError):  # closed under us at exit: what was written is in the page cache
        os.fsync(fd)


_P, _C = "prompt_tokens", "completion_tokens"
_NO_LINE = ("", 0, 0, "")  # the sent line of a reply without one (journaled before charges were written)


def _parse(line: bytes) -> dict[str, Any] | None:
    """A response, `sent` or `refused` line with the fields it needs, or None (a foreign or damaged line)."""
    try:
        record = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(record, dict):
        return None
    # Whole numbers >= 0: a negative count (an older version took a hostile server's usage as reported) makes
    # the line damaged, skipped: its reply is asked again, its `sent` line stays open and keeps its reservation.
    counts_ok = all(is_count(record.get(name)) for name in ("prompt_tokens", "completion_tokens"))
    if "sent" in record:
        ok = isinstance(record["sent"], str) and isinstance(record.get("step"), str) and counts_ok
    elif "refused" in record:
        ok = isinstance(record["refused"], str)
    else:
        ok = counts_ok and all(isinstance(record.get(f), str) for f in ("key", "step", "text", "finish_reason"))
    return record if ok else None


def journaled_keys(path: Path) -> frozenset[str]:
    """The keys of the replies a journal holds, read without opening it for appending (no lock, no repair): what
    a dry run leaves out of its estimate, writing nothing."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return frozenset()
    records = (_parse(line) for line in data.split(b"\n") if line.strip())
    return frozenset(r["key"] for r in records if r is not None and "key" in r)


def _completion(record: dict[str, Any]) -> Completion:
    reported = not record.get("no_usage", False)
    tokens = (max(0, record["prompt_tokens"]), max(0, record["completion_tokens"]))
    stop = record.get("stop_reason")
    return Completion(
        record["text"], record["finish_reason"], *tokens, stop if isinstance(stop, str) else None, reported
    )
