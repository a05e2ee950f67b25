"""`audit --batch`: the same verdicts as the synchronous audit, through the loopback fake of the Batch API."""

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
from click.testing import CliRunner

from selfinstruct.cli.app import cli
from selfinstruct.engine.journal import ResponseJournal
from tests.servers import FakeBatches, StartServer, journal_lines, make_pool

KEY = "sk-test-audit-batch"


@pytest.fixture
def env(judge_env: dict[str, str | None]) -> dict[str, str | None]:
    """The audit's environment: no judge settings from the shell, the fake judge's key, a fast batch poll."""
    return {**judge_env, "OPENAI_API_KEY": KEY, "SELFINSTRUCT_BATCH_POLL": "0.02"}


def _argv(pool: Path, url: str, *extra: str) -> list[str]:
    return ["audit", str(pool), "--judge-base-url", url, "--judge-model", "fake-model", "-q", *extra]


def _by_task(path: Path) -> list[dict[str, object]]:
    return sorted(journal_lines(path), key=lambda r: (str(r["task_id"]), int(r["instance"])))


def test_batch_audit_gives_the_synchronous_verdicts(
    tmp_path: Path, fake_batches: Callable[..., FakeBatches], judge_server: StartServer, env: dict[str, str | None]
) -> None:
    batches = fake_batches(fail_rate=0.05)
    with judge_server(api_key=KEY, routes=batches) as server:
        sync, batch = tmp_path / "sync" / "tasks.jsonl", tmp_path / "batch" / "tasks.jsonl"
        make_pool(sync, 60)
        make_pool(batch, 60)
        assert CliRunner().invoke(cli, _argv(sync, server.url), env=env).exit_code == 0
        server.reset()
        result = CliRunner().invoke(cli, _argv(batch, server.url, "--batch"), env=env)
    assert result.exit_code == 0, result.stderr
    assert _by_task(batch.parent / "audit.jsonl") == _by_task(sync.parent / "audit.jsonl")
    assert all(r.outcome == "batch" for r in server.requests)
    assert len(batches.created) >= 2  # the first requests, then the failed lines and the retries of unreadable replies
    ledger = [json.loads(line) for line in (batch.parent / "audit_batches.jsonl").read_text().splitlines()]
    assert [r["batch"] for r in ledger if "batch" in r] == batches.created
    assert "in_progress" in result.stderr


def test_kill_9_while_the_audit_batch_is_in_flight_then_resume(
    tmp_path: Path, fake_batches: Callable[..., FakeBatches], judge_server: StartServer, env: dict[str, str | None]
) -> None:
    batches = fake_batches(step_seconds=0.4)
    child_env = {**os.environ, **{k: v for k, v in env.items() if v is not None}}
    for name, value in env.items():
        if value is None:
            child_env.pop(name, None)
    with judge_server(api_key=KEY, routes=batches) as server:
        reference = tmp_path / "reference" / "tasks.jsonl"
        make_pool(reference, 40)
        assert CliRunner().invoke(cli, _argv(reference, server.url), env=env).exit_code == 0
        pool = tmp_path / "killed" / "tasks.jsonl"
        make_pool(pool, 40)
        cmd = [sys.executable, "-m", "selfinstruct", *_argv(pool, server.url, "--batch")]
        proc = subprocess.Popen(cmd, env=child_env, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while not batches.created and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert len(batches.created) == 1
        subprocess.run(cmd, env=child_env, check=True, timeout=120, stderr=subprocess.DEVNULL)
    assert set(batches.submissions.values()) == {1}, "a judge request was submitted twice"
    assert _by_task(pool.parent / "audit.jsonl") == _by_task(reference.parent / "audit.jsonl")


def test_a_capped_resume_after_a_kill_collects_and_charges_the_audit_batch(
    tmp_path: Path, fake_batches: Callable[..., FakeBatches], judge_server: StartServer, env: dict[str, str | None]
) -> None:
    """Killed with its batch in flight, then resumed with a cap that lets it ask nothing: the batch, finished since,
    was paid, so the resume journals the judge's replies and charges what the server served (not the lines'
    reservations); the full run after it replays them and submits nothing twice."""
    batches = fake_batches(step_seconds=600)  # in flight until the test finishes it
    child_env = {**os.environ, **{k: v for k, v in env.items() if v is not None}}
    for name, value in env.items():
        if value is None:
            child_env.pop(name, None)
    with judge_server(api_key=KEY, routes=batches) as server:
        reference = tmp_path / "reference" / "tasks.jsonl"
        make_pool(reference, 20)
        assert CliRunner().invoke(cli, _argv(reference, server.url), env=env).exit_code == 0
        server.reset()
        pool = tmp_path / "killed" / "tasks.jsonl"
        make_pool(pool, 20)
        cmd = [sys.executable, "-m", "selfinstruct", *_argv(pool, server.url, "--batch")]
        proc = subprocess.Popen(cmd, env=child_env, stderr=subprocess.DEVNULL)
        ledger = pool.parent / "audit_batches.jsonl"
        deadline = time.monotonic() + 60
        while not (ledger.exists() and '"batch"' in ledger.read_text()) and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert len(batches.created) == 1
        batches.finish(server)  # a day later
        served = server.served_tokens
        capped = subprocess.run([*cmd, "--max-tokens-total", "1"], env=child_env, capture_output=True, text=True,
                                timeout=120)  # fmt: skip
        assert capped.returncode == 3, capped.stderr  # the cap allows no request
        assert "collected" in capped.stderr and "no request of this run took" in capped.stderr
        assert "this run: 0 instances asked, 0 tokens;" in capped.stdout  # the killed run's lines (not below zero)
        journal = ResponseJournal(pool.parent / "audit_responses.jsonl")  # what the audit spent, read afresh
        spent = journal.spend.total()
        journal.close()
        assert journal.unanswered == {} and spent.prompt_tokens + spent.completion_tokens == served
        batches.step_seconds = 0  # the retries of unreadable verdicts go in new batches
        subprocess.run(cmd, env=child_env, check=True, timeout=120, stderr=subprocess.DEVNULL)
    assert set(batches.submissions.values()) == {1}, "a judge request was submitted twice"
    assert _by_task(pool.parent / "audit.jsonl") == _by_task(reference.parent / "audit.jsonl")


def test_batch_audit_is_refused_for_the_embedded_judge(tmp_path: Path, judge_env: dict[str, str | None]) -> None:
    pool = tmp_path / "tasks.jsonl"
    make_pool(pool, 3)
    result = CliRunner().invoke(cli, ["audit", str(pool), "--batch"], env=judge_env)
    assert result.exit_code == 2 and "--batch needs a judge endpoint" in result.stderr
    assert not (tmp_path / "tasks.audit.jsonl").exists()
