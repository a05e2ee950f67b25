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
from dataclasses import dataclass, field

from selfinstruct.engine import aio
from selfinstruct.engine.types import Prices, StepPrices
from selfinstruct.filters.contamination.load import load_benchmarks
from selfinstruct.methods.base import SAMPLES, no_server
from selfinstruct.pipeline.generate import load_inputs, planned_model
from selfinstruct.pipeline.settings import GenerateSettings


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
    steps = settings.method.describe(settings)
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
    prices: Prices | None = None  # the main model's
    # The steps sent to their own model (--step-model, --step-base-url): step -> (model, endpoint), and each
    # step's model's prices; empty for a one-model run.
    routes: dict[str, tuple[str, str]] = field(default_factory=dict)
    pricing: StepPrices | None = None

    @property
    def tokens(self) -> int:
        return sum(self.prompt_tokens.values()) + sum(self.completion_tokens.values())

    def step_cost(self, step: str) -> float | None:
        """What `step`'s requests would cost at its model's prices."""
        prices = self.pricing.of(step) if self.pricing is not None else self.prices
        return prices.cost(self.prompt_tokens[step], self.completion_tokens[step]) if prices is not None else None

    @property
    def cost(self) -> float | None:
        costs = [self.step_cost(step) for step in self.requests]
        return None if None in costs else sum(c for c in costs if c is not None)


def dry_run(settings: GenerateSettings) -> DryRun:
    """One rendered prompt per step and an estimate of requests, tokens and dollars for the target."""
    seeds, prompts = load_inputs(settings)
    load_benchmarks(settings.decontaminate)  # a bad benchmark is refused here too, not first by the real run
    rng = random.Random(settings.seed or 0)
    sample = rng.sample(seeds, min(len(seeds), SAMPLES))  # the seeds the averages are taken over
    # What the method would decide, without asking a server (Magpie: the template of the model's family).
    facts = aio.run(settings.method.setup(settings, planned_model(settings), no_server))
    est = settings.method.estimate(settings, seeds, sample, prompts, rng, settings.n, facts)
    requests, prompt_each, completion_each = est.requests, est.prompt_each, est.completion_each
    shown, assumptions = est.shown, est.assumptions
    if settings.batch and (settings.prices is not None or settings.model_prices):  # (each step's model's too)
        assumptions += "; Batch API prices (the given prices times --batch-discount)"
    return DryRun(
        target=describe_target(settings),
        prompts=shown,
        requests=requests,
        prompt_tokens={step: round(count * prompt_each[step]) for step, count in requests.items()},
        completion_tokens={step: round(count * completion_each[step]) for step, count in requests.items()},
        assumptions=assumptions,
        prices=settings.prices,
        routes={step: (e.model or "the first model the server lists", e.where) for step, e in settings.routes.items()},
        pricing=settings.pricing,
    )
