"""OS errors (a full disk, a read-only file system, a file where a directory should be) are one line and exit 1.

The CLI runs in a subprocess, as a user runs it. A full disk is /dev/full behind a symlink (the atomic writer
must write through a device, never replace it); where a file cannot be a device (the run directory's logs,
which are also read), the subprocess under test has its os.write or os.open fail with the errno.
"""

from __future__ import annotations

import errno
import functools
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.servers import FakeOpenAIServer, StartServer

KEY = "sk-test-oserror-0123456789"


@pytest.fixture
def run(failing_cli: Callable[..., tuple[int, str, str]]) -> Callable[..., tuple[int, str, str]]:
    """`run(*args, cwd, fail=None)`: the CLI in a child process, with the key the server wants (`failing_cli`)."""
    return functools.partial(failing_cli, api_key=KEY)


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


@pytest.fixture
def server(scripted_server: StartServer) -> Iterator[FakeOpenAIServer]:
    with scripted_server(api_key=KEY) as srv:
        yield srv


@pytest.fixture
def full(tmp_path: Path) -> Iterator[Path]:
    """A name in tmp_path that is /dev/full: every write to it fails with ENOSPC."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    link = tmp_path / "full.jsonl"
    link.symlink_to("/dev/full")
    yield link
    assert Path("/dev/full").is_char_device()  # never replaced by a file


def pool(path: Path) -> Path:
    tasks = [{"id": f"t{i}", "instruction": f"Write a short story about a dragon number {i}.",
              "instances": [{"input": "", "output": f"Once upon a time {i}."}], "is_classification": False}
             for i in range(6)]  # fmt: skip
    path.write_text("".join(json.dumps(t) + "\n" for t in tasks), encoding="utf-8")
    return path


def test_filter_to_a_full_disk(tmp_path: Path, full: Path, run: Callable[..., tuple[int, str, str]]) -> None:
    code, _, stderr = run("filter", str(pool(tmp_path / "in.jsonl")), "--out", str(full), "-q", cwd=tmp_path)
    line = one_line(stderr)
    assert code == 1 and str(full) in line and "No space left on device" in line and "free some space" in line


def test_export_to_a_full_disk(tmp_path: Path, full: Path, run: Callable[..., tuple[int, str, str]]) -> None:
    code, _, stderr = run("export", str(pool(tmp_path / "in.jsonl")), "--format", "alpaca", "--out", str(full),
                          cwd=tmp_path)  # fmt: skip
    assert code == 1 and "No space left on device" in one_line(stderr)


def test_stats_html_to_a_full_disk(tmp_path: Path, full: Path, run: Callable[..., tuple[int, str, str]]) -> None:
    code, _, stderr = run("stats", str(pool(tmp_path / "in.jsonl")), "--no-verbs", "--html", str(full),
                          cwd=tmp_path)  # fmt: skip
    assert code == 1 and str(full) in one_line(stderr)


def test_a_device_output_is_written_through_not_replaced(
    tmp_path: Path, run: Callable[..., tuple[int, str, str]]
) -> None:
    sink = tmp_path / "null.jsonl"
    sink.symlink_to(os.devnull)
    code, _, stderr = run("filter", str(pool(tmp_path / "in.jsonl")), "--out", str(sink), "-q", cwd=tmp_path)
    assert code == 0, stderr
    assert sink.is_symlink() and Path(os.devnull).is_char_device()


def test_export_on_a_read_only_file_system_leaves_nothing(
    tmp_path: Path, run: Callable[..., tuple[int, str, str]]
) -> None:
    out = tmp_path / "out.jsonl"
    code, _, stderr = run("export", str(pool(tmp_path / "in.jsonl")), "--format", "alpaca", "--out", str(out),
                          cwd=tmp_path, fail={"FAIL_OPEN": "out.jsonl", "FAIL_ERRNO": str(errno.EROFS)})  # fmt: skip
    line = one_line(stderr)
    assert code == 1 and "Read-only file system" in line and str(out) in line and ".tmp" not in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


def test_generate_out_below_a_file(
    tmp_path: Path, server: FakeOpenAIServer, seeds: Path, run: Callable[..., tuple[int, str, str]]
) -> None:
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    code, _, stderr = run("generate", "--seeds", str(seeds), "--base-url", server.url, "--model", "m", "-n", "2",
                          "--out", "afile/sub", "-q", cwd=tmp_path)  # fmt: skip
    line = one_line(stderr)
    assert code == 1 and "afile/sub" in line and "Not a directory" in line and server.requests == []


@pytest.mark.parametrize("out", ["afile/x.jsonl", "afile/sub/x.jsonl"])
def test_filter_out_below_a_file(tmp_path: Path, out: str, run: Callable[..., tuple[int, str, str]]) -> None:
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    code, _, stderr = run("filter", str(pool(tmp_path / "in.jsonl")), "--out", out, "-q", cwd=tmp_path)
    line = one_line(stderr)
    assert code == 1 and "afile" in line and "directory" in line
    assert (tmp_path / "afile").read_text(encoding="utf-8") == "x"


def test_generate_on_a_full_disk_stops_in_one_line_and_resumes(
    tmp_path: Path, server: FakeOpenAIServer, seeds: Path, run: Callable[..., tuple[int, str, str]]
) -> None:
    args = ["generate", "--seeds", str(seeds), "--base-url", server.url, "--model", "m", "-n", "6", "--seed", "3"]
    code, _, stderr = run(*args, "--out", "run", "-q", cwd=tmp_path, fail={"FAIL_WRITE": "tasks.jsonl"})
    line = one_line(stderr)
    assert code == 1 and "run/tasks.jsonl" in line and "No space left on device" in line
    run_json = json.loads((tmp_path / "run" / "run.json").read_text(encoding="utf-8"))
    assert run_json["status"] == "failed" and "No space left" in run_json["error"]
    code, _, stderr = run(*args, "--out", "run", "-q", cwd=tmp_path)  # space freed: the same command resumes
    assert code == 0, stderr
    tasks = (tmp_path / "run" / "tasks.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(tasks) == 6 and len({json.loads(t)["instruction"] for t in tasks}) == 6


def test_audit_on_a_full_disk(
    tmp_path: Path, server: FakeOpenAIServer, run: Callable[..., tuple[int, str, str]]
) -> None:
    source = pool(tmp_path / "in.jsonl")
    code, _, stderr = run("audit", str(source), "--judge-base-url", server.url, "--judge-model", "m", "-q",
                          cwd=tmp_path, fail={"FAIL_WRITE": "in.audit.jsonl"})  # fmt: skip
    line = one_line(stderr)
    assert code == 1 and "in.audit.jsonl" in line and "No space left on device" in line
