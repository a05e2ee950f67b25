"""How a run ends, seen from outside: real `selfinstruct generate` subprocesses against the loopback fake.

A fatal error prints exactly one line (no "Task exception was never retrieved" tracebacks from requests nobody
awaited), and SIGTERM/SIGHUP end a run as Ctrl-C does: one line, exit 128 + signal, run.json `interrupted`, and
the same command resumes into the pool an uninterrupted run writes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.servers import FakeBatches, StartServer, keys_of, make_pool

KEY = "sk-test-lifecycle"


def _env(key: str = KEY) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SELFINSTRUCT_"))}
    return {**env, "OPENAI_API_KEY": key, "SELFINSTRUCT_BATCH_POLL": "0.02"}


@pytest.fixture
def _cli(seeds: Path) -> Callable[..., list[str]]:
    def _cli(out: Path, url: str, n: int, *extra: str) -> list[str]:
        return [sys.executable, "-m", "selfinstruct", "generate", "--seeds", str(seeds), "--out", str(out),
                "--base-url", url, "--model", "fake-model", "--seed", "7", "-n", str(n), "-q", *extra]  # fmt: skip

    return _cli


def _assert_one_error_line(stderr: str, message: str) -> None:
    errors = [line for line in stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and message in errors[0], stderr
    assert "Traceback" not in stderr and "never retrieved" not in stderr, stderr


def test_a_wrong_key_on_resume_prints_one_line(
    tmp_path: Path, scripted_server: StartServer, _cli: Callable[..., list[str]]
) -> None:
    """Resumed with a wrong key: every candidate's classify request meets the 401 at once; the first one stops
    the run and the others are cancelled and awaited, not left to print tracebacks at exit."""
    out = tmp_path / "run"
    with scripted_server(api_key=KEY, latency=0.2) as server:  # the 401s of a wave land together
        subprocess.run(_cli(out, server.url, 4), env=_env(), check=True, capture_output=True, timeout=120)
        result = subprocess.run(_cli(out, server.url, 100, "--concurrency", "32"), env=_env("sk-wrong"),
                                capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 1
    _assert_one_error_line(result.stderr, "authentication failed (401)")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert json.loads((out / "run.json").read_text())["status"] == "failed"


def test_batches_failing_validation_print_one_error_line(
    tmp_path: Path,
    fake_batches: Callable[..., FakeBatches],
    scripted_server: StartServer,
    _cli: Callable[..., list[str]],
) -> None:
    batches = fake_batches()
    out = tmp_path / "run"
    with scripted_server(api_key=KEY, routes=batches) as server:
        subprocess.run(_cli(out, server.url, 4, "--batch"), env=_env(), check=True, capture_output=True, timeout=120)
        (out / "responses.jsonl").unlink()  # without the journal, the resume asks again: in batches that fail
        batches.fail_next = 1000
        result = subprocess.run(_cli(out, server.url, 30, "--batch"), env=_env(), capture_output=True, text=True,
                                timeout=120)  # fmt: skip
    assert result.returncode == 1
    _assert_one_error_line(result.stderr, "a request failed in 5 batches")
    assert json.loads((out / "run.json").read_text())["status"] == "failed"


def _lines(path: Path) -> int:
    return len(path.read_bytes().splitlines()) if path.exists() else 0


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_a_signal_ends_the_run_like_ctrl_c(
    tmp_path: Path, sig: signal.Signals, code: int, scripted_server: StartServer, _cli: Callable[..., list[str]]
) -> None:
    reference, out = tmp_path / "reference", tmp_path / "signalled"
    with scripted_server(api_key=KEY, latency=0.2) as server:
        subprocess.run(_cli(reference, server.url, 30), env=_env(), check=True, capture_output=True, timeout=120)
        proc = subprocess.Popen(_cli(out, server.url, 30, "--concurrency", "4"), env=_env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
        deadline = time.monotonic() + 60
        while _lines(out / "tasks.jsonl") < 3 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)  # mid-run: some tasks committed, requests in flight
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=60)
        assert proc.returncode == code, stderr
        *drain, last = stderr.strip().splitlines()
        assert last == f"Interrupted by {sig.name}. The run in {out} is intact: run the same command to resume."
        # Before it, at most the drain's notice (none when nothing was on the wire at the signal): see test_drain.
        assert len(drain) <= 1 and all(line.startswith("interrupted: finishing ") for line in drain), stderr
        run = json.loads((out / "run.json").read_text())
        assert run["status"] == "interrupted" and run["usage"]["instructions"]["requests"] >= 1
        assert 3 <= run["counts"]["accepted"] < 30
        subprocess.run(_cli(out, server.url, 30, "--concurrency", "8"), env=_env(), check=True, capture_output=True,
                       timeout=120)  # fmt: skip
    assert (out / "tasks.jsonl").read_bytes() == (reference / "tasks.jsonl").read_bytes()


def test_sigterm_ends_an_audit_like_ctrl_c(tmp_path: Path, judge_server: StartServer) -> None:

    pool = tmp_path / "tasks.jsonl"
    instances = keys_of(make_pool(pool, 200))  # the audit judges each instance
    journal = tmp_path / "audit.jsonl"
    argv = [sys.executable, "-m", "selfinstruct", "audit", str(pool), "--judge-base-url", "", "--judge-model",
            "fake-model", "-q", "--concurrency", "8"]  # fmt: skip
    with judge_server(api_key=KEY, latency=0.2) as server:
        argv[argv.index("--judge-base-url") + 1] = server.url
        proc = subprocess.Popen(argv, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while _lines(journal) < 3 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 143, stderr
        assert stderr.strip().splitlines() == [
            f"Interrupted by SIGTERM. The audit in {pool} is intact: run the same command to resume."
        ]
        judged = _lines(journal)
        assert 3 <= judged < len(instances)
        result = subprocess.run(argv, env=_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"{judged} were already in {journal}" in result.stdout
    judged_keys = [(r["task_id"], r["instance"]) for r in map(json.loads, journal.read_text().splitlines())]
    assert sorted(judged_keys) == sorted(instances)


def test_a_run_under_nohup_ignores_sighup(
    tmp_path: Path, scripted_server: StartServer, _cli: Callable[..., list[str]]
) -> None:
    """`nohup` sets SIGHUP to be ignored: a closed session must not end that run (the handlers leave it be)."""
    out = tmp_path / "run"
    with scripted_server(api_key=KEY, latency=0.1) as server:
        proc = subprocess.Popen(_cli(out, server.url, 10), env=_env(), stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True,
                                preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))  # fmt: skip
        deadline = time.monotonic() + 60
        while _lines(out / "tasks.jsonl") < 1 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGHUP)
        _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert _lines(out / "tasks.jsonl") == 10
