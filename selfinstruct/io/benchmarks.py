"""Benchmark files for decontamination: JSONL, JSON, CSV, Parquet or a local Hugging Face dataset folder (saved
with `datasets`' save_to_disk; nothing is ever downloaded). Every item becomes (id, text); every failure is one
InputError naming the file, the line and the fix, raised before anything is written."""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from selfinstruct.errors import InputError
from selfinstruct.io.records import iter_records, read_text

# The fields that hold the prompt in common benchmarks (MMLU, GSM8K, MATH, IFEval, AlpacaEval, BBH, the
# Self-Instruct paper's user-oriented set), tried in this order when --field is not given.
AUTO_FIELDS = ("question", "prompt", "problem", "instruction", "input")
ID_FIELDS = ("id", "idx", "task_id", "question_id", "problem_id", "unique_id")
HF_HINT = 'pip install "selfinstruct[hf]"'


@dataclass(frozen=True)
class Benchmark:
    """One benchmark file's items as (id, text), its name and the SHA-256 of its content."""

    name: str
    path: Path
    sha256: str
    fields: tuple[str, ...]
    items: tuple[tuple[str, str], ...]


def _rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line or row number, record) of any supported file or folder."""
    if not path.exists():
        raise InputError("file not found; check the path", path=path)
    if path.is_dir():
        yield from _hf_rows(path)
        return
    suffix = path.suffix.lower()
    if suffix == ".csv":
        yield from _csv_rows(path)
    elif suffix == ".parquet":
        yield from _parquet_rows(path)
    elif suffix in (".jsonl", ".json", ".ndjson"):
        for rec in iter_records(path):
            yield rec.line, rec.data
    else:
        raise InputError(
            f"unknown benchmark format {suffix or '(no suffix)'!r}; give a .jsonl, .json, .csv or .parquet file, "
            "or a folder saved with datasets' save_to_disk",
            path=path,
        )


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(read_text(path).splitlines())
    for row in reader:
        yield reader.line_num, dict(row)


def _parquet_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError(f"reading Parquet needs pyarrow: {HF_HINT}", path=path) from None
    try:
        table = pq.read_table(path)
    except (OSError, ValueError) as exc:
        raise InputError(f"not a readable Parquet file ({str(exc).splitlines()[0]})", path=path) from None
    yield from enumerate(table.to_pylist(), start=1)


def _hf_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """A folder written by Dataset.save_to_disk or DatasetDict.save_to_disk; of a DatasetDict, its "test" split
    when it has one, else every split."""
    if not any((path / name).exists() for name in ("dataset_info.json", "state.json", "dataset_dict.json")):
        raise InputError(
            "is a folder but not a saved Hugging Face dataset (no dataset_info.json or dataset_dict.json); save "
            "one with datasets' save_to_disk, or give a file",
            path=path,
        )
    try:
        import datasets
    except ImportError:
        raise InputError(f"reading a saved Hugging Face dataset needs `datasets`: {HF_HINT}", path=path) from None
    try:
        loaded = datasets.load_from_disk(str(path))
    except (OSError, ValueError, FileNotFoundError) as exc:
        raise InputError(f"cannot load the saved dataset ({str(exc).splitlines()[0]})", path=path) from None
    if isinstance(loaded, datasets.DatasetDict):
        splits = [loaded["test"]] if "test" in loaded else list(loaded.values())
    else:
        splits = [loaded]
    k = 0
    for split in splits:
        for row in split:
            k += 1
            yield k, dict(row)


def _fields_of(first: dict[str, Any], fields: Sequence[str], path: Path, line: int) -> tuple[str, ...]:
    if fields:
        return tuple(fields)
    for name in AUTO_FIELDS:
        if name in first:
            return (name,)
    keys = ", ".join(sorted(map(str, first))[:8]) or "none"
    raise InputError(
        f"no {'/'.join(AUTO_FIELDS)} field (fields: {keys}); name the text field(s) with --field", path=path, line=line
    )


def _item_id(row: dict[str, Any], number: int) -> str:
    for name in ID_FIELDS:
        value = row.get(name)
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return str(value)
    return str(number)


def _text(row: dict[str, Any], fields: tuple[str, ...], path: Path, line: int) -> str:
    parts = []
    for name in fields:
        if name not in row:
            raise InputError(f'no "{name}" field; every item needs it, or choose another --field', path=path, line=line)
        value = row[name]
        if value is None:
            continue
        if not isinstance(value, str):
            raise InputError(f'"{name}" must be text, found {type(value).__name__}; choose another --field',
                             path=path, line=line)  # fmt: skip
        parts.append(value)
    return "\n".join(parts)


def content_hash(path: Path) -> str:
    """SHA-256 of a file's bytes, or of a folder's files (relative paths and bytes, in path order)."""
    digest = hashlib.sha256()
    files: Iterable[Path] = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode() + b"\0")
        digest.update(file.read_bytes())
    return digest.hexdigest()


def read_benchmark(path: Path | str, fields: Sequence[str] = ()) -> Benchmark:
    """A benchmark's items: the text of `fields` (joined by newlines), or the first AUTO_FIELDS field found."""
    path = Path(path)
    chosen: tuple[str, ...] | None = None
    items: list[tuple[str, str]] = []
    number = 0
    for number, (line, row) in enumerate(_rows(path), start=1):
        if not isinstance(row, dict):
            raise InputError("each item must be an object with a text field", path=path, line=line)
        if chosen is None:
            chosen = _fields_of(row, fields, path, line)
        text = _text(row, chosen, path, line)
        if text.strip():
            items.append((_item_id(row, number), text))
    if not items:
        raise InputError("no benchmark items with text; check the file and --field", path=path)
    try:
        sha = content_hash(path)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=path) from None
    return Benchmark(name=path.stem if path.is_file() else path.name, path=path, sha256=sha,
                     fields=chosen or (), items=tuple(items))  # fmt: skip
