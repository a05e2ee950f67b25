"""Read instruction records from JSONL or a JSON array, keeping the line each record starts on.

Every failure is an InputError that names the file, the line and the fix, so the CLI can print one line.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import IO, Any, TypeGuard

from selfinstruct.errors import InputError


@dataclass(frozen=True)
class Record:
    """One JSON object from an input file and the 1-based line it starts on."""

    data: dict[str, Any]
    line: int


def _unreadable(exc: OSError, path: Path) -> InputError:
    """The one-line error for a file that cannot be opened or read."""
    if isinstance(exc, FileNotFoundError):
        return InputError("file not found; check the path", path=path)
    if isinstance(exc, IsADirectoryError):
        return InputError("is a directory; pass a .jsonl or .json file", path=path)
    return InputError(f"cannot read: {exc.strerror}", path=path)


def _not_utf8(raw: bytes, exc: UnicodeDecodeError, path: Path, line: int) -> InputError:
    return InputError(f"not valid UTF-8 (byte 0x{raw[exc.start]:02x}); re-save the file as UTF-8", path=path, line=line)


def read_text(path: Path) -> str:
    """The file's text; a missing file, a directory or bytes that are not UTF-8 are InputErrors."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise _unreadable(exc, path) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _not_utf8(raw, exc, path, raw.count(b"\n", 0, exc.start) + 1) from None
    return text.removeprefix("\ufeff")


def is_count(value: object) -> TypeGuard[int]:
    """A whole number >= 0, and not a bool (JSON's true is 1 to Python): what every token, request or index count
    read from a reply, run.json or a journal must be; anything else there is damage or a hostile server."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


class _Lines:
    """The 1-based line of positions asked for in increasing order, counting only the newlines since the last
    one: linear in the file's size (counting from the start for every record was quadratic)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1

    def at(self, index: int) -> int:
        if index < self.pos:  # never happens in a forward scan; stays correct if it does
            return self.text.count("\n", 0, index) + 1
        self.line += self.text.count("\n", self.pos, index)
        self.pos = index
        return self.line


# json.loads recurses once per nesting level: thousands of nested brackets exhaust Python's stack.
_TOO_DEEP = "JSON nested too deeply (thousands of levels); a task record is a flat object, fix or delete it"


def _file_lines(fh: IO[bytes], path: Path) -> Iterator[tuple[int, str, bool]]:
    """(1-based number, line, whether it is the last) for each line of the open file, read one at a time: the
    whole text would be held while the records are used (100 MB for a million). Split on "\n" only (U+2028
    and friends are legal inside JSON strings); a line without its newline is the last."""
    number = 0
    while True:
        try:
            raw = fh.readline()
        except OSError as exc:
            raise _unreadable(exc, path) from None
        if not raw:
            return
        number += 1
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:  # a newline is never inside a UTF-8 sequence: the line is exact
            raise _not_utf8(raw, exc, path, number) from None
        last = not line.endswith("\n")
        yield number, (line if last else line[:-1]).removeprefix("\ufeff" if number == 1 else ""), last


def _iter_jsonl(lines: Iterator[tuple[int, str, bool]], path: Path) -> Iterator[Record]:
    for number, line, last in lines:
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except RecursionError:
            raise InputError(_TOO_DEEP, path=path, line=number) from None
        except json.JSONDecodeError as exc:
            # A last line without its newline is a write that was cut off (kill -9, a full disk), not a typo.
            fix = (
                "the last line is incomplete (cut off while being written?): complete or delete it; in a run "
                "directory, re-running its `selfinstruct generate` command repairs it"
                if last
                else "each line must be one complete JSON object"
            )
            raise InputError(f"broken JSON: {exc.msg} (column {exc.colno}); {fix}", path=path, line=number) from None
        if not isinstance(value, dict):
            raise InputError(
                f"expected a JSON object, got {_json_type(value)}; each line must be one task object",
                path=path,
                line=number,
            )
        yield Record(value, number)


def _iter_json_array(text: str, path: Path) -> Iterator[Record]:
    decoder = json.JSONDecoder()
    lines = _Lines(text)
    pos = text.index("[") + 1
    n = len(text)
    expect_value = True
    while True:
        while pos < n and text[pos] in " \t\r\n":
            pos += 1
        if pos >= n:
            raise InputError("JSON array is not closed; the file looks truncated", path=path, line=lines.at(n))
        ch = text[pos]
        if ch == "]":
            rest = text[pos + 1 :]
            if rest.strip():
                extra = pos + 1 + len(rest) - len(rest.lstrip())
                raise InputError("extra data after the closing ']'", path=path, line=lines.at(extra))
            return
        if not expect_value:
            if ch != ",":
                raise InputError("expected ',' or ']' between array items", path=path, line=lines.at(pos))
            pos += 1
            expect_value = True
            continue
        try:
            value, end = decoder.raw_decode(text, pos)
        except RecursionError:
            raise InputError(_TOO_DEEP, path=path, line=lines.at(pos)) from None
        except json.JSONDecodeError as exc:
            raise InputError(f"broken JSON: {exc.msg} (column {exc.colno})", path=path, line=exc.lineno) from None
        if not isinstance(value, dict):
            raise InputError(
                f"expected a JSON object in the array, got {_json_type(value)}", path=path, line=lines.at(pos)
            )
        yield Record(value, lines.at(pos))
        pos = end
        expect_value = False


def _json_type(value: object) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def iter_records(path: Path | str) -> Iterator[Record]:
    """The JSON objects of a JSONL file or a JSON array file one at a time, so that a caller who keeps only
    a field of each never holds them all; an empty file, or one without records, is an InputError (raised
    when the iteration reaches it)."""
    path = Path(path)
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise _unreadable(exc, path) from None
    with fh:
        lines = _file_lines(fh, path)
        for head in lines:  # JSONL is parsed as it is read; a JSON array needs the whole text
            if head[1].strip():
                break
        else:
            raise InputError("file is empty; it needs at least one task, one JSON object per line", path=path)
        if not head[1].lstrip().startswith("["):
            yield from _iter_jsonl(chain((head,), lines), path)
            return
    any_record = False
    for record in _iter_json_array(read_text(path), path):
        any_record = True
        yield record
    if not any_record:
        raise InputError("no records in the file; it needs at least one task object", path=path)


def read_records(path: Path | str) -> list[Record]:
    """All JSON objects in a JSONL file or a JSON array file; an empty file is an InputError."""
    return list(iter_records(path))


def dumps(obj: Any) -> str:
    """One compact JSON line, readable for Chinese (no \\u escapes)."""
    return json.dumps(obj, ensure_ascii=False)


def umask() -> int:
    """The process's umask: read from /proc on Linux; elsewhere set and restored at once (os.umask cannot only
    read it, and another thread creating a file in between would get 022)."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii", errors="replace").splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def new_file_mode() -> int:
    """The mode a plain open() would give a new file (0o666 less the umask), for files made by mkstemp
    (always 0600): an export must be readable by the trainer's user wherever the umask allows it."""
    return 0o666 & ~umask()


def with_path(exc: OSError, path: Path | str) -> OSError:
    """The same OS error naming `path` (an error from os.write on a descriptor names no file), so that the
    CLI's one line can say which file could not be written."""
    if exc.filename is not None:
        return exc
    return type(exc)(exc.errno, exc.strerror or str(exc), str(path))


@contextmanager
def atomic_writer(path: Path | str) -> Iterator[IO[str]]:
    """Write a file all at once: readers never see a half-written file, and a failure leaves nothing behind.
    The file gets the mode the umask gives new files, not mkstemp's 0600. A path that exists and is not a
    regular file (/dev/null, a FIFO) is written in place: replacing it would swap a device for a file."""
    path = Path(path)
    if path.exists() and not path.is_file() and not path.is_dir():
        try:
            with path.open("w", encoding="utf-8", newline="\n") as fh:
                yield fh
        except OSError as exc:
            raise with_path(exc, path) from None
        return
    path.parent.mkdir(parents=True, exist_ok=True)  # its error names the directory
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:  # it would name the temporary file, which the user never asked for
        raise type(exc)(exc.errno, exc.strerror, str(path)) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, new_file_mode())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise with_path(exc, path) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
