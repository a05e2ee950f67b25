"""The `generate` command: grow a task pool from seed tasks, or estimate what it would cost."""

from __future__ import annotations

import contextlib
import sys
from typing import Any

import click

from selfinstruct.cli.common import (
    CONTEXT_SETTINGS,
    EXIT_BUDGET,
    FiniteFloat,
    batch_poll_option,
    cli_options,
    cost_options,
    engine_options,
    interrupted,
    log_to_stderr,
    notice,
    verbosity_options,
)
from selfinstruct.cli.common import fail as _fail
from selfinstruct.cli.method_options import RegistryCommand, given_method_options, method_choice, own_method_options
from selfinstruct.cli.progress import ProgressView
from selfinstruct.engine.budget import usd
from selfinstruct.engine.signals import signals_interrupt
from selfinstruct.errors import SelfInstructError
from selfinstruct.methods.registry import METHODS
from selfinstruct.pipeline.estimate import DryRun, dry_run
from selfinstruct.pipeline.generate import generate as run_generate
from selfinstruct.pipeline.report import RunReport
from selfinstruct.pipeline.settings import GenerateOptions, GenerateSettings, resolve_generate_settings


@click.command(cls=RegistryCommand, context_settings=CONTEXT_SETTINGS)
@click.option(
    "--seeds",
    "--from",
    "seeds",
    help="Seed tasks (JSONL/JSON; Self-Instruct or Alpaca records, a pool): the demonstrations, or the "
    "instructions --method evol-instruct evolves (--from is its name there). Default: the bundled seeds for "
    "--language.",
)
@click.option(
    "-n",
    "n",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="Machine tasks wanted in the pool (exactly).",
)
@click.option(
    "-o",
    "--out",
    default="data/run",
    show_default=True,
    help="Run directory: tasks.jsonl, rejected.jsonl, seeds.jsonl, run.json.",
)
@method_choice
@click.option(
    "--classification-only",
    is_flag=True,
    help="Generate classification tasks: demonstrations only from seeds with is_classification true, and the "
    "classification list prompt (the original's --use_clf_seed_tasks_only).",
)
@click.option(
    "--language",
    type=click.Choice(["en", "zh"]),
    default="en",
    show_default=True,
    envvar="SELFINSTRUCT_LANGUAGE",
    help="Prompt templates, seeds and filters for English or Chinese.",
)
@click.option(
    "--prompts", "prompts_dir", help="Directory of templates overriding the bundled ones (see prompts/README.md)."
)
@click.option(
    "--seed", type=int, help="Random seed; with a deterministic endpoint the pool is byte-identical across runs."
)
@click.option(
    "--model",
    envvar="SELFINSTRUCT_MODEL",
    help="Model name. Default: gpt-4o-mini on OpenAI, the served model on --base-url.",
)
@click.option(
    "--base-url",
    envvar="OPENAI_BASE_URL",
    help="OpenAI-compatible endpoint, e.g. http://localhost:8000/v1 (vLLM), http://localhost:11434/v1 (Ollama).",
)
@click.option(
    "--api-key",
    envvar="OPENAI_API_KEY",
    show_envvar=True,
    help="API key (prefer the environment variable; it is never written to disk).",
)
@click.option(
    "--api",
    type=click.Choice(["chat", "completions"]),
    help="chat (default) sends the prompt as a user message; completions is the paper's base-model setting "
    "(default for the embedded model).",
)
@own_method_options
@click.option(
    "--classify",
    type=click.Choice(["llm", "rules"]),
    help="Who decides whether a task is classification: the model (default) or keyword rules "
    "(default for the embedded model, which cannot judge it).",
)
@click.option(
    "--step-model",
    multiple=True,
    metavar="STEP=MODEL",
    help="A step's own model, e.g. instances=gpt-4o (steps as in --temperature); on the main endpoint unless "
    "--step-base-url names another. Repeatable.",
)
@click.option(
    "--step-base-url",
    multiple=True,
    metavar="STEP=URL",
    help="A step's own OpenAI-compatible endpoint, e.g. answer=http://localhost:8000/v1; its model is "
    "--step-model's or the first the server lists. Repeatable.",
)
@click.option(
    "--step-api-key-env",
    multiple=True,
    metavar="STEP=VARNAME",
    help="The environment variable holding the key of a step's endpoint (its name is recorded, never the key). "
    "Default: the main key on the main URL, none on another URL (local servers).",
)
@click.option(
    "--model-price",
    multiple=True,
    metavar="MODEL=IN,OUT",
    help="A model's prices in USD per 1M prompt and completion tokens, e.g. gpt-4o=2.5,10: each step is "
    "charged at its model's prices (--price-input/--price-output price the main model). Repeatable.",
)
@engine_options
@click.option(
    "--temperature",
    multiple=True,
    help="Temperature of the generating step, or STEP=VALUE for a step of the method ("
    + "; ".join(f"{name}: {', '.join(m.default_params('chat', local=False))}" for name, m in METHODS.items())
    + ").",
)
@click.option("--top-p", multiple=True, help="top_p, as --temperature.")
@click.option("--max-tokens", multiple=True, help="max_tokens per request, as --temperature.")
@click.option(
    "--max-tokens-total",
    type=click.IntRange(min=1),
    help="Hard cap on the tokens of the run directory (all runs): each request reserves its worst case "
    "(prompt estimate + max_tokens) first, so usage never passes it. Exit 3 when reached.",
)
@cost_options
@click.option(
    "--threshold",
    type=FiniteFloat(0.0, 1.0),
    default=0.7,
    show_default=True,
    help="ROUGE-L near-duplicate threshold.",
)
@click.option(
    "--window",
    type=click.IntRange(1, 4096),
    default=32,
    show_default=True,
    help="Largest round of instruction requests. A request's machine demonstrations come from the rounds before "
    "its own (sizes 1, 1, 2, 4, ... up to this; full rounds lag one round more), which keeps runs reproducible "
    "at any concurrency.",
)
@click.option(
    "--saturation-window",
    type=click.IntRange(min=1),
    default=500,
    show_default=True,
    help="Candidates over which the acceptance rate is measured.",
)
@click.option(
    "--min-acceptance",
    type=FiniteFloat(0.0, 1.0),
    default=0.01,
    show_default=True,
    help="Stop when fewer than this share of the last candidates were accepted (0: never).",
)
@click.option(
    "--max-unusable",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Stop (exit 5) after this many responses in a row that gave nothing usable: empty, unparseable, "
    "refusals, instances that all break the rules.",
)
@click.option(
    "--local-model", help="Serve this GGUF file with the embedded llama.cpp server instead of the bundled SmolLM2-135M."
)
@click.option(
    "--batch",
    is_flag=True,
    help="Send the requests through the Batch API (half price on OpenAI; results within 24 h). "
    "Re-running the same command picks up the batches in flight.",
)
@batch_poll_option
@click.option(
    "--decontaminate",
    multiple=True,
    metavar="BENCH",
    help="Reject a candidate that reproduces an item of this benchmark file (as `decontaminate` checks), before "
    "any classify or instances request is paid for it. Repeatable.",
)
@click.option("--dry-run", is_flag=True, help="Print one rendered prompt per step and a cost estimate; call no model.")
@verbosity_options
def generate(**opts: Any) -> None:
    """Grow a task pool from seed tasks with the Self-Instruct pipeline (or another --method).

    Each request shows the model 8 demonstrations (6 seeds + 2 tasks from the pool) and asks for new
    instructions; each survivor of the filters is classified (classification or not), gets instances
    (output-first for classification, input-first otherwise), and is appended to OUT/tasks.jsonl.
    Re-running the same command resumes: nothing is lost or duplicated.

    Exit codes: 0 target reached, 1 endpoint error, 2 bad input, 3 budget reached, 4 saturated (the model
    has run out of new tasks), 5 model unusable (empty, unparseable or refusing replies), 130 interrupted
    (Ctrl-C), 143 SIGTERM, 129 SIGHUP.

    With no --base-url and no OPENAI_API_KEY the embedded SmolLM2-135M model runs locally
    (pip install "selfinstruct[local]").

    \b
    Example:
      selfinstruct generate --seeds seeds/seed_tasks.jsonl -n 20 --out data/quickstart
      OPENAI_API_KEY=... selfinstruct generate -n 1000 --model gpt-4o-mini --concurrency 32 --out data/run1
      selfinstruct generate -n 1000 --price-input 0.15 --price-output 0.60 --dry-run   # what would it cost?
      OPENAI_API_KEY=... selfinstruct generate -n 1000 --max-cost 2 --price-input 0.15 --price-output 0.60
      selfinstruct generate --base-url http://localhost:8000/v1 --api completions --mode alpaca -n 500
      selfinstruct generate --classification-only -n 200 --out data/clf
      selfinstruct generate --method magpie -n 20 --out data/magpie   # no seeds, embedded model
      selfinstruct generate --method evol-instruct --from data/run1/tasks.jsonl -n 500 --out data/evol
      selfinstruct generate --method magpie -n 200 --step-base-url answer=http://localhost:8000/v1   # small proposes
    """
    log_to_stderr(opts["verbose"])
    try:
        options = cli_options(GenerateOptions, opts | {"method_options": given_method_options(opts)})
        settings = resolve_generate_settings(options)
        if settings.dry_run:
            _render_dry_run(dry_run(settings), settings)
            return
        view = ProgressView(settings.n, quiet=opts["quiet"])
        try:
            with signals_interrupt():
                report = run_generate(settings, progress=view, notice=notice)
        finally:
            with contextlib.suppress(OSError):  # after a SIGHUP the terminal may be gone: the exit code matters
                view.close()
    except SelfInstructError as exc:
        _fail(exc)
    except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM, SIGHUP
        interrupted(exc, f"The run in {opts['out']}")
    _render_generate_report(report, settings)
    sys.exit(EXIT_CODES[report.status])


# How a generate run ended, as its exit code (README, "Exit codes"). Errors: 1 endpoint, 2 bad input, 130 Ctrl-C,
# 143 SIGTERM, 129 SIGHUP.
EXIT_CODES = {"complete": 0, "nothing_to_do": 0, "budget": EXIT_BUDGET, "saturated": 4, "unusable": 5}


def _render_dry_run(plan: DryRun, settings: GenerateSettings) -> None:
    for step, prompt in plan.prompts.items():
        click.echo(f"===== prompt: {step} =====")
        click.echo(prompt)
        click.echo()
    click.echo(f"===== estimate for {settings.n} tasks =====")
    t = plan.target
    click.echo(f"  endpoint: {t.endpoint}\n  model: {t.model}\n  api: {t.api}\n  pipeline: {t.pipeline}")
    click.echo(f"  {'step':<14} {'requests':>9} {'prompt tokens':>14} {'completion tokens':>18}")
    for step, count in plan.requests.items():
        click.echo(f"  {step:<14} {count:>9,} {plan.prompt_tokens[step]:>14,} {plan.completion_tokens[step]:>18,}")
    total_prompt, total_completion = sum(plan.prompt_tokens.values()), sum(plan.completion_tokens.values())
    click.echo(f"  {'total':<14} {sum(plan.requests.values()):>9,} {total_prompt:>14,} {total_completion:>18,}")
    click.echo(f"  tokens: {plan.tokens:,} (about)")
    if plan.routes:
        _render_routes(plan, settings)
    if plan.cost is not None and plan.routes:
        click.echo(f"  cost: {usd(plan.cost)} (about), each step at its model's prices")
    elif plan.cost is not None and plan.prices is not None:
        click.echo(
            f"  cost: {usd(plan.cost)} (about) at ${plan.prices.input:g} / ${plan.prices.output:g} per 1M "
            "prompt / completion tokens"
        )
    elif plan.routes:
        click.echo("  cost: give each step's model a price (--model-price MODEL=IN,OUT) for a dollar estimate")
    else:
        click.echo("  cost: give --price-input and --price-output (USD per 1M tokens) for a dollar estimate")
    click.echo(f"  assuming {plan.assumptions}")


def _render_routes(plan: DryRun, settings: GenerateSettings) -> None:
    """Per step: the model and endpoint its requests go to, and their cost at that model's prices."""
    t = plan.target
    rows = {step: plan.routes.get(step, (t.model, t.endpoint)) for step in plan.requests}
    width = max(len("model"), *(len(model) for model, _ in rows.values()))
    click.echo(f"  {'step':<14} {'model':<{width}} {'cost':>10}  endpoint")
    for step, (model, endpoint) in rows.items():
        cost = plan.step_cost(step)
        click.echo(f"  {step:<14} {model:<{width}} {usd(cost) if cost is not None else '-':>10}  {endpoint}")


def _render_generate_report(report: RunReport, settings: GenerateSettings) -> None:
    click.echo(
        f"{report.message}: {report.accepted} tasks in {settings.out / 'tasks.jsonl'} (+{report.new_tasks} this run)"
    )
    per_task = f"{report.requests_per_task:.2f}" if report.requests_per_task is not None else "-"
    for label, spend in (("this run", report.run), ("run directory, all runs", report.total)):
        cost = report.cost(spend)
        click.echo(
            f"{label}: {spend.requests:,} requests, {spend.tokens:,} tokens ({spend.prompt_tokens:,} prompt, "
            f"{spend.completion_tokens:,} completion)"
            + (f", {usd(cost)}" if cost is not None else "")
            + (f"; requests per task: {per_task}" if spend is report.run else "")
            + (f" ({spend.estimated()})" if spend.estimated() else "")
        )
    if report.rejected:
        top = ", ".join(f"{k} {v}" for k, v in report.rejected.most_common(6))
        click.echo(f"rejected: {sum(report.rejected.values()):,} ({top}) -> {settings.out / 'rejected.jsonl'}")
