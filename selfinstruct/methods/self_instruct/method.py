"""Self-Instruct (Wang et al., 2022): new instructions from 8 demonstrations (6 seeds, 2 from the pool), then
for each survivor a classification question and instances, output-first for classification tasks (so that
the labels are not skewed towards one class) and input-first otherwise."""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from statistics import mean
from typing import Any

from selfinstruct.engine.budget import typical_tokens
from selfinstruct.engine.client import Completer
from selfinstruct.engine.seeding import derive_seed
from selfinstruct.engine.types import Api, StepParams
from selfinstruct.errors import InputError
from selfinstruct.filters import Rejection
from selfinstruct.io.seeds import check_classification_seeds, demonstration_seeds
from selfinstruct.io.templates import PromptSet
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
    halve,
)
from selfinstruct.methods.options import MethodOption
from selfinstruct.methods.prompts import ends_open
from selfinstruct.methods.self_instruct import params
from selfinstruct.methods.self_instruct import prompts as si_prompts
from selfinstruct.methods.self_instruct.classify import looks_like_classification
from selfinstruct.methods.self_instruct.instances import instances_from_reply
from selfinstruct.methods.self_instruct.parsing import normalize_whitespace, parse_instruction_list, parse_yes_no
from selfinstruct.methods.self_instruct.prompts import list_end_stop, render_instructions, task_label
from selfinstruct.methods.self_instruct.stopcut import (
    is_cut,
    stopped_before_its_examples,
    task_tail,
    without_new_task_stops,
)
from selfinstruct.tasks import Task

log = logging.getLogger(__name__)
_TASK_LINE = re.compile(r"(?m)^(?:Task|任务)\s*[:：].*$")


class SelfInstruct:
    name = "self-instruct"
    summary = (
        "Self-Instruct's bootstrap (Wang et al., 2022): new instructions from 6 seed and 2 generated "
        "demonstrations, ROUGE-L and heuristic filters, classification check, then instances per task"
    )
    generating_step = "instructions"
    completes = True
    demos = 8
    machine_demos = 2
    new_per_request = 8
    uses_seeds = True
    classifies_seeds = True
    options: tuple[MethodOption[Any], ...] = ()
    prompt_templates = si_prompts.TEMPLATES

    def default_params(self, api: Api, *, local: bool) -> dict[str, StepParams]:
        return params.default_params(api, local=local)

    def templates(self, settings: MethodSettings) -> list[str]:
        used = [
            "instructions_classification" if settings.classification_only else "instructions",
            "instances_input_first",
            "instances_output_first",
        ]
        return [*used, "classify"] if settings.classifier == "llm" else used

    def check_seeds(
        self, seeds: Sequence[Task], settings: MethodSettings, path: Path, *, decided: bool = False
    ) -> None:
        needed = settings.demos - settings.machine_demos
        if len(seeds) < needed:
            raise InputError(f"has {len(seeds)} tasks; self-instruct needs at least {needed}", path=path)
        if settings.classification_only:
            check_classification_seeds(seeds, needed=needed, path=path, decided=decided)

    def describe(self, settings: MethodSettings) -> list[str]:
        return [
            "self-instruct" + (" (classification only)" if settings.classification_only else ""),
            "classification by rules" if settings.classifier == "rules" else "classification by the model",
        ]

    async def setup(self, settings: MethodSettings, model: str, served: ServedTemplate) -> dict[str, Any]:
        return {}

    def check_settings(self, settings: MethodSettings) -> None:
        return None

    def demos_from_candidates(self, settings: MethodSettings) -> bool:
        # The original script, too, added an instruction to its machine pool once it passed the filters, before
        # any classification or instances (those were later scripts). A classification-only run shows
        # classification tasks only, which a candidate is not known to be until it is classified.
        return not settings.classification_only

    # -- the generating request ---------------------------------------------------------------------------

    def demonstrations(self, run: Run, request: int) -> list[str]:
        """The request's demonstrations: machine tasks from the pool prefix it may see, the rest seeds."""
        rng = random.Random(derive_seed(run.seed, request, "demos"))
        machine_pool = run.machine_tasks(request)
        machine = rng.sample(machine_pool, min(run.s.machine_demos, len(machine_pool)))
        human = rng.sample(run.demo_seeds, min(len(run.demo_seeds), run.s.demos - len(machine)))
        demos = [t.instruction for t in human] + [str(t["instruction"]) for t in machine]
        rng.shuffle(demos)
        return demos

    async def propose(self, run: Run, request: int) -> JobResult:
        s = run.s
        demos = self.demonstrations(run, request)
        last = len(demos) + s.new_per_request
        stop = (list_end_stop(s.language, last + 1),)
        shown: list[list[str]] = []  # the demonstrations of the prompt that was answered (maybe shortened)
        sent: list[str] = []

        def prompt(shorten: int) -> str:
            shown.append(halve(demos) if shorten else demos)
            sent.append(render_instructions(run.prompts, s.language, shown[-1], s.new_per_request,
                                            classification_only=s.classification_only))  # fmt: skip
            return sent[-1]

        completion = await run.generate("instructions", request, prompt, run.params("instructions", stop))
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
        candidates = [
            run.precheck(Candidate(j, normalize_whitespace(text), raw=completion.text), request)
            for j, text in enumerate(parsed.items[: s.new_per_request])
        ]
        return JobResult(request, candidates)  # classify and instances come later, when needed

    # -- completing a candidate ---------------------------------------------------------------------------

    async def complete(self, run: Run, request: int, cand: Candidate) -> None:
        """Classify, then write instances output-first (classification) or input-first."""
        seed = derive_seed(run.seed, request, cand.index, "classify")
        cand.is_classification = await classify(cand.instruction, run.client, run.prompts, run.s, seed)
        template = "instances_output_first" if cand.is_classification else "instances_input_first"
        step = run.s.params["instances"]
        if cand.is_classification:
            step = replace(step, stop=params.classification_stops(step.stop))
        prompt = run.prompts[template].render(instruction=cand.instruction)
        seed = derive_seed(run.seed, request, cand.index, "instances")
        reply = await run.client.complete("instances", prompt, step, seed=seed)
        if stopped_before_its_examples(reply, step.stop):  # a preamble, then its own "Example 1": again, unstopped
            step = replace(step, stop=without_new_task_stops(step.stop))
            reply = await run.client.complete("instances", prompt, step, seed=seed)
        outcome = instances_from_reply(
            reply.text,
            output_first=cand.is_classification,
            truncated=is_cut(reply),
            task_tail=task_tail(reply, step.stop),
            max_instances=run.s.max_instances,
            rng=random.Random(derive_seed(run.seed, request, cand.index, "instance_choice")),
        )
        cand.instances = outcome.instances
        if outcome.reason is not None:
            cand.stage, cand.raw = "instances", reply.text
            cand.rejection = Rejection("instances", outcome.reason, outcome.detail)

    # -- the dry run ----------------------------------------------------------------------------------------

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
        per, lang, p = settings.new_per_request, settings.language, settings.params
        pool = demonstration_seeds(seeds, classification_only=settings.classification_only)
        demo_lists = [[t.instruction for t in rng.sample(pool, min(len(pool), settings.demos))] for _ in range(5)]
        only = settings.classification_only
        rendered = [render_instructions(prompts, lang, demos, per, classification_only=only) for demos in demo_lists]
        share = mean(bool(t.is_classification) for t in seeds)

        def worked_task(template: str) -> float:
            blocks = _TASK_LINE.split(prompts[template].text)[1:-1]  # the examples under each demo task
            return mean(typical_tokens(b.strip()) for b in blocks) if blocks else 50.0

        def instances_prompt(template: str) -> float:
            return mean(typical_tokens(prompts[template].render(instruction=t.instruction)) for t in sample)

        reaching = n / USABLE_INSTANCES  # candidates that get instances
        requests = {
            "instructions": -(-n // max(1, round(per * PASS_FILTERS * USABLE_INSTANCES))),
            "classify": 0 if settings.classifier == "rules" else round(reaching),
            "instances": round(reaching),
        }
        line = mean(typical_tokens(task_label(lang, 10) + " " + t.instruction + "\n") for t in sample)
        # A model continues the few-shot pattern: a reply is about as long as a worked task in the template.
        reply = share * worked_task("instances_output_first") + (1 - share) * worked_task("instances_input_first")
        prompt_each = {
            "instructions": mean(map(typical_tokens, rendered)),
            "classify": mean(typical_tokens(prompts["classify"].render(instruction=t.instruction)) for t in sample),
            "instances": share * instances_prompt("instances_output_first")
            + (1 - share) * instances_prompt("instances_input_first"),
        }
        completion_each = {
            "instructions": completion_cap(p, "instructions", per * line),
            "classify": completion_cap(p, "classify", 1.0),
            "instances": completion_cap(p, "instances", reply),
        }
        cls_seed = next((t for t in seeds if t.is_classification), seeds[0])
        gen_seed = next((t for t in seeds if t.is_classification is False), seeds[0])
        shown = {
            "instructions": rendered[0],
            "classify": prompts["classify"].render(instruction=gen_seed.instruction),
            "instances_output_first": prompts["instances_output_first"].render(instruction=cls_seed.instruction),
            "instances_input_first": prompts["instances_input_first"].render(instruction=gen_seed.instruction),
        }
        assumptions = (
            f"{per} instructions per response, {PASS_FILTERS:.0%} pass the filters, {USABLE_INSTANCES:.0%} of "
            "those get usable instances, replies as long as the templates' examples"
            + ("; classification by rules" if settings.classifier == "rules" else "")
        )
        return Estimate(requests, prompt_each, completion_each, shown, assumptions)


async def classify(
    instruction: str, client: Completer, prompts: PromptSet, settings: MethodSettings, seed: int
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


METHOD = SelfInstruct()
