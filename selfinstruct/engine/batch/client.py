"""A client with `LLMClient.complete`'s interface that sends its requests through the Batch API.

The pipeline does not change: its coroutines ask for completions as they always do, and wait. Requests
asked for while the pipeline is busy are gathered; once no new request has come for `gather_seconds` (every
coroutine is waiting), they go out as one batch. So the rounds of the batch engine are the pipeline's own
steps: a batch of instruction requests, then one of classify requests for the candidates that survived the
filters, then one of instances, then the next round's instruction requests, demonstrated from the pool the
previous rounds committed.

Nothing is ever submitted twice. A request's custom_id is a hash of the exact request body, and every
submitted batch is written (fsync'd) to `batches.jsonl` in the run directory before it is waited on. A
restarted run that asks for the same request again finds it in that ledger and waits for the batch already in
flight, however long ago it was submitted; only lines that failed inside a batch are sent again, at most
`max_attempts` times per run of the command.

A line nobody in this process waits for (its request given up on, or asked by an earlier process and not
again by this one: a resume with a smaller -n or budget) was paid all the same. `sweep` settles the lines of
every finished batch that are still open in the journal: each reply journaled under its key (a later request
with that key is answered from the journal) and charged what it reports instead of its reservation, each line
that failed unbilled refused. `generate` sweeps before its pipeline starts and after it ends; `respond`, `prefer`
and `audit` (engine.jobs.sweep) before they replay the journal and after their items.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from selfinstruct.engine.batch.api import MALFORMED, BatchClient, BatchRequest, BatchResults, BatchStatus
from selfinstruct.engine.batch.ids import custom_id, line_charge
from selfinstruct.engine.batch.ledger import BatchLedger
from selfinstruct.engine.budget import Budget, Charging, Ledger, LineCharge, typical_tokens
from selfinstruct.engine.context_window import ContextLengthError
from selfinstruct.engine.journal import key_of
from selfinstruct.engine.types import Completion, EndpointSettings, StepParams, Usage
from selfinstruct.engine.wire import capped, request_path
from selfinstruct.errors import EndpointError

log = logging.getLogger(__name__)


@dataclass
class _Pending:
    step: str
    request: BatchRequest
    reserved: tuple[int, int]  # (prompt, completion) tokens of its reservation, for the journal's charge
    waiters: list[asyncio.Future[Completion]] = field(default_factory=list)


class BatchingClient:
    """`complete()` like LLMClient, answered from batches; see the module docstring."""

    def __init__(
        self,
        settings: EndpointSettings,
        ledger: Path | BatchLedger,
        usage: Usage | None = None,
        *,
        budget: Budget | None = None,
        journal: Ledger | None = None,
        gather_seconds: float = 1.0,
        max_batch: int = 50_000,
        max_attempts: int = 5,
        poll_seconds: float = 5.0,
        max_poll_seconds: float = 60.0,
        on_status: Callable[[str], None] | None = None,
        counts_earlier: bool = True,
    ) -> None:
        self.settings = settings
        # Whether `usage` holds the charges the journal had open when read (generate's run totals do; a job's
        # counts are this process's only, so a line an earlier process paid for is not taken out of them).
        self.counts_earlier = counts_earlier
        self.usage = usage or Usage()
        self.budget = budget
        # The journal is charged per batch line instead, in _submit.
        self._charging = Charging(budget, None, settings.model)
        self._journal = journal
        # (a BatchLedger given: one endpoint's view of a ledger several share, engine.batch.routed)
        self.ledger = ledger if isinstance(ledger, BatchLedger) else BatchLedger(ledger)
        self.waiting: dict[str, str] = {}  # batch id -> its state, for the progress bar
        self.gather_seconds = gather_seconds
        self.max_batch = max_batch
        self.max_attempts = max_attempts
        self._on_status = on_status
        self._shown: dict[str, str] = {}  # batch id -> the last state shown
        self._client = BatchClient(settings, poll_seconds=poll_seconds, max_poll_seconds=max_poll_seconds)
        self._queue: dict[str, _Pending] = {}
        self._inflight: dict[str, _Pending] = {}
        self._batches: dict[str, asyncio.Task[BatchResults]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._error: BaseException | None = None
        self._uploaded: set[str] = set()  # request files of this process: their batch cannot exist yet
        self._charged: set[str] = set()  # the charges of the lines this process sent

    @classmethod
    def for_command(
        cls,
        settings: EndpointSettings,
        ledger: Path | BatchLedger,
        *,
        poll_seconds: float,
        notice: Callable[[str], None],
        usage: Usage | None = None,
        budget: Budget | None = None,
        journal: Ledger | None = None,
        counts_earlier: bool = True,
    ) -> BatchingClient:
        """As `generate` and `audit` use it: requests gathered for up to 1 s (half the first poll), polls from
        `poll_seconds` backing off to 60 s, and every state change told to `notice` with the time so far."""
        start = time.monotonic()
        return cls(
            settings,
            ledger,
            usage,
            budget=budget,
            journal=journal,
            gather_seconds=min(1.0, poll_seconds / 2),
            poll_seconds=poll_seconds,
            max_poll_seconds=max(60.0, poll_seconds),
            on_status=lambda line: notice(f"{line} ({time.monotonic() - start:.0f} s)"),
            counts_earlier=counts_earlier,
        )

    online = False  # a batch waits for hours: a stop or an interruption leaves its lines to the ledger, undrained

    def halt(self) -> None:
        """Nothing to stop: a line in a batch is paid already (never drained; see `online`)."""

    @property
    def batch_ids(self) -> list[str]:
        return list(self.ledger.batches)

    async def aclose(self) -> None:
        """Cancel the submissions and polls still running and wait for them: no task outlives the client."""
        tasks = list(self._tasks) + list(self._batches.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._client.aclose()

    @property
    def in_flight(self) -> int:
        """Requests gathered or in a batch, not yet answered (the progress bar's "in flight")."""
        return len(self._queue) + len(self._inflight)

    async def complete(self, step: str, prompt: str, params: StepParams, *, seed: int | None = None) -> Completion:
        """The completion of one request, from the batch that holds it (submitting one when none does); with a
        budget, its worst case is reserved first, as the synchronous client does. A request that failed in every
        batch was not billed; one still in a batch when the run stops may have been, and keeps its reservation."""
        attempt = await self._charging.open(step, prompt, params.max_tokens)
        try:
            reserved = (attempt.reservation.prompt_tokens, attempt.reservation.completion_tokens)
            result = await self._complete(step, prompt, params, seed, reserved)
        except EndpointError:
            await self._charging.refused(attempt)
            raise
        except BaseException:
            await self._charging.lost(attempt, self.usage.step(step))
            raise
        return await self._charging.answered(attempt, capped(result, params.max_tokens), self.usage.step(step))

    async def _complete(
        self, step: str, prompt: str, params: StepParams, seed: int | None, reserved: tuple[int, int]
    ) -> Completion:
        if self._error is not None:
            raise self._error
        cid = custom_id(self.settings, prompt, params, seed)
        future: asyncio.Future[Completion] = asyncio.get_running_loop().create_future()
        pending = self._inflight.get(cid) or self._queue.get(cid)
        if pending is not None:  # the same request asked twice at once: one line, two waiters
            pending.waiters.append(future)
            return await future
        pending = _Pending(step, BatchRequest(cid, prompt, params, seed), reserved, [future])
        earlier = self.ledger.attempts(cid)
        if earlier:
            self._inflight[cid] = pending
            self._spawn(self._collect(earlier[-1]))
        else:
            self._enqueue(pending)
        return await future

    # -- submitting ----------------------------------------------------------------------------------

    def _enqueue(self, pending: _Pending) -> None:
        self._queue[pending.request.custom_id] = pending
        if self._timer is not None:
            self._timer.cancel()
        loop = asyncio.get_running_loop()
        if len(self._queue) >= self.max_batch:
            self._flush()
        else:
            self._timer = loop.call_later(self.gather_seconds, self._flush)

    def _flush(self) -> None:
        """Send what was gathered: one batch per endpoint path, since a batch names one (Magpie's queries go to
        /v1/completions and its answers to /v1/chat/completions; gathered together, they become two batches)."""
        self._timer = None
        by_path: dict[str, list[_Pending]] = {}
        for p in self._queue.values():
            by_path.setdefault(request_path(self.settings, p.request.params), []).append(p)
            self._inflight[p.request.custom_id] = p
        self._queue.clear()
        for path, batch in by_path.items():
            self._spawn(self._submit(batch, path))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if task.cancelled() or task.exception() is None:
            return
        self._fail_all(task.exception())  # type: ignore[arg-type]

    def _fail_all(self, exc: BaseException) -> None:
        """A control call that cannot heal stops the run: every waiter gets the error, once."""
        self._error = exc
        for p in [*self._queue.values(), *self._inflight.values()]:
            for w in p.waiters:
                if not w.done():
                    w.set_exception(exc)
        self._queue.clear()
        self._inflight.clear()

    async def _submit(self, batch: list[_Pending], path: str) -> None:
        file_id = await self._client.upload([p.request for p in batch])
        self._uploaded.add(file_id)
        steps = Counter(p.step for p in batch)
        self.ledger.add_file(file_id, [p.request.custom_id for p in batch], dict(sorted(steps.items())), path)
        if self._journal is not None:
            # Each line charged its reservation before its batch is created (in _collect). After the file line:
            # a kill between the two leaves a file whose batch is created only by a run that asks for its lines
            # again, and their replies are charged when they are journaled.
            charges = [LineCharge(line_charge(file_id, p.request.custom_id), p.step, *p.reserved,
                                  key_of(self.settings, p.step, p.request.prompt, p.request.params, p.request.seed),
                                  p.request.seed, self.settings.model) for p in batch]  # fmt: skip
            self._charged.update(c.charge for c in charges)
            await self._journal.sent_many(charges)
        await self._collect(file_id)

    # -- collecting ----------------------------------------------------------------------------------

    async def _batch_of(self, file_id: str) -> str:
        """The batch made of this request file: recorded, found on the endpoint, or created now."""
        if file_id not in self.ledger.batch_of:
            path = self.ledger.paths.get(file_id)
            status = await self._client.create(file_id, path=path, maybe_exists=file_id not in self._uploaded)
            self.ledger.add_batch(file_id, status.id)
            log.info("batch %s submitted: %d requests", status.id, len(self.ledger.files[file_id]))
            self._show(status, file_id)
        return self.ledger.batch_of[file_id]

    def _show(self, status: BatchStatus, file_id: str) -> None:
        """`batch b1 (12 instructions): in_progress 3/12`, once per state change (a restart shows where it stands)."""
        text = status.describe()
        if status.done:
            self.waiting.pop(status.id, None)
        else:
            self.waiting[status.id] = f"batch {text}"
        if self._on_status is None or self._shown.get(status.id) == text:
            return
        self._shown[status.id] = text
        steps = ", ".join(f"{n} {step}" for step, n in self.ledger.steps.get(file_id, {}).items())
        self._on_status(f"batch {status.id}" + (f" ({steps})" if steps else "") + f": {text}")

    async def _results(self, file_id: str) -> BatchResults:
        batch_id = await self._batch_of(file_id)
        final = await self._client.wait(batch_id, lambda status: self._show(status, file_id))
        return await self._client.results(final, self.ledger.files[file_id], self.ledger.paths.get(file_id))

    async def _collect(self, file_id: str) -> None:
        """Wait for the file's batch (once, however many ask), then answer or resend each request still waiting."""
        task = self._batches.get(file_id)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._results(file_id))
            self._batches[file_id] = task
        results = await task
        for cid in self.ledger.files[file_id]:
            if cid not in self._inflight or self.ledger.attempts(cid)[-1] != file_id:
                continue  # not asked for by this run (yet), or waiting for a newer batch
            pending = self._inflight.pop(cid)
            if all(w.done() for w in pending.waiters):
                continue  # given up on (cancelled): not sent again; its charge stays open for the sweep
            if cid in results.completions:
                self._answer(pending, dataclasses.replace(results.completions[cid], charge=line_charge(file_id, cid)))
            else:
                billed = results.failures[cid].startswith(MALFORMED)  # answered 200, however unreadable
                if self._journal is not None and not billed:  # a line that failed in its batch is not billed
                    await self._journal.refused(line_charge(file_id, cid))
                self._retry(pending, results.failures[cid])

    def _answer(self, pending: _Pending, result: Completion) -> None:
        for w in pending.waiters:
            if not w.done():
                w.set_result(result)

    def _retry(self, pending: _Pending, why: str) -> None:
        """A line that failed inside its batch goes into the next one, unless it cannot heal or tried enough."""
        cid = pending.request.custom_id
        # Counted in this process only: batches.jsonl keeps every earlier run's tries, and "run the same command
        # again" must get a fresh set, not fail at once forever after one bad spell.
        tries = sum(1 for f in self.ledger.attempts(cid) if f in self._uploaded)
        exc: EndpointError | None = None
        if "context_length_exceeded" in why or "maximum context length" in why:
            exc = ContextLengthError(f"{self.settings.where}: the prompt is longer than the model's context: {why}")
        elif why.startswith("HTTP 4") and not why.startswith(("HTTP 408", "HTTP 409", "HTTP 429")):
            exc = EndpointError(f"{self.settings.where}: a batch request was rejected ({why})")
        elif tries >= self.max_attempts:
            exc = EndpointError(
                f"{self.settings.where}: a request failed in {tries} batches (last: {why}); "
                "the output is intact: run the same command again to retry"
            )
        if exc is not None:
            for w in pending.waiters:
                if not w.done():
                    w.set_exception(exc)
            return
        self.usage.step(pending.step).retries += 1
        log.info("batch line %s failed (%s); sending it again (attempt %d)", cid, why, tries + 1)
        self._enqueue(pending)

    # -- settling the lines nobody waits for ---------------------------------------------------------

    async def sweep(self) -> None:
        """Settle the open lines of every finished batch that no request of this process waits for (see the
        module docstring). One status call per batch that has such lines; a batch still running is left to a
        later run, and said so. Best effort: a control call that fails leaves everything as it was."""
        if self._journal is None:
            return
        journal = self._journal
        settled, running = 0, Counter[str]()
        for file_id, ids in list(self.ledger.files.items()):
            batch_id = self.ledger.batch_of.get(file_id)
            todo = [
                cid for cid in ids if journal.open_line(line_charge(file_id, cid)) is not None and not self._wanted(cid)
            ]
            if batch_id is None or not todo:
                continue  # (a file with no batch recorded is created only by a run that asks for its lines)
            try:
                results = await self._finished(file_id, batch_id)
            except EndpointError as exc:
                log.warning("could not collect batch %s: %s", batch_id, exc)
                return
            if results is None:
                running[batch_id] = len(todo)
                continue
            for cid in todo:
                settled += await self._settle(journal, line_charge(file_id, cid), results, cid)
        if settled and self._on_status is not None:
            self._on_status(f"collected {settled} batch line(s) no request of this run took: journaled, so a "
                            "later request for one is answered from the journal")  # fmt: skip
        if running and self._on_status is not None:
            self._on_status(f"{sum(running.values())} paid batch line(s) no request of this run took are still in "
                            f"batches in flight ({', '.join(running)}): running the same command again collects "
                            "them")  # fmt: skip

    def _wanted(self, cid: str) -> bool:
        pending = self._inflight.get(cid) or self._queue.get(cid)
        return pending is not None and not all(w.done() for w in pending.waiters)

    async def _finished(self, file_id: str, batch_id: str) -> BatchResults | None:
        """The results of a finished batch (those this process already read, or read now), None while it runs."""
        task = self._batches.get(file_id)
        if task is not None and task.done() and not task.cancelled() and task.exception() is None:
            return task.result()
        status = await self._client.retrieve(batch_id)
        if not status.done:
            return None
        return await self._client.results(status, self.ledger.files[file_id], self.ledger.paths.get(file_id))

    async def _settle(self, journal: Ledger, charge: str, results: BatchResults, cid: str) -> int:
        """One open line: its reply journaled and charged, or (failed in its batch, unbilled) refused; a reply
        that was unreadable was billed and keeps its reservation. The counts that held the reservation (a charge
        open when the journal was read, or an attempt given up on here) then hold what it cost."""
        line = journal.open_line(charge)
        if line is None:
            return 0
        result: Completion | None = None
        if cid in results.completions:
            result = capped(results.completions[cid], line.completion_tokens)
            if not result.reported:  # charged as the online client charges a reply without usage (budget.charged)
                completion = max(line.completion_tokens, math.ceil(typical_tokens(result.text)))
                result = dataclasses.replace(result, prompt_tokens=line.prompt_tokens, completion_tokens=completion)
        elif results.failures[cid].startswith(MALFORMED):
            return 0
        earlier = charge not in self._charged  # an earlier process's line, not this one's
        if await journal.collected(charge, result) is None:
            return 0
        if self.budget is not None:
            after = (result.prompt_tokens, result.completion_tokens) if result is not None else (0, 0)
            await self.budget.recharge((line.prompt_tokens, line.completion_tokens), after, line.step, line.model)
        if earlier and not self.counts_earlier:
            return 1
        stats = self.usage.step(line.step)
        stats.unanswered -= 1
        stats.prompt_tokens -= line.prompt_tokens
        stats.completion_tokens -= line.completion_tokens
        if result is not None:
            stats.record(result)
        return 1
