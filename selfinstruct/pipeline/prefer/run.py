"""`prefer` as a library call: a judge rates the answers of a `respond` run (or compares them two at a time, in
both orders), and the verdicts become preference pairs for DPO, as UltraFeedback's ratings became Zephyr's.

The judge runs on the audit's engine (engine.jobs: concurrency, retries, hard budget, journal and ledger,
--batch) and its reader (a JSON object or labelled lines; an unreadable reply is asked once more with another
seed, then counted, never guessed). A rerun first replays every journaled reply without a request, so a run
killed at any moment resumes without paying twice; the outputs are written in the answers' order.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from selfinstruct.engine import aio
from selfinstruct.engine.client import engine_counters, with_served_model
from selfinstruct.engine.endpoint import Notice, endpoint_for
from selfinstruct.engine.jobs import (
    Asked,
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
from selfinstruct.engine.types import Completion, EndpointSettings
from selfinstruct.errors import InputError
from selfinstruct.io.records import atomic_writer, dumps
from selfinstruct.pipeline.prefer.pairs import Pairing, length_bias, pairwise_pairs, score_pairs
from selfinstruct.pipeline.prefer.plan import (
    Item,
    Question,
    group,
    load_templates,
    plan_items,
    response_id,
    template_sha256,
)
from selfinstruct.pipeline.prefer.scores import Response, by_aspect, by_model, rank
from selfinstruct.pipeline.prefer.settings import (
    BATCHES,
    JUDGMENTS,
    LEDGER,
    PREFERENCES,
    STEP,
    SUMMARY,
    PreferSettings,
)
from selfinstruct.pipeline.prefer.verdicts import read_choice, read_rating
from selfinstruct.pipeline.respond.output import read_answers

Progress = Callable[[int, dict[str, Any]], object]
SUMMARY_VERSION = 1
RAW_LIMIT = 600


@dataclass(frozen=True)
class PreferReport:
    summary: dict[str, Any]
    asked: int  # verdicts asked by this run
    replayed: int  # verdicts found in the journal
    tokens: int
    cost: float | None
    budget: str = ""


def _unreadable(settings: PreferSettings) -> Callable[[Completion], str]:
    if settings.mode == "score":
        return lambda reply: read_rating(reply.text, reply.finish_reason, settings.scale).why
    return lambda reply: read_choice(reply.text, reply.finish_reason).why


def _record(settings: PreferSettings, item: Item, asked: Asked) -> dict[str, Any]:
    """The judgments.jsonl line of one request."""
    q = item.question
    record: dict[str, Any] = {"task_id": q.key[0], "instance": q.key[1]}
    if item.b is None:
        record |= {"model": item.a["model"], "sample": item.a["sample"], "aspect": item.aspect}
    else:
        record |= {"a": dict(zip(("model", "sample"), response_id(item.a), strict=True)),
                   "b": dict(zip(("model", "sample"), response_id(item.b), strict=True))}  # fmt: skip
    reply = asked.reply
    if asked.why:
        record |= {"status": "unreadable", "why": asked.why}
    elif item.b is None:
        rating = read_rating(reply.text, reply.finish_reason, settings.scale)
        record |= {"status": "judged", "score": rating.score, "reason": rating.reason}
    else:
        choice = read_choice(reply.text, reply.finish_reason)
        record |= {"status": "judged", "better": choice.better, "reason": choice.reason}
    return record | {"attempts": asked.attempts, "prompt_tokens": asked.prompt_tokens,
                     "completion_tokens": asked.completion_tokens, "raw": reply.text[:RAW_LIMIT]}  # fmt: skip


def _planned(questions: list[Question]) -> list[Response]:
    return [(q.key, response_id(r)) for q in questions for r in q.responses]


def build_pairs(settings: PreferSettings, questions: list[Question], judgments: list[dict[str, Any]]) -> Pairing:
    """The pairs the rules give from the judged lines (score mode: on each ranked response's mean)."""
    if settings.mode == "score":
        ranking = rank(judgments, settings.rubrics, _planned(questions))
        return score_pairs(questions, ranking.scores, settings.pairs, settings.margin, ranking.aspects)
    judged = [j for j in judgments if j["status"] == "judged"]
    verdicts = {((j["task_id"], j["instance"]), (j["a"]["model"], j["a"]["sample"]), (j["b"]["model"],
                j["b"]["sample"])): j["better"] for j in judged}  # fmt: skip
    return pairwise_pairs(questions, verdicts, settings.pairs)


def rubric_of(settings: PreferSettings) -> str | list[str] | None:
    """prefer.json's "rubric": one name, or the aspects' list; None in pairwise mode."""
    if settings.mode != "score":
        return None
    return settings.rubrics[0] if len(settings.rubrics) == 1 else list(settings.rubrics)


def _scores(settings: PreferSettings, judgments: list[dict[str, Any]], questions: list[Question]) -> dict[str, Any]:
    """Score mode: the ranked responses' scores per model, how many were ranked, and (several aspects) each
    aspect's figures per model."""
    if settings.mode != "score":
        return {"scores": {}}
    ranking = rank(judgments, settings.rubrics, _planned(questions))
    out: dict[str, Any] = {"scores": by_model(ranking), "ranking": ranking.counts()}
    if len(settings.rubrics) > 1:
        out["aspects"] = by_aspect(judgments, settings.rubrics)
    return out


def summarize(settings: PreferSettings, judge: str, template_sha: str, items: list[Item],
              judgments: list[dict[str, Any]], pairing: Pairing,
              questions: list[Question]) -> dict[str, Any]:  # fmt: skip
    """prefer.json: the settings, the verdicts and pairs counted, and the judge's biases."""
    unreadable = Counter(j["why"] for j in judgments if j["status"] == "unreadable")
    verdicts = {"planned": len(items), "judged": len(judgments) - sum(unreadable.values()),
                "unreadable": sum(unreadable.values()), "pending": len(items) - len(judgments),
                "unreadable_reasons": dict(unreadable.most_common())}  # fmt: skip
    return {
        "version": SUMMARY_VERSION,
        "mode": settings.mode,
        "rubric": rubric_of(settings),
        "scale": settings.scale if settings.mode == "score" else None,
        "pairs_rule": settings.pairs,
        "margin": settings.margin if settings.mode == "score" else None,
        "judge_model": judge,
        "seed": settings.seed,
        "template_sha256": template_sha,
        "embedded_judge": settings.local,
        "questions": len(questions),
        "verdicts": verdicts,
        "pairs": len(pairing.pairs),
        "dropped": dict(sorted(pairing.dropped.items())),
        **_scores(settings, judgments, questions),
        "position": pairing.position,
        "length": length_bias(pairing.pairs),
        "updated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _write(settings: PreferSettings, judgments: list[dict[str, Any]], pairs: list[dict[str, Any]],
           summary: dict[str, Any]) -> None:  # fmt: skip
    with atomic_writer(settings.path(JUDGMENTS)) as fh:
        fh.writelines(dumps(j) + "\n" for j in judgments)
    with atomic_writer(settings.path(PREFERENCES)) as fh:
        fh.writelines(dumps(p | {"judge_model": summary["judge_model"], "mode": settings.mode}) + "\n" for p in pairs)
    with atomic_writer(settings.path(SUMMARY)) as fh:
        json.dump(summary, fh, ensure_ascii=False, indent=2)
        fh.write("\n")


def run_identity(settings: PreferSettings, judge: str, template_sha: str) -> dict[str, Any]:
    """What makes two prefer runs the same judging: a directory is resumed only with these unchanged."""
    return {"mode": settings.mode, "rubric": rubric_of(settings),
            "scale": settings.scale if settings.mode == "score" else None, "judge_model": judge,
            "seed": settings.seed, "template_sha256": template_sha}  # fmt: skip


def check_resume(settings: PreferSettings, identity: dict[str, Any]) -> None:
    try:
        earlier = json.loads(settings.path(SUMMARY).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read it ({exc}); delete it to judge again", path=settings.path(SUMMARY)) from None
    for key, value in identity.items():
        if isinstance(earlier, dict) and earlier.get(key) != value:
            raise InputError(f"judged with {key}={earlier.get(key)!r}, not {value!r}; run the same command to resume, "
                             f"or delete {SUMMARY}, {JUDGMENTS} and {PREFERENCES} to judge again",
                             path=settings.path(SUMMARY))  # fmt: skip


async def _run(settings: PreferSettings, endpoint: EndpointSettings, questions: list[Question], items: list[Item],
               template_sha: str, progress: Progress | None, notice: Notice) -> PreferReport:  # fmt: skip
    endpoint = await with_served_model(endpoint, "--judge-model")
    identity = run_identity(settings, endpoint.model, template_sha)
    check_resume(settings, identity)
    ledger = ResponseJournal(settings.path(LEDGER))
    if ledger.repair is not None:
        notice(ledger.repair.message())
    unreadable = _unreadable(settings)
    results: dict[int, dict[str, Any]] = {}

    async def judge(i: int, client: Asker) -> None:
        item = items[i]
        asked = await ask_until_read(client, STEP, item.prompt, settings.params, item.seeds, unreadable)
        results[i] = _record(settings, item, asked)

    spending = settings.spending.budget(ledger)
    client = journaled_client(endpoint, ledger, spending, batch_ledger=settings.path(BATCHES) if settings.spending.batch
                              else None, batch_poll=settings.spending.batch_poll, notice=notice)  # fmt: skip
    # lines of earlier batches no run took, finished since: journaled (replayed below) and charged now
    await opening_sweep([client], ledger)
    replay = ReplayOnly(endpoint, ledger)
    for i in range(len(items)):  # what was paid for, replayed without a reservation
        try:
            await judge(i, replay)
        except NotJournaled:
            continue
    replayed = len(results)
    budget = ItemBudget(spending, attempts=len(items[0].seeds) if items else 1)

    def report() -> None:
        if progress is not None:
            counters = engine_counters(client, settings.spending.prices)
            counters["unreadable"] = sum(1 for r in results.values() if r["status"] != "judged")
            progress(len(results), counters)

    async def ask(i: int) -> None:
        await judge(i, client)
        report()

    todo = [i for i in range(len(items)) if i not in results]
    report()
    try:
        if todo:
            width = len(todo) if settings.spending.batch else settings.endpoint.concurrency
            await run_items(todo, width, budget, lambda i: (items[i].prompt, settings.params.max_tokens), ask, report)
            await sweep([client])  # what this run gave up on, in batches finished since
    finally:
        await close([client], ledger)
        judgments = [results[i] for i in range(len(items)) if i in results]
        pairing = build_pairs(settings, questions, judgments)
        summary = summarize(settings, endpoint.model, template_sha, items, judgments, pairing, questions)
        _write(settings, judgments, pairing.pairs, summary)
    tokens, cost = this_run(client.usage, settings.spending.prices)
    return PreferReport(
        summary=summary,
        asked=len(results) - replayed,
        replayed=replayed,
        tokens=tokens,
        cost=cost,
        budget=budget.describe() if budget.reached else "",
    )


def prefer(
    settings: PreferSettings,
    *,
    progress: Progress | None = None,
    notice: Notice = lambda _: None,
    total: Callable[[int], object] | None = None,
) -> PreferReport:
    """Judge the answers of settings.run_dir and write judgments.jsonl, preferences.jsonl and prefer.json there;
    resumes from its journal. `total` hears the number of judge requests once known."""
    questions = group(read_answers(settings.run_dir))
    prompts = load_templates(settings)
    items = plan_items(settings, questions, prompts)
    template_sha = template_sha256(settings, prompts)
    if total is not None:
        total(len(items))

    def judge_notice(message: str) -> None:  # the endpoint's notices name generate's options
        notice(message.replace("--base-url/--model", "--judge-base-url/--judge-model"))

    with endpoint_for(
        settings.endpoint, judge_notice, local=settings.local, local_model=settings.spending.local_model
    ) as ep:
        return aio.run(_run(settings, ep, questions, items, template_sha, progress, notice))
