"""The evolution tree of a pool whose records keep their lineage (Evol-Instruct's `meta`: parent, operation,
round): how deep it goes and which operations made it. None for a pool without lineage."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any


def evolution(records: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    """Tasks per round (1: evolved from a source), per operation, and how many distinct sources they grew from."""
    rounds: Counter[int] = Counter()
    operations: Counter[str] = Counter()
    sources: set[str] = set()
    for record in records:
        meta = record.get("meta")
        if not isinstance(meta, dict) or not isinstance(meta.get("round"), int) or "operation" not in meta:
            continue
        rounds[meta["round"]] += 1
        operations[str(meta["operation"])] += 1
        if meta["round"] == 1:
            sources.add(str(meta.get("parent")))
    if not rounds:
        return None
    return {
        "depth": max(rounds),
        "tasks_per_round": {str(r): n for r, n in sorted(rounds.items())},
        "operations": dict(operations.most_common()),
        "sources_evolved": len(sources),
    }
