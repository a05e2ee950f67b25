"""The bootstrap loop: many requests in flight, one deterministic outcome.

Request k is a pure function of (seed, k, the pool committed by requests <= k - window - 1): its demonstrations
are sampled with an RNG seeded by (seed, k) from that pool prefix, and its candidates are pre-checked against
that prefix only. Results are committed strictly in request order, where the final near-duplicate check sees
everything accepted before. So with a deterministic endpoint the pool is byte-identical whatever the
concurrency, and a killed run resumes into the same file it would have written without the kill.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from selfinstruct import journal
from selfinstruct.classify import looks_like_classification
from selfinstruct.errors import EndpointError, InputError
from selfinstruct.filters import FilterChain, Rejection
from selfinstruct.instances import clean_instances
from selfinstruct.llm import Completion, ContextLengthError, LLMClient, StepParams
from selfinstruct.parsing import (
    normalize_whitespace,
    parse_alpaca_batch,
    parse_input_first,
    parse_instruction_list,
    parse_output_first,
    parse_yes_no,
)
from selfinstruct.prompts import PromptSet, render_alpaca, render_instructions, task_label
from selfinstruct.runstate import RunState
from selfinstruct.settings import GenerateSettings
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


@dataclass
class JobResult:
    request: int
    candidates: list[Candidate]
    problem: str | None = None  # "empty_response" | "no_items" when nothing could be parsed
    detail: str = ""


@dataclass
class RunReport:
    status: str  # complete | budget | saturated | nothing_to_do
    accepted: int
    target: int
    new_tasks: int
    requests: int
    tokens: int
    rejected: Counter[str]
    message: str = ""


# Called with the pool size and counters after every commit (and once at the start, for resumed runs).
Progress = Callable[[int, dict[str, Any]], None]


class Bootstrap:
    """Grows the pool in `state` to `settings.n` tasks."""

    def __init__(
        self,
        settings: GenerateSettings,
        client: LLMClient,
        state: RunState,
        chain: FilterChain,
        prompts: PromptSet,
        seeds: Sequence[Task],
        seed: int,
        progress: Progress | None = None,
    ) -> None:
        self.s = settings
        self.client = client
        self.state = state
        self.chain = chain
        self.prompts = prompts
        self.seeds = list(seeds)
        self.seed = seed
        self.progress = progress
        self.rejected: Counter[str] = Counter(
            f"{r.get('stage')}:{r.get('reason')}" for r in state.rejected.records if r.get("stage")
        )
        self.recent: deque[bool] = deque(_recent_outcomes(state), maxlen=settings.saturation_window)
        self.per_request: deque[int] = deque(maxlen=50)
        self._saved_at = -SAVE_INTERVAL

    # -- prompts -----------------------------------------------------------------------------------------

    def instruction_demos(self, request: int) -> list[str]:
        """The request's demonstrations: machine tasks from the pool prefix it may see, the rest seeds."""
        rng = random.Random(derive_seed(self.seed, request, "demos"))
        available = self.state.pool_count_through(request - self.s.window - 1)
        machine_pool = self.state.pool.records[:available]
        machine = rng.sample(machine_pool, min(self.s.machine_demos, len(machine_pool)))
        human = rng.sample(self.seeds, min(len(self.seeds), self.s.demos - len(machine)))
        demos = [t.instruction for t in human] + [str(t["instruction"]) for t in machine]
        rng.shuffle(demos)
        return demos

    def alpaca_demos(self, request: int) -> list[Task]:
        """Alpaca shows seeds only (with their first instance), as the original did."""
        rng = random.Random(derive_seed(self.seed, request, "demos"))
        usable = [t for t in self.seeds if t.instances]
        return rng.sample(usable, min(self.s.demos, len(usable)))

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
        stop = (task_label(self.s.language, last + 1),)
        completion = await self._generate(
            "instructions",
            request,
            lambda shorten: render_instructions(
                self.prompts, self.s.language, _halve(demos) if shorten else demos, self.s.new_per_request
            ),
            self._params("instructions", stop),
        )
        if not completion.text.strip():
            return JobResult(request, [], "empty_response", f"finish_reason={completion.finish_reason}")
        parsed = parse_instruction_list(
            completion.text,
            continued=self.client.settings.api == "completions",
            truncated=completion.finish_reason == "length",
        )
        if not parsed.items:
            return JobResult(request, [], "no_items", completion.text[:200])
        limit = len(self.seeds) + self.state.pool_count_through(request - self.s.window - 1)
        candidates = [
            self._precheck(Candidate(j, normalize_whitespace(text)), limit)
            for j, text in enumerate(parsed.items[: self.s.new_per_request])
        ]
        await asyncio.gather(*(self._complete(request, c) for c in candidates if c.rejection is None))
        return JobResult(request, candidates)

    def _precheck(self, cand: Candidate, limit: int) -> Candidate:
        """Cheap filters, and ROUGE-L against the snapshot every concurrency level shares."""
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
        reply = await self.client.complete(
            "instances",
            self.prompts[template].render(instruction=cand.instruction),
            self.s.params["instances"],
            seed=derive_seed(self.seed, request, cand.index, "instances"),
        )
        raw = parse_output_first(reply.text) if cand.is_classification else parse_input_first(reply.text)
        kept, reason = clean_instances(raw, max_instances=self.s.max_instances)
        cand.instances = kept
        if reason is not None:
            cand.stage = "instances"
            cand.rejection = Rejection("instances", reason, f"{len(raw)} parsed, none usable")

    async def _alpaca_job(self, request: int) -> JobResult:
        demos = self.alpaca_demos(request)
        completion = await self._generate(
            "alpaca",
            request,
            lambda shorten: render_alpaca(
                self.prompts, self.s.language, _halve(demos) if shorten else demos, self.s.new_per_request
            ),
            self._params("alpaca"),
        )
        if not completion.text.strip():
            return JobResult(request, [], "empty_response", f"finish_reason={completion.finish_reason}")
        items, _malformed = parse_alpaca_batch(
            completion.text,
            continued=self.client.settings.api == "completions",
            truncated=completion.finish_reason == "length",
        )
        if not items:
            return JobResult(request, [], "no_items", completion.text[:200])
        limit = len(self.seeds) + self.state.pool_count_through(request - self.s.window - 1)
        candidates = []
        for j, item in enumerate(items[: self.s.new_per_request]):
            cand = self._precheck(Candidate(j, normalize_whitespace(item.instruction)), limit)
            if cand.rejection is None:
                kept, reason = clean_instances([Instance(item.input, item.output)], max_instances=1)
                cand.instances = kept
                if reason is not None:
                    cand.stage, cand.rejection = "instances", Rejection("instances", reason, "the example is unusable")
            candidates.append(cand)
        return JobResult(request, candidates)

    # -- committing --------------------------------------------------------------------------------------

    def _commit(self, result: JobResult) -> bool:
        """Write one request's outcome in candidate order; True when the target has been reached."""
        k = result.request
        state = self.state
        tasks: list[dict[str, Any]] = []
        rejected: list[dict[str, Any]] = []
        accepted = len(state.pool)
        reached = False
        if result.problem and (k, -1) not in state.written:
            rejected.append(
                {"meta": {"request": k, "candidate": -1}, "stage": "response", "reason": result.problem,
                 "detail": result.detail}
            )  # fmt: skip
            self.rejected[f"response:{result.problem}"] += 1
        for cand in result.candidates:
            if accepted + len(tasks) >= self.s.n:
                reached = True
                break
            if (k, cand.index) in state.written:
                continue
            rejection, stage = cand.rejection, cand.stage
            if rejection is None and self.chain.uses_rouge:
                match = self.chain.index.best_match(cand.instruction)
                if match is not None:
                    rejection, stage = _rouge_rejection(match.instruction, match.score, self.chain.threshold), "filter"
            self.recent.append(rejection is None)
            if rejection is not None:
                rejected.append(
                    {"meta": {"request": k, "candidate": cand.index}, "stage": stage, **rejection.to_dict(),
                     "instruction": cand.instruction}
                )  # fmt: skip
                self.rejected[f"{stage}:{rejection.reason}"] += 1
                continue
            similar = self.chain.index.most_similar(cand.instruction, 10) if self.chain.uses_rouge else []
            record = {
                "id": f"machine_task_{accepted + len(tasks)}",
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
            self.chain.keep(cand.instruction)  # later candidates of this response are compared with it
        state.commit(k, tasks, rejected)
        self.per_request.append(len(tasks))
        if not reached:
            state.next_request = k + 1
        return reached or len(state.pool) >= self.s.n

    # -- the loop ----------------------------------------------------------------------------------------

    def _wanted_jobs(self) -> int:
        """Jobs worth having in flight: enough to reach the target, never more than the window allows."""
        remaining = self.s.n - len(self.state.pool)
        per_job = max(0.5, sum(self.per_request) / len(self.per_request)) if self.per_request else 2.0
        return max(1, min(self.s.window + 1, int(remaining / per_job * 1.5) + 1))

    async def run(self) -> RunReport:
        state = self.state
        start_tokens = self.client.usage.total_tokens
        start_accepted = len(state.pool)
        if len(state.pool) >= self.s.n:
            return self._report("nothing_to_do", start_accepted, start_tokens)
        if self.progress is not None:
            self.progress(len(state.pool), self._postfix())
        pending: dict[int, asyncio.Task[JobResult]] = {}
        next_dispatch = next_commit = state.next_request
        status = "complete"
        try:
            while True:
                while next_dispatch <= next_commit + self.s.window and len(pending) < self._wanted_jobs():
                    pending[next_dispatch] = asyncio.create_task(self._job(next_dispatch))
                    next_dispatch += 1
                result = await pending.pop(next_commit)
                done = self._commit(result)
                next_commit += 1
                self._save("running", throttle=True)
                if self.progress is not None:
                    self.progress(len(state.pool), self._postfix())
                if done:
                    break
                if self.s.max_tokens_total is not None and self.client.usage.total_tokens >= self.s.max_tokens_total:
                    status = "budget"
                    break
                if (
                    self.s.min_acceptance > 0
                    and len(self.recent) == self.recent.maxlen
                    and sum(self.recent) / len(self.recent) < self.s.min_acceptance
                ):
                    status = "saturated"
                    break
        finally:
            for task in pending.values():
                task.cancel()
            await asyncio.gather(*pending.values(), return_exceptions=True)
        self._save(status)
        return self._report(status, start_accepted, start_tokens)

    def _postfix(self) -> dict[str, Any]:
        usage = self.client.usage
        return {"rejected": sum(self.rejected.values()), "requests": usage.requests, "tokens": usage.total_tokens}

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

    def _report(self, status: str, start_accepted: int, start_tokens: int) -> RunReport:
        messages = {
            "complete": f"reached the target of {self.s.n} tasks",
            "nothing_to_do": f"the pool already has {len(self.state.pool)} tasks (target {self.s.n})",
            "budget": f"stopped: token budget of {self.s.max_tokens_total} reached",
            "saturated": (
                f"stopped: fewer than {self.s.min_acceptance:.0%} of the last {self.s.saturation_window} candidates "
                "were accepted; the model has run out of new tasks for these seeds and prompts"
            ),
        }
        return RunReport(
            status=status,
            accepted=len(self.state.pool),
            target=self.s.n,
            new_tasks=len(self.state.pool) - start_accepted,
            requests=self.client.usage.requests,
            tokens=self.client.usage.total_tokens - start_tokens,
            rejected=self.rejected,
            message=messages[status],
        )


async def classify(
    instruction: str, client: LLMClient, prompts: PromptSet, settings: GenerateSettings, seed: int
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


def _recent_outcomes(state: RunState) -> list[bool]:
    """Accept/reject outcomes in commit order, rebuilt from the files so saturation survives a resume."""
    keyed: list[tuple[int, int, bool]] = []
    for records, ok in ((state.pool.records, True), (state.rejected.records, False)):
        for r in records:
            meta = r.get("meta")
            if isinstance(meta, dict) and isinstance(meta.get("candidate"), int) and meta["candidate"] >= 0:
                keyed.append((int(meta["request"]), int(meta["candidate"]), ok))
    keyed.sort()
    return [ok for _, _, ok in keyed]


def check_seeds(seeds: Sequence[Task], settings: GenerateSettings) -> None:
    """Enough seeds for the demonstrations the mode needs."""
    if settings.mode == "alpaca":
        if sum(1 for t in seeds if t.instances) < settings.demos:
            raise InputError(
                f"alpaca mode needs at least {settings.demos} seed tasks with instances", path=settings.seeds
            )
    elif len(seeds) < settings.demos - settings.machine_demos:
        raise InputError(
            f"has {len(seeds)} tasks; self-instruct needs at least {settings.demos - settings.machine_demos}",
            path=settings.seeds,
        )
