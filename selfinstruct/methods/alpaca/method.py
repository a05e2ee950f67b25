"""Stanford Alpaca's variant: one request writes about 20 complete tasks (instruction, input, output) from 3
seed demonstrations; no classification step, no separate instance requests, seeds only as demonstrations."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from statistics import mean
from typing import Any

from selfinstruct.engine.budget import typical_tokens
from selfinstruct.engine.seeding import derive_seed
from selfinstruct.engine.types import Api, StepParams
from selfinstruct.errors import InputError
from selfinstruct.filters import Rejection
from selfinstruct.io.templates import PromptSet
from selfinstruct.methods.alpaca.parsing import parse_alpaca_batch
from selfinstruct.methods.alpaca.prompts import TEMPLATES, render_alpaca
from selfinstruct.methods.base import (
    PASS_FILTERS,
    SAMPLES,
    USABLE_INSTANCES,
    Candidate,
    Estimate,
    JobResult,
    MethodSettings,
    Run,
    ServedTemplate,
    completion_cap,
    halve,
)
from selfinstruct.methods.options import MethodOption
from selfinstruct.methods.prompts import ends_open
from selfinstruct.methods.self_instruct.instances import clean_instances
from selfinstruct.methods.self_instruct.parsing import normalize_whitespace
from selfinstruct.methods.self_instruct.stopcut import is_cut
from selfinstruct.tasks import Instance, Task

# Alpaca's batch ends before task 20: its separator, or its label at a line start when a model drops the
# separator; never "20." alone, which a line of an output may start with ("20.50 is the total").
ALPACA_STOPS = ("\n###\n20", "\n20. Instruction", "\n20. 指令")


class Alpaca:
    name = "alpaca"
    summary = (
        "Stanford Alpaca's variant: one request writes 20 complete tasks from 3 seed demonstrations, "
        "then the same filters"
    )
    generating_step = "alpaca"
    completes = False
    demos = 3
    machine_demos = 0
    new_per_request = 20
    uses_seeds = True
    classifies_seeds = True
    options: tuple[MethodOption[Any], ...] = ()
    prompt_templates = TEMPLATES

    def default_params(self, api: Api, *, local: bool) -> dict[str, StepParams]:
        """Alpaca's generate_instruction settings; the embedded 135M model gets a shorter budget."""
        if local:
            return {"alpaca": StepParams(temperature=0.7, top_p=0.9, max_tokens=1200, stop=ALPACA_STOPS)}
        return {"alpaca": StepParams(temperature=1.0, top_p=1.0, max_tokens=3072, stop=ALPACA_STOPS)}

    def templates(self, settings: MethodSettings) -> list[str]:
        return ["alpaca"]

    def check_seeds(
        self, seeds: Sequence[Task], settings: MethodSettings, path: Path, *, decided: bool = False
    ) -> None:
        if sum(1 for t in seeds if t.instances) < settings.demos:
            raise InputError(f"alpaca mode needs at least {settings.demos} seed tasks with instances", path=path)

    def describe(self, settings: MethodSettings) -> list[str]:
        return ["alpaca batches"]

    async def setup(self, settings: MethodSettings, model: str, served: ServedTemplate) -> dict[str, Any]:
        return {}

    def demos_from_candidates(self, settings: MethodSettings) -> bool:
        return False  # its prompt shows whole tasks (and request 0 is committed when its one reply lands)

    def check_settings(self, settings: MethodSettings) -> None:
        if settings.classification_only:
            raise InputError(
                "--classification-only works with --mode self-instruct (alpaca batches have no such prompt)"
            )

    def demonstrations(self, run: Run, request: int) -> list[Task]:
        """Alpaca shows seeds only (with their first instance), as the original did."""
        rng = random.Random(derive_seed(run.seed, request, "demos"))
        usable = [t for t in run.seeds if t.instances]
        return rng.sample(usable, min(run.s.demos, len(usable)))

    async def propose(self, run: Run, request: int) -> JobResult:
        s = run.s
        demos = self.demonstrations(run, request)
        sent: list[str] = []

        def prompt(shorten: int) -> str:
            sent.append(render_alpaca(run.prompts, s.language, halve(demos) if shorten else demos, s.new_per_request))
            return sent[-1]

        completion = await run.generate("alpaca", request, prompt, run.params("alpaca"))
        if not completion.text.strip():
            return JobResult(request, [], "empty_response", f"finish_reason={completion.finish_reason}",
                             completion.text)  # fmt: skip
        items, malformed = parse_alpaca_batch(
            completion.text, continued=ends_open(sent[-1]), truncated=is_cut(completion)
        )
        if not items:
            detail = f"{malformed} block(s) without an instruction or an output" if malformed else "no task block"
            return JobResult(request, [], "no_items", detail, completion.text)
        candidates = []
        for j, item in enumerate(items[: s.new_per_request]):
            cand = run.precheck(Candidate(j, normalize_whitespace(item.instruction), raw=completion.text), request)
            if cand.rejection is None:
                kept, reason = clean_instances([Instance(item.input, item.output)], max_instances=1)
                cand.instances = kept
                if reason is not None:
                    cand.stage, cand.rejection = "instances", Rejection("instances", reason, "the example is unusable")
            candidates.append(cand)
        return JobResult(request, candidates)

    async def complete(self, run: Run, request: int, cand: Candidate) -> None:
        """Never called: a batch's tasks come complete (`completes` is False)."""
        raise NotImplementedError("alpaca candidates come complete")

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
        per = settings.new_per_request
        usable = [t for t in seeds if t.instances]
        demo_sets = [rng.sample(usable, settings.demos) for _ in range(5)]
        rendered = [render_alpaca(prompts, settings.language, demos, per) for demos in demo_sets]
        block = mean(typical_tokens(f"1. {t.instruction}\n1. {t.instances[0].input}\n1. {t.instances[0].output}\n###")
                     for t in usable[:SAMPLES])  # fmt: skip
        return Estimate(
            requests={"alpaca": -(-n // max(1, round(per * PASS_FILTERS * USABLE_INSTANCES)))},
            prompt_each={"alpaca": mean(map(typical_tokens, rendered))},
            completion_each={"alpaca": completion_cap(settings.params, "alpaca", per * block)},
            shown={"alpaca": rendered[0]},
            assumptions=f"{per} tasks per response, {PASS_FILTERS:.0%} pass the filters, {USABLE_INSTANCES:.0%} usable",
        )


METHOD = Alpaca()
