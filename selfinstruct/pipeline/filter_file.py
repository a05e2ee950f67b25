"""Clean any instruction dataset with the Self-Instruct filters (the `filter` command)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from selfinstruct.audit.scores import REASON_TEXT, ScoreSelection, keep_min_score
from selfinstruct.audit.settings import default_journal
from selfinstruct.errors import EmptyExportError, InputError
from selfinstruct.filters import FilterChain
from selfinstruct.filters.base import Rejection
from selfinstruct.io.records import Record, atomic_writer, dumps, iter_records, read_records
from selfinstruct.io.seeds import task_from_record
from selfinstruct.pipeline.filter_settings import FilterSettings


@dataclass
class FilterReport:
    """Counts of records, and of tasks (records with the same instruction are one task, kept or dropped whole)."""

    total: int = 0
    kept: int = 0
    tasks: int = 0
    kept_tasks: int = 0
    reference: int = 0
    dropped: Counter[tuple[str, str]] = field(default_factory=Counter)  # (filter, reason) -> count
    seconds: float = 0.0
    min_score: float | None = None
    # With --min-score: instances kept and dropped by reason (a kept record keeps only its kept instances).
    instances_kept: int = 0
    instances_dropped: Counter[str] = field(default_factory=Counter)

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "kept": self.kept,
            "dropped": self.dropped_total,
            "tasks": self.tasks,
            "kept_tasks": self.kept_tasks,
            "reference": self.reference,
            "by_reason": {f"{f}:{r}": n for (f, r), n in sorted(self.dropped.items())},
            "seconds": round(self.seconds, 3),
            **({"min_score": self.min_score} if self.min_score is not None else {}),
            **(
                {"instances": {"kept": self.instances_kept, "dropped": dict(sorted(self.instances_dropped.items()))}}
                if self.min_score is not None
                else {}
            ),
        }


def _instructions(records: Iterable[Record], path: Path) -> list[str]:
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


def task_key(instruction: str) -> str:
    """Records whose instructions are equal up to whitespace are instances of one task (an Alpaca export
    has one record per instance)."""
    return " ".join(instruction.split())


@dataclass
class _Tasks:
    first: list[str] = field(default_factory=list)  # per task, its first record's instruction
    size: list[int] = field(default_factory=list)  # per task, its number of records
    of: list[int] = field(default_factory=list)  # per record, its task


def _group(instructions: list[str]) -> _Tasks:
    """Tasks in the order of their first record, so the greedy near-duplicate pass sees each task once."""
    tasks = _Tasks()
    index: dict[str, int] = {}
    for instruction in instructions:
        k = index.setdefault(task_key(instruction), len(tasks.first))
        if k == len(tasks.first):
            tasks.first.append(instruction)
            tasks.size.append(0)
        tasks.size[k] += 1
        tasks.of.append(k)
    return tasks


def _score_rejection(drop: str | None, min_score: float | None) -> Rejection | None:
    if drop is None:
        return None
    return Rejection("audit", drop, REASON_TEXT.get(drop, f"audit score below {min_score:g} for every instance"))


def _min_score(
    records: list[Record], settings: FilterSettings, min_score: float, report: FilterReport
) -> tuple[list[str | None], dict[int, dict[str, Any]]]:
    """--min-score per instance: why each record is dropped (None: kept), and the kept records that lose
    some of their "instances" (index -> the record with only the instances the audit vouches for)."""
    journal = settings.audit or default_journal(settings.input)
    tasks = [task_from_record(rec, settings.input, i) for i, rec in enumerate(records)]  # ids as load_tasks
    selection: ScoreSelection = keep_min_score(tasks, journal, min_score)
    report.instances_kept, report.instances_dropped = selection.kept, selection.dropped
    trimmed: dict[int, dict[str, Any]] = {}
    for i, rec in enumerate(records):
        kept = selection.kept_instances(i)
        if kept and len(kept) < len(tasks[i].instances) and isinstance(rec.data.get("instances"), list):
            trimmed[i] = {**rec.data, "instances": [rec.data["instances"][k] for k in kept]}
    drops = [selection.task_reason(i) if tasks[i].instances else "not_judged" for i in range(len(records))]
    return drops, trimmed


def filter_file(settings: FilterSettings, progress: Callable[[int], object] | None = None) -> FilterReport:
    """Filter settings.input into settings.out (and settings.rejected), keeping order and every field.

    Records with the same instruction are one task's instances: the filters decide once per task, at its first
    record, and the task is kept or dropped whole (otherwise its second instance is a ROUGE-L 1.0 duplicate).
    Everything is read and validated before anything is written; outputs are written atomically. An output
    that would overwrite the input, or a --min-score selection that keeps nothing, is refused.
    """
    for option, path in (("--out", settings.out), ("--rejected", settings.rejected)):
        if path is not None and path.exists() and path.resolve() == settings.input.resolve():
            raise InputError(f"{option} {path} is the input file; write the result to another file")
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
    # Without --min-score only the instructions are held while deciding; the records are read again to be
    # written (a million records as dicts is most of a gigabyte). A pipe or FIFO (`filter <(zcat data.gz)`)
    # cannot be read twice: its records are held.
    once = settings.min_score is not None or (settings.input.exists() and not settings.input.is_file())
    records = read_records(settings.input) if once else None
    instructions = _instructions(iter_records(settings.input) if records is None else records, settings.input)
    report = FilterReport(total=len(instructions), min_score=settings.min_score)
    drops: list[str | None] = [None] * len(instructions)
    trimmed: dict[int, dict[str, Any]] = {}
    if records is not None and settings.min_score is not None:
        drops, trimmed = _min_score(records, settings, settings.min_score, report)
    references: list[str] = []
    for ref in settings.against:
        references.extend(_instructions(read_records(ref), ref))
    report.reference = len(references)
    start = time.perf_counter()
    if chain is not None:
        chain.add_reference(references)
    scored = [_score_rejection(d, settings.min_score) for d in drops]
    tasks = _group([i for i, r in zip(instructions, scored, strict=True) if r is None])
    report.tasks = len(tasks.first) if len(tasks.of) == len(instructions) else len(set(map(task_key, instructions)))
    del instructions
    # One call for the whole file: the near-duplicate index then sees every instruction at once (batch join).
    done = 0

    def advance(k: int) -> None:
        """Progress in records: the next k tasks offered were decided."""
        nonlocal done
        if progress is not None:
            progress(sum(tasks.size[done : done + k]))
        done += k

    decisions: list[Rejection | None] = (
        chain.offer_many(tasks.first, advance) if chain is not None else [None] * len(tasks.first)
    )
    if chain is None:
        advance(len(tasks.first))
    if progress is not None and report.total > len(tasks.of):
        progress(report.total - len(tasks.of))  # dropped by the audit score
    report.kept_tasks = sum(1 for d in decisions if d is None)
    task_of = iter(tasks.of)
    rejections = [r if r is not None else decisions[next(task_of)] for r in scored]
    del chain, decisions, scored
    tasks.first.clear()  # the instructions: the records are read again to be written
    tasks.of.clear()
    for rejection in rejections:
        if rejection is not None:
            report.dropped[(rejection.filter, rejection.reason)] += 1
    report.kept = report.total - report.dropped_total
    report.seconds = time.perf_counter() - start
    if settings.min_score is not None and not report.kept:
        reasons = ", ".join(f"{r} {n:,}" for (_, r), n in sorted(report.dropped.items()))
        raise EmptyExportError(
            f"{settings.input}: nothing to keep: the audit scored none of its {report.total:,} tasks at least "
            f"{settings.min_score:g} ({reasons}); nothing was written"
        )
    _write(settings, iter_records(settings.input) if records is None else records, rejections, trimmed)
    return report


def _write(
    settings: FilterSettings,
    records: Iterable[Record],
    rejections: list[Rejection | None],
    trimmed: dict[int, dict[str, Any]],
) -> None:
    """The kept records to settings.out and the dropped ones to settings.rejected, a record at a time. Both are
    written atomically, so a file that changed since it was read (the records are read again) leaves neither."""
    as_array = settings.out.suffix.lower() == ".json"
    with atomic_writer(settings.out) as out, _maybe_writer(settings.rejected) as rejected:
        out.write("[\n" if as_array else "")
        separator = ""
        try:
            for index, (rec, rejection) in enumerate(zip(records, rejections, strict=True)):
                if rejection is None:
                    out.write(separator + dumps(trimmed.get(index, rec.data)) + ("" if as_array else "\n"))
                    separator = ",\n" if as_array else ""
                elif rejected is not None:
                    rejected.write(dumps({"line": rec.line, **rejection.to_dict(), "record": rec.data}) + "\n")
        except ValueError:  # zip: another number of records than when they were decided
            raise InputError("changed while it was being filtered; run the filter again", path=settings.input) from None
        out.write(("\n]\n" if separator else "]\n") if as_array else "")


@contextmanager
def _maybe_writer(path: Path | None) -> Iterator[IO[str] | None]:
    """atomic_writer(path), or None when there is no path."""
    if path is None:
        yield None
        return
    with atomic_writer(path) as fh:
        yield fh
