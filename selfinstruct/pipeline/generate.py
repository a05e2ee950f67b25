"""`generate` as a library call: validate everything, pick the endpoint, run the bootstrap, leave a resumable run."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import random
import signal
from collections import Counter
from collections.abc import Sequence
from typing import Any

from selfinstruct.audit.prompt import TEMPLATES as AUDIT_TEMPLATES
from selfinstruct.engine import aio
from selfinstruct.engine.aio import all_or_first_error
from selfinstruct.engine.batch.ledger import LEDGER
from selfinstruct.engine.batch.routed import batching_router
from selfinstruct.engine.budget import Budget, BudgetExhausted
from selfinstruct.engine.client import Completer, LLMClient, Sender, with_served_model
from selfinstruct.engine.endpoint import Notice, endpoint_for
from selfinstruct.engine.journal import JOURNAL, ResponseJournal, label
from selfinstruct.engine.journaled import JournaledClient
from selfinstruct.engine.redact import redact
from selfinstruct.engine.routing import RoutingClient
from selfinstruct.engine.seeding import derive_seed
from selfinstruct.engine.served_template import render_chat
from selfinstruct.engine.types import EndpointSettings, Usage
from selfinstruct.errors import ClassificationSeedsError
from selfinstruct.filters import FilterChain
from selfinstruct.filters.contamination import ContaminationFilter
from selfinstruct.filters.contamination.load import build_index, describe, load_benchmarks
from selfinstruct.io.benchmarks import Benchmark
from selfinstruct.io.rundir import RUN
from selfinstruct.io.seeds import check_classification_seeds, load_tasks
from selfinstruct.io.templates import PromptSet, load_prompts
from selfinstruct.methods.registry import TEMPLATE_NAMES
from selfinstruct.methods.self_instruct.method import classify
from selfinstruct.pipeline.bootstrap import Bootstrap
from selfinstruct.pipeline.report import RunReport, report_costs
from selfinstruct.pipeline.rounds import schedule_of
from selfinstruct.pipeline.runstate import RunState, input_fingerprint
from selfinstruct.pipeline.scheduler import Progress
from selfinstruct.pipeline.settings import GenerateSettings
from selfinstruct.tasks import Task


def check_seeds(seeds: Sequence[Task], settings: GenerateSettings) -> None:
    """Enough seeds for the demonstrations the method needs."""
    settings.method.check_seeds(seeds, settings, settings.seeds)


def load_inputs(settings: GenerateSettings) -> tuple[list[Task], PromptSet]:
    """Everything read from the user's files, validated before any request or write."""
    method = settings.method
    seeds = load_tasks(settings.seeds) if method.uses_seeds else []
    check_seeds(seeds, settings)
    prompts = load_prompts(settings.language, settings.prompts_dir, method.prompt_templates,
                           known=(*TEMPLATE_NAMES, *AUDIT_TEMPLATES))  # fmt: skip
    return seeds, prompts


async def _classify_seeds(
    seeds: list[Task],
    client: Completer,
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

    await all_or_first_error(ask(t) for t in todo)  # a fatal error cancels the other questions
    return [
        dataclasses.replace(t, is_classification=bool(known[t.id])) if t.is_classification is None else t for t in seeds
    ]


def budget_for(settings: GenerateSettings, usage: Usage) -> Budget | None:
    """The run's hard cap, starting from what the run directory has spent already."""
    if settings.max_tokens_total is None and settings.max_cost is None:
        return None
    pricing = settings.pricing  # each step at its model's prices, what it spent before too
    return Budget(
        max_tokens=settings.max_tokens_total,
        max_cost=settings.max_cost,
        prices=settings.prices,
        used_tokens=usage.total().total_tokens,
        used_cost=pricing.cost(usage) or 0.0,
        step_prices=pricing.steps,
    )


def spent(journal: ResponseJournal, cached: Usage) -> Usage:
    """What the run directory has spent: the sum over the journal, never run.json's copy (saved once a second
    and not on signals, it lags after a kill); only the retries of older runs, which the journal did not
    record, come from the copy."""
    usage = journal.spend
    for name, stats in cached.steps.items():
        usage.step(name).retries = max(usage.step(name).retries, stats.retries)
    return usage


def _client(
    settings: GenerateSettings, endpoint: EndpointSettings, usage: Usage, notice: Notice, journal: ResponseJournal
) -> Sender:
    """The synchronous client (each attempt written to the journal before it is sent), or with --batch one that
    sends the same requests as batches; with routes, one per step's endpoint, one budget and one journal."""
    budget = budget_for(settings, usage)
    if settings.batch:  # (each endpoint its own batches, all in one batches.jsonl)
        return batching_router(endpoint, settings.routes, settings.out / LEDGER, keys=settings.route_keys,
                               poll_seconds=settings.batch_poll, notice=notice, usage=usage, budget=budget,
                               journal=journal)  # fmt: skip
    if settings.routes:
        return RoutingClient(endpoint, settings.routes, usage, budget=budget, ledger=journal)
    return LLMClient(endpoint, usage, budget=budget, ledger=journal)


async def _run(
    settings: GenerateSettings,
    endpoint: EndpointSettings,
    seeds: list[Task],
    prompts: PromptSet,
    progress: Progress | None,
    notice: Notice,
    benchmarks: Sequence[Benchmark] = (),
) -> RunReport:
    index = build_index(benchmarks) if benchmarks else None
    chain = FilterChain(filters=settings.filters, threshold=settings.threshold, language=settings.language,
                        extra=(ContaminationFilter(index),) if index is not None else ())  # fmt: skip
    chain.add_reference(t.instruction for t in seeds)
    endpoint = await with_served_model(endpoint)  # before the run directory: a resume compares it
    routes = {step: await with_served_model(e, f"--step-model {step}=MODEL") for step, e in settings.routes.items()}
    settings = dataclasses.replace(settings, routes=routes,
                                   endpoint=dataclasses.replace(settings.endpoint, model=endpoint.model))  # fmt: skip
    proposer = routes.get(settings.method.generating_step, endpoint)  # (Magpie's template is its model's)
    served = functools.partial(render_chat, proposer)
    facts = await settings.method.setup(settings, proposer.model, served)  # (an InputError here writes nothing)
    inputs = input_fingerprint(seeds, prompts, _templates(settings))
    fingerprint = settings.output_affecting() | {"model": endpoint.model} | inputs
    fingerprint["step_models"] = {step: settings.endpoint_of(step).model for step in settings.params}
    # The benchmarks by content: a resume against other ones (or none) is refused like other changed inputs.
    fingerprint["decontaminate"] = {b.name: b.sha256 for b in benchmarks}
    if facts:  # (none for the methods that decide nothing: their run.json stays as it was)
        fingerprint["method_facts"] = facts
    fresh = not (settings.out / RUN).exists()
    state = RunState.open(settings.out, fingerprint, chain.index)
    try:
        settings = dataclasses.replace(settings, schedule=schedule_of(state.run, str(settings.out / RUN)))
    except BaseException:
        state.close()
        raise
    fingerprint["schedule"] = settings.schedule
    for repair in state.repairs:
        notice(repair.message())
    try:
        saved_state = state.run.get("state", {})
        seed = settings.seed if settings.seed is not None else saved_state.get("seed")
        if seed is None:
            seed = random.SystemRandom().randrange(2**31)
        journal = ResponseJournal(settings.out / JOURNAL)
        if journal.repair is not None:
            notice(journal.repair.message())
        usage = spent(journal, Usage.from_dict(state.run.get("usage", {})))
        paid = _client(settings, endpoint, usage, notice, journal)
        await paid.sweep()  # lines of finished batches no run took: journaled and charged now (none online)
        # Replies are not fsync'd one by one: the next ledger line's fsync or the flush before a commit covers them.
        client = JournaledClient(paid, journal, Usage.from_dict(state.run.get("replayed", {})), sync=False)
        baseline, baseline_cost = usage.spend(), settings.pricing.cost(usage)
        try:
            fingerprint["seed"] = seed
            state.save(
                status="starting",
                settings=fingerprint,
                endpoint={"base_url": endpoint.where, "concurrency": endpoint.concurrency, **_routes(settings)},
                seeds={"path": str(settings.seeds) if settings.method.uses_seeds else None, "count": len(seeds)},
                prompts=prompts.fingerprint(),
                state={"next_request": state.next_request, "seed": seed, "target": settings.n},
                **({"decontamination": describe(benchmarks, index)} if index is not None else {}),
                **_prices(settings),
            )
            known: dict[str, Any] = dict(state.run.get("seed_classification", {}))

            def batches() -> dict[str, Any]:
                return {"batches": paid.batch_ids} if settings.batch else {}

            loop: Bootstrap | None = None
            try:
                try:
                    if settings.method.classifies_seeds:
                        seeds = await _classify_seeds(seeds, client, prompts, settings, seed, known)
                    await journal.flush()  # before run.json keeps what the replies decided
                except BudgetExhausted as exc:
                    state.save(status="budget", seed_classification=known, usage=client.usage.to_dict())
                    message = f"stopped while classifying the seeds: the next request could overrun the {exc}"
                    spend = client.usage.spend()
                    return RunReport("budget", len(state.pool), settings.n, 0, spend - baseline, spend, Counter(),
                                     message, settings.prices,
                                     **report_costs(settings.pricing, client.usage, baseline_cost))  # fmt: skip
                if settings.classification_only:  # seeds without is_classification are decided now
                    needed = settings.demos - settings.machine_demos
                    check_classification_seeds(seeds, needed=needed, path=settings.seeds, decided=True)
                state.write_seeds(seeds)
                state.save(seed_classification=known)
                online = paid if paid.online else None
                halt = online.halt if online is not None else None
                loop = Bootstrap(
                    settings, client, state, chain, prompts, seeds, seed, progress, baseline, halt, journal.flush,
                    facts, baseline_cost,
                )  # fmt: skip
                # A batch waits for hours: an interruption leaves it to the next run (batching's ledger) at once.
                drain = _drain(online, loop, notice) if online is not None else None
                with aio.on_interrupt(drain) if drain is not None else contextlib.nullcontext():
                    report = await loop.run()
                if not paid.online:  # what this run gave up on, in batches finished since
                    await paid.sweep()
                    total = client.usage.spend()
                    report = dataclasses.replace(report, run=total - baseline, total=total)
            except BaseException as exc:  # a fatal error, Ctrl-C or a signal: run.json says so, usage up to date
                if isinstance(exc, ClassificationSeedsError) and fresh:
                    # Nothing generated: a run.json would tie the corrected command to the refused settings (the
                    # paid answers stay in the response journal for it).
                    (state.out / RUN).unlink(missing_ok=True)
                    raise
                status = "interrupted" if isinstance(exc, (KeyboardInterrupt, asyncio.CancelledError)) else "failed"
                state.save(
                    status=status,
                    error=redact(str(exc)),
                    usage=client.usage.to_dict(),
                    replayed=client.replayed.to_dict(),
                    seed_classification=known,
                    state={"next_request": state.next_request, "seed": seed, "target": settings.n},
                    **({"counts": loop.counts()} if loop is not None else {}),
                    **batches(),
                )
                raise
            state.save(replayed=client.replayed.to_dict(), usage=client.usage.to_dict(), **batches())
            return report
        finally:
            await client.aclose()
            journal.close()
    finally:
        state.close()


def _prices(settings: GenerateSettings) -> dict[str, Any]:
    """run.json's `prices`: each step's model's prices in USD per 1M tokens (as this run gave them), for `stats`
    and the dataset card's cost per step and model; none when no step has prices."""
    pricing = settings.pricing
    given = {step: pricing.of(step) for step in settings.params}
    priced = {step: {"input": p.input, "output": p.output} for step, p in given.items() if p is not None}
    return {"prices": priced} if priced else {}


def _routes(settings: GenerateSettings) -> dict[str, Any]:
    """run.json's record of the steps sent to their own model or endpoint: model, URL without credentials, and
    where the key came from (`main`, `none` or `env:VAR`; never the key)."""
    if not settings.routes:
        return {}
    return {
        "steps": {
            step: {"model": e.model, "base_url": e.where, "api_key": settings.route_keys.get(step, "main")}
            for step, e in settings.routes.items()
        }
    }


def _drain(paid: Sender, loop: Bootstrap, notice: Notice) -> aio.Hook:
    """What the first Ctrl-C, SIGTERM or SIGHUP does to a running bootstrap: send nothing more, and let the
    requests on the wire land in the journal (Scheduler.interrupt), so that a resume replays them."""

    def hook(signum: int) -> None:
        paid.halt()
        loop.interrupt()
        if paid.in_flight:
            again = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
            # "sent", not "paid for": the embedded model costs time, not money, and says the same.
            notice(f"interrupted: finishing {paid.in_flight} request(s) already sent, each within --timeout, so "
                   f"that a resume does not ask them again ({again} again to abandon them)")  # fmt: skip

    return hook


def _templates(settings: GenerateSettings) -> list[str]:
    """The templates the run renders: a resume must find them unchanged (the others may be edited freely)."""
    return settings.method.templates(settings)


def planned_model(settings: GenerateSettings) -> str:
    """The model a run will use as far as the settings say ("" when a --base-url server is to be asked)."""
    from selfinstruct.engine.local.server import DEFAULT_MODEL_NAME  # (no runtime needed: a name only)

    return settings.endpoint.model or (DEFAULT_MODEL_NAME if settings.local else "")


def generate(
    settings: GenerateSettings, *, progress: Progress | None = None, notice: Notice = lambda _: None
) -> RunReport:
    """Grow the pool in settings.out to settings.n tasks (resuming whatever is there)."""
    seeds, prompts = load_inputs(settings)
    benchmarks = load_benchmarks(settings.decontaminate)  # read and checked before the endpoint starts
    with endpoint_for(settings.endpoint, notice, local=settings.local, local_model=settings.local_model) as endpoint:
        return aio.run(_run(settings, endpoint, seeds, prompts, progress, notice, benchmarks))
