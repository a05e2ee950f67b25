"""The `respond` command (registered on the main group in cli/app.py)."""

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
    log_to_stderr,
    notice,
    verbosity_options,
)
from selfinstruct.cli.estimates import render_job_dry_run
from selfinstruct.cli.progress import ProgressView
from selfinstruct.engine.budget import usd
from selfinstruct.engine.signals import signals_interrupt
from selfinstruct.errors import SelfInstructError
from selfinstruct.pipeline.respond.dry_run import dry_run_respond
from selfinstruct.pipeline.respond.run import RespondReport, respond
from selfinstruct.pipeline.respond.settings import RespondOptions, RespondSettings, resolve_respond_settings


@click.command(name="respond", context_settings=CONTEXT_SETTINGS)
@click.argument("source", metavar="RUN_DIR_OR_FILE")
@click.option("-o", "--out", required=True, help="Run directory for the answers (a new one, or one to resume).")
@click.option(
    "--model",
    multiple=True,
    envvar="SELFINSTRUCT_MODEL",
    help="A model that answers; repeat for several (the first one's answers go into tasks.jsonl). Default: "
    "gpt-4o-mini on OpenAI, the served model on --base-url.",
)
@click.option("--base-url", envvar="OPENAI_BASE_URL", help="OpenAI-compatible endpoint of the models.")
@click.option(
    "--api-key",
    envvar="OPENAI_API_KEY",
    show_envvar=True,
    help="API key (prefer the environment variable; it is never written to disk).",
)
@click.option(
    "--model-base-url",
    multiple=True,
    metavar="MODEL=URL",
    help="A --model's own OpenAI-compatible endpoint, e.g. Qwen2.5-7B-Instruct=http://localhost:8000/v1. Repeatable.",
)
@click.option(
    "--model-api-key-env",
    multiple=True,
    metavar="MODEL=VARNAME",
    help="The environment variable holding the key of a --model's endpoint (its name is recorded, never the key). "
    "Default: the main key on the main URL, none on another URL (local servers).",
)
@click.option("--api", type=click.Choice(["chat", "completions"]), help="chat (default) or completions.")
@click.option("--samples", type=click.IntRange(1, 100), default=1, show_default=True, help="Answers per model.")
@click.option("--system", help="A system message for every request, e.g. Orca's 'explain step by step'.")
@click.option(
    "--prompt-format",
    type=click.Choice(["chat", "alpaca"]),
    help="chat: the instruction, then the input (default); alpaca: Alpaca's instance prompt.",
)
@click.option("--temperature", type=FiniteFloat(0, 2), help="Sampling temperature [default: 0.7].")
@click.option("--top-p", type=FiniteFloat(0, 1, min_open=True), help="Nucleus sampling [default: 1].")
@click.option(
    "--max-tokens", type=click.IntRange(min=1), help="Longest answer, in tokens [default: 1024; 256 embedded]."
)
@click.option("--seed", type=int, default=0, show_default=True, help="Root of the per-request seeds.")
@click.option("--language", type=click.Choice(["en", "zh"]), help="Template language [default: the run's, else en].")
@click.option("--prompts", "prompts_dir", help="Directory of templates overriding the bundled respond*.txt.")
@engine_options
@click.option(
    "--max-tokens-total",
    type=click.IntRange(min=1),
    help="Token cap of the run directory (journal included): a request is sent only if its worst case fits.",
)
@cost_options
@click.option(
    "--model-price",
    multiple=True,
    metavar="MODEL=IN,OUT",
    help="A --model's prices in USD per 1M prompt and completion tokens, e.g. gpt-4o=2.5,10: each answer is "
    "charged at its model's prices (--price-input/--price-output price the models without one). Repeatable.",
)
@click.option("--local-model", help="Answer with this GGUF file on the embedded llama.cpp server.")
@click.option(
    "--batch",
    is_flag=True,
    help="Send the requests through the Batch API (half price on OpenAI; results within 24 h); re-running the "
    "same command waits for the batches in flight.",
)
@batch_poll_option
@click.option(
    "--dry-run", is_flag=True, help="Print one prompt per template and the requests, tokens, cost; call no model."
)
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@verbosity_options
def respond_cmd(**opts: Any) -> None:
    """Answer the instructions of a pool (or any file `filter` reads) with stronger models.

    As Alpaca-GPT4 re-answered Alpaca's instructions with GPT-4: each instruction, with each input of its
    instances, is asked of every --model, --samples times, optionally under a --system prompt (Orca-style
    explanations). OUT/answers.jsonl keeps every response with its instruction, input, model, sampling
    parameters and seed; a reply cut off at --max-tokens, empty or refusing is never an answer (it is kept
    with its reason and counted). OUT/tasks.jsonl is the pool answered by the first model, for `export`,
    `stats`, `audit`; `prefer OUT` ranks the answers for DPO.

    Runs on the same engine as generate: concurrency, rate limits, retries, a hard budget, --batch; every
    reply is journaled as it arrives, so re-running the command after a crash or kill -9 asks only what is
    missing, and with --seed on a deterministic endpoint the output is byte-identical at any concurrency.
    With no --base-url and no OPENAI_API_KEY the embedded 135M model answers: a smoke test, not a teacher.
    --dry-run prints one rendered prompt per template and the requests, tokens and cost, and sends nothing.

    Exit codes: 0 every response asked, 1 endpoint error, 2 bad input, 3 a cap (--max-tokens-total,
    --max-cost) reached first, 5 no reply was an answer, 130 interrupted (Ctrl-C), 143 SIGTERM, 129 SIGHUP.

    \b
    Example:
      selfinstruct respond data/run1 --out data/run1_gpt4o --model gpt-4o --seed 1
      selfinstruct respond alpaca_data.json --out data/answers --base-url http://localhost:8000/v1 \\
          --model Qwen/Qwen2.5-7B-Instruct --model meta-llama/Llama-3.1-8B-Instruct --samples 2
      selfinstruct respond data/run1 --out data/orca --system "Explain your answer step by step."
      selfinstruct respond data/run1 --out data/gpt4o --model gpt-4o --dry-run --price-input 2.5 --price-output 10
      selfinstruct respond data/run1 --out data/two --model gpt-4o --model gpt-4o-mini --max-cost 5 \\
          --model-price gpt-4o=2.5,10 --model-price gpt-4o-mini=0.15,0.6
      selfinstruct respond data/run1 --out data/pair --model gpt-4o --model qwen \\
          --model-base-url qwen=http://localhost:8000/v1   # OPENAI_API_KEY for gpt-4o, none for vLLM
    """
    log_to_stderr(opts["verbose"])
    try:
        settings = resolve_respond_settings(cli_options(RespondOptions, opts))
        if settings.dry_run:
            render_job_dry_run(dry_run_respond(settings), batch=settings.spending.batch, unit="responses")
            return
        view = ProgressView(0, command="respond", unit="response", quiet=opts["quiet"])
        try:
            with signals_interrupt():
                report = respond(settings, progress=view, notice=notice, total=view.set_total)
        finally:
            with contextlib.suppress(OSError):  # after a SIGHUP the terminal may be gone: the exit code matters
                view.close()
    except SelfInstructError as exc:
        fail(exc)
    except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM, SIGHUP
        interrupted(exc, f"The run directory {opts['out']}")
    _render(report, settings, as_json=opts["as_json"])


def _render(report: RespondReport, settings: RespondSettings, *, as_json: bool) -> None:
    c = report.counts
    if as_json:
        click.echo(json.dumps(c, indent=2, ensure_ascii=False))
    else:
        reasons = ", ".join(f"{why} {n:,}" for why, n in c["dropped_reasons"].items())
        click.echo(f"{c['answered']:,} answers, {c['dropped']:,} dropped" + (f" ({reasons})" if reasons else "")
                   + f", {c['pending']:,} not asked, of {c['planned']:,} responses")  # fmt: skip
        for model, tally in c["models"].items():
            click.echo(f"  {model}: " + ", ".join(f"{k} {n:,}" for k, n in tally.items()))
        cost = f", {usd(report.cost)}" if report.cost is not None else ""
        click.echo(f"this run: {report.asked:,} asked, {report.tokens:,} tokens{cost}; {report.replayed:,} were "
                   f"already in the journal; -> {settings.out}/answers.jsonl, tasks.jsonl")  # fmt: skip
        spent = report.spend.get("models", {})
        if report.cost is not None and len(spent) > 1:  # each model at its own prices
            click.echo("  " + "; ".join(f"{m}: {s['prompt_tokens'] + s['completion_tokens']:,} tokens"
                                        + (f", {usd(s['cost'])}" if s["cost"] is not None else "")
                                        for m, s in spent.items()))  # fmt: skip
    if report.note:
        click.echo(f"NOTE: {report.note}", err=True)
    if report.budget:
        click.echo(f"stopped: the next request could overrun the {report.budget}; {c['pending']:,} responses not "
                   "asked: raise the cap and run again to finish", err=True)  # fmt: skip
        sys.exit(EXIT_BUDGET)
    if c["dropped"] and not c["answered"]:
        click.echo(f"model unusable: none of its {c['dropped']:,} replies was an answer; see the reasons in "
                   "answers.jsonl, raise --max-tokens or use a stronger --model", err=True)  # fmt: skip
        sys.exit(EXIT_UNUSABLE)
