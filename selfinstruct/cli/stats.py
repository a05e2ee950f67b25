"""The `stats` command: what a pool holds, as text, JSON, a plot or an HTML report."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from tqdm import tqdm

from selfinstruct.cli.common import CONTEXT_SETTINGS, fail, out_path, verbosity_options
from selfinstruct.errors import InputError, SelfInstructError
from selfinstruct.stats.compute import compute_stats, render_text


@click.command(name="stats", context_settings=CONTEXT_SETTINGS)
@click.argument("path")
@click.option("--json", "as_json", is_flag=True, help="Print the statistics as JSON.")
@click.option("--plot", help="Also write the length and similarity histograms and the verb chart to this PNG file.")
@click.option("--html", "html_file", help="Also write a self-contained HTML report (one file, charts inlined).")
@click.option("--no-verbs", is_flag=True, help="Skip the verb–noun parse (spaCy, or jieba for Chinese; the slow part).")
@click.option(
    "--sample", type=click.IntRange(min=0), default=10, show_default=True, help="Tasks drawn for manual review."
)
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Random seed of the sample and of the rejected examples."
)
@verbosity_options
def stats_cmd(
    path: str,
    as_json: bool,
    plot: str | None,
    html_file: str | None,
    no_verbs: bool,
    sample: int,
    seed: int,
    quiet: bool,
    verbose: int,
) -> None:
    """Describe a task pool: counts, lengths, novelty and diversity, with the data behind them.

    PATH is a run directory of `selfinstruct generate` (adds token usage, truncated replies, the acceptance
    rate, and examples of rejected candidates per reason) or any task file (seeds, a pool, Alpaca JSON).
    Reports tasks and instances, sanity warnings, lengths in words and tokens, each task's ROUGE-L to the
    most similar earlier instruction or seed and to the most similar seed (the paper's Figure 3), the closest
    pairs and the exact duplicates, root verbs with their objects (Figure 2; needs
    pip install "selfinstruct[stats]") and a seeded sample of tasks to read.

    \b
    Example:
      selfinstruct stats data/run1
      selfinstruct stats data/run1 --plot stats.png --html stats.html --sample 20 --seed 1
      selfinstruct stats alpaca_data.json --json --no-verbs > stats.json
    """
    from selfinstruct.stats.render import html as html_report
    from selfinstruct.stats.render import plot as plot_report

    bar: tqdm[Any] | None = None

    def progress(n: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(desc="parsing instructions", unit=" instr", disable=True if quiet else None, file=sys.stderr)
        bar.update(n)

    notes: list[str] = []
    try:
        plot_path = out_path(plot, "--plot") if plot else None
        html_path = out_path(html_file, "--html") if html_file else None
        if plot_path is not None:
            plot_report.require_matplotlib()
        source = Path(path)
        if not source.exists():
            raise InputError("not found; pass a run directory or a task file", path=source)
        try:
            result = compute_stats(source, parse_verbs=not no_verbs, progress=progress, sample=sample, seed=seed)
        finally:
            if bar is not None:
                bar.close()
        if plot_path is not None:
            plot_report.write_plot(result, plot_path)
            if (note := plot_report.png_note(result)) is not None:
                notes.append(note)
        if html_path is not None:
            html_report.write_html(result, html_path)
    except SelfInstructError as exc:
        fail(exc)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        notes += [n for n in (result.verbs_note if not no_verbs else None, result.tokens_note) if n]
    else:
        click.echo(render_text(result), nl=False)
    for note in notes:
        click.echo(f"note: {note}", err=True)
    if verbose:
        timing = ", ".join(f"{k} {v:.2f} s" for k, v in result.seconds.items())
        click.echo(f"time: {timing}", err=True)
    for label, written in (("plot", plot_path), ("html", html_path)):
        if written is not None:
            click.echo(f"{label} -> {written}", err=as_json)
