"""The self-contained HTML report of `selfinstruct stats`: one file, with its pictures inlined."""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

from selfinstruct import stats_plot
from selfinstruct.errors import InputError
from selfinstruct.records import atomic_writer
from selfinstruct.stats_report import SIM_BINS, Stats
from selfinstruct.stats_text import render_text


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fmt(value: float) -> str:
    return f"{value:,.1f}".removesuffix(".0")


def write_html(stats: Stats, path: Path | str) -> None:
    """One self-contained page: the tables, and the plot as an embedded PNG when matplotlib is installed."""
    parts = [f"<h1>{html.escape(stats.source)}</h1>"]
    summary = [
        ["tasks", f"{stats.tasks:,}"],
        ["instances", f"{stats.instances:,}"],
        ["instances per task", f"mean {stats.instances_per_task_mean:.2f}, max {stats.instances_per_task_max}"],
        ["classification tasks", f"{stats.classification:,} ({stats.classification_share:.1%})"],
        ["instances with empty input", f"{stats.empty_inputs:,} ({stats.empty_input_share:.1%})"],
        ["language", stats.language],
    ]
    if stats.run is not None:
        rate = stats.run.acceptance_rate
        summary.append(["run status", stats.run.status or "unknown"])
        summary.append(["acceptance rate", "n/a" if rate is None else f"{rate:.1%}"])
    parts += ["<h2>Summary</h2>", _table(["", ""], summary)]
    if stats.run is not None and stats.run.usage:
        rows = [[step, *(f"{u.get(k, 0):,}" for k in ("requests", "prompt_tokens", "completion_tokens", "retries"))]
                for step, u in sorted(stats.run.usage.items())]  # fmt: skip
        parts += ["<h2>Usage</h2>", _table(["step", "requests", "prompt tokens", "completion tokens", "retries"], rows)]
    if stats.run is not None and stats.run.rejected_by_reason:
        rows = [[reason, f"{n:,}"] for reason, n in stats.run.rejected_by_reason.items()]
        parts += ["<h2>Rejected</h2>", _table(["stage:reason", "count"], rows)]
    rows = [[name, f"{d.count:,}", _fmt(d.min), _fmt(d.median), _fmt(d.p90), _fmt(d.max)]
            for name, d in stats.lengths.items()]  # fmt: skip
    parts += [f"<h2>Lengths ({html.escape(stats.length_unit)}; inputs: non-empty only)</h2>",
              _table(["", "count", "min", "median", "p90", "max"], rows)]  # fmt: skip
    total = sum(stats.similarity_counts) or 1
    rows = [[f"{k / SIM_BINS:.1f}–{(k + 1) / SIM_BINS:.1f}", f"{n:,}", f"{n / total:.1%}"]
            for k, n in enumerate(stats.similarity_counts)]  # fmt: skip
    parts += ["<h2>ROUGE-L to the most similar earlier instruction</h2>", _table(["ROUGE-L", "tasks", "share"], rows)]
    if stats.verbs is not None:
        v = stats.verbs
        parts.append(
            f"<h2>Verbs</h2><p>{v.distinct_verbs:,} distinct root verbs, {v.distinct_pairs:,} distinct verb–noun "
            f"pairs; {v.pair_share:.1%} of instructions have a pair ({html.escape(v.model)}).</p>"
        )
        rows = [[verb, f"{n:,}", ", ".join(f"{noun} ({c:,})" for noun, c in nouns)] for verb, n, nouns in v.top]
        parts.append(_table(["verb", "pairs", "top nouns"], rows))
    if stats.prefixes:
        parts += ["<h2>Leading prefixes</h2>", _table(["prefix", "count"], [[p, f"{n:,}"] for p, n in stats.prefixes])]
    if stats.verbs_note:
        parts.append(f"<p><em>{html.escape(stats.verbs_note)}</em></p>")
    try:
        png = stats_plot.figure_png(stats)
        image = base64.b64encode(png).decode("ascii")
        parts.insert(1, f'<img alt="plots" src="data:image/png;base64,{image}">')
    except InputError as exc:
        parts.append(f"<p><em>No plots: {html.escape(exc.reason)}</em></p>")
    parts.append(f"<details><summary>Text report</summary><pre>{html.escape(render_text(stats))}</pre></details>")
    style = (
        "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
        "table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.25em .6em;"
        "text-align:right}td:first-child,th:first-child{text-align:left}img{max-width:100%}"
    )
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>selfinstruct stats: {html.escape(stats.source)}</title><style>{style}</style></head>"
        f"<body>{''.join(parts)}</body></html>\n"
    )
    with atomic_writer(path) as fh:
        fh.write(page)
