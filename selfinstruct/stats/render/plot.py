"""Pictures of `selfinstruct stats` (matplotlib): length histograms in words and tokens, the ROUGE-L histograms
with the filter threshold, and the verb–noun chart. One PNG for --plot, and SVGs with live text for the HTML
report (the browser then draws Chinese labels with its own fonts, whatever matplotlib has)."""

from __future__ import annotations

import io
import itertools
import logging
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from selfinstruct.errors import InputError
from selfinstruct.io.records import atomic_writer
from selfinstruct.stats.report import INSTALL_HINT, SIM_BINS, Distribution, Stats

CJK_FONTS = (
    "Noto Sans CJK SC", "Noto Sans SC", "Noto Serif CJK SC", "Source Han Sans SC", "Source Han Sans CN",
    "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Droid Sans Fallback", "AR PL UMing CN", "AR PL UKai CN",
    "Noto Sans CJK JP", "SimHei", "Microsoft YaHei", "PingFang SC", "Heiti SC", "Arial Unicode MS",
)  # fmt: skip
NO_CJK_FONT = (
    "matplotlib finds no font with Chinese glyphs, so Chinese labels in the PNG show as boxes; install one "
    "(e.g. apt-get install fonts-noto-cjk) and remove matplotlib's font cache. The HTML report is not affected: "
    "its charts keep their text for the browser to draw."
)
PALETTE = ("#4878a8", "#e6894a", "#6aa56a", "#c75d5d")
OTHER = "#cccccc"


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


def cjk_font() -> str | None:
    """The first installed font with Chinese glyphs that matplotlib knows, or None."""
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in names), None)


def png_note(stats: Stats) -> str | None:
    """What the PNG cannot show on this machine (Chinese glyphs without a CJK font), else None."""
    return NO_CJK_FONT if stats.language == "zh" and cjk_font() is None else None


def _hist(ax: Any, title: str, d: Distribution, unit: str) -> None:
    edges, counts = d.edges, d.counts
    if not counts:
        ax.set_title(f"{title} (none)")
        ax.axis("off")
        return
    widths = [b - a for a, b in itertools.pairwise(edges)]
    ax.bar(edges[:-1], counts, width=widths, align="edge", color=PALETTE[0], edgecolor="white")
    ax.set_title(title)
    ax.set_xlabel(unit + (" (last bar: and longer)" if d.max > edges[-1] else ""))
    ax.set_ylabel("count")
    ax.yaxis.get_major_locator().set_params(integer=True)


def _lengths_row(fig: Any, grid: Any, row: int, lengths: dict[str, Distribution], unit: str) -> None:
    for col, name in enumerate(("instruction", "input", "output")):
        label = "non-empty inputs" if name == "input" else f"{name}s"
        _hist(fig.add_subplot(grid[row, col]), f"{label}: length in {unit}", lengths[name], unit)


def _similarity(ax: Any, counts: list[int], title: str, threshold: float | None) -> None:
    bins = [k / SIM_BINS for k in range(SIM_BINS)]
    ax.bar(bins, counts, width=1 / SIM_BINS, align="edge", color=PALETTE[0], edgecolor="white", label="tasks")
    if threshold is not None:
        ax.axvline(threshold, color=PALETTE[3], linestyle="--", linewidth=1.5,
                   label=f"filter threshold {threshold:g}: above it a candidate is rejected")  # fmt: skip
        ax.legend(loc="best", fontsize=8, framealpha=0.9)
    ax.set_xlim(0, 1)
    ax.set_title(title)
    ax.set_xlabel("ROUGE-L F1")
    ax.set_ylabel("tasks")
    ax.yaxis.get_major_locator().set_params(integer=True)


def _verbs(ax: Any, stats: Stats) -> None:
    """A horizontal bar per top verb, split into its most common nouns (colour by rank) and the rest."""
    from matplotlib.patches import Patch

    if stats.verbs is None or not stats.verbs.top:
        ax.axis("off")
        ax.text(0.5, 0.5, stats.verbs_note or "no verbs found", ha="center", va="center", wrap=True, fontsize=10)
        return
    top = list(reversed(stats.verbs.top))
    widest = max(total for _, total, _ in top)
    for y, (_, total, nouns) in enumerate(top):
        left = 0
        for k, (noun, count) in enumerate(nouns):
            ax.barh(y, count, left=left, color=PALETTE[k % len(PALETTE)], edgecolor="white")
            if count >= widest * 0.011 * max(3, len(noun) * (2 if stats.language == "zh" else 1)):  # the label fits
                ax.text(left + count / 2, y, noun, ha="center", va="center", fontsize=7, color="white", clip_on=True)
            left += count
        ax.barh(y, total - left, left=left, color=OTHER, edgecolor="white")
    ax.set_yticks(range(len(top)), [v for v, _, _ in top])
    noun = "object" if stats.language == "zh" else "direct-object"
    ax.set_title(f"top verbs and their {noun} nouns ({stats.verbs.model})", fontsize=10)
    ax.set_xlabel("instructions with this verb and a noun")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ranks = ("most common noun", "2nd", "3rd", "4th")
    handles = [Patch(color=PALETTE[k], label=ranks[k]) for k in range(len(PALETTE))]
    handles.append(Patch(color=OTHER, label="other nouns"))
    ax.legend(handles=handles, loc="lower right", fontsize=8, title="noun of the verb, by rank", title_fontsize=8)


def _similarity_figures(fig: Any, grid: Any, row: int, stats: Stats) -> None:
    ref = " or seed" if stats.similarity_reference else ""
    cols = 2 if stats.seed_similarity_counts is not None else 1
    ax = fig.add_subplot(grid[row, :2] if cols == 2 else grid[row, :])
    _similarity(ax, stats.similarity_counts, f"ROUGE-L to the most similar earlier task{ref}", stats.threshold)
    if stats.seed_similarity_counts is not None:
        _similarity(fig.add_subplot(grid[row, 2]), stats.seed_similarity_counts,
                    "ROUGE-L to the most similar seed (Figure 3)", None)  # fmt: skip


def _draw(stats: Stats, parts: tuple[str, ...], fmt: str) -> bytes:
    """The figure of the named parts ("lengths", "similarity", "verbs"), rendered as PNG or SVG."""
    plt = _pyplot()
    rows: list[tuple[float, Callable[[Any, Any, int], None]]] = []
    if "lengths" in parts:
        rows.append((1.0, lambda f, g, r: _lengths_row(f, g, r, stats.lengths, "words")))
        if stats.token_lengths is not None:
            tokens = stats.token_lengths
            rows.append((1.0, lambda f, g, r: _lengths_row(f, g, r, tokens, "tokens")))
    if "similarity" in parts:
        rows.append((1.1, lambda f, g, r: _similarity_figures(f, g, r, stats)))
    if "verbs" in parts:
        rows.append((1.8, lambda f, g, r: _verbs(f.add_subplot(g[r, :]), stats)))
    font = cjk_font() if stats.language == "zh" else None
    style: dict[str, Any] = {"svg.fonttype": "none", "svg.hashsalt": "selfinstruct"}
    if font is not None:
        style["font.sans-serif"] = [font, *plt.rcParams["font.sans-serif"]]
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)  # CJK fonts often lack a "normal" weight
    with plt.rc_context(style), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from")
        fig = plt.figure(figsize=(14, 3.6 * sum(h for h, _ in rows)), layout="constrained")
        grid = fig.add_gridspec(len(rows), 3, height_ratios=[h for h, _ in rows])
        for r, (_, draw) in enumerate(rows):
            draw(fig, grid, r)
        if fmt == "png":
            fig.suptitle(f"{Path(stats.source).name}: {stats.tasks:,} tasks, {stats.instances:,} instances")
        buffer = io.BytesIO()
        fig.savefig(buffer, format=fmt, dpi=90, metadata={"Date": None} if fmt == "svg" else None)
        plt.close(fig)
    return buffer.getvalue()


def figure_png(stats: Stats) -> bytes:
    """All pictures in one PNG."""
    return _draw(stats, ("lengths", "similarity", "verbs"), "png")


def figure_svg(stats: Stats, part: str) -> str:
    """One part ("lengths", "similarity" or "verbs") as an SVG element to inline in HTML."""
    svg = _draw(stats, (part,), "svg").decode("utf-8")
    return svg[svg.index("<svg") :]


def write_plot(stats: Stats, path: Path | str) -> None:
    """Write the length histograms, the similarity histograms and the verb chart as one PNG."""
    png = figure_png(stats)
    with atomic_writer(path) as fh:
        cast(io.TextIOWrapper, fh).buffer.write(png)
