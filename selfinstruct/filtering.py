"""Clean any instruction dataset with the Self-Instruct filters (the `filter` command)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from selfinstruct.audit_journal import keep_min_score
from selfinstruct.audit_settings import default_journal
from selfinstruct.errors import InputError
from selfinstruct.filters import FilterChain
from selfinstruct.filters.base import Rejection
from selfinstruct.records import Record, atomic_writer, dumps, read_records
from selfinstruct.settings import FilterSettings


@dataclass
class FilterReport:
    total: int = 0
    kept: int = 0
    reference: int = 0
    dropped: Counter[tuple[str, str]] = field(default_factory=Counter)  # (filter, reason) -> count
    seconds: float = 0.0
    min_score: float | None = None

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
            **({"min_score": self.min_score} if self.min_score is not None else {}),
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


def _score_rejection(drop: str | None, min_score: float | None) -> Rejection | None:
    if drop is None:
        return None
    detail = {
        "not_audited": "not in the audit",
        "unreadable": "the judge's reply could not be read",
    }.get(drop, f"audit score below {min_score:g}")
    return Rejection("audit", drop, detail)


def filter_file(settings: FilterSettings, progress: Callable[[int], object] | None = None) -> FilterReport:
    """Filter settings.input into settings.out (and settings.rejected), keeping order and every field.

    Everything is read and validated before anything is written; outputs are written atomically.
    """
    # No filter named is allowed with --min-score: then the audit score alone decides.
    chain = (
        FilterChain(
            filters=settings.filters,
            threshold=settings.threshold,
            language=settings.language,
            keywords=settings.keywords,
        )
        if settings.filters or settings.min_score is None
        else None
    )
    records = read_records(settings.input)
    instructions = _instructions(records, settings.input)
    drops: list[str | None] = [None] * len(records)
    if settings.min_score is not None:
        journal = settings.audit or default_journal(settings.input)
        ids = [str(rec.data.get("id", f"seed_task_{i}")) for i, rec in enumerate(records)]  # as load_tasks
        drops = keep_min_score(list(zip(ids, instructions, strict=True)), journal, settings.min_score).drops
    references: list[str] = []
    for ref in settings.against:
        references.extend(_instructions(read_records(ref), ref))

    report = FilterReport(total=len(records), reference=len(references), min_score=settings.min_score)
    start = time.perf_counter()
    if chain is not None:
        chain.add_reference(references)
    kept: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    # One call for the whole file: the near-duplicate index then sees every instruction at once (batch join).
    scored = [_score_rejection(d, settings.min_score) for d in drops]
    passing = [instructions[k] for k, r in enumerate(scored) if r is None]
    if progress is not None and len(passing) < len(records):
        progress(len(records) - len(passing))
    decided = iter(chain.offer_many(passing, progress) if chain is not None else [None] * len(passing))
    if chain is None and progress is not None and passing:
        progress(len(passing))
    for rec, score_rejection in zip(records, scored, strict=True):
        rejection = score_rejection if score_rejection is not None else next(decided)
        if rejection is None:
            kept.append(rec.data)
        else:
            report.dropped[(rejection.filter, rejection.reason)] += 1
            if settings.rejected is not None:
                rejected.append({"line": rec.line, **rejection.to_dict(), "record": rec.data})
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
