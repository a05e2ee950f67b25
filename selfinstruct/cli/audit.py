"""The `audit` command (registered on the main group in cli.py)."""

from __future__ import annotations

import contextlib
import json
import sys
from typing import Any

import click

from selfinstruct.audit.dry_run import dry_run_audit
from selfinstruct.audit.run import AuditReport, audit
from selfinstruct.audit.settings import AuditOptions, AuditSettings, resolve_audit_settings
from selfinstruct.cli.common import (
    CONTEXT_SETTINGS,
    EXIT_BUDGET,
    EXIT_UNUSABLE,
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
from selfinstruct.stats.render.audit import render_table


@click.command(name="audit", context_settings=CONTEXT_SETTINGS)
@click.argument("source", metavar="RUN_DIR_OR_FILE")
@click.option("--sample", type=click.IntRange(min=1), help="Audit a seeded random sample of N tasks (default: all).")
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Seed of the sample, of the table's instance per task and of the requests.",
)
@judge_options
@click.option("--language", type=click.Choice(["en", "zh"]), help="Template language [default: the run's, else en].")
@click.option("--prompts", "prompts_dir", help="Directory of templates overriding the bundled audit.txt.")
@engine_options
@click.option(
    "--max-tokens-total",
    type=click.IntRange(min=1),
    help="Token cap of the whole audit (journal included): a task is asked only if its worst case still fits.",
)
@cost_options
@click.option("--local-model", help="Judge with this GGUF file on the embedded llama.cpp server.")
@click.option("-o", "--out", help="Audit journal [default: RUN_DIR/audit.jsonl, or FILE's NAME.audit.jsonl].")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option(
    "--batch",
    is_flag=True,
    help="Send the judge requests through the Batch API (half price on OpenAI; results within 24 h); "
    "re-running the same command waits for the batches in flight.",
)
@batch_poll_option
@click.option("--dry-run", is_flag=True, help="Print one judge prompt and the requests, tokens, cost; call no model.")
@verbosity_options
def audit_cmd(**opts: Any) -> None:
    """Measure the quality of a pool with an LLM judge, as the Self-Instruct paper did by hand.

    Every instance of each task (all tasks, or a seeded --sample) is shown to the judge on its own; it
    answers the paper's three questions (is the instruction a valid task; is the input appropriate; is the
    output correct and acceptable) and gives a 0-5 score (halves allowed, as in AlpaGasus) with a
    one-sentence reason. Verdicts are appended to audit.jsonl as they arrive: re-running the same command
    after a crash or kill -9 asks only what is missing. A reply that cannot be read is asked once more, then
    counted as unreadable (never guessed). The summary, our shares beside the paper's 92/79/58/54% with 95%
    confidence intervals over one instance per task (chosen with --seed, as the paper checked one), is
    printed and written to audit_summary.json. Keep the instances scored 4.5 or more (AlpaGasus) with
    `selfinstruct filter POOL --min-score 4.5`.

    With no --judge-base-url and no OPENAI_API_KEY the embedded 135M model judges: a smoke test, not a judge.

    Exit codes: 0 every audited instance judged, 1 endpoint error, 2 bad input, 3 a cap (--max-tokens-total,
    --max-cost) reached first, 5 judge unusable (no reply could be read as a verdict), 130 interrupted (Ctrl-C),
    143 SIGTERM, 129 SIGHUP.

    \b
    Example:
      OPENAI_API_KEY=... selfinstruct audit data/run1 --sample 200 --judge-model gpt-4o-mini
      selfinstruct audit data/run1 --judge-base-url http://localhost:8000/v1 --concurrency 32
      selfinstruct audit data/run1 --dry-run --price-input 0.15 --price-output 0.6
      selfinstruct filter data/run1/tasks.jsonl --min-score 4.5 --out good.jsonl
    """
    log_to_stderr(opts["verbose"])
    try:
        settings = resolve_audit_settings(cli_options(AuditOptions, opts))
        if settings.dry_run:
            render_job_dry_run(dry_run_audit(settings), batch=settings.spending.batch, unit="instances")
            return
        view = ProgressView(0, command="audit", unit="instance", quiet=opts["quiet"])
        try:
            with signals_interrupt():
                report = audit(settings, progress=view, notice=notice, total=view.set_total)
        finally:
            with contextlib.suppress(OSError):  # after a SIGHUP the terminal may be gone: the exit code matters
                view.close()
    except SelfInstructError as exc:
        fail(exc)
    except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM, SIGHUP
        interrupted(exc, f"The audit in {opts['out'] or opts['source']}")
    _render_report(report, settings, as_json=opts["as_json"])


def _render_report(report: AuditReport, settings: AuditSettings, *, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report.summary, indent=2, ensure_ascii=False))
    else:
        click.echo(render_table(report.summary), nl=False)
        cost = f", {usd(report.cost)}" if report.cost is not None else ""
        click.echo(
            f"this run: {report.asked:,} instances asked, {report.tokens:,} tokens{cost}; {report.already:,} were "
            f"already in {settings.journal}"
            + (f", {report.replayed:,} replayed from the judge's paid replies" if report.replayed else "")
            + f"; summary -> {settings.summary_path}"
        )
    if report.budget:
        pending = report.summary.get("instances", {}).get("pending", report.summary["pending"])
        click.echo(f"stopped: the next instance could overrun the {report.budget}; {pending:,} instances not "
                   "judged: raise the cap and run again to finish", err=True)  # fmt: skip
        sys.exit(EXIT_BUDGET)
    counts = report.summary.get("instances", report.summary)  # every instance judged, not only the table's
    if counts["unreadable"] and not counts["judged"]:
        unreadable = counts["unreadable"]
        click.echo(f"judge unusable: none of its {unreadable:,} replies could be read as a verdict; use a stronger "
                   "--judge-model (the journal keeps each reply's reason)", err=True)  # fmt: skip
        sys.exit(EXIT_UNUSABLE)
