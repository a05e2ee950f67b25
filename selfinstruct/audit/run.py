"""`audit` as a library call: ask a judge model the Self-Instruct paper's three questions and AlpaGasus's
0-5 score about every instance of each audited task.

The audited tasks are all tasks with an instance, or the first N in an order seeded by --seed (so a larger
N audits a superset, and a grown pool keeps the sample of the tasks it already had). Every instance of an
audited task is judged on its own, so that `--min-score` keeps only instances a score vouches for; one
instance per task, chosen with the same seed, makes the paper's table (the paper checked one per task).
Requests go through LLMClient (concurrency, rate limits, retries) with a per-request seed derived from
(seed, task, instance, attempt); every verdict is appended to the journal as it arrives, so a killed audit
resumes without asking anything again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from selfinstruct.audit.journal import RAW_LIMIT, AuditJournal, JudgeIdentity, Key, instance_hash, instruction_hash
from selfinstruct.audit.prompt import TEMPLATES, render_audit
from selfinstruct.audit.settings import AuditSettings
from selfinstruct.audit.summary import summarize, write_summary
from selfinstruct.audit.verdicts import read_verdict
from selfinstruct.engine import aio
from selfinstruct.engine.client import engine_counters, with_served_model
from selfinstruct.engine.endpoint import Notice, endpoint_for
from selfinstruct.engine.jobs import (
    Asker,
    ItemBudget,
    NotJournaled,
    ReplayOnly,
    ask_until_read,
    close,
    journaled_client,
    opening_sweep,
    run_items,
    sweep,
    this_run,
)
from selfinstruct.engine.journal import ResponseJournal
from selfinstruct.engine.seeding import derive_seed
from selfinstruct.engine.types import Completion, EndpointSettings, StepParams
from selfinstruct.errors import InputError
from selfinstruct.io.seeds import load_tasks
from selfinstruct.io.templates import PromptSet, load_prompts
from selfinstruct.methods.registry import TEMPLATE_NAMES
from selfinstruct.tasks import Task

# Called with (instances in the journal, engine counters) at the start, after each verdict and every TICK seconds.
Progress = Callable[[int, dict[str, Any]], object]
STEP = "audit"
ATTEMPTS = 2  # an unreadable reply is asked once more, with another seed
RETRY_TEMPERATURE = 0.7
EMBEDDED_NOTE = (
    "the judge is the embedded {name} model. A 135M model is not a real judge: its figures only show that "
    "the audit runs. Pass --judge-base-url/--judge-model or set OPENAI_API_KEY for a real audit."
)


def _unreadable(reply: Completion) -> str:
    return read_verdict(reply.text, reply.finish_reason).why


Judge = Asker  # what the audit needs of an engine: LLMClient, or a journal wrapper with the same `complete`


@dataclass(frozen=True)
class AuditItem:
    """One request: an instance of an audited task."""

    task: Task
    instance: int
    sha: str
    instance_sha: str
    prompt: str
    primary: bool  # the task's seeded instance, the one the paper's table counts

    @property
    def key(self) -> Key:
        return (self.task.id, self.instance)


@dataclass(frozen=True)
class Plan:
    """The audited instances of a pool (pool order), and what was left out."""

    pool_tasks: int
    items: list[AuditItem]
    skipped_no_instance: int
    prompts: PromptSet

    @property
    def tasks(self) -> int:
        return sum(1 for item in self.items if item.primary)


def select(tasks: Sequence[Task], sample: int | None, seed: int) -> list[tuple[Task, int]]:
    """(task, the index of its seeded instance: the one the paper's table counts) of each audited task, in
    pool order."""
    candidates = [t for t in tasks if t.instances]
    if sample is not None and sample < len(candidates):
        chosen = {t.id for t in sorted(candidates, key=lambda t: (derive_seed(seed, "sample", t.id), t.id))[:sample]}
        candidates = [t for t in candidates if t.id in chosen]
    return [(t, derive_seed(seed, "instance", t.id) % len(t.instances)) for t in candidates]


def plan_audit(settings: AuditSettings) -> Plan:
    """Read and validate the pool and the template, and pick what is audited; no request, no write."""
    if settings.sample is not None and settings.sample < 1:
        raise InputError("--sample must be at least 1")
    tasks = load_tasks(settings.tasks_file)
    prompts = load_prompts(settings.language, settings.prompts_dir, TEMPLATES, known=TEMPLATE_NAMES)
    items = [
        AuditItem(task, k, instruction_hash(task.instruction), instance_hash(instance),
                  render_audit(prompts, settings.language, task.instruction, instance), primary=k == chosen)
        for task, chosen in select(tasks, settings.sample, settings.seed)
        for k, instance in enumerate(task.instances)
    ]  # fmt: skip
    if not items:
        raise InputError("no task with an instance to audit; the judge needs an input and an output",
                         path=settings.tasks_file)  # fmt: skip
    return Plan(len(tasks), items, sum(1 for t in tasks if not t.instances), prompts)


async def judge_one(item: AuditItem, client: Judge, params: StepParams, seed: int) -> dict[str, Any]:
    """The journal line of one instance: its verdict, or why the judge's replies (two at most) were unreadable.
    Asked as prefer asks (engine.jobs.ask_until_read): the retry samples at RETRY_TEMPERATURE with the next
    seed, since at temperature 0 another seed would only buy the same reply again."""
    seeds = [derive_seed(seed, STEP, item.task.id, item.instance, attempt) for attempt in range(ATTEMPTS)]
    asked = await ask_until_read(client, STEP, item.prompt, params, seeds, _unreadable, RETRY_TEMPERATURE)
    reply = asked.reply
    verdict = None if asked.why else read_verdict(reply.text, reply.finish_reason).verdict
    record: dict[str, Any] = {"task_id": item.task.id, "instruction_sha256": item.sha, "instance": item.instance,
                              "instance_sha256": item.instance_sha}  # fmt: skip
    if verdict is not None:
        record |= {"status": "judged", "answers": verdict.answers, "score": verdict.score, "reason": verdict.reason}
    else:
        record |= {"status": "unreadable", "why": asked.why}
    return record | {
        "attempts": asked.attempts,
        "prompt_tokens": asked.prompt_tokens,
        "completion_tokens": asked.completion_tokens,
        "raw": reply.text[:RAW_LIMIT],
    }


@dataclass(frozen=True)
class AuditReport:
    summary: dict[str, Any]
    asked: int  # instances judged (or found unreadable) by this run
    already: int  # instances found in the journal
    tokens: int  # spent by this run
    cost: float | None  # USD spent by this run, when prices are given
    budget: str = ""  # the cap that stopped the audit before every instance was asked ("" when none did)
    replayed: int = 0  # instances whose verdicts were paid for (in the ledger) but not in the journal: written now


async def _ledger(settings: AuditSettings, journal: AuditJournal) -> ResponseJournal:
    """The audit's ledger; an audit journaled before there was one carries its lines' tokens over once."""
    new = not settings.responses.exists()
    ledger = ResponseJournal(settings.responses)
    if new and journal.entries:
        entries = journal.entries.values()
        prompt, completion = (sum(int(e.get(k, 0)) for e in entries) for k in ("prompt_tokens", "completion_tokens"))
        await ledger.sent(STEP, prompt, completion)  # never settled: spent before this version
    return ledger


def _meta(settings: AuditSettings, plan: Plan, model: str) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "source": str(settings.tasks_file),
        "journal": str(settings.journal),
        "judge_model": model,
        "seed": settings.seed,
        "sample": settings.sample,
        "pool_tasks": plan.pool_tasks,
        "skipped_no_instance": plan.skipped_no_instance,
        "template_sha256": plan.prompts["audit"].sha256,
        "embedded_judge": settings.local,
    }
    if settings.local:
        meta["note"] = EMBEDDED_NOTE.format(name=model)
    return meta


async def _replay(todo: list[AuditItem], replay: ReplayOnly, settings: AuditSettings, journal: AuditJournal,
                  report: Callable[[dict[str, Any]], None]) -> int:  # fmt: skip
    """Write the verdicts whose every attempt the ledger holds (paid for by an earlier run that was stopped before
    its verdict line, or by a batch collected since), without a reservation: a replay costs nothing, so a cap that
    fits no new request must not stop it. Returns how many."""
    count = 0
    for item in todo:
        try:
            record = await judge_one(item, replay, settings.params, settings.seed)
        except NotJournaled:
            continue
        journal.append(record)
        report(record)
        count += 1
    return count


async def _run(
    settings: AuditSettings, endpoint: EndpointSettings, plan: Plan, progress: Progress | None, notice: Notice
) -> AuditReport:
    endpoint = await with_served_model(endpoint, "--judge-model")
    identity = JudgeIdentity(endpoint.model, settings.seed, plan.prompts["audit"].sha256)
    journal = AuditJournal(settings.journal, identity)
    if journal.repair is not None:
        notice(journal.repair.message())
    try:
        journal.check_tasks({i.task.id: i.sha for i in plan.items}, {i.key: i.instance_sha for i in plan.items})
        todo = [item for item in plan.items if item.key not in journal.entries]
        ledger = await _ledger(settings, journal)
        spending = settings.spending.budget(ledger)
        job = settings.spending
        client = journaled_client(endpoint, ledger, spending, batch_ledger=settings.batch_ledger if job.batch else None,
                                  batch_poll=job.batch_poll, notice=notice)  # fmt: skip
        # lines of earlier batches no run took, finished since: journaled (a later ask replays them), charged
        await opening_sweep([client], ledger)
        budget = ItemBudget(spending, attempts=ATTEMPTS)
        earlier = [journal.entries[i.key] for i in plan.items if i.key in journal.entries]
        tally = Counter(e.get("status") for e in earlier)  # the audited instances' verdicts so far, by status

        def report(record: dict[str, Any] | None = None) -> None:
            """Count a new journal line (if any) and show where the audit stands."""
            if record is not None:
                tally[record.get("status")] += 1
            if progress is not None:
                counters = engine_counters(client, settings.spending.prices) | {"unreadable": tally["unreadable"]}
                progress(tally.total(), counters)

        report()
        replayed = 0
        try:
            replayed = await _replay(todo, ReplayOnly(endpoint, ledger), settings, journal, report)
            todo = [item for item in todo if item.key not in journal.entries]
            if todo:

                async def ask(item: AuditItem) -> None:
                    record = await judge_one(item, client, settings.params, settings.seed)
                    journal.append(record)
                    report(record)

                width = len(todo) if job.batch else settings.endpoint.concurrency  # a batch takes them all
                await run_items(todo, width, budget, lambda i: (i.prompt, settings.params.max_tokens), ask, report)
                await sweep([client])  # what this run gave up on, in batches finished since
        finally:
            await close([client], ledger)
            summary = summarize(
                [journal.entries.get(i.key) for i in plan.items],
                [i.primary for i in plan.items],
                meta=_meta(settings, plan, endpoint.model),
            )
            write_summary(settings.summary_path, summary)
    finally:
        journal.close()
    tokens, cost = this_run(client.usage, settings.spending.prices)
    return AuditReport(
        summary=summary,
        asked=sum(1 for i in todo if i.key in journal.entries),
        already=len(plan.items) - len(todo) - replayed,
        replayed=replayed,
        tokens=tokens,
        cost=cost,
        budget=budget.describe() if budget.reached else "",
    )


def audit(
    settings: AuditSettings,
    *,
    progress: Progress | None = None,
    notice: Notice = lambda _: None,
    total: Callable[[int], object] | None = None,
) -> AuditReport:
    """Judge every audited instance not yet in settings.journal, then write the summary next to the journal.

    `total` is told the number of audited instances once they are known (a progress bar's length); `progress`
    is then told how many are in the journal (those from earlier runs included) and the engine's counters.
    """
    plan = plan_audit(settings)
    if total is not None:
        total(len(plan.items))

    def judge_notice(message: str) -> None:  # generate's notice names generate's options
        notice(message.replace("--base-url/--model", "--judge-base-url/--judge-model"))

    with endpoint_for(
        settings.endpoint, judge_notice, local=settings.local, local_model=settings.spending.local_model
    ) as endpoint:
        return aio.run(_run(settings, endpoint, plan, progress, notice))
