"""`respond` as a library call: answer the instructions of a pool (or any file `filter` reads) with one or more
models, as Alpaca-GPT4 re-answered Alpaca's instructions with a stronger model.

Every request goes through the engine `audit` uses (engine.jobs): concurrency, rate limits, retries, the
journal that is also the hard budget's ledger, --batch. A reply is journaled before anything follows from it,
and a journaled one is replayed for free before anything is sent, so a run killed at any moment resumes
without paying twice; the outputs are written in the source's order, so they do not depend on the order
replies arrived in.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from selfinstruct.engine import aio
from selfinstruct.engine.client import with_served_model
from selfinstruct.engine.context_window import ContextLengthError
from selfinstruct.engine.endpoint import Notice, endpoint_for
from selfinstruct.engine.jobs import ItemBudget, close, journaled_client, opening_sweep, run_items, sweep
from selfinstruct.engine.journal import ResponseJournal, response_key
from selfinstruct.engine.journaled import JournaledClient
from selfinstruct.engine.types import EndpointSettings, StepUsage, Usage
from selfinstruct.errors import InputError
from selfinstruct.io.templates import PromptSet
from selfinstruct.pipeline.respond.output import ANSWERED, read_state, record_of, spend_by_model, write_outputs
from selfinstruct.pipeline.respond.plan import (
    Question,
    load_templates,
    plan_items,
    questions,
    read_source,
    template_sha256,
    why_not_an_answer,
)
from selfinstruct.pipeline.respond.settings import STEP, RespondSettings, identity
from selfinstruct.tasks import Task

# Called with (responses known: this run's and the journal's, engine counters), after each and every second.
Progress = Callable[[int, dict[str, Any]], object]
TOO_LONG = "prompt longer than the model's context"
EMBEDDED_NOTE = (
    "the answers are the embedded {name} model's. A 135M model's answers are for trying the command, not for "
    "training: pass --base-url/--model or set OPENAI_API_KEY."
)


@dataclass(frozen=True)
class RespondReport:
    counts: dict[str, Any]  # planned, answered, dropped, dropped_reasons, pending, per model
    asked: int  # responses asked by this run
    replayed: int  # responses found in the journal (paid for by an earlier run)
    tokens: int  # spent by this run (its own requests: what earlier runs paid for is theirs)
    cost: float | None  # USD spent by this run, when prices are given
    budget: str = ""  # the cap that stopped the run before every response was asked ("" when none did)
    note: str = ""
    spend: dict[str, Any] = dataclasses.field(default_factory=dict)  # this run's, per model (output.spend_by_model)


async def _endpoints(settings: RespondSettings, endpoint: EndpointSettings) -> dict[str, EndpointSettings]:
    """Each model's endpoint (its own with --model-base-url, else the main one, where the models differ by
    name), the served model for "" (or the embedded one)."""
    out: dict[str, EndpointSettings] = {}
    for model in settings.models:
        base = settings.model_endpoints.get(model, endpoint)
        resolved = await with_served_model(dataclasses.replace(base, model=model or base.model), "--model")
        if resolved.model in out:
            raise InputError(f"--model {resolved.model!r} twice (the served model); name each model once")
        out[resolved.model] = resolved
    return out


def _own(settings: RespondSettings) -> dict[str, Any]:
    """respond.json's record of the models with an endpoint of their own: URL without credentials, and where
    the key came from (never the key)."""
    if not settings.model_endpoints:
        return {}
    return {
        "model_endpoints": {
            model: {"base_url": e.where, "api_key": settings.model_keys.get(model, "main")}
            for model, e in settings.model_endpoints.items()
        }
    }


def _totals(usages: dict[str, Usage]) -> dict[str, StepUsage]:
    return {model: usage.total() for model, usage in usages.items()}


def directory_spend(settings: RespondSettings) -> dict[str, Any]:
    """What the run directory spent, per model at its prices, read afresh from the journal (the ledger: exact
    whatever this and earlier processes collected and settled)."""
    ledger = ResponseJournal(settings.ledger)
    try:
        return spend_by_model(dict(ledger.spend_models.steps), settings.spending.pricing)
    finally:
        ledger.close()


def check_resume(settings: RespondSettings, ident: dict[str, Any]) -> None:
    state = read_state(settings.out)
    if state is None:
        return
    earlier = {k: state.get(k) for k in ident}
    for key, value in ident.items():
        if earlier[key] != value:
            raise InputError(
                f"this directory was answered with {key}={earlier[key]!r}, not {value!r}; run the same command to "
                "resume it, or give a new --out",
                path=settings.out,
            )


async def _run(settings: RespondSettings, endpoint: EndpointSettings, tasks: list[Task], prompts: PromptSet,
               qs: list[Question], progress: Progress | None, notice: Notice) -> RespondReport:  # fmt: skip
    endpoints = await _endpoints(settings, endpoint)
    models = tuple(endpoints)
    ident = identity(settings, models, template_sha256(prompts))
    check_resume(settings, ident)
    settings.out.mkdir(parents=True, exist_ok=True)
    items = plan_items(settings, qs, models)
    params = settings.params
    ledger = ResponseJournal(settings.ledger)
    if ledger.repair is not None:
        notice(ledger.repair.message())
    results: dict[int, dict[str, Any]] = {}
    spending = settings.spending.budget(ledger)
    job = settings.spending
    usages = {model: Usage() for model in endpoints}  # each model's: priced at its own prices
    clients: dict[str, JournaledClient] = {
        model: journaled_client(ep, ledger, spending, notice=notice, usage=usages[model], batch_poll=job.batch_poll,
                                batch_ledger=settings.batch_ledger(model) if job.batch else None)
        for model, ep in endpoints.items()
    }  # fmt: skip
    # lines of earlier batches no run took, finished since: journaled (replayed below) and charged now
    await opening_sweep(clients.values(), ledger)
    for i, item in enumerate(items):  # replayed without a reservation: already paid for
        ep = endpoints[item.model]
        hit = ledger.get(response_key(STEP, ep.model, ep.api, item.question.prompt, params, item.seed))
        if hit is not None:
            results[i] = record_of(item, hit, params, why_not_an_answer(hit))
    replayed = len(results)
    budget = ItemBudget(spending)

    def report() -> None:
        if progress is not None:
            totals = _totals(usages)
            counters: dict[str, Any] = {
                "in_flight": sum(c.in_flight for c in clients.values()),
                "requests": sum(t.requests for t in totals.values()),
                "retries": sum(t.retries for t in totals.values()),
                "tokens": sum(t.total_tokens for t in totals.values()),
            }
            if job.priced() and (cost := spend_by_model(totals, job.pricing)["cost"]) is not None:
                counters["cost"] = cost
            waits = [why for c in clients.values() for why in c.waiting.values()]
            if waits:
                counters["waiting"] = waits[-1] + (f" (+{len(waits) - 1} more)" if len(waits) > 1 else "")
            counters["dropped"] = sum(1 for r in results.values() if r["status"] != ANSWERED)
            progress(len(results), counters)

    async def ask(i: int) -> None:
        item = items[i]
        try:
            reply = await clients[item.model].complete(STEP, item.question.prompt, params, seed=item.seed)
        except ContextLengthError:
            results[i] = record_of(item, None, params, TOO_LONG)
        else:
            results[i] = record_of(item, reply, params, why_not_an_answer(reply))
        report()

    todo = [i for i in range(len(items)) if i not in results]
    report()
    try:
        if todo:
            width = len(todo) if settings.spending.batch else settings.endpoint.concurrency  # a batch takes them all
            await run_items(todo, width, budget, lambda i: (items[i].question.prompt, params.max_tokens), ask, report,
                            model_of=lambda i: items[i].model)  # fmt: skip
            await sweep(clients.values())  # what this run gave up on, in batches finished since
    finally:
        await close(clients.values(), ledger)
        note = EMBEDDED_NOTE.format(name=models[0]) if settings.local else ""
        state = {"source": str(settings.tasks_file), **ident, "language": settings.language,
                 "embedded_model": settings.local, **({"note": note} if note else {}), **_own(settings),
                 "spend": directory_spend(settings)}  # fmt: skip
        tally = write_outputs(settings.out, tasks, items, results, models, state)
    this_run = spend_by_model(_totals(usages), job.pricing)
    return RespondReport(
        counts=tally,
        asked=len(results) - replayed,
        replayed=replayed,
        tokens=this_run["tokens"],
        cost=this_run["cost"] if job.priced() else None,
        budget=budget.describe() if budget.reached else "",
        note=note,
        spend=this_run,
    )


def respond(
    settings: RespondSettings,
    *,
    progress: Progress | None = None,
    notice: Notice = lambda _: None,
    total: Callable[[int], object] | None = None,
) -> RespondReport:
    """Answer every (instruction, input) of settings.tasks_file with every model, settings.samples times, into
    settings.out; resumes from its journal. `total` hears the number of responses once known (a progress bar's
    length); `progress` how many are known so far (journaled ones included) and the engine's counters."""
    tasks = read_source(settings)
    prompts = load_templates(settings)
    qs = questions(tasks, prompts, settings.prompt_format)
    if total is not None:
        total(len(qs) * len(settings.models) * settings.samples)
    with endpoint_for(
        settings.endpoint, notice, local=settings.local, local_model=settings.spending.local_model
    ) as endpoint:
        return aio.run(_run(settings, endpoint, tasks, prompts, qs, progress, notice))
