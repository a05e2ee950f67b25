"""Length distributions (the paper's Figure 4): summary figures and a histogram that keeps the long tail."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from selfinstruct.stats.report import Distribution

HIST_BINS = 12


def _quantile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between the closest ranks of sorted `values` (numpy's default method)."""
    pos = q * (len(values) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


def distribution(values: Iterable[float], bins: int = HIST_BINS) -> Distribution:
    """Min, median, p90, max, mean and a histogram of `bins` equal bins from the minimum to about the 99th
    percentile; the last bin also counts the long tail above it."""
    data = sorted(values)
    if not data:
        return Distribution(0, 0.0, 0.0, 0.0, 0.0, 0.0, [], [])
    lo = float(math.floor(data[0]))
    width = float(max(1, math.ceil((_quantile(data, 0.99) - lo) / bins)))
    counts = [0] * bins
    for v in data:
        counts[min(bins - 1, int((v - lo) // width))] += 1
    edges = [lo + k * width for k in range(bins + 1)]
    median, p90 = _quantile(data, 0.5), _quantile(data, 0.9)
    return Distribution(len(data), data[0], median, p90, data[-1], sum(data) / len(data), edges, counts)
