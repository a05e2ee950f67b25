"""Decontamination per benchmark, when the source has it: a run made with `generate --decontaminate` (run.json
names the benchmarks, rejected.jsonl holds the contaminated candidates) or the clean.jsonl of `decontaminate`
(its summary.json sits beside it)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

SUMMARY = "summary.json"  # pipeline.decontaminate writes it beside clean.jsonl
KEYS = ("name", "items", "n", "threshold", "min_span", "checked", "removed")


def _of_run(run: dict[str, Any], accepted: int, rejected: Sequence[dict[str, Any]]) -> list[dict[str, Any]] | None:
    described = run.get("decontamination")
    if not isinstance(described, list) or not described:
        return None
    # Every candidate meets the benchmark check first (filters.chain runs it before the others).
    checked = accepted + sum(1 for r in rejected if r.get("stage") in ("filter", "instances"))
    removed = Counter(
        str(r["contamination"].get("benchmark"))
        for r in rejected
        if r.get("reason") == "contaminated" and isinstance(r.get("contamination"), dict)
    )
    return [
        {k: b.get(k) for k in KEYS} | {"checked": checked, "removed": removed[str(b.get("name"))]}
        for b in described
        if isinstance(b, dict)
    ]


def _of_file(path: Path) -> list[dict[str, Any]] | None:
    summary = path.parent / SUMMARY
    if path.name != "clean.jsonl" or not summary.is_file():
        return None
    try:
        data = json.loads(summary.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None  # not ours, or damaged: nothing is reported rather than something made up
    benchmarks = data.get("benchmarks") if isinstance(data, dict) else None
    if not isinstance(benchmarks, list):
        return None
    return [{k: b.get(k) for k in KEYS} for b in benchmarks if isinstance(b, dict)] or None


def contamination_of(
    path: Path, run: dict[str, Any], accepted: int, rejected: Sequence[dict[str, Any]]
) -> list[dict[str, Any]] | None:
    """Per benchmark: name, items, n, threshold, min_span, records (or candidates) checked and removed."""
    return _of_run(run, accepted, rejected) if path.is_dir() else _of_file(path)
