"""The bootstrap loop: many requests in flight, one deterministic outcome, and no request that is not needed.

Determinism. Requests are numbered, and request k's demonstrations are sampled with an RNG seeded by (seed, k)
from the pool committed by earlier *rounds*. Rounds are runs of consecutive requests: request 0 alone, then each
round as long as all earlier ones together, at most `--window` requests (0 | 1 | 2-3 | 4-7 | 8-15 | 16-31 |
32-63 | 64-95 | ...). Rounds that start before the second full round (requests 1-63) see request 0 only; a
later round sees the rounds before a quarter of its start, and all but at most four full rounds before its
own (scheduler.horizon, rule 3), so that while one request is retried the next rounds can go out. A request
is sent only once every request it may see is committed, so what it sees never depends on timing, faults or
concurrency, and from the second round (request 1) on it sees the model's own tasks. Candidates
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
sequential minimum.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from selfinstruct import journal
from selfinstruct.alpaca_parsing import parse_alpaca_batch
from selfinstruct.budget import Prices, Spend
from selfinstruct.classify import looks_like_classification
from selfinstruct.errors import EndpointError
from selfinstruct.filters import FilterChain, Rejection
from selfinstruct.instances import clean_instances, instances_from_reply
from selfinstruct.llm import Completer, Completion, ContextLengthError, StepParams
from selfinstruct.parsing import (
    normalize_whitespace,
    parse_instruction_list,
    parse_yes_no,
)
from selfinstruct.prompts import PromptSet, ends_open, list_end_stop, render_alpaca, render_instructions
from selfinstruct.rejections import candidate_rejection, response_rejection
from selfinstruct.runstate import RunState
from selfinstruct.scheduler import Progress, Scheduler, horizon, landed
from selfinstruct.seeds import check_classification_seeds, demonstration_seeds
from selfinstruct.settings import GenerateSettings, classification_stops
from selfinstruct.stopcut import is_cut, stopped_before_its_examples, task_tail, without_new_task_stops
from selfinstruct.stopping import StopRules, Verdict, history_of
from selfinstruct.tasks import Instance, Task

log = logging.getLogger(__name__)
SAVE_INTERVAL = 1.0  # seconds between run.json saves while running


def derive_seed(seed: int, *parts: object) -> int:
    """A per-request seed that depends only on the run seed and the request's coordinates."""
    digest = hashlib.sha256(":".join(map(str, (seed, *parts))).encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


@dataclass
class Candidate:
    """One generated instruction on its way through the pipeline."""

    index: int
    instruction: str
    rejection: Rejection | None = None
    stage: str = "filter"
    is_classification: bool | None = None
    instances: list[Instance] = field(default_factory=list)
    # Scheduling: checked against the whole pool at the commit cursor; a near-duplicate of a task committed
    # while it waited (rejected at commit, never sent further); its classify + instances requests.
    final: bool = False
    doomed: bool = False
    work: asyncio.Task[None] | None = field(default=None, repr=False, compare=False)
    raw: str = ""  # the reply behind a rejection: the instruction list, or the instance reply


@dataclass
class JobResult:
    request: int
    candidates: list[Candidate]
    problem: str | None = None  # "empty_response" | "no_items" when nothing could be parsed
    detail: str = ""
    raw: str = ""


@dataclass
class RunReport:
    status: str  # complete | nothing_to_do | budget | saturated | unusable
    accepted: int
    target: int
    new_tasks: int
    run: Spend  # this run
    total: Spend  # the run directory, all runs together
    rejected: Counter[str]
    message: str = ""
    prices: Prices | None = None

    @property
    def requests_per_task(self) -> float | None:
        """Requests this run paid per task it added."""
        return self.run.requests / self.new_tasks if self.new_tasks else None


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
    ) -> None:
        self.s = settings
        self.halt = halt
        self.flush = flush  # the journal's: the replies a commit decides are on disk before it (journal docstring)
        self.baseline = baseline or client.usage.spend()  # what the run directory had spent before this run
        self.client = client
        self.state = state
        self.chain = chain
        self.prompts = prompts
        self.seeds = list(seeds)
        self.demo_seeds = demonstration_seeds(self.seeds, classification_only=settings.classification_only)
        if settings.classification_only and settings.mode == "self-instruct":
            needed = settings.demos - settings.machine_demos
            check_classification_seeds(self.seeds, needed=needed, path=settings.seeds, decided=True)
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
        self._saved_at = -SAVE_INTERVAL

    # -- prompts -----------------------------------------------------------------------------------------

    def instruction_demos(self, request: int) -> list[str]:
        """The request's demonstrations: machine tasks from the pool prefix it may see, the rest seeds."""
        rng = random.Random(derive_seed(self.seed, request, "demos"))
        machine_pool = self.state.pool.records[: self._visible(request)]
        machine = rng.sample(machine_pool, min(self.s.machine_demos, len(machine_pool)))
        human = rng.sample(self.demo_seeds, min(len(self.demo_seeds), self.s.demos - len(machine)))
        demos = [t.instruction for t in human] + [str(t["instruction"]) for t in machine]
        rng.shuffle(demos)
        return demos

    def alpaca_demos(self, request: int) -> list[Task]:
        """Alpaca shows seeds only (with their first instance), as the original did."""
        rng = random.Random(derive_seed(self.seed, request, "demos"))
        usable = [t for t in self.seeds if t.instances]
        return rng.sample(usable, min(self.s.demos, len(usable)))

    def _visible(self, request: int) -> int:
        """How many pool tasks request k may see: those of the rounds before its own."""
        return self.state.pool_count_through(horizon(request, self.s.window, self.s.schedule) - 1)

    def _params(self, step: str, extra_stop: tuple[str, ...] = ()) -> StepParams:
        params = self.s.params[step]
        if extra_stop:
            stops = tuple(dict.fromkeys(params.stop + extra_stop))[:4]
            params = StepParams(**{**params.__dict__, "stop": stops})
        return params

    # -- one request -------------------------------------------------------------------------------------

    async def _generate(
        self, step: str, request: int, make_prompt: Callable[[int], str], params: StepParams
    ) -> Completion:
        """Ask once; when the prompt is too long, shorten it once (fewer demonstrations) and ask again."""
        try:
            return await self.client.complete(step, make_prompt(0), params, seed=derive_seed(self.seed, request, step))
        except ContextLengthError:
            log.warning(
                "request %d: prompt too long for the model's context; retrying with fewer demonstrations", request
            )
            try:
                return await self.client.complete(
                    step, make_prompt(1), params, seed=derive_seed(self.seed, request, step)
                )
            except ContextLengthError as exc:
                raise EndpointError(
                    f"{exc}; even with fewer demonstrations. Use a model with a longer context, shorter seed "
                    "instructions or a shorter --prompts template"
                ) from None

    async def _job(self, request: int) -> JobResult:
        journal.label(request=request)
        if self.s.mode == "alpaca":
            return await self._alpaca_job(request)
        demos = self.instruction_demos(request)
        last = len(demos) + self.s.new_per_request
        stop = (list_end_stop(self.s.language, last + 1),)
        shown: list[list[str]] = []  # the demonstrations of the prompt that was answered (maybe shortened)
        sent: list[str] = []

        def prompt(shorten: int) -> str:
            shown.append(_halve(demos) if shorten else demos)
            sent.append(
                render_instructions(
                    self.prompts,
                    self.s.language,
                    shown[-1],
                    self.s.new_per_request,
                    classification_only=self.s.classification_only,
                )
            )
            return sent[-1]

        completion = await self._generate("instructions", request, prompt, self._params("instructions", stop))
        if not completion.text.strip():
            return JobResult(request, [], "empty_response", f"finish_reason={completion.finish_reason}",
                             completion.text)  # fmt: skip
        parsed = parse_instruction_list(
            completion.text,
            continued=ends_open(sent[-1]),
            truncated=completion.finish_reason == "length",
            first_number=len(shown[-1]) + 1,
        )
        if not parsed.items:
            return JobResult(request, [], "no_items", completion.text[:200], completion.text)
        limit = len(self.seeds) + self._visible(request)
        candidates = [
            self._precheck(Candidate(j, normalize_whitespace(text), raw=completion.text), limit)
            for j, text in enumerate(parsed.items[: self.s.new_per_request])
        ]
        return JobResult(request, candidates)  # classify and instances come later, when needed

    def _precheck(self, cand: Candidate, limit: int) -> Candidate:
        """Cheap filters, and ROUGE-L against the snapshot every concurrency level shares (a rejection there is
        final: the commit-time check sees a superset)."""
        rejection = self.chain.check_text(cand.instruction)
        if rejection is None and self.chain.uses_rouge:
            match = self.chain.index.best_match(cand.instruction, limit=limit)
            if match is not None:
                rejection = _rouge_rejection(match.instruction, match.score, self.chain.threshold)
        cand.rejection = rejection
        return cand

    async def _complete(self, request: int, cand: Candidate) -> None:
        """Classify, then write instances output-first (classification) or input-first."""
        journal.label(request=request, candidate=cand.index)
        seed = derive_seed(self.seed, request, cand.index, "classify")
        cand.is_classification = await classify(cand.instruction, self.client, self.prompts, self.s, seed)
        template = "instances_output_first" if cand.is_classification else "instances_input_first"
        params = self.s.params["instances"]
        if cand.is_classification:
            params = replace(params, stop=classification_stops(params.stop))
        prompt = self.prompts[template].render(instruction=cand.instruction)
        seed = derive_seed(self.seed, request, cand.index, "instances")
        reply = await self.client.complete("instances", prompt, params, seed=seed)
        if stopped_before_its_examples(reply, params.stop):  # a preamble, then its own "Example 1": again, unstopped
            params = replace(params, stop=without_new_task_stops(params.stop))
            reply = await self.client.complete("instances", prompt, params, seed=seed)
        outcome = instances_from_reply(
            reply.text,
            output_first=cand.is_classification,
            truncated=is_cut(reply),
            task_tail=task_tail(reply, params.stop),
            max_instances=self.s.max_instances,
            rng=random.Random(derive_seed(self.seed, request, cand.index, "instance_choice")),
        )
        cand.instances = outcome.instances
        if outcome.reason is not None:
            cand.stage, cand.raw = "instances", reply.text
            cand.rejection = Rejection("instances", outcome.reason, outcome.detail)

    async def _alpaca_job(self, request: int) -> JobResult:
        demos = self.alpaca_demos(request)
        sent: list[str] = []

        def prompt(shorten: int) -> str:
            sent.append(
                render_alpaca(
                    self.prompts, self.s.language, _halve(demos) if shorten else demos, self.s.new_per_request
                )
            )
            return sent[-1]

        completion = await self._generate("alpaca", request, prompt, self._params("alpaca"))
        if not completion.text.strip():
            return JobResult(request, [], "empty_response", f"finish_reason={completion.finish_reason}",
                             completion.text)  # fmt: skip
        items, malformed = parse_alpaca_batch(
            completion.text,
            continued=ends_open(sent[-1]),
            truncated=is_cut(completion),
        )
        if not items:
            detail = f"{malformed} block(s) without an instruction or an output" if malformed else "no task block"
            return JobResult(request, [], "no_items", detail, completion.text)
        limit = len(self.seeds) + self._visible(request)
        candidates = []
        for j, item in enumerate(items[: self.s.new_per_request]):
            cand = self._precheck(Candidate(j, normalize_whitespace(item.instruction), raw=completion.text), limit)
            if cand.rejection is None:
                kept, reason = clean_instances([Instance(item.input, item.output)], max_instances=1)
                cand.instances = kept
                if reason is not None:
                    cand.stage, cand.rejection = "instances", Rejection("instances", reason, "the example is unusable")
            candidates.append(cand)
        return JobResult(request, candidates)

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
                    match = self.chain.index.best_match(cand.instruction)
                    if match is not None:
                        cand.rejection = _rouge_rejection(match.instruction, match.score, self.chain.threshold)
                        cand.stage = "filter"
            if cand.rejection is None and self.s.mode != "alpaca" and not landed(cand.work):
                return None  # _dispatch sends it first (or the budget could not pay for it)
            self._cursor += 1
            rejection, stage = cand.rejection, cand.stage
            if cand.work is not None or (self.s.mode == "alpaca" and stage != "filter"):
                self._acceptance[0] += rejection is None
                self._acceptance[1] += 1
            if rejection is not None:
                self.stops.rejected(f"{stage}:{rejection.reason}", unusable=stage == "instances",
                                    raw=cand.raw or cand.instruction)  # fmt: skip
                rejected.append(candidate_rejection(k, cand.index, stage, rejection, cand.instruction, cand.raw))
                self.rejected[f"{stage}:{rejection.reason}"] += 1
                continue
            similar = self.chain.index.most_similar(cand.instruction, 10) if self.chain.uses_rouge else []
            record = {
                "id": f"machine_task_{accepted}",
                "instruction": cand.instruction,
                "instances": [i.to_dict() for i in cand.instances],
                "is_classification": cand.is_classification,
                "meta": {
                    "request": k,
                    "candidate": cand.index,
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
        )


async def classify(
    instruction: str, client: Completer, prompts: PromptSet, settings: GenerateSettings, seed: int
) -> bool:
    """Is the task a classification task? Asked of the model, or read by rules for models too small to judge."""
    if settings.classifier == "rules":
        return looks_like_classification(instruction)
    answer = await client.complete(
        "classify", prompts["classify"].render(instruction=instruction), settings.params["classify"], seed=seed
    )
    verdict = parse_yes_no(answer.text)
    if verdict is None:
        log.info(
            "unclear classification answer %r for %r; taking it as not classification", answer.text[:40], instruction
        )
    return bool(verdict)


def _halve(demos: list[Any]) -> list[Any]:
    return demos[: max(1, len(demos) // 2)]


def _rouge_rejection(similar_to: str, score: float, threshold: float) -> Rejection:
    return Rejection(
        "rouge",
        "near_duplicate",
        f"ROUGE-L {score:.3f} > {threshold:g}",
        similar_to=similar_to,
        score=round(score, 6),
    )
