"""The bootstrap loop: many requests in flight, one deterministic outcome, and no request that is not needed.

Determinism. Requests are numbered, and request k's demonstrations are sampled with an RNG seeded by (seed, k)
from the pool committed by earlier *rounds*. Rounds are runs of consecutive requests: request 0 alone, then each
round as long as all earlier ones together, at most `--window` requests (0 | 1 | 2-3 | 4-7 | 8-15 | 16-31 |
32-63 | 64-95 | ...). Rounds that start before the second full round (requests 1-63) see request 0 only: its
candidates that passed the instruction filters, once its reply lands, for a method whose prompt shows only
instructions (rounds.previews, rule 4), or else its tasks; a later round sees the rounds before a quarter of
its start, and all but at most four full rounds before its own (rounds.horizon), so that while one request is
retried the next rounds can go out. A request is sent only once everything it may see is decided, so what it
sees never depends on timing, faults or concurrency, and from the second round (request 1) on it sees the
model's own instructions. Candidates
are decided strictly in (request, candidate) order, where the final near-duplicate check sees everything
accepted before, and a candidate's classify and instances requests are a pure function of the candidate.
So with a deterministic endpoint the pool is byte-identical whatever the concurrency, and a killed run
resumes into the same file it would have written without the kill.

Economy. Which requests are sent never changes the pool, only what it costs. A candidate is classified and
given instances only while it can still matter: while the tasks accepted so far plus every earlier candidate
that might still be accepted fall short of the target. It is first checked against the whole pool committed so
far, so a near-duplicate costs nothing. A new instruction request is sent only when the expected supply (the
measured yield of accepted tasks per instruction request for those in flight, the measured acceptance of the
candidates waiting) falls short of the target, and a quarter of the way to the unusable stop nothing is sent
beyond the request at the commit cursor. At most `concurrency` jobs run at a time (one whose request waits
out a Retry-After or a backoff does not count), commit order first, so at concurrency 1 a run pays the
sequential minimum; from concurrency 8 on, up to an eighth of them may go to the instruction requests the
estimate wants while candidates wait, so that new candidates land before the work in hand runs out.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from selfinstruct.engine import journal
from selfinstruct.engine.budget import spend_order
from selfinstruct.engine.client import Completer
from selfinstruct.engine.context_window import ContextLengthError
from selfinstruct.engine.seeding import derive_seed
from selfinstruct.engine.types import Completion, Spend, StepParams
from selfinstruct.errors import EndpointError
from selfinstruct.filters import FilterChain, Rejection
from selfinstruct.filters.rouge import Match
from selfinstruct.io.seeds import demonstration_seeds
from selfinstruct.io.templates import PromptSet
from selfinstruct.methods.base import Candidate, JobResult
from selfinstruct.pipeline.rejections import candidate_rejection, response_rejection
from selfinstruct.pipeline.report import RunReport, report_costs
from selfinstruct.pipeline.rounds import horizon
from selfinstruct.pipeline.runstate import RunState
from selfinstruct.pipeline.scheduler import Progress, Scheduler, landed
from selfinstruct.pipeline.settings import GenerateSettings
from selfinstruct.pipeline.stopping import StopRules, Verdict, history_of
from selfinstruct.tasks import Task

log = logging.getLogger(__name__)
SAVE_INTERVAL = 1.0  # seconds between run.json saves while running
SIMILAR = 10  # most similar tasks a record names (meta.most_similar_instructions)


class Bootstrap(Scheduler):
    """Grows the pool in `state` to `settings.n` tasks."""

    def __init__(
        self,
        settings: GenerateSettings,
        client: Completer,
        state: RunState,
        chain: FilterChain,
        prompts: PromptSet,
        seeds: Sequence[Task],
        seed: int,
        progress: Progress | None = None,
        baseline: Spend | None = None,
        halt: Callable[[], None] | None = None,
        flush: Callable[[], Awaitable[None]] | None = None,
        facts: Mapping[str, Any] | None = None,
        baseline_cost: float | None = None,
    ) -> None:
        self.s = settings
        self.baseline_cost = baseline_cost  # what the run directory had cost before this run (each step's prices)
        self.facts: Mapping[str, Any] = facts or {}  # what the method's setup decided (methods.base.Run.facts)
        self.halt = halt
        self.flush = flush  # the journal's: the replies a commit decides are on disk before it (journal docstring)
        self.baseline = baseline or client.usage.spend()  # what the run directory had spent before this run
        self.client = client
        self.state = state
        self.chain = chain
        self.prompts = prompts
        self.seeds = list(seeds)
        self.demo_seeds = demonstration_seeds(self.seeds, classification_only=settings.classification_only)
        self.method = settings.method
        self.method.check_seeds(self.seeds, settings, settings.seeds, decided=True)
        self.seed = seed
        self.progress = progress
        self._last_progress = 0.0
        self.rejected: Counter[str] = Counter(
            f"{r.get('stage')}:{r.get('reason')}" for r in state.rejected.records if r.get("stage")
        )
        self.stops = StopRules(
            window=settings.saturation_window,
            min_acceptance=settings.min_acceptance,
            max_unusable=settings.max_unusable,
            history=history_of(state.pool.records, state.rejected.records),
        )
        self._verdict: Verdict | None = None
        self._init_schedule()
        if self._previewing and state.next_request >= 1:
            self._preview = self._preview_from_records()
        self._saved_at = -SAVE_INTERVAL

    # -- prompts -----------------------------------------------------------------------------------------

    def _visible(self, request: int) -> int:
        """How many pool tasks request k may see: those of the rounds before its own (under rule 4's preview,
        none: its near-duplicate snapshot is the seeds, as request 0's was, whether or not request 0 is
        committed yet)."""
        if self._sees_preview(request):
            request = 0
        return self.state.pool_count_through(horizon(request, self.s.window, self.s.schedule) - 1)

    def _preview_from_records(self) -> list[dict[str, Any]]:
        """Request 0's preview (scheduler._harvest) when an earlier run committed it: its records in candidate
        order, accepted or rejected, that the instruction filters pass, which is what they said when its reply
        landed (the filters are a pure function of the instruction and the seeds)."""
        found = sorted(self.state.candidates_of(0).items())
        passed = [text for j, text in found if self.precheck(Candidate(j, text), 0).rejection is None]
        return [{"instruction": text} for text in passed]

    # -- what a method gets from the run (methods.base.Run) ----------------------------------------------

    def machine_tasks(self, request: int) -> list[dict[str, Any]]:
        if self._sees_preview(request):
            if self._preview is None:
                raise RuntimeError(f"request {request} sent before request 0's reply landed")  # a bug
            return self._preview
        return self.state.pool.records[: self._visible(request)]

    def params(self, step: str, extra_stop: tuple[str, ...] = ()) -> StepParams:
        params = self.s.params[step]
        if extra_stop:
            stops = tuple(dict.fromkeys(params.stop + extra_stop))[:4]
            params = StepParams(**{**params.__dict__, "stop": stops})
        return params

    # -- one request -------------------------------------------------------------------------------------

    async def generate(
        self, step: str, request: int, make_prompt: Callable[[int], str], params: StepParams
    ) -> Completion:
        """Ask once; when the prompt is too long, shorten it once (fewer demonstrations) and ask again. A prompt
        with nothing to shorten (Magpie's query, an answer, a judgement) is not asked again."""
        first = make_prompt(0)
        try:
            return await self.client.complete(step, first, params, seed=derive_seed(self.seed, request, step))
        except ContextLengthError:
            shorter = make_prompt(1)
            if shorter == first:
                raise
            log.warning(
                "request %d: prompt too long for the model's context; retrying with fewer demonstrations", request
            )
            try:
                return await self.client.complete(step, shorter, params, seed=derive_seed(self.seed, request, step))
            except ContextLengthError as exc:
                raise EndpointError(
                    f"{exc}; even with fewer demonstrations. Use a model with a longer context, shorter seed "
                    "instructions or a shorter --prompts template"
                ) from None

    async def _job(self, request: int) -> JobResult:
        journal.label(request=request)
        spend_order(request)
        return await self.method.propose(self, request)

    def precheck(self, cand: Candidate, request: int) -> Candidate:
        """Cheap filters, and ROUGE-L against the snapshot every concurrency level shares (a rejection there is
        final: the commit-time check sees a superset)."""
        limit = len(self.seeds) + self._visible(request)
        rejection = self.chain.check_text(cand.instruction)
        if rejection is None and self.chain.uses_rouge:
            match = self.chain.index.best_match(cand.instruction, limit=limit)
            if match is not None:
                rejection = _rouge_rejection(match.instruction, match.score, self.chain.threshold)
            cand.checked = min(limit, len(self.chain.index))
        cand.rejection = rejection
        return cand

    async def _complete(self, request: int, cand: Candidate) -> None:
        journal.label(request=request, candidate=cand.index)
        spend_order(request, cand.index)
        await self.method.complete(self, request, cand)

    # -- committing --------------------------------------------------------------------------------------

    async def _commit(self, result: JobResult) -> bool | None:
        """Decide the request's candidates in order and write its outcome; True when the target has been reached,
        None while the candidate at the cursor waits for its instances (the decided ones wait in memory)."""
        k = result.request
        state = self.state
        tasks, rejected = self._tasks, self._rejected
        reached = False
        if result.problem and (k, -1) not in state.written and not rejected:
            rejected.append(response_rejection(k, result.problem, result.detail, result.raw))
            self.rejected[f"response:{result.problem}"] += 1
            raw = result.raw if result.problem == "no_items" else ""  # (an empty one has no reply to show)
            self.stops.rejected(f"response:{result.problem}", unusable=True, raw=raw)
        while self._cursor < len(result.candidates):
            cand = result.candidates[self._cursor]
            accepted = len(state.pool) + len(tasks)
            if accepted >= self.s.n:
                reached = True
                break
            if (k, cand.index) in state.written:
                self._cursor += 1
                continue
            if not cand.final:  # everything before it is decided: this check is the final one
                cand.final = True
                if (cand.rejection is None or cand.stage == "instances") and self.chain.uses_rouge:
                    match = self._final_match(cand)
                    if match is not None:
                        cand.rejection = _rouge_rejection(match.instruction, match.score, self.chain.threshold)
                        cand.stage = "filter"
            if cand.rejection is None and self.method.completes and not landed(cand.work):
                return None  # _dispatch sends it first (or the budget could not pay for it)
            self._cursor += 1
            rejection, stage = cand.rejection, cand.stage
            if cand.work is not None or (not self.method.completes and stage != "filter"):
                self._acceptance[0] += rejection is None
                self._acceptance[1] += 1
            if rejection is not None:
                self.stops.rejected(f"{stage}:{rejection.reason}", unusable=stage == "instances",
                                    raw=cand.raw or cand.instruction)  # fmt: skip
                rejected.append(candidate_rejection(k, cand.index, stage, rejection, cand.instruction, cand.raw))
                self.rejected[f"{stage}:{rejection.reason}"] += 1
                continue
            similar = cand.similar  # (found by the final check; none without the ROUGE-L filter)
            record = {
                "id": f"machine_task_{accepted}",
                "instruction": cand.instruction,
                "instances": [i.to_dict() for i in cand.instances],
                "is_classification": cand.is_classification,
                "meta": {
                    "request": k,
                    "candidate": cand.index,
                    **cand.meta,
                    "max_similarity": round(similar[0].score, 6) if similar else 0.0,
                    "most_similar_instructions": {m.instruction: round(m.score, 6) for m in similar},
                },
            }
            tasks.append(record)
            self.stops.accepted()
            self.chain.keep(cand.instruction)  # later candidates of this response are compared with it
        if self.flush is not None:
            await self.flush()
        await state.commit(k, tasks, rejected)
        del self._results[k]
        self._yield[0] += len(tasks)
        self._yield[1] += 1
        self._tasks, self._rejected, self._cursor = [], [], 0
        if not reached:  # a request cut short by the target is finished by a run with a larger -n
            state.next_request = k + 1
        return reached or len(state.pool) >= self.s.n

    def _final_match(self, cand: Candidate) -> Match | None:
        """The near-duplicate that rejects a candidate at the commit cursor, if any. A candidate that may still be
        accepted gets one search for both this check and the most similar tasks its record names (`cand.similar`):
        the best of those is the best match (ties: the earliest) (two searches were a tenth of the client's
        CPU at concurrency 128)."""
        index = self.chain.index
        if cand.rejection is not None:  # rejected for its instances: only a near-duplicate would be named instead
            return index.best_match(cand.instruction)
        cand.similar = index.most_similar(cand.instruction, SIMILAR)
        best = cand.similar[0] if cand.similar else None
        return best if best is not None and best.score > index.threshold else None

    def counts(self) -> dict[str, Any]:
        return {
            "accepted": len(self.state.pool),
            "rejected": sum(self.rejected.values()),
            "rejected_by_reason": dict(sorted(self.rejected.items())),
        }

    def _save(self, status: str, *, throttle: bool = False) -> None:
        """run.json for humans and for the next run's settings check; at most once a second while running
        (it holds every seed's classification, and a resume takes its position from the logs, not from it)."""
        now = time.monotonic()
        if throttle and now - self._saved_at < SAVE_INTERVAL:
            return
        self._saved_at = now
        self.state.save(
            status=status,
            state={"next_request": self.state.next_request, "seed": self.seed, "target": self.s.n},
            usage=self.client.usage.to_dict(),
            counts=self.counts(),
        )

    def _report(self, status: str, start_accepted: int) -> RunReport:
        budget = self.client.budget
        messages = {
            "complete": f"reached the target of {self.s.n} tasks",
            "nothing_to_do": f"the pool already has {len(self.state.pool)} tasks (target {self.s.n})",
            "budget": f"stopped: the next request could overrun the {budget.describe() if budget else 'budget'}",
        }
        if self._verdict is not None:
            messages[self._verdict.status] = self._verdict.message
        return RunReport(
            status=status,
            accepted=len(self.state.pool),
            target=self.s.n,
            new_tasks=len(self.state.pool) - start_accepted,
            run=self.client.usage.spend() - self.baseline,
            total=self.client.usage.spend(),
            rejected=self.rejected,
            message=messages[status],
            prices=self.s.prices,
            **report_costs(self.s.pricing, self.client.usage, self.baseline_cost),
        )


def _rouge_rejection(similar_to: str, score: float, threshold: float) -> Rejection:
    return Rejection(
        "rouge",
        "near_duplicate",
        f"ROUGE-L {score:.3f} > {threshold:g}",
        similar_to=similar_to,
        score=round(score, 6),
    )
