"""`generate --dry-run`: one rendered prompt per step and what the run would cost, without calling a model.

The requests a run needs follow from the pipeline (see bootstrap): one instruction request per
`accepted_per_request` tasks, and a classify and an instances request per candidate that reaches the instances
step. What cannot be known before the model answers is assumed and printed: the share of new instructions that
pass the filters, and the share of those that get usable instances. Token counts are estimated from the
rendered prompts; completions from the seeds (instruction lists, Alpaca blocks) and, for instances, from the
worked examples in the templates, since a model continues the few-shot pattern it is shown.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from statistics import mean

from selfinstruct.engine.budget import typical_tokens
from selfinstruct.engine.types import Prices
from selfinstruct.io.seeds import demonstration_seeds
from selfinstruct.methods.prompts import render_alpaca, render_instructions, task_label
from selfinstruct.pipeline.generate import load_inputs
from selfinstruct.pipeline.settings import GenerateSettings

PASS_FILTERS = 0.75  # of new instructions: not too short or long, no blacklisted word, not a near-duplicate
USABLE_INSTANCES = 0.95  # of those: the instances reply gives at least one valid instance
_TASK_LINE = re.compile(r"(?m)^(?:Task|任务)\s*[:：].*$")
SAMPLES = 20  # seeds and demonstration sets the averages are taken over


@dataclass(frozen=True)
class Target:
    """What an estimate priced: the same -n costs 50% more on one pipeline than on another, so the numbers
    mean nothing without it."""

    endpoint: str
    model: str
    api: str
    pipeline: str


def describe_target(settings: GenerateSettings) -> Target:
    """The endpoint, model, API and pipeline a run with these settings would use."""
    from selfinstruct.engine.local.server import DEFAULT_MODEL_NAME  # (no runtime needed: a name only)

    e = settings.endpoint
    if settings.local:
        endpoint = "embedded llama.cpp server on 127.0.0.1 (no --base-url and no OPENAI_API_KEY)"
        model = str(settings.local_model) if settings.local_model else f"{DEFAULT_MODEL_NAME} (embedded)"
    else:
        endpoint = e.where
        model = e.model or "the first model the server lists"
    steps = ["alpaca batches"] if settings.mode == "alpaca" else [
        "self-instruct" + (" (classification only)" if settings.classification_only else ""),
        "classification by rules" if settings.classifier == "rules" else "classification by the model",
    ]  # fmt: skip
    steps.append("embedded-model sampling settings" if settings.local else "endpoint sampling settings")
    if settings.batch:
        steps.append("Batch API")
    return Target(endpoint, model, e.api, ", ".join(steps) + f", language {settings.language}")


@dataclass(frozen=True)
class DryRun:
    target: Target
    prompts: dict[str, str]  # one rendered prompt per step
    requests: dict[str, int]
    prompt_tokens: dict[str, int]
    completion_tokens: dict[str, int]
    assumptions: str
    prices: Prices | None = None

    @property
    def tokens(self) -> int:
        return sum(self.prompt_tokens.values()) + sum(self.completion_tokens.values())

    @property
    def cost(self) -> float | None:
        if self.prices is None:
            return None
        return self.prices.cost(sum(self.prompt_tokens.values()), sum(self.completion_tokens.values()))


def dry_run(settings: GenerateSettings) -> DryRun:
    """One rendered prompt per step and an estimate of requests, tokens and dollars for the target."""
    seeds, prompts = load_inputs(settings)
    rng = random.Random(settings.seed or 0)
    n, per, lang, p = settings.n, settings.new_per_request, settings.language, settings.params
    sample = rng.sample(seeds, min(len(seeds), SAMPLES))

    def completion(step: str, tokens: float) -> float:
        return min(float(p[step].max_tokens), tokens)

    if settings.mode == "alpaca":
        usable = [t for t in seeds if t.instances]
        demo_sets = [rng.sample(usable, settings.demos) for _ in range(5)]
        rendered = [render_alpaca(prompts, lang, demos, per) for demos in demo_sets]
        block = mean(typical_tokens(f"1. {t.instruction}\n1. {t.instances[0].input}\n1. {t.instances[0].output}\n###")
                     for t in usable[:SAMPLES])  # fmt: skip
        requests = {"alpaca": -(-n // max(1, round(per * PASS_FILTERS * USABLE_INSTANCES)))}
        prompt_each = {"alpaca": mean(map(typical_tokens, rendered))}
        completion_each = {"alpaca": completion("alpaca", per * block)}
        shown = {"alpaca": rendered[0]}
        assumptions = f"{per} tasks per response, {PASS_FILTERS:.0%} pass the filters, {USABLE_INSTANCES:.0%} usable"
    else:
        pool = demonstration_seeds(seeds, classification_only=settings.classification_only)
        demo_lists = [[t.instruction for t in rng.sample(pool, min(len(pool), settings.demos))] for _ in range(5)]
        only = settings.classification_only
        rendered = [render_instructions(prompts, lang, demos, per, classification_only=only) for demos in demo_lists]
        share = mean(bool(t.is_classification) for t in seeds)

        def _worked_task(template: str) -> float:
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
        reply = share * _worked_task("instances_output_first") + (1 - share) * _worked_task("instances_input_first")
        prompt_each = {
            "instructions": mean(map(typical_tokens, rendered)),
            "classify": mean(typical_tokens(prompts["classify"].render(instruction=t.instruction)) for t in sample),
            "instances": share * instances_prompt("instances_output_first")
            + (1 - share) * instances_prompt("instances_input_first"),
        }
        completion_each = {
            "instructions": completion("instructions", per * line),
            "classify": completion("classify", 1.0),
            "instances": completion("instances", reply),
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
    if settings.batch and settings.prices is not None:
        assumptions += "; Batch API prices (the given prices times --batch-discount)"
    return DryRun(
        target=describe_target(settings),
        prompts=shown,
        requests=requests,
        prompt_tokens={step: round(count * prompt_each[step]) for step, count in requests.items()},
        completion_tokens={step: round(count * completion_each[step]) for step, count in requests.items()},
        assumptions=assumptions,
        prices=settings.prices,
    )
