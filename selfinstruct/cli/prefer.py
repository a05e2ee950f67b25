"""The `prefer` command (registered on the main group in cli/app.py)."""

from __future__ import annotations

import contextlib
import json
import sys
from typing import Any

import click

from selfinstruct.cli.common import (
    CONTEXT_SETTINGS,
    EXIT_BUDGET,
    EXIT_UNUSABLE,
    FiniteFloat,
    batch_poll_option,
    cli_options,
    cost_options,
    engine_options,
    fail,
    interrupted,
    judge_options,
    log_to_stderr,
    notice,
    verbosity_options,
)
from selfinstruct.cli.estimates import render_job_dry_run
from selfinstruct.cli.progress import ProgressView
from selfinstruct.engine.budget import usd
from selfinstruct.engine.signals import signals_interrupt
from selfinstruct.errors import SelfInstructError
from selfinstruct.pipeline.prefer.dry_run import dry_run_prefer
from selfinstruct.pipeline.prefer.run import PreferReport, prefer
from selfinstruct.pipeline.prefer.settings import ALL, RUBRICS, PreferOptions, PreferSettings, resolve_prefer_settings


@click.command(name="prefer", context_settings=CONTEXT_SETTINGS)
@click.argument("run_dir", metavar="RESPOND_DIR")
@click.option(
    "--mode",
    type=click.Choice(["score", "pairwise"]),
    help="score: each answer rated on the rubric (default); pairwise: two answers compared, in both orders.",
)
@click.option(
    "--rubric",
    type=click.Choice([*RUBRICS, ALL]),
    multiple=True,
    help="The scoring template prefer_RUBRIC.txt [default: overall]; repeat it (or 'all') to rate each aspect on "
    "its own and rank by their mean.",
)
@click.option("--scale", type=click.IntRange(5, 10), help="Scores from 1 to 10 (default) or 1 to 5.")
@click.option(
    "--pairs",
    type=click.Choice(["best-worst", "best-each"]),
    help="best-worst: one pair per instruction (default); best-each: the best against each answer below it.",
)
@click.option("--margin", type=FiniteFloat(min=0), help="Score gap a pair needs (--mode score) [default: 1].")
@click.option("--seed", type=int, default=0, show_default=True, help="Root of the per-request seeds.")
@judge_options
@click.option("--language", type=click.Choice(["en", "zh"]), help="Template language [default: the run's, else en].")
@click.option("--prompts", "prompts_dir", help="Directory of templates overriding the bundled prefer_*.txt.")
@engine_options
@click.option(
    "--max-tokens-total",
    type=click.IntRange(min=1),
    help="Token cap of the judging (journal included): a verdict is asked only if its worst case still fits.",
)
@cost_options
@click.option("--local-model", help="Judge with this GGUF file on the embedded llama.cpp server.")
@click.option(
    "--batch",
    is_flag=True,
    help="Send the judge requests through the Batch API; re-running the command waits for the batches in flight.",
)
@batch_poll_option
@click.option(
    "--dry-run", is_flag=True, help="Print one prompt per template and the requests, tokens, cost; call no model."
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@verbosity_options
def prefer_cmd(**opts: Any) -> None:
    """Rate the answers of a `respond` run with a judge and pair them for DPO.

    As UltraFeedback rated several models' answers per instruction and Zephyr trained on the pairs: with
    --mode score every answer is rated from 1 to --scale with a reason, on an editable rubric
    (prompts/LANG/prefer_RUBRIC.txt: overall, helpfulness, honesty, instruction_following, truthfulness);
    several --rubric (or --rubric all) rate each aspect in its own request and rank an answer by the mean, as
    UltraFeedback did, and an answer with an unreadable aspect is left unranked and counted; with --mode
    pairwise every two answers of an instruction are compared in both orders, and only a verdict the same
    in both counts (ties and order-dependent verdicts are counted, never guessed; a judge that names one
    position in 90% of its verdicts is position-biased and none of its verdicts is used). The best answer is
    then chosen against the worst (--pairs best-worst) or against each answer at least --margin below it
    (best-each). Writes judgments.jsonl, preferences.jsonl and prefer.json into the run directory; `export
    --format dpo` turns them into TRL's preference format. A reply that cannot be read is asked once more,
    then counted as unreadable. Resumable after a crash or kill -9, as audit. --dry-run prints one rendered
    judge prompt per template and the requests, tokens and cost, and sends nothing.

    Exit codes: 0 done, 1 endpoint error, 2 bad input, 3 a cap reached first, 5 judge unusable (no verdict
    readable, or position-biased), 130 interrupted (Ctrl-C), 143 SIGTERM, 129 SIGHUP.

    \b
    Example:
      selfinstruct prefer data/answers --judge-model gpt-4o --rubric helpfulness --pairs best-each --margin 2
      selfinstruct prefer data/answers --judge-model gpt-4o --rubric all --dry-run --price-input 2.5 --price-output 10
      selfinstruct prefer data/answers --mode pairwise --judge-base-url http://localhost:8000/v1
      selfinstruct export data/answers --format dpo --out dpo.jsonl
    """
    log_to_stderr(opts["verbose"])
    try:
        settings = resolve_prefer_settings(cli_options(PreferOptions, opts))
        if settings.dry_run:
            render_job_dry_run(dry_run_prefer(settings), batch=settings.spending.batch, unit="verdicts")
            return
        view = ProgressView(0, command="prefer", unit="verdict", quiet=opts["quiet"])
        try:
            with signals_interrupt():
                report = prefer(settings, progress=view, notice=notice, total=view.set_total)
        finally:
            with contextlib.suppress(OSError):
                view.close()
    except SelfInstructError as exc:
        fail(exc)
    except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM, SIGHUP
        interrupted(exc, f"The judging of {opts['run_dir']}")
    _render(report, settings, as_json=opts["as_json"])


def _aspect(model: str, figures: dict[str, Any]) -> str:
    mean = f"mean {figures['mean']:g}" if figures["mean"] is not None else "no score"
    return f"{model} {mean}" + (f" ({figures['unreadable']:,} unreadable)" if figures["unreadable"] else "")


def _render(report: PreferReport, settings: PreferSettings, *, as_json: bool) -> None:
    s = report.summary
    v = s["verdicts"]
    if as_json:
        click.echo(json.dumps(s, indent=2, ensure_ascii=False))
    else:
        reasons = ", ".join(f"{why} {n:,}" for why, n in v["unreadable_reasons"].items())
        click.echo(f"{v['judged']:,} verdicts, {v['unreadable']:,} unreadable" + (f" ({reasons})" if reasons else "")
                   + f", {v['pending']:,} not asked")  # fmt: skip
        for model, scores in s["scores"].items():
            click.echo(f"  {model}: mean score {scores['mean']:g} over {scores['judged']:,}")
        for aspect, models in s.get("aspects", {}).items():
            click.echo(f"    {aspect}: " + ", ".join(_aspect(m, a) for m, a in models.items()))
        unranked = s.get("ranking", {}).get("unranked_reasons", {})
        if unranked:
            click.echo("  answers not ranked: " + ", ".join(f"{why} {n:,}" for why, n in unranked.items()))
        p = s["position"]
        if p:
            click.echo(f"  both orders: {p['consistent']:,} consistent, {p['tie']:,} ties, "
                       f"{p['order_dependent']:,} order-dependent; first position named {p['first']:,} times, "
                       f"second {p['second']:,}")  # fmt: skip
        dropped = ", ".join(f"{why} {n:,}" for why, n in s["dropped"].items())
        length = s["length"]
        longer = f"; the longer answer chosen in {length['longer_chosen']:,} of {length['of']:,}"
        click.echo(f"{s['pairs']:,} pairs from {s['questions']:,} instructions" + (f" (none from: {dropped})"
                   if dropped else "") + longer)  # fmt: skip
        cost = f", {usd(report.cost)}" if report.cost is not None else ""
        click.echo(f"this run: {report.asked:,} asked, {report.tokens:,} tokens{cost}; {report.replayed:,} were "
                   f"already in the journal; -> {settings.run_dir}/preferences.jsonl")  # fmt: skip
    if report.budget:
        click.echo(f"stopped: the next verdict could overrun the {report.budget}; {v['pending']:,} not asked: raise "
                   "the cap and run again to finish", err=True)  # fmt: skip
        sys.exit(EXIT_BUDGET)
    if s["position"].get("biased"):
        share = s["position"]["first_share"]
        click.echo(f"judge unusable: position-biased, it named the first position in {share:.0%} of its decided "
                   "verdicts, whatever the order: none of them is used; use a stronger --judge-model or --mode score",
                   err=True)  # fmt: skip
        sys.exit(EXIT_UNUSABLE)
    if v["unreadable"] and not v["judged"]:
        click.echo(f"judge unusable: none of its {v['unreadable']:,} replies could be read; use a stronger "
                   "--judge-model (judgments.jsonl keeps each reply's reason)", err=True)  # fmt: skip
        sys.exit(EXIT_UNUSABLE)
