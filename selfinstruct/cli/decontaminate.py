"""The `decontaminate` command: remove records that reproduce benchmark items."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from tqdm import tqdm

from selfinstruct.cli.common import CONTEXT_SETTINGS, FiniteFloat, verbosity_options
from selfinstruct.cli.common import fail as _fail
from selfinstruct.errors import InputError, SelfInstructError
from selfinstruct.filters.contamination import DEFAULT_MIN_SPAN, DEFAULT_N, DEFAULT_THRESHOLD
from selfinstruct.pipeline.decontaminate import (
    CLEAN,
    CONTAMINATED,
    DecontaminateReport,
    DecontaminateSettings,
    decontaminate_file,
)


@click.command(name="decontaminate", context_settings=CONTEXT_SETTINGS)
@click.argument("dataset", metavar="DATASET")
@click.option(
    "--against",
    "against",
    multiple=True,
    required=True,
    metavar="BENCH",
    help="A benchmark: .jsonl, .json, .csv, .parquet or a folder saved with datasets' save_to_disk. Repeatable.",
)
@click.option("-o", "--out", required=True, help=f"Folder for {CLEAN}, {CONTAMINATED} and summary.json.")
@click.option(
    "--field",
    "fields",
    multiple=True,
    help="The benchmarks' text field (repeatable: joined) [default: the first of question, prompt, problem, "
    "instruction, input].",
)
@click.option("--ngram", "n", type=click.IntRange(1, 64), default=DEFAULT_N, show_default=True,
              help="Words per n-gram (characters in Chinese and Japanese).")  # fmt: skip
@click.option(
    "--threshold",
    type=FiniteFloat(0.0, 1.0, max_open=True),
    default=DEFAULT_THRESHOLD,
    show_default=True,
    help="Remove a record whose n-grams cover more than this share of a benchmark item's tokens.",
)
@click.option(
    "--min-span",
    type=click.IntRange(1),
    default=DEFAULT_MIN_SPAN,
    show_default=True,
    help="Remove a record that shares this many tokens in a row with an item, whatever the share.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@verbosity_options
def decontaminate_cmd(
    dataset: str,
    against: tuple[str, ...],
    out: str,
    fields: tuple[str, ...],
    n: int,
    threshold: float,
    min_span: int,
    as_json: bool,
    quiet: bool,
    verbose: int,
) -> None:
    """Remove the records of a dataset that reproduce benchmark items.

    DATASET is JSONL or a JSON array of records with an "instruction" (a pool's tasks.jsonl, any file `filter`
    reads); its instruction, "input" and instances' inputs are checked. A record is contaminated when the
    word n-grams it shares with a benchmark item cover more than --threshold of the item's tokens
    (open-instruct's coverage score; an item shorter than n words must appear whole), or when it shares
    --min-span tokens in a row with one. Text is compared after normalisation (Unicode NFKC, case, punctuation);
    Chinese and Japanese by characters. Benchmarks are files you saved: nothing is downloaded.

    \b
    Example:
      selfinstruct decontaminate data/run1/tasks.jsonl --against user_oriented_instructions.jsonl --out clean/
      selfinstruct decontaminate alpaca_data.json --against gsm8k_test.parquet --against mmlu_test/ --out clean/
      selfinstruct decontaminate pool.jsonl --against ifeval.jsonl --field prompt --ngram 13 --out clean/
    """
    try:
        if not out.strip():
            raise InputError("--out is empty; give a folder")
        settings = DecontaminateSettings(
            input=Path(dataset),
            against=tuple(Path(a) for a in against),
            out=Path(out),
            fields=fields,
            n=n,
            threshold=threshold,
            min_span=min_span,
        )
        with tqdm(desc="checking", unit=" rec", disable=True if quiet else None, file=sys.stderr) as bar:
            report = decontaminate_file(settings, progress=bar.update)
    except SelfInstructError as exc:
        _fail(exc)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        _render(report)


def _render(report: DecontaminateReport) -> None:
    share = report.removed / report.total if report.total else 0.0
    click.echo(f"removed {report.removed:,} of {report.total:,} records ({share:.2%}) in {report.seconds:.2f} s; "
               f"{report.ngrams:,} benchmark n-grams indexed")  # fmt: skip
    for b in report.benchmarks:
        click.echo(f"  {b['name']}: {b['items']:,} items, removed {b['removed']:,} (n={b['n']}, "
                   f"threshold {b['threshold']:g})")  # fmt: skip
    click.echo(f"-> {report.out / CLEAN}, {report.out / CONTAMINATED}")
