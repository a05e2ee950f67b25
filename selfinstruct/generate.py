"""`generate` as a library call: validate everything, pick the endpoint, run the bootstrap, leave a resumable run."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from selfinstruct.bootstrap import Bootstrap, Progress, RunReport, check_seeds, classify, derive_seed
from selfinstruct.errors import EndpointError
from selfinstruct.filters import FilterChain
from selfinstruct.journal import JOURNAL, JournaledClient, ResponseJournal, label
from selfinstruct.llm import EndpointSettings, LLMClient, Usage
from selfinstruct.prompts import PromptSet, load_prompts, render_alpaca, render_instructions
from selfinstruct.runstate import RunState, input_fingerprint
from selfinstruct.seeds import load_tasks
from selfinstruct.settings import GenerateSettings
from selfinstruct.tasks import Task

Notice = Callable[[str], None]
LOCAL_NOTICE = (
    "no --base-url or OPENAI_API_KEY given: using the embedded model {name} on 127.0.0.1. A 135M model is for "
    "trying the pipeline, not for production data: pass --base-url/--model or set OPENAI_API_KEY for real runs."
)


@contextmanager
def endpoint_for(settings: GenerateSettings, notice: Notice) -> Iterator[EndpointSettings]:
    """The endpoint to use; starts (and always stops) the embedded llama.cpp server when there is none."""
    if not settings.local:
        yield settings.endpoint
        return
    from selfinstruct.localmodel import LocalServer

    # One llama.cpp server with a slot per concurrent request, decoded together (continuous batching) on both
    # cores; each slot reuses the KV cache of its previous prompt's prefix. Measured on 2 cores: 116 s for the
    # Quick start, against 180 s for two one-thread servers routed by step (README).
    server = LocalServer(settings.local_model, n_threads=os.cpu_count() or 1, parallel=settings.endpoint.concurrency)
    notice(LOCAL_NOTICE.format(name=settings.local_model or server.model_name))
    with contextlib.ExitStack() as stack:
        stack.callback(server.stop)
        server.start()
        yield dataclasses.replace(
            settings.endpoint, base_url=server.url, api_key="local", model=server.model_name, health=server.failure
        )


def load_inputs(settings: GenerateSettings) -> tuple[list[Task], PromptSet]:
    """Everything read from the user's files, validated before any request or write."""
    seeds = load_tasks(settings.seeds)
    check_seeds(seeds, settings)
    prompts = load_prompts(settings.language, settings.prompts_dir)
    return seeds, prompts


async def _classify_seeds(
    seeds: list[Task],
    client: LLMClient,
    prompts: PromptSet,
    settings: GenerateSettings,
    seed: int,
    known: dict[str, Any],
) -> list[Task]:
    """Seeds without is_classification get it from the model (cached in run.json for resumes)."""
    todo = [t for t in seeds if t.is_classification is None and t.id not in known]

    async def ask(task: Task) -> None:
        label(seed_task=task.id)
        known[task.id] = await classify(task.instruction, client, prompts, settings, derive_seed(seed, "seed", task.id))

    await asyncio.gather(*(ask(t) for t in todo))
    return [
        dataclasses.replace(t, is_classification=bool(known[t.id])) if t.is_classification is None else t for t in seeds
    ]


async def _with_model(endpoint: EndpointSettings) -> EndpointSettings:
    """Without --model, the first model the endpoint serves; resolved before the run directory is opened, so
    that a resumed run is compared with the model it really used."""
    if endpoint.model:
        return endpoint
    client = LLMClient(endpoint)
    try:
        models = await client.list_models()
    finally:
        await client.aclose()
    if not models:
        raise EndpointError(f"{endpoint.where} serves no model; pass --model")
    return dataclasses.replace(endpoint, model=models[0])


async def _run(
    settings: GenerateSettings,
    endpoint: EndpointSettings,
    seeds: list[Task],
    prompts: PromptSet,
    progress: Progress | None,
    notice: Notice,
) -> RunReport:
    chain = FilterChain(filters=settings.filters, threshold=settings.threshold, language=settings.language)
    chain.add_reference(t.instruction for t in seeds)
    endpoint = await _with_model(endpoint)
    inputs = input_fingerprint(seeds, prompts, _templates(settings))
    fingerprint = settings.output_affecting() | {"model": endpoint.model} | inputs
    state = RunState.open(settings.out, fingerprint, chain.index)
    for repair in state.repairs:
        notice(repair.message())
    try:
        saved_state = state.run.get("state", {})
        seed = settings.seed if settings.seed is not None else saved_state.get("seed")
        if seed is None:
            seed = random.SystemRandom().randrange(2**31)
        usage = Usage.from_dict(state.run.get("usage", {}))
        journal = ResponseJournal(settings.out / JOURNAL)
        if journal.repair is not None:
            notice(journal.repair.message())
        client = JournaledClient(LLMClient(endpoint, usage), journal, Usage.from_dict(state.run.get("replayed", {})))
        try:
            fingerprint["seed"] = seed
            state.save(
                status="starting",
                settings=fingerprint,
                endpoint={"base_url": endpoint.where, "concurrency": endpoint.concurrency},
                seeds={"path": str(settings.seeds), "count": len(seeds)},
                prompts=prompts.fingerprint(),
                state={"next_request": state.next_request, "seed": seed, "target": settings.n},
            )
            known: dict[str, Any] = dict(state.run.get("seed_classification", {}))
            seeds = await _classify_seeds(seeds, client, prompts, settings, seed, known)
            state.write_seeds(seeds)
            state.save(seed_classification=known)
            loop = Bootstrap(settings, client, state, chain, prompts, seeds, seed, progress)
            try:
                report = await loop.run()
            except BaseException as exc:
                status = "interrupted" if isinstance(exc, (KeyboardInterrupt, asyncio.CancelledError)) else "failed"
                state.save(
                    status=status,
                    error=str(exc),
                    usage=client.usage.to_dict(),
                    replayed=client.replayed.to_dict(),
                    counts=loop.counts(),
                    state={"next_request": state.next_request, "seed": seed, "target": settings.n},
                )
                raise
            state.save(replayed=client.replayed.to_dict())
            return report
        finally:
            await client.aclose()
            journal.close()
    finally:
        state.close()


def _templates(settings: GenerateSettings) -> list[str]:
    """The templates the run renders: a resume must find them unchanged (the others may be edited freely)."""
    if settings.mode == "alpaca":
        return ["alpaca"]
    used = ["instructions", "instances_input_first", "instances_output_first"]
    return [*used, "classify"] if settings.classifier == "llm" else used


def generate(
    settings: GenerateSettings, *, progress: Progress | None = None, notice: Notice = lambda _: None
) -> RunReport:
    """Grow the pool in settings.out to settings.n tasks (resuming whatever is there)."""
    seeds, prompts = load_inputs(settings)
    with endpoint_for(settings, notice) as endpoint:
        return asyncio.run(_run(settings, endpoint, seeds, prompts, progress, notice))


@dataclass(frozen=True)
class DryRun:
    prompts: dict[str, str]
    requests: dict[str, int]
    tokens: int
    assumptions: str


def dry_run(settings: GenerateSettings) -> DryRun:
    """One rendered prompt per step and a cost estimate for the target, without calling any model."""
    seeds, prompts = load_inputs(settings)
    rng = random.Random(settings.seed or 0)
    n = settings.n
    if settings.mode == "alpaca":
        demos = rng.sample([t for t in seeds if t.instances], settings.demos)
        rendered = {"alpaca": render_alpaca(prompts, settings.language, demos, settings.new_per_request)}
        per_request = settings.new_per_request * 0.5
        requests = {"alpaca": -(-n // max(1, int(per_request)))}
        tokens = requests["alpaca"] * (len(rendered["alpaca"]) // 4 + settings.params["alpaca"].max_tokens // 2)
        assumptions = f"{settings.new_per_request} tasks per response, half of them kept"
        return DryRun(rendered, requests, tokens, assumptions)
    sample = [t.instruction for t in rng.sample(seeds, min(len(seeds), settings.demos))]
    cls_seed = next((t for t in seeds if t.is_classification), seeds[0])
    gen_seed = next((t for t in seeds if t.is_classification is False), seeds[0])
    rendered = {
        "instructions": render_instructions(prompts, settings.language, sample, settings.new_per_request),
        "classify": prompts["classify"].render(instruction=gen_seed.instruction),
        "instances_output_first": prompts["instances_output_first"].render(instruction=cls_seed.instruction),
        "instances_input_first": prompts["instances_input_first"].render(instruction=gen_seed.instruction),
    }  # fmt: skip
    survivors = settings.new_per_request * 0.5  # pass the filters
    accepted = survivors * 0.75  # get usable instances
    gen = -(-n // max(1, int(accepted)))
    classify = 0 if settings.classifier == "rules" else int(gen * survivors)  # rules ask no model
    requests = {"instructions": gen, "classify": classify, "instances": int(gen * survivors)}
    p = settings.params
    tokens = (
        gen * (len(rendered["instructions"]) // 4 + p["instructions"].max_tokens // 2)
        + requests["classify"] * (len(rendered["classify"]) // 4 + p["classify"].max_tokens)
        + requests["instances"] * (len(rendered["instances_input_first"]) // 4 + p["instances"].max_tokens // 2)
    )
    assumptions = (
        f"{settings.new_per_request} instructions per response, half pass the filters, "
        "3 in 4 of those get usable instances, completions use half their max_tokens"
        + ("; classification by rules" if settings.classifier == "rules" else "")
    )
    return DryRun(rendered, requests, tokens, assumptions)
