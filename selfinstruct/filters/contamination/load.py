"""Benchmark files into one index, and what a run records about them (names, content hashes, sizes)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from selfinstruct.filters.contamination.index import (
    DEFAULT_MIN_SPAN,
    DEFAULT_N,
    DEFAULT_THRESHOLD,
    BenchmarkIndex,
    BenchmarkItem,
)
from selfinstruct.io.benchmarks import Benchmark, read_benchmark


def load_benchmarks(paths: Sequence[Path], fields: Sequence[str] = ()) -> list[Benchmark]:
    """Every benchmark read and checked; two with the same file name are told apart by their paths."""
    benchmarks = [read_benchmark(p, fields) for p in paths]
    names = [b.name for b in benchmarks]
    return [
        Benchmark(str(b.path), b.path, b.sha256, b.fields, b.items) if names.count(b.name) > 1 else b
        for b in benchmarks
    ]


def build_index(
    benchmarks: Sequence[Benchmark],
    *,
    n: int = DEFAULT_N,
    threshold: float = DEFAULT_THRESHOLD,
    min_span: int = DEFAULT_MIN_SPAN,
) -> BenchmarkIndex:
    items = [BenchmarkItem(b.name, item_id, text) for b in benchmarks for item_id, text in b.items]
    return BenchmarkIndex(items, n=n, threshold=threshold, min_span=min_span)


def describe(benchmarks: Sequence[Benchmark], index: BenchmarkIndex) -> list[dict[str, Any]]:
    """What a run records and reports of each benchmark: a resume with other content is refused by its hash."""
    return [
        {
            "name": b.name,
            "sha256": b.sha256,
            "items": len(b.items),
            "fields": list(b.fields),
            "n": index.n,
            "threshold": index.threshold,
            "min_span": index.min_span,
        }
        for b in benchmarks
    ]
