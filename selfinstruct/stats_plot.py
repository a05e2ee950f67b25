"""Pictures of `selfinstruct stats`: a PNG of the histograms and verb chart, and a self-contained HTML page."""

from __future__ import annotations

import base64
import html
import io
import itertools
import warnings
from pathlib import Path
from typing import Any, cast

from selfinstruct.errors import InputError
from selfinstruct.records import atomic_writer
from selfinstruct.stats import INSTALL_HINT, SIM_BINS, Distribution, Stats, render_text


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise InputError(f"plots need matplotlib: {INSTALL_HINT}") from None
    return plt


def require_matplotlib() -> None:
    """Raise the install hint now, before any work, when matplotlib is missing."""
    _pyplot()


def _cjk_font(plt: Any) -> bool:
    """Use a font with Chinese glyphs when one is installed (the default font has none); False if none is."""
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    for name in ("Noto Sans CJK SC", "Noto Sans CJK JP", "WenQuanYi Zen Hei", "Source Han Sans SC", "SimHei"):
        if name in names:
            plt.rcParams["font.sans-serif"] = [name, *plt.rcParams["font.sans-serif"]]
            return True
    return False


def _hist(ax: Any, title: str, d: Distribution, unit: str) -> None:
    edges, counts = d.edges, d.counts
    if not counts:
        ax.set_title(f"{title} (none)")
        ax.axis("off")
        return
    widths = [b - a for a, b in itertools.pairwise(edges)]
    ax.bar(edges[:-1], counts, width=widths, align="edge", color="#4878a8", edgecolor="white")
    ax.set_title(title)
    ax.set_xlabel(unit + (" (last bar: and longer)" if d.max > edges[-1] else ""))
    ax.set_ylabel("count")
    ax.yaxis.get_major_locator().set_params(integer=True)


def _verbs(ax: Any, stats: Stats, glyphs: bool = True) -> None:
    """A horizontal bar per top verb, split into its most common nouns and the rest."""
    if stats.verbs is not None and stats.verbs.top:
        top = list(reversed(stats.verbs.top))
        palette = ["#4878a8", "#e6894a", "#6aa56a", "#c75d5d"]
        for y, (_, total, nouns) in enumerate(top):
            left = 0
            for k, (noun, count) in enumerate(nouns):
                ax.barh(y, count, left=left, color=palette[k % len(palette)], edgecolor="white")
                if count >= total * 0.12:
                    ax.text(left + count / 2, y, noun, ha="center", va="center", fontsize=7, color="white")
                left += count
            ax.barh(y, total - left, left=left, color="#cccccc", edgecolor="white")
        ax.set_yticks(range(len(top)), [v for v, _, _ in top])
        ax.set_title("top root verbs and their direct-object nouns (grey: other nouns)")
        ax.set_xlabel("instructions")
    elif stats.prefixes:
        top_prefixes = list(reversed(stats.prefixes))
        ax.barh(range(len(top_prefixes)), [n for _, n in top_prefixes], color="#4878a8")
        ax.set_yticks(range(len(top_prefixes)), [p for p, _ in top_prefixes])
        hint = "" if glyphs else " (install a CJK font, e.g. fonts-noto-cjk, to read them)"
        ax.set_title("most common leading 2-character prefixes" + hint)
        ax.set_xlabel("instructions")
    else:
        ax.axis("off")
        ax.text(0.5, 0.5, stats.verbs_note or "no verbs", ha="center", va="center", wrap=True, fontsize=9)


def _figure_png(stats: Stats) -> bytes:
    plt = _pyplot()
    glyphs = stats.language != "zh" or _cjk_font(plt)
    fig = plt.figure(figsize=(14, 12), layout="constrained")
    grid = fig.add_gridspec(3, 3, height_ratios=[1, 1, 1.6])
    for col, name in enumerate(("instruction", "input", "output")):
        d = stats.lengths[name]
        label = "non-empty inputs" if name == "input" else f"{name}s"
        _hist(fig.add_subplot(grid[0, col]), f"{label}: length", d, stats.length_unit.split(" (")[0])
    ax = fig.add_subplot(grid[1, :])
    bins = [k / SIM_BINS for k in range(SIM_BINS)]
    ax.bar(bins, stats.similarity_counts, width=1 / SIM_BINS, align="edge", color="#4878a8", edgecolor="white")
    ax.set_xlim(0, 1)
    ax.set_title(
        "ROUGE-L F1 to the most similar earlier instruction" + (" or seed" if stats.similarity_reference else "")
    )
    ax.set_xlabel("ROUGE-L F1")
    ax.set_ylabel("tasks")
    ax.yaxis.get_major_locator().set_params(integer=True)
    _verbs(fig.add_subplot(grid[2, :]), stats, glyphs)
    fig.suptitle(
        f"{stats.source}: {stats.tasks:,} tasks, {stats.instances:,} instances; lengths in {stats.length_unit}"
    )
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from")
        fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return buffer.getvalue()


def write_plot(stats: Stats, path: Path | str) -> None:
    """Write the length histograms, the similarity histogram and the verb chart as one PNG."""
    png = _figure_png(stats)
    with atomic_writer(path) as fh:
        cast(io.TextIOWrapper, fh).buffer.write(png)


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
        png = _figure_png(stats)
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
