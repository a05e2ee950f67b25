"""When requests are sent: the loop that keeps at most `concurrency` jobs in flight and commits in order.

The rules are in the bootstrap module's docstring (determinism, economy); this module applies them:
`Bootstrap` says what each job is and how its outcome is decided, the `Scheduler` decides which job runs
when. The pipeline's own state (settings, client, run state, filters) is the subclass's.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from selfinstruct.engine.budget import BudgetExhausted
from selfinstruct.engine.client import Halted, engine_counters
from selfinstruct.methods.base import Candidate, JobResult, Method
from selfinstruct.pipeline.report import RunReport
from selfinstruct.pipeline.rounds import horizon, previews

if TYPE_CHECKING:
    from selfinstruct.engine.client import Completer
    from selfinstruct.filters import FilterChain
    from selfinstruct.pipeline.runstate import RunState
    from selfinstruct.pipeline.settings import GenerateSettings
    from selfinstruct.pipeline.stopping import StopRules, Verdict

TICK = 1.0  # seconds between progress updates while nothing lands
PRIOR_ACCEPTANCE = (3, 4)  # accepted of candidates sent for instances, before any is measured: 3 in 4


# Called with the pool size and counters (see _postfix) after every commit, at the start, and every TICK.
Progress = Callable[[int, dict[str, Any]], None]


class Scheduler:
    """The dispatch loop of a bootstrap run; see the module docstring."""

    s: GenerateSettings
    method: Method
    client: Completer
    state: RunState
    chain: FilterChain
    progress: Progress | None
    halt: Callable[[], None] | None  # the paid client's halt (LLMClient.halt): nothing more is sent
    stops: StopRules
    rejected: Counter[str]
    _verdict: Verdict | None
    _last_progress: float

    def _init_schedule(self) -> None:
        # Scheduling. The request at the commit cursor is self.state.next_request; its decided records wait in
        # _tasks/_rejected until the whole request is written.
        self._instr: dict[int, asyncio.Task[JobResult]] = {}
        self._results: dict[int, JobResult] = {}
        self._flying: set[asyncio.Task[Any]] = set()
        self._next_dispatch = self.state.next_request
        self._cursor = 0
        self._tasks: list[dict[str, Any]] = []
        self._rejected: list[dict[str, Any]] = []
        # Measured yield: accepted tasks per committed instruction request (a resumed run starts from its
        # files) and accepted share of the candidates sent for instances, each with a small prior.
        self._yield = [len(self.state.pool) + self.s.new_per_request / 2, self.state.next_request + 1.0]
        self._acceptance = [float(PRIOR_ACCEPTANCE[0]), float(PRIOR_ACCEPTANCE[1])]
        self._interrupted = False  # set by interrupt(): drain, commit, end as interrupted
        self._exhausted = False  # a job could not be paid for: drain, commit, end as "budget"
        # Rule 4 (rounds.previews): the first rounds see request 0's candidates that passed the instruction
        # filters, as {"instruction": ...} records, once its reply has landed (or from its records on a resume).
        self._previewing = self.s.schedule >= 4 and self.method.demos_from_candidates(self.s)
        self._preview: list[dict[str, Any]] | None = None

    def interrupt(self) -> None:
        """The first Ctrl-C, SIGTERM or SIGHUP (aio.on_interrupt), once the client sends nothing more: dispatch
        nothing, let the jobs in flight end (their requests on the wire land in the journal within --timeout;
        the others stop at once), commit what they decide, then end as interrupted. A resume replays what landed
        instead of paying for it again."""
        self._interrupted = True

    # -- what a subclass provides ------------------------------------------------------------------------

    async def _job(self, request: int) -> JobResult:
        raise NotImplementedError

    async def _complete(self, request: int, cand: Candidate) -> None:
        raise NotImplementedError

    async def _commit(self, result: JobResult) -> bool | None:
        raise NotImplementedError

    def _save(self, status: str, *, throttle: bool = False) -> None:
        raise NotImplementedError

    def _report(self, status: str, start_accepted: int) -> RunReport:
        raise NotImplementedError

    # -- what a request may see ----------------------------------------------------------------------------

    def _sees_preview(self, request: int) -> bool:
        return self._previewing and previews(request, self.s.window, self.s.schedule)

    def _may_send(self, request: int) -> bool:
        """Whether everything `request` may see is decided: the requests before its horizon are committed, or,
        for the first rounds under rule 4, request 0's reply has landed."""
        if horizon(request, self.s.window, self.s.schedule) <= self.state.next_request:
            return True
        return self._preview is not None and self._sees_preview(request)

    # -- the loop ----------------------------------------------------------------------------------------

    def _dispatch(self, *, instructions: bool = True) -> None:
        """Hand free job slots to the work that can still matter, in commit order, then to instruction requests
        (not while `instructions` is false: between commits, whose unusable replies may yet make the run cautious)."""
        # A job whose request waits out a 429's Retry-After or a backoff holds no connection: it does not count
        # against --concurrency (the client still sends at most that many at once), up to twice as many jobs.
        concurrency, jobs = self.client.settings.concurrency, len(self._flying)
        waiting = 0 if self.s.batch else len(self.client.waiting)
        free = min(concurrency - jobs + waiting, 2 * concurrency - jobs)
        if free <= 0:
            return
        n = self.s.n
        cautious = self._cautious()
        accepted = len(self.state.pool) + len(self._tasks)
        ahead = 0  # earlier candidates that may still be accepted: an upper bound
        live = 0  # of which landed (sent, waiting for a slot, or for a method whose candidates come complete, parsed)
        sendable: list[tuple[int, Candidate]] = []  # needed and not sent yet, in commit order, at most `free`
        enough = False  # the candidates so far can reach the target: nothing after them is needed
        reserve = min(self.client.settings.concurrency // 8, free) if instructions else 0
        full = False  # the scan stopped at a candidate that has no slot (nothing is reserved): no estimate needed
        for k in range(self.state.next_request, self._next_dispatch):
            if cautious and k > self.state.next_request:
                enough = True
                break
            result = self._results.get(k)
            if result is None:  # still in flight: it may bring new_per_request candidates, all ahead
                ahead += self.s.new_per_request
                continue
            first = self._cursor if k == self.state.next_request else 0
            for cand in result.candidates[first:]:
                if cand.rejection is not None or cand.doomed or (k, cand.index) in self.state.written:
                    continue
                if cand.work is None and self.method.completes:  # landed, not sent yet
                    if accepted + ahead >= n:
                        enough = True  # enough candidates before this one to reach the target: nothing more is needed
                        break
                    if len(sendable) == free and not reserve:
                        full = True  # the slots are taken and no instruction request may have one: the rest can wait
                        break
                    if len(sendable) < free:
                        # (only here the ROUGE-L check: a candidate that cannot be sent now is checked when it can;
                        # against the tasks committed since its precheck, which searched those before them)
                        rouge = not cand.final and self.chain.uses_rouge
                        if rouge and self.chain.index.best_match(cand.instruction, since=cand.checked):
                            cand.doomed = True  # a near-duplicate of a task committed while it waited
                            continue
                        sendable.append((k, cand))
                ahead, live = ahead + 1, live + 1
            if enough or full:
                break
        needed = instructions and not enough and not full and accepted + ahead < n
        wanted = self._instructions_wanted(accepted, live, free, cautious) if needed else 0
        # Candidates first, in commit order; but when they would take every free slot, up to an eighth of
        # --concurrency goes to the instruction requests the estimate wants, so that their candidates have landed
        # before the work in hand runs out (otherwise a round of them goes out only once the slots run dry, and
        # the run's last candidates wait a request longer).
        asked = min(wanted, max(free - len(sendable), reserve))
        for k, cand in sendable[: free - asked]:
            cand.work = asyncio.create_task(self._complete(k, cand))
            self._flying.add(cand.work)
        for _ in range(asked):
            k = self._next_dispatch
            self._instr[k] = asyncio.create_task(self._job(k))
            self._flying.add(self._instr[k])
            self._next_dispatch = k + 1

    def _cautious(self) -> bool:
        """A quarter of the way to the unusable stop (responses in a row that gave nothing usable): go no further
        than the request at the commit cursor, so a useless model is found out at nearly the sequential price."""
        return 4 * sum(self.stops.streak.values()) >= self.stops.max_unusable

    def _instructions_wanted(self, accepted: int, live: int, free: int, cautious: bool) -> int:
        """How many more instruction requests the expected supply falls short by (at most `free`, in request order
        as far as the rounds allow): the measured yield of those in flight and the measured acceptance of the
        candidates landed, not assumed."""
        per_request = self._yield[0] / self._yield[1]
        acceptance = self._acceptance[0] / self._acceptance[1]
        wanted = 0
        while wanted < free and self._may_send(self._next_dispatch + wanted):
            if cautious and self._next_dispatch + wanted > self.state.next_request:
                break
            if accepted + acceptance * live + per_request * (len(self._instr) + wanted) >= self.s.n:
                break  # what is on its way should do
            wanted += 1
        return wanted

    async def run(self) -> RunReport:
        state = self.state
        start_accepted = len(state.pool)
        if len(state.pool) >= self.s.n:
            return self._report("nothing_to_do", start_accepted)
        if self.progress is not None:
            self.progress(len(state.pool), self._postfix())
        status = "complete"
        try:
            while True:
                stop = await self._advance(refill=True)
                if stop is not None:
                    status = stop
                    # What is on the wire is paid for already: let it land, so that usage counts it. Nothing more
                    # goes out: a retry waiting out its backoff or Retry-After, and the next step of a candidate's
                    # requests, would be paid (and waited for) to decide nothing.
                    if self.halt is not None:
                        self.halt()
                    await asyncio.gather(*self._flying, return_exceptions=True)
                    break
                if self._interrupted:
                    self._harvest(set(await _settled(self._flying)), draining=True)
                    stop = await self._advance()
                    if stop is None:
                        raise asyncio.CancelledError  # ends as a cancelled run does: run.json says interrupted
                    status = stop
                    break
                if not self._exhausted:
                    self._dispatch()
                    if not self._flying:
                        raise RuntimeError("bootstrap: nothing in flight and nothing to commit")  # a bug
                    done, _ = await asyncio.wait(self._flying, timeout=TICK, return_when=asyncio.FIRST_COMPLETED)
                    self._exhausted = self._harvest(done)
                if self._exhausted:
                    # The next request cannot be paid for: let the others land, commit what they decide, stop.
                    self._harvest(set(await _settled(self._flying)))
                    status = await self._advance() or "budget"
                    break
                if self.progress is not None and time.monotonic() - self._last_progress >= TICK:
                    self.progress(len(state.pool), self._postfix())
        finally:
            for task in self._flying:
                task.cancel()
            await asyncio.gather(*self._flying, return_exceptions=True)
        self._save(status)
        return self._report(status, start_accepted)

    def _harvest(self, done: set[asyncio.Task[Any]], *, draining: bool = False) -> bool:
        """Take in finished jobs; True when one could not be paid for (the budget is exhausted). While `draining`
        (after an interruption) a failed job only leaves its request uncommitted."""
        self._flying -= done
        # Every failure is taken in (a task whose exception nobody asks for prints a traceback at exit), then the
        # first fatal one stops the run; run() cancels and awaits the rest. Halted: not sent, as asked.
        failures = [exc for task in done if not task.cancelled() and (exc := task.exception()) is not None]
        fatal = [exc for exc in failures if not isinstance(exc, (BudgetExhausted, Halted))]
        if fatal and not draining:
            raise fatal[0]  # an endpoint error stops the run here
        exhausted = any(isinstance(exc, BudgetExhausted) for exc in failures)
        for k in [
            k for k, task in self._instr.items() if task.done() and not task.cancelled() and task.exception() is None
        ]:
            self._results[k] = self._instr.pop(k).result()
        if self._previewing and self._preview is None and 0 in self._results:
            # Taken as request 0's reply lands: its candidates' rejections are still the instruction filters' own.
            self._preview = [{"instruction": c.instruction} for c in self._results[0].candidates if c.rejection is None]
        return exhausted

    async def _advance(self, *, refill: bool = False) -> str | None:
        """Commit every request that can be decided now; the stop status once the run should end. With `refill`
        (the dispatch loop's own call), between commits the jobs that ended are taken in and their slots handed
        on: each commit waits for its writes to reach the disk, and at concurrency 128 a run of commits held the
        loop for a quarter of its time while finished jobs' slots stood empty."""
        while self.state.next_request in self._results:
            done = await self._commit(self._results[self.state.next_request])
            if done is None:
                return None
            self._save("running", throttle=True)  # at most once a second; the logs are the truth on resume
            if self.progress is not None:
                self.progress(len(self.state.pool), self._postfix())
            if done:
                return "complete"
            self._verdict = self.stops.verdict()
            if self._verdict is not None:
                return self._verdict.status
            if refill and not self._interrupted and not self._exhausted:
                self._exhausted = self._harvest({task for task in self._flying if task.done()})
                if not self._exhausted:
                    self._dispatch(instructions=False)
        return None

    def _postfix(self) -> dict[str, Any]:
        """What the progress display shows: the run directory's totals, and what is happening right now."""
        self._last_progress = time.monotonic()
        return engine_counters(self.client, self.s.pricing) | {"rejected": sum(self.rejected.values())}


def landed(work: asyncio.Task[None] | None) -> bool:
    return work is not None and work.done() and not work.cancelled() and work.exception() is None


async def _settled(tasks: set[asyncio.Task[Any]]) -> set[asyncio.Task[Any]]:
    if tasks:
        await asyncio.wait(tasks)
    return tasks
