"""records: exact line numbers from linear-time readers, and atomic writes that honour the umask."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import SupportsIndex

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from selfinstruct.errors import InputError
from selfinstruct.io.records import Record, _iter_json_array, atomic_writer, iter_records, read_records

TEXT = st.text(st.characters(blacklist_categories=["Cs"]), max_size=12)
ROWS = st.lists(st.dictionaries(st.sampled_from(["instruction", "input", "output"]), TEXT, min_size=1), min_size=1)
LAYOUTS = st.sampled_from(["compact", "indent", "blank-lines"])


def _array(rows: list[dict[str, str]], layout: str) -> tuple[str, list[int]]:
    """A JSON array of `rows` in one of several layouts, and the line each row starts on (counted by hand)."""
    parts = ["["]
    starts = []
    for k, row in enumerate(rows):
        sep = "" if k == 0 else ","
        if layout == "compact":
            item = sep + json.dumps(row, ensure_ascii=False)
        elif layout == "indent":
            item = sep + "\n" + json.dumps(row, ensure_ascii=False, indent=2)
        else:
            item = sep + "\n\n  " + json.dumps(row, ensure_ascii=False, indent=1).replace("\n", "\n  ")
        before = "".join(parts) + item[: len(item) - len(item.lstrip(", \n"))]
        starts.append(before.count("\n") + 1)
        parts.append(item)
    parts.append("\n]\n")
    return "".join(parts), starts


@settings(max_examples=150, deadline=None)
@given(rows=ROWS, layout=LAYOUTS)
def test_json_array_line_numbers_are_exact(tmp_path_factory: pytest.TempPathFactory, rows: list, layout: str) -> None:
    text, starts = _array(rows, layout)
    path = tmp_path_factory.mktemp("arr") / "data.json"
    path.write_text(text, encoding="utf-8")
    records = read_records(path)
    assert [r.data for r in records] == rows
    assert [r.line for r in records] == starts


@settings(max_examples=100, deadline=None)
@given(rows=ROWS, blanks=st.lists(st.integers(0, 2), min_size=1))
def test_jsonl_line_numbers_are_exact(tmp_path_factory: pytest.TempPathFactory, rows: list, blanks: list) -> None:
    lines: list[str] = []
    starts = []
    for k, row in enumerate(rows):
        lines += [""] * blanks[k % len(blanks)]
        starts.append(len(lines) + 1)
        lines.append(json.dumps(row, ensure_ascii=False))
    path = tmp_path_factory.mktemp("jsonl") / "data.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    records = read_records(path)
    assert [(r.data, r.line) for r in records] == list(zip(rows, starts, strict=True))


@pytest.mark.parametrize(
    ("tail", "line", "message"),
    [
        ('\n  {"instruction": "b"}\n]\n', 4, "expected ',' or ']'"),
        (",\n  [1]\n]\n", 4, "expected a JSON object in the array, got an array"),
        (',\n  {"instruction": "b",}\n]\n', 4, "broken JSON"),
        (",\n", 4, "not closed"),
        ("\n]\n\n  trailing\n", 6, "extra data after the closing ']'"),
    ],
)
def test_errors_deep_in_a_large_array_name_the_exact_line(tmp_path: Path, tail: str, line: int, message: str) -> None:
    # Line 1 "[", line 2 the first record, line 3 the second record, then the broken part.
    text = '[\n  {"instruction": "a"},\n  {"instruction": "c"}' + tail
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=message) as info:
        read_records(path)
    assert info.value.line == line


class _CountingText(str):
    """A str that adds up how many characters its count() calls scan."""

    scanned = 0

    def count(self, sub: str, start: SupportsIndex | None = None, end: SupportsIndex | None = None) -> int:
        lo = 0 if start is None else int(start)
        hi = len(self) if end is None else int(end)
        _CountingText.scanned += max(0, hi - lo)
        return super().count(sub, start, end)


@pytest.mark.parametrize("n", [10, 2_000])
def test_line_numbers_scan_the_file_once(tmp_path: Path, n: int) -> None:
    """Line numbers cost one pass over the text whatever the record count (the old reader counted from the
    start for every record: 20 s for 9k Alpaca records). Counted in characters scanned, not timed."""
    row = {"instruction": "Give three tips for staying healthy.", "input": "", "output": "1. Eat well.\n2. Sleep."}
    text = _CountingText("[\n" + ",\n".join(json.dumps(row, indent=4) for _ in range(n)) + "\n]\n")
    _CountingText.scanned = 0
    records = list(_iter_json_array(text, tmp_path / "x.json"))
    assert len(records) == n and records[-1].line == 2 + 5 * (n - 1)
    assert _CountingText.scanned <= len(text)


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600), (0o000, 0o666)])
def test_atomic_writer_honours_the_umask(tmp_path: Path, umask_022: None, mask: int, mode: int) -> None:
    os.umask(mask)
    path = tmp_path / "out.jsonl"
    with atomic_writer(path) as fh:
        fh.write("{}\n")
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert path.read_text() == "{}\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def test_atomic_writer_leaves_nothing_on_failure(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    path.write_text("old\n")
    with pytest.raises(RuntimeError), atomic_writer(path) as fh:
        fh.write("half")
        raise RuntimeError("boom")
    assert path.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_a_cut_off_last_line_is_named_as_such(tmp_path: Path) -> None:
    """kill -9 in the middle of an append leaves a last line without its newline: say so, and how to mend it."""
    path = tmp_path / "tasks.jsonl"
    path.write_text('{"instruction": "a"}\n{"instruction": "b"}\n{"instru', encoding="utf-8")
    with pytest.raises(InputError, match=r"tasks.jsonl:3: broken JSON.*last line is incomplete.*repairs it"):
        read_records(path)
    path.write_text('{"instru\n{"instruction": "b"}\n', encoding="utf-8")  # a broken line in the middle
    with pytest.raises(InputError, match=r"tasks.jsonl:1: broken JSON.*each line must be one complete JSON object"):
        read_records(path)


def test_jsonl_records_are_read_as_they_are_used(tmp_path: Path) -> None:
    """A JSONL file is read a line at a time, not held whole while its records are used (a million-record
    filter held the 100 MB text through its write pass): a line appended after the first record was taken
    is still read."""
    path = tmp_path / "tasks.jsonl"
    path.write_text('\ufeff{"instruction": "a"}\n{"instruction": "b"}\n', encoding="utf-8")
    records = iter_records(path)
    assert next(records) == Record({"instruction": "a"}, 1)
    with path.open("a", encoding="utf-8") as fh:
        fh.write('\n{"instruction": "c"}')
    assert list(records) == [Record({"instruction": "b"}, 2), Record({"instruction": "c"}, 4)]
