"""The `filter` command: clean any instruction dataset with the Self-Instruct filters."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from tqdm import tqdm

from selfinstruct.cli.common import (
    CONTEXT_SETTINGS,
    FiniteFloat,
    verbosity_options,
)
from selfinstruct.cli.common import fail as _fail
from selfinstruct.cli.common import out_path as _out_path
from selfinstruct.errors import InputError, SelfInstructError
from selfinstruct.filters import DEFAULT_KEYWORDS, FILTER_NAMES, parse_filter_names
from selfinstruct.pipeline.filter_file import FilterReport, filter_file
from selfinstruct.pipeline.filter_settings import FilterSettings


@click.command(name="filter", context_settings=CONTEXT_SETTINGS)
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
        from selfinstruct.audit.scores import describe_drops

        instances = report.instances_kept + sum(report.instances_dropped.values())
        dropped = f"; dropped {describe_drops(report.instances_dropped)}" if report.instances_dropped else ""
        click.echo(f"audit score >= {report.min_score:g}, per instance: kept {report.instances_kept:,} of "
                   f"{instances:,} instances{dropped}")  # fmt: skip
    wrong_script = report.dropped.get(("format", "wrong_script"), 0)
    if settings.language == "en" and report.total and wrong_script > report.total / 2:
        click.echo("hint: most records start outside English script; for Chinese data pass --language zh or auto")
    if settings.rejected is not None:
        click.echo(f"rejected records -> {settings.rejected}")
