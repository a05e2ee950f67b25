"""Append-only JSONL files that survive a crash at any instant.

Every append is one `write()` of whole lines on an O_APPEND descriptor followed by fsync, so a killed
process leaves every earlier record readable. A power cut can still tear the last line: on open it is
detected, reported and cut off (or, when it is a complete record missing only its newline, completed).
A corrupt line anywhere else is not a torn write, so it is an error rather than silently dropped.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from selfinstruct.errors import PoolError
from selfinstruct.io.records import dumps, with_path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


@dataclass(frozen=True)
class Repair:
    """What opening the file fixed."""

    path: str
    action: str  # "truncated" | "completed"
    line: int
    dropped_bytes: int

    def message(self) -> str:
        if self.action == "completed":
            return f"{self.path}:{self.line}: last record had no newline (interrupted write); completed it"
        return (
            f"{self.path}:{self.line}: removed a torn last line ({self.dropped_bytes} bytes) left by an "
            "interrupted write; every complete record is kept"
        )


def _load(path: Path) -> tuple[list[dict[str, Any]], Repair | None]:
    """Parse the file, repairing a torn tail on disk."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return [], None
    except OSError as exc:
        raise PoolError(f"{path}: cannot read: {exc.strerror}") from None
    records: list[dict[str, Any]] = []
    repair: Repair | None = None
    lines = raw.split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline
    offset = 0
    for number, line in enumerate(lines, start=1):
        offset += len(line) + 1
        if not line.strip():
            continue
        try:
            value = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            raise PoolError(
                f"{path}:{number}: corrupt record (not valid JSON); fix or delete that line, then run again"
            ) from None
        if not isinstance(value, dict):
            raise PoolError(f"{path}:{number}: expected a JSON object; fix or delete that line, then run again")
        records.append(value)
    if tail.strip():
        number = len(lines) + 1
        complete: dict[str, Any] | None = None
        try:
            value = json.loads(tail.decode("utf-8"))
            if isinstance(value, dict):
                complete = value
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            pass
        if complete is not None:
            with path.open("ab") as fh:
                fh.write(b"\n")
                fh.flush()
                os.fsync(fh.fileno())
            records.append(complete)
            repair = Repair(str(path), "completed", number, 0)
        else:
            with path.open("r+b") as fh:
                fh.truncate(offset)
                fh.flush()
                os.fsync(fh.fileno())
            repair = Repair(str(path), "truncated", number, len(tail))
    elif tail:
        with path.open("r+b") as fh:  # stray whitespace after the last newline
            fh.truncate(offset)
    return records, repair


def open_locked(path: Path, mode: int = os.O_RDWR) -> int:
    """An O_APPEND descriptor holding the file's writer lock (created if missing); fails fast when taken."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, mode | os.O_APPEND | os.O_CREAT, 0o644)
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise PoolError(
                f"{path}: another selfinstruct process is writing to it; wait for it or use another --out"
            ) from None
    return fd


class JsonlLog:
    """An append-only JSONL file opened for writing by one process at a time (locked from opening to close)."""

    def __init__(self, path: Path | str, *, durable: bool = True) -> None:
        self.path = Path(path)
        self.durable = durable
        self._fd: int | None = None
        # The writer lock comes first: repairing a torn tail while another process still appends to the file
        # would cut off its records.
        self._open()
        try:
            self.records, self.repair = _load(self.path)
        except BaseException:
            self.close()
            raise

    def __len__(self) -> int:
        return len(self.records)

    def _open(self) -> int:
        if self._fd is None:
            self._fd = open_locked(self.path, os.O_WRONLY)
        return self._fd

    def append(self, rows: Sequence[dict[str, Any]]) -> None:
        """Append rows as one write: after a crash, all of them or a torn tail, never a hole."""
        if rows:
            self._write(rows)
            self.records.extend(rows)

    async def append_async(self, rows: Sequence[dict[str, Any]]) -> None:
        """`append` with its write and fsync in a thread, on disk as well when it returns: an fsync takes
        milliseconds, in which the event loop goes on serving the requests in flight."""
        if not rows:
            return
        write = asyncio.ensure_future(asyncio.to_thread(self._write, rows))
        try:
            await asyncio.shield(write)
        except asyncio.CancelledError:
            # The thread writes on: wait for it, or a caller that closes the file on the way out could free its
            # descriptor number for another file while the write is still to come.
            await asyncio.wait([write])
            if write.exception() is None:
                self.records.extend(rows)
            raise
        self.records.extend(rows)

    def _write(self, rows: Sequence[dict[str, Any]]) -> None:
        data = "".join(dumps(r) + "\n" for r in rows).encode("utf-8")
        fd = self._open()
        view = memoryview(data)
        try:
            while view:
                written = os.write(fd, view)
                view = view[written:]
            if self.durable:
                os.fsync(fd)
        except OSError as exc:  # a full disk: a torn last line at worst, which the next open repairs
            raise with_path(exc, self.path) from None

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> JsonlLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class TaskPool(JsonlLog):
    """The task pool: seed-format task records plus provenance, in acceptance order.

    It does not own the near-duplicate index: the bootstrap indexes each instruction the moment it is accepted
    (later candidates of the same response must see it before the batch is written).
    """

    def __init__(self, path: Path | str, *, durable: bool = True) -> None:
        super().__init__(path, durable=durable)
        for number, record in enumerate(self.records, start=1):
            if not isinstance(record.get("instruction"), str):
                self.close()
                raise PoolError(f'{self.path}: record {number} has no "instruction" string; is this a task pool?')

    @property
    def instructions(self) -> list[str]:
        return [r["instruction"] for r in self.records]
