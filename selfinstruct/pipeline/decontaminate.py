"""Remove records that reproduce benchmark items from any instruction dataset (the `decontaminate` command).

OUT is a folder: clean.jsonl (the kept records, unchanged and in order), contaminated.jsonl (each removed
record with the benchmark, item id, matched span and score) and summary.json (per benchmark: records checked,
removed, the threshold and n). Everything is read and checked before anything is written.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from selfinstruct.errors import InputError
from selfinstruct.filters.contamination import DEFAULT_MIN_SPAN, DEFAULT_N, DEFAULT_THRESHOLD, Contamination
from selfinstruct.filters.contamination.load import build_index, describe, load_benchmarks
from selfinstruct.io.records import Record, atomic_writer, dumps, iter_records

CLEAN, CONTAMINATED, SUMMARY = "clean.jsonl", "contaminated.jsonl", "summary.json"
CHUNK = 65536  # records whose texts are held at once


@dataclass(frozen=True)
class DecontaminateSettings:
    """Everything `selfinstruct decontaminate` needs."""

    input: Path
    against: tuple[Path, ...]
    out: Path
    fields: tuple[str, ...] = ()  # the benchmarks' text fields; () detects them
    n: int = DEFAULT_N
    threshold: float = DEFAULT_THRESHOLD
    min_span: int = DEFAULT_MIN_SPAN


@dataclass
class DecontaminateReport:
    total: int = 0
    removed: int = 0
    benchmarks: list[dict[str, Any]] = field(default_factory=list)  # describe() plus checked and removed
    ngrams: int = 0
    seconds: float = 0.0
    out: Path = Path()

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "kept": self.total - self.removed,
            "removed": self.removed,
            "ngrams": self.ngrams,
            "benchmarks": self.benchmarks,
            "seconds": round(self.seconds, 3),
        }


def record_texts(rec: Record, path: Path) -> list[str]:
    """What is checked of a record: its instruction, its "input" and its instances' inputs (a benchmark
    question may sit in any of them)."""
    instruction = rec.data.get("instruction")
    if not isinstance(instruction, str):
        what = "missing" if instruction is None else "not a string"
        raise InputError(f'"instruction" is {what}; every record needs an "instruction" string',
                         path=path, line=rec.line)  # fmt: skip
    texts = [instruction]
    if isinstance(rec.data.get("input"), str) and rec.data["input"].strip():
        texts.append(rec.data["input"])
    instances = rec.data.get("instances")
    if isinstance(instances, list):
        texts.extend(i["input"] for i in instances if isinstance(i, dict) and isinstance(i.get("input"), str)
                     and i["input"].strip())  # fmt: skip
    return texts


def _chunks(path: Path) -> Iterator[list[list[str]]]:
    """The records' texts, CHUNK records at a time."""
    chunk: list[list[str]] = []
    for rec in iter_records(path):
        chunk.append(record_texts(rec, path))
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _is_jsonl(path: Path) -> bool:
    with path.open("rb") as fh:
        for raw in fh:
            if raw.strip():
                return not raw.lstrip(b"\xef\xbb\xbf \t").startswith(b"[")
    return True


def _jsonl_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of each non-blank line of a JSONL file already read whole by iter_records: a kept
    record is copied as it is, neither parsed nor encoded again (most of the time at a million records)."""
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            line = raw.decode("utf-8").rstrip("\r\n")
            if number == 1:
                line = line.removeprefix("\ufeff")
            if line.strip():
                yield number, line


def decontaminate_file(
    settings: DecontaminateSettings, progress: Callable[[int], object] | None = None
) -> DecontaminateReport:
    """Check every record of settings.input against the benchmarks and write the folder settings.out."""
    if settings.out.exists() and not settings.out.is_dir():
        raise InputError(f"--out {settings.out} is a file; give a folder for {CLEAN}, {CONTAMINATED} and {SUMMARY}")
    if not settings.against:
        raise InputError("no benchmark given; name one or more with --against")
    benchmarks = load_benchmarks(settings.against, settings.fields)
    index = build_index(benchmarks, n=settings.n, threshold=settings.threshold, min_span=settings.min_span)
    start = time.perf_counter()
    found: dict[int, Contamination] = {}  # by the record's position (a JSON array may hold many on one line)
    total = 0
    for chunk in _chunks(settings.input):
        texts = [t for texts in chunk for t in texts]
        owner = [total + k for k, texts in enumerate(chunk) for _ in texts]
        for k, hit in zip(owner, index.scan(texts), strict=True):
            best = found.get(k)
            if hit is not None and (best is None or hit.score > best.score):
                found[k] = hit
        total += len(chunk)
        if progress is not None:
            progress(len(chunk))
    removed = Counter(c.item.benchmark for c in found.values())
    report = DecontaminateReport(total=total, removed=len(found), ngrams=index.ngrams, out=settings.out)
    report.benchmarks = [d | {"checked": total, "removed": removed[d["name"]]} for d in describe(benchmarks, index)]
    report.seconds = time.perf_counter() - start
    _write(settings, found, report)
    return report


def _write(settings: DecontaminateSettings, found: dict[int, Contamination], report: DecontaminateReport) -> None:
    out = settings.out
    with atomic_writer(out / CLEAN) as clean, atomic_writer(out / CONTAMINATED) as dirty:
        count = 0
        jsonl = _is_jsonl(settings.input)
        rows: Iterator[tuple[int, str | dict[str, Any]]] = (
            _jsonl_lines(settings.input) if jsonl else ((r.line, r.data) for r in iter_records(settings.input))
        )
        for k, (line, row) in enumerate(rows):
            count += 1
            hit = found.get(k)
            if hit is None:
                clean.write((row if isinstance(row, str) else dumps(row)) + "\n")
            else:
                data = json.loads(row) if isinstance(row, str) else row
                dirty.write(dumps({"line": line, **hit.to_dict(), "record": data}) + "\n")
        if count != report.total:
            raise InputError("changed while it was being checked; run decontaminate again", path=settings.input)
    with atomic_writer(out / SUMMARY) as fh:
        json.dump(report.to_dict(), fh, ensure_ascii=False, indent=2)
        fh.write("\n")
