"""Ctrl-C, SIGTERM and SIGHUP in a command that runs no event loop (filter, stats, export...): one line, exit code
128 + the signal, nothing written; a signal the process was told to ignore (`nohup`) stays ignored. And `filter`
reads a FIFO (a pipe) once.

The CLI runs in a subprocess reading a FIFO: it blocks there, inside the command, until the test writes or
signals. The test opens the FIFO's writing end once the command has opened its reading end, so the signal never
comes before the command started.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import pytest

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")


@pytest.fixture
def reading(tmp_path: Path) -> Iterator[Callable[..., tuple[subprocess.Popen[str], BinaryIO]]]:
    """`reading(ignore_hup=False)`: `selfinstruct filter FIFO --out OUT` started and blocked reading the FIFO; the
    process and the FIFO's writing end (closed at teardown)."""
    fifo = tmp_path / "tasks.jsonl"
    os.mkfifo(fifo)
    started: list[tuple[subprocess.Popen[str], BinaryIO]] = []

    def start(ignore_hup: bool = False) -> tuple[subprocess.Popen[str], BinaryIO]:
        def child() -> None:
            if ignore_hup:
                signal.signal(signal.SIGHUP, signal.SIG_IGN)

        proc = subprocess.Popen(
            [sys.executable, "-m", "selfinstruct", "filter", str(fifo), "--out", str(tmp_path / "kept.jsonl")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=child,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:  # a FIFO opens for writing without blocking only once a reader has it open
            try:
                fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
                break
            except OSError as exc:
                if exc.errno != errno.ENXIO or proc.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
        writer = os.fdopen(fd, "wb")
        started.append((proc, writer))
        return proc, writer

    yield start
    for proc, writer in started:
        writer.close()
        proc.kill()
        proc.communicate()


@pytest.mark.parametrize(("sig", "code", "line"), [
    (signal.SIGTERM, 143, "Aborted by SIGTERM."),
    (signal.SIGHUP, 129, "Aborted by SIGHUP."),
    (signal.SIGINT, 130, "Aborted."),
])  # fmt: skip
def test_a_signal_ends_a_command_with_one_line_and_its_code(
    reading: Callable[..., tuple[subprocess.Popen[str], BinaryIO]], tmp_path: Path, sig: int, code: int, line: str
) -> None:
    proc, _ = reading()
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code, stderr
    assert [text for text in stderr.splitlines() if text.strip()] == [line]
    assert stdout == "" and not (tmp_path / "kept.jsonl").exists()


def test_an_ignored_sighup_stays_ignored(reading: Callable[..., tuple[subprocess.Popen[str], BinaryIO]]) -> None:
    """Under `nohup` a closed session does not end the command; a SIGTERM after it still does."""
    proc, _ = reading(ignore_hup=True)
    proc.send_signal(signal.SIGHUP)
    time.sleep(0.3)
    assert proc.poll() is None
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, stderr


def test_a_fifo_is_read_once(reading: Callable[..., tuple[subprocess.Popen[str], BinaryIO]], tmp_path: Path) -> None:
    """`filter <(zcat data.gz)`: a pipe cannot be read again to write the kept records, so they are held."""
    proc, writer = reading()
    for text in ("Name three rivers in Asia.", "Name three rivers in Asia!", "Write a haiku about the autumn rain."):
        writer.write(json.dumps({"instruction": text, "input": "", "output": "x"}).encode() + b"\n")
    writer.close()
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    kept = [json.loads(line)["instruction"] for line in (tmp_path / "kept.jsonl").read_text("utf-8").splitlines()]
    assert kept == ["Name three rivers in Asia.", "Write a haiku about the autumn rain."]
