"""Pictures of `selfinstruct stats`: the length and similarity histograms and the verb chart (matplotlib)."""

from __future__ import annotations

import io
import itertools
import warnings
from pathlib import Path
from typing import Any, cast

from selfinstruct.errors import InputError
from selfinstruct.records import atomic_writer
from selfinstruct.stats_report import INSTALL_HINT, SIM_BINS, Distribution, Stats


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


def figure_png(stats: Stats) -> bytes:
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
    png = figure_png(stats)
    with atomic_writer(path) as fh:
        cast(io.TextIOWrapper, fh).buffer.write(png)
