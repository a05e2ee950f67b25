"""Clean any instruction dataset with the Self-Instruct filters (the `filter` command)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from selfinstruct.errors import InputError
from selfinstruct.filters import FilterChain
from selfinstruct.records import Record, atomic_writer, dumps, read_records
from selfinstruct.settings import FilterSettings

_CHUNK = 1024  # records per progress update (a multiple of the index's block)


@dataclass
class FilterReport:
    total: int = 0
    kept: int = 0
    reference: int = 0
    dropped: Counter[tuple[str, str]] = field(default_factory=Counter)  # (filter, reason) -> count
    seconds: float = 0.0

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "kept": self.kept,
            "dropped": self.dropped_total,
            "reference": self.reference,
            "by_reason": {f"{f}:{r}": n for (f, r), n in sorted(self.dropped.items())},
            "seconds": round(self.seconds, 3),
        }


def _instructions(records: list[Record], path: Path) -> list[str]:
    out = []
    for rec in records:
        value = rec.data.get("instruction")
        if value is None:
            raise InputError(
                'missing "instruction"; every record needs an "instruction" string', path=path, line=rec.line
            )
        if not isinstance(value, str):
            raise InputError('"instruction" must be a string', path=path, line=rec.line)
        out.append(value.strip())
    return out


def filter_file(settings: FilterSettings, progress: Callable[[int], object] | None = None) -> FilterReport:
    """Filter settings.input into settings.out (and settings.rejected), keeping order and every field.

    Everything is read and validated before anything is written; outputs are written atomically.
    """
    chain = FilterChain(
        filters=settings.filters,
        threshold=settings.threshold,
        language=settings.language,
        keywords=settings.keywords,
    )
    records = read_records(settings.input)
    instructions = _instructions(records, settings.input)
    references: list[str] = []
    for ref in settings.against:
        references.extend(_instructions(read_records(ref), ref))

    report = FilterReport(total=len(records), reference=len(references))
    start = time.perf_counter()
    chain.add_reference(references)
    kept: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    for first in range(0, len(records), _CHUNK):
        chunk = records[first : first + _CHUNK]
        for rec, rejection in zip(chunk, chain.offer_many(instructions[first : first + _CHUNK]), strict=True):
            if rejection is None:
                kept.append(rec.data)
            else:
                report.dropped[(rejection.filter, rejection.reason)] += 1
                if settings.rejected is not None:
                    rejected.append({"line": rec.line, **rejection.to_dict(), "record": rec.data})
        if progress is not None:
            progress(len(chunk))
    report.kept = len(kept)
    report.seconds = time.perf_counter() - start

    as_array = settings.out.suffix.lower() == ".json"
    with atomic_writer(settings.out) as fh:
        if as_array:
            fh.write("[\n" + ",\n".join(dumps(r) for r in kept) + ("\n]\n" if kept else "]\n"))
        else:
            fh.writelines(dumps(r) + "\n" for r in kept)
    if settings.rejected is not None:
        with atomic_writer(settings.rejected) as fh:
            fh.writelines(dumps(r) + "\n" for r in rejected)
    return report
