"""Evol-Instruct (WizardLM, Xu et al., 2023): each request rewrites one instruction by one operation, five in
depth (add constraints, deepen, concretize, more reasoning, complicate the input) or one in breadth (a new,
rarer task in the same domain); the sources are --from FILE (any task file `filter` reads), and an evolved
instruction is evolved again, up to --rounds times. A failed evolution is dropped (WizardLM's elimination
rules, checks.py, and our filters); the rest are answered through chat."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from statistics import mean
from typing import Any

from selfinstruct.engine.budget import typical_tokens
from selfinstruct.engine.options import Bound
from selfinstruct.engine.types import Api, StepParams
from selfinstruct.errors import InputError
from selfinstruct.filters import Rejection
from selfinstruct.io.templates import Placeholders, PromptSet
from selfinstruct.methods.answer import ANSWER_STEP, answer, answer_params
from selfinstruct.methods.base import (
    PASS_FILTERS,
    USABLE_INSTANCES,
    Candidate,
    Estimate,
    JobResult,
    MethodSettings,
    Run,
    ServedTemplate,
    completion_cap,
)
from selfinstruct.methods.evol_instruct import checks
from selfinstruct.methods.evol_instruct.lineage import (
    JUDGE_TEMPLATE,
    OPERATIONS,
    Evolution,
    choose,
    evolved_counts,
    parents,
)
from selfinstruct.methods.options import MethodOption
from selfinstruct.tasks import Task
from selfinstruct.text import is_refusal

EVOLVE_STEP, JUDGE_STEP = "evolve", "judge"
ANSWER_TOKENS = 400.0  # what the dry run assumes of an answer, before the answer step's max_tokens caps it
ADDED_TOKENS = 25.0  # and of what an evolution adds to its parent
ROUNDS = MethodOption[int](
    "rounds",
    int,
    4,
    "how many times an instruction may be evolved, its evolutions evolved again (default 4, as WizardLM).",
    bound=Bound(1, 100, integer=True),
)  # recorded in run.json: a resume with other --rounds is refused


class EvolInstruct:
    name = "evol-instruct"
    summary = (
        "Evol-Instruct (WizardLM, Xu et al., 2023): each request rewrites one instruction of --from (or one it "
        "evolved, up to --rounds) by one of five in-depth operations or in breadth; an equality judge and the "
        "filters drop failed evolutions, the rest are answered through chat"
    )
    generating_step = EVOLVE_STEP
    completes = True  # the judge and the answer come after the filters
    demos = 0
    machine_demos = 0
    new_per_request = 1
    uses_seeds = True  # the instructions it evolves (--from, or --seeds)
    classifies_seeds = False  # (a 52k --from file would cost 52k questions for nothing)
    options: tuple[MethodOption[Any], ...] = (ROUNDS,)
    prompt_templates: Mapping[str, Placeholders] = {
        **{op: (frozenset({"instruction"}), frozenset({"instruction"})) for op in OPERATIONS},
        JUDGE_TEMPLATE: (frozenset({"parent", "evolved"}), frozenset({"parent", "evolved"})),
    }

    def default_params(self, api: Api, *, local: bool) -> dict[str, StepParams]:
        """WizardLM's evolution settings (temperature 1, top_p 0.95, 2048 tokens); the judge answers one word
        greedily. The embedded model gets cooler, shorter evolutions."""
        if local:
            evolve = StepParams(temperature=0.7, top_p=0.9, max_tokens=200)
        else:
            evolve = StepParams(temperature=1.0, top_p=0.95, max_tokens=2048)
        judge = StepParams(temperature=0.0, top_p=1.0, max_tokens=8)
        return {EVOLVE_STEP: evolve, JUDGE_STEP: judge} | answer_params(local=local)

    def templates(self, settings: MethodSettings) -> list[str]:
        return [*OPERATIONS, JUDGE_TEMPLATE]

    def check_seeds(
        self, seeds: Sequence[Task], settings: MethodSettings, path: Path, *, decided: bool = False
    ) -> None:
        if not seeds:
            raise InputError("has no instruction to evolve", path=path)

    def describe(self, settings: MethodSettings) -> list[str]:
        return [f"evol-instruct, up to {ROUNDS.value(settings)} rounds", "equality judge, answers through chat"]

    def demos_from_candidates(self, settings: MethodSettings) -> bool:
        return False  # it evolves accepted tasks

    def check_settings(self, settings: MethodSettings) -> None:
        if settings.classification_only:
            raise InputError("--classification-only works with --method self-instruct")

    async def setup(self, settings: MethodSettings, model: str, served: ServedTemplate) -> dict[str, Any]:
        return {}  # (--rounds is a recorded option: run.json keeps it and a resume compares it)

    # -- the requests --------------------------------------------------------------------------------------

    def evolution(self, run: Run, request: int) -> Evolution:
        """The request's parent and operation (lineage.choose): a pure function of what the request may see."""
        pool = run.machine_tasks(request)
        return choose(run.seed, request, parents(run.seeds, pool), evolved_counts(pool), ROUNDS.value(run.s))

    async def propose(self, run: Run, request: int) -> JobResult:
        evo = self.evolution(run, request)
        prompt = run.prompts[evo.operation].render(instruction=evo.parent.instruction)
        completion = await run.generate(EVOLVE_STEP, request, lambda _shorten: prompt, run.params(EVOLVE_STEP))
        text = checks.evolved_text(completion.text)
        if not text:
            return JobResult(request, [], "empty_response", f"finish_reason={completion.finish_reason}",
                             completion.text)  # fmt: skip
        if is_refusal(text):
            return JobResult(request, [], "no_items", "the model declined to rewrite the instruction", completion.text)
        if completion.finish_reason == "length":
            return JobResult(request, [], "no_items", "the evolution was cut at max_tokens", completion.text)
        cand = run.precheck(Candidate(0, text, raw=completion.text, meta=evo.meta(self.name)), request)
        if cand.rejection is None:
            cand.rejection = checks.scaffolding(text)
        return JobResult(request, [cand])

    async def complete(self, run: Run, request: int, cand: Candidate) -> None:
        """The equality judge (no information gain over the parent: rejected), then the answer."""
        parent = self.evolution(run, request).parent
        prompt = run.prompts[JUDGE_TEMPLATE].render(parent=parent.instruction, evolved=cand.instruction)
        verdict = await run.generate(JUDGE_STEP, request, lambda _shorten: prompt, run.params(JUDGE_STEP))
        if checks.judged_equal(verdict.text):
            cand.rejection = Rejection("judge", "no_information_gain", f"judged equal to {parent.id}")
            cand.raw = verdict.text
            return
        await answer(run, request, cand, extra=checks.short_apology_or_stop_words)

    # -- the dry run ---------------------------------------------------------------------------------------

    def estimate(
        self,
        settings: MethodSettings,
        seeds: Sequence[Task],
        sample: Sequence[Task],
        prompts: PromptSet,
        rng: random.Random,
        n: int,
        facts: Mapping[str, Any],
    ) -> Estimate:
        shown_from = sample or seeds
        operations = _cycle(len(shown_from))
        rendered = [prompts[op].render(instruction=t.instruction) for t, op in zip(shown_from, operations, strict=True)]
        evolved = mean(typical_tokens(t.instruction) for t in shown_from) + ADDED_TOKENS
        judge = prompts[JUDGE_TEMPLATE].render(parent=shown_from[0].instruction, evolved=shown_from[0].instruction)
        reaching = math.ceil(n / USABLE_INSTANCES)  # evolutions judged and answered
        p = settings.params
        return Estimate(
            requests={EVOLVE_STEP: math.ceil(reaching / PASS_FILTERS), JUDGE_STEP: reaching, ANSWER_STEP: reaching},
            prompt_each={
                EVOLVE_STEP: mean(map(typical_tokens, rendered)),
                JUDGE_STEP: typical_tokens(judge) + ADDED_TOKENS,
                ANSWER_STEP: evolved,
            },
            completion_each={
                EVOLVE_STEP: completion_cap(p, EVOLVE_STEP, evolved),
                JUDGE_STEP: completion_cap(p, JUDGE_STEP, 2.0),
                ANSWER_STEP: completion_cap(p, ANSWER_STEP, ANSWER_TOKENS),
            },
            shown={
                EVOLVE_STEP: rendered[0],
                JUDGE_STEP: judge,
                ANSWER_STEP: "(each evolved instruction alone, as the user turn of a chat request)",
            },
            assumptions=(
                f"one evolution per request, {PASS_FILTERS:.0%} pass the filters, none judged equal to its "
                f"parent, {USABLE_INSTANCES:.0%} answered usably; evolutions {ADDED_TOKENS:.0f} tokens longer "
                f"than their parent, answers of about {ANSWER_TOKENS:.0f} tokens"
            ),
        )


def _cycle(count: int) -> list[str]:
    """The operations in turn, for the dry run's sample of prompts."""
    return [OPERATIONS[i % len(OPERATIONS)] for i in range(count)]


METHOD = EvolInstruct()
