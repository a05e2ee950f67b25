"""`generate --batch` against the loopback fake of the Files and Batches endpoints."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from selfinstruct.cli.app import cli
from tests.servers import FakeBatches, FakeOpenAIServer, StartServer, kill_at_rest, recorded_batches, uploaded

KEY = "sk-test-batch"
ENV = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": None, "SELFINSTRUCT_MODEL": None, "SELFINSTRUCT_BATCH_POLL": "0.02"}


@pytest.fixture
def fake(
    fake_batches: Callable[..., FakeBatches], scripted_server: StartServer
) -> Iterator[tuple[FakeOpenAIServer, FakeBatches]]:
    batches = fake_batches()
    with scripted_server(api_key=KEY, routes=batches) as server:
        yield server, batches


@pytest.fixture
def _argv(seeds: Path) -> Callable[..., list[str]]:
    def _argv(out: Path, url: str, n: int, *extra: str) -> list[str]:
        return ["generate", "--seeds", str(seeds), "--out", str(out), "--base-url", url, "--model", "fake-model",
                "--seed", "7", "-n", str(n), "-q", *extra]  # fmt: skip

    return _argv


@pytest.fixture
def _run(_argv: Callable[..., list[str]]) -> Callable[..., tuple[int, str]]:
    def _run(out: Path, url: str, n: int, *extra: str) -> tuple[int, str]:
        result = CliRunner().invoke(cli, _argv(out, url, n, *extra), env=ENV)
        return result.exit_code, result.stderr

    return _run


def test_batch_run_writes_the_pool_the_synchronous_run_writes(
    tmp_path: Path, fake: tuple[FakeOpenAIServer, FakeBatches], _run: Callable[..., tuple[int, str]]
) -> None:
    server, batches = fake
    code, stderr = _run(tmp_path / "sync", server.url, 15)
    assert code == 0, stderr
    server.reset()
    code, stderr = _run(tmp_path / "batch", server.url, 15, "--batch")
    assert code == 0, stderr
    assert (tmp_path / "batch" / "tasks.jsonl").read_bytes() == (tmp_path / "sync" / "tasks.jsonl").read_bytes()
    assert all(r.outcome == "batch" for r in server.requests)
    assert sum(batches.submissions.values()) == len(server.requests)
    assert set(batches.submissions.values()) == {1}
    run = json.loads((tmp_path / "batch" / "run.json").read_text())
    assert run["batches"] == batches.created and len(batches.created) >= 3  # instructions, classify, instances
    assert "in_progress" in stderr and "completed" in stderr


def test_200_tasks_with_5_percent_of_lines_failing(
    tmp_path: Path, fake: tuple[FakeOpenAIServer, FakeBatches], _run: Callable[..., tuple[int, str]]
) -> None:
    server, batches = fake
    batches.fail_rate = 0.05
    code, stderr = _run(tmp_path / "run", server.url, 200, "--batch")
    assert code == 0, stderr
    lines = (tmp_path / "run" / "tasks.jsonl").read_text().splitlines()
    assert len(lines) == 200
    resent = sum(n - 1 for n in batches.submissions.values())
    assert resent > 0
    usage = json.loads((tmp_path / "run" / "run.json").read_text())["usage"]
    assert sum(step["retries"] for step in usage.values()) == resent


def test_batch_is_refused_for_the_embedded_model(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["generate", "--out", str(tmp_path / "run"), "-n", "2", "--batch"], env={"OPENAI_API_KEY": None}
    )
    assert result.exit_code == 2
    assert "--batch needs an endpoint with the Batch API" in result.stderr
    assert not (tmp_path / "run").exists()


def test_kill_9_while_a_batch_is_in_flight_then_resume(
    tmp_path: Path,
    fake_batches: Callable[..., FakeBatches],
    scripted_server: StartServer,
    _argv: Callable[..., list[str]],
    _run: Callable[..., tuple[int, str]],
) -> None:
    batches = fake_batches(step_seconds=0.4)  # each batch stays in flight for about a second
    env = {**os.environ, **{k: v for k, v in ENV.items() if v is not None}}
    env.pop("OPENAI_BASE_URL", None)
    with scripted_server(api_key=KEY, routes=batches) as server:
        code, stderr = _run(tmp_path / "reference", server.url, 20)
        assert code == 0, stderr
        out = tmp_path / "killed"
        cmd = [sys.executable, "-m", "selfinstruct", *_argv(out, server.url, 20, "--batch")]
        proc = subprocess.Popen(cmd, env=env)
        deadline = time.monotonic() + 30
        while len(batches.created) < 2 and time.monotonic() < deadline:  # the second batch is in flight
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        in_flight = list(batches.created)
        assert len(in_flight) >= 2
        subprocess.run(cmd, env=env, check=True, timeout=120)
    assert (out / "tasks.jsonl").read_bytes() == (tmp_path / "reference" / "tasks.jsonl").read_bytes()
    assert set(batches.submissions.values()) == {1}, "a request was submitted twice"
    # run.json lists every batch created, once, in the order each endpoint's client created its own; two clients
    # (completions for the queries, chat for the answers) may learn of batches created at the same moment in
    # either order, which the server's numbering cannot tell them (this compared the whole order: flaky).
    recorded = json.loads((out / "run.json").read_text())["batches"]
    assert sorted(recorded) == sorted(batches.created) and len(set(recorded)) == len(recorded)
    for endpoint in ("/v1/completions", "/v1/chat/completions"):
        mine = [b for b in recorded if batches.batches[b].endpoint == endpoint]
        assert mine == [b for b in batches.created if batches.batches[b].endpoint == endpoint]
    assert batches.created[: len(in_flight)] == in_flight


def test_batch_prices_are_the_given_prices_times_the_discount(tmp_path: Path) -> None:
    base = ["generate", "--dry-run", "-n", "100", "--base-url", "http://127.0.0.1:9/v1", "--model", "m",
            "--out", str(tmp_path / "run"), "--price-input", "1", "--price-output", "2"]  # fmt: skip
    sync = CliRunner().invoke(cli, base, env=ENV)
    half = CliRunner().invoke(cli, [*base, "--batch"], env=ENV)
    third = CliRunner().invoke(cli, [*base, "--batch", "--batch-discount", "0.3"], env=ENV)
    assert sync.exit_code == half.exit_code == third.exit_code == 0, sync.stderr + half.stderr + third.stderr
    assert "at $1 / $2 per 1M" in sync.stdout and "at $0.5 / $1 per 1M" in half.stdout
    assert "at $0.3 / $0.6 per 1M" in third.stdout and "Batch API prices" in half.stdout
    refused = CliRunner().invoke(cli, [*base, "--batch-discount", "0.3"], env=ENV)
    assert refused.exit_code == 2 and "pass --batch too" in refused.stderr
    assert not (tmp_path / "run").exists()


def test_the_token_budget_holds_across_batch_rounds(
    tmp_path: Path, fake: tuple[FakeOpenAIServer, FakeBatches], _run: Callable[..., tuple[int, str]]
) -> None:
    server, _ = fake
    code, stderr = _run(tmp_path / "run", server.url, 500, "--batch", "--max-tokens-total", "30000")
    assert code == 3, stderr  # budget reached before the target
    usage = json.loads((tmp_path / "run" / "run.json").read_text())["usage"]
    used = sum(step["prompt_tokens"] + step["completion_tokens"] for step in usage.values())
    assert 0 < used <= 30000


def test_alpaca_mode_in_batches(
    tmp_path: Path, fake: tuple[FakeOpenAIServer, FakeBatches], _run: Callable[..., tuple[int, str]]
) -> None:
    server, batches = fake
    code, stderr = _run(tmp_path / "sync", server.url, 30, "--mode", "alpaca")
    assert code == 0, stderr
    code, stderr = _run(tmp_path / "batch", server.url, 30, "--mode", "alpaca", "--batch")
    assert code == 0, stderr
    assert (tmp_path / "batch" / "tasks.jsonl").read_bytes() == (tmp_path / "sync" / "tasks.jsonl").read_bytes()
    assert batches.created and set(batches.submissions.values()) == {1}


def test_evol_instruct_through_batches_writes_the_synchronous_pool(
    tmp_path: Path, fake: tuple[FakeOpenAIServer, FakeBatches], _run: Callable[..., tuple[int, str]]
) -> None:
    """Every Evol-Instruct step goes over --api chat (the answer's own API too), so one batch file holds them."""
    server, batches = fake
    evol = ("--method", "evol-instruct")
    code, stderr = _run(tmp_path / "sync", server.url, 8, *evol)
    assert code == 0, stderr
    server.reset()
    code, stderr = _run(tmp_path / "batch", server.url, 8, *evol, "--batch")
    assert code == 0, stderr
    assert (tmp_path / "batch" / "tasks.jsonl").read_bytes() == (tmp_path / "sync" / "tasks.jsonl").read_bytes()
    assert all(r.outcome == "batch" and r.path == "/v1/chat/completions" for r in server.requests)
    assert len(batches.created) >= 3  # evolve, judge, answer


def _magpie(out: Path, url: str, *extra: str) -> list[str]:
    """Magpie reads no seeds, and finds its template by the model's family."""
    return ["generate", "--method", "magpie", "--api", "completions", "--model", "Qwen2.5-7B-Instruct",
            "--out", str(out), "--base-url", url, "--seed", "7", "-n", "12", "-q", *extra]  # fmt: skip


def _asked(server: FakeOpenAIServer) -> set[tuple[str, str, object]]:
    """What a run asked: each request's API, prompt and seed (Magpie's queries share one prompt)."""
    asked = {(r.path, r.prompt, r.body.get("seed")) for r in server.requests}
    assert len(asked) == len(server.requests), "a request asked twice"
    return asked


def _run_magpie(out: Path, url: str, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, _magpie(out, url, *extra), env=ENV)
    return result.exit_code, result.stderr


def test_magpie_through_batches_writes_the_synchronous_pool(
    tmp_path: Path, fake: tuple[FakeOpenAIServer, FakeBatches]
) -> None:
    """Magpie's queries go over /v1/completions and its answers over /v1/chat/completions: a batch names one
    endpoint (the fake fails a file with a line to another, as OpenAI does), so each API gets its own batches."""
    server, batches = fake
    code, stderr = _run_magpie(tmp_path / "sync", server.url)
    assert code == 0, stderr
    sync_asked = _asked(server)
    server.reset()
    code, stderr = _run_magpie(tmp_path / "batch", server.url, "--batch")
    assert code == 0, stderr
    assert (tmp_path / "batch" / "tasks.jsonl").read_bytes() == (tmp_path / "sync" / "tasks.jsonl").read_bytes()
    assert (tmp_path / "batch" / "rejected.jsonl").read_bytes() == (tmp_path / "sync" / "rejected.jsonl").read_bytes()
    assert all(r.outcome == "batch" for r in server.requests)
    # The same requests, each to its own API. Both runs ask the one sequence the seed decides; how far past the
    # last needed request each had asked when the target was reached depends on timing (a request already in
    # flight, or gathered into a batch, was needed as far as the run could know), so one run's requests are
    # the other's, plus at most a few more.
    batch_asked = _asked(server)
    fewer, more = sorted((sync_asked, batch_asked), key=len)
    assert not fewer - more, "a request of one run that the other never asked"
    assert len(more) - len(fewer) <= 8
    made = [batches.batches[b] for b in batches.created]
    assert {b.endpoint for b in made} == {"/v1/completions", "/v1/chat/completions"}
    assert all(b.ending == "completed" for b in made)
    assert set(batches.submissions.values()) == {1}
    ledger = [json.loads(line) for line in (tmp_path / "batch" / "batches.jsonl").read_text().splitlines()]
    steps = {next(iter(r["steps"])): r["path"] for r in ledger if "steps" in r}
    assert steps == {"query": "/v1/completions", "answer": "/v1/chat/completions"}


def test_magpie_kill_9_while_batches_are_in_flight_then_resume(
    tmp_path: Path, fake_batches: Callable[..., FakeBatches], scripted_server: StartServer
) -> None:
    batches = fake_batches(step_seconds=0.4)
    env = {**os.environ, **{k: v for k, v in ENV.items() if v is not None}}
    env.pop("OPENAI_BASE_URL", None)
    with scripted_server(api_key=KEY, routes=batches) as server:
        code, stderr = _run_magpie(tmp_path / "reference", server.url)
        assert code == 0, stderr
        out = tmp_path / "killed"
        cmd = [sys.executable, "-m", "selfinstruct", *_magpie(out, server.url, "--batch")]
        proc = subprocess.Popen(cmd, env=env)
        deadline = time.monotonic() + 60
        while len(batches.created) < 3 and time.monotonic() < deadline:  # an answer batch, then queries in flight
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        in_flight = list(batches.created)
        assert len(in_flight) >= 3
        subprocess.run(cmd, env=env, check=True, timeout=180)
    assert (out / "tasks.jsonl").read_bytes() == (tmp_path / "reference" / "tasks.jsonl").read_bytes()
    assert set(batches.submissions.values()) == {1}, "a request was submitted twice"
    assert batches.created[: len(in_flight)] == in_flight
    assert json.loads((out / "run.json").read_text())["batches"] == batches.created
    assert {batches.batches[b].endpoint for b in in_flight} == {"/v1/completions", "/v1/chat/completions"}


def test_a_resume_that_asks_less_still_collects_and_charges_the_batches_paid_for(
    tmp_path: Path,
    fake_batches: Callable[..., FakeBatches],
    scripted_server: StartServer,
    _argv: Callable[..., list[str]],
    _run: Callable[..., tuple[int, str]],
) -> None:
    """Killed with batches in flight, then resumed with a budget that lets it ask nothing: the batches, finished
    since, were paid, so the resume journals their replies and charges what the server billed (not their
    reservations); the full run after it answers those requests from the journal and submits nothing twice."""
    batches = fake_batches(step_seconds=0.4)
    env = {**os.environ, **{k: v for k, v in ENV.items() if v is not None}}
    env.pop("OPENAI_BASE_URL", None)
    with scripted_server(api_key=KEY, routes=batches) as server:
        code, stderr = _run(tmp_path / "reference", server.url, 20)
        assert code == 0, stderr
        server.reset()
        out = tmp_path / "killed"
        cmd = [sys.executable, "-m", "selfinstruct", *_argv(out, server.url, 20, "--batch")]
        ledger = out / "batches.jsonl"
        kill_at_rest(subprocess.Popen(cmd, env=env),
                     lambda: 2 <= len(batches.created) == recorded_batches(ledger) == uploaded(batches), [batches],
                     timeout=60)  # fmt: skip
        batches.finish(server)  # a day later
        served = server.served_tokens
        code, stderr = _run(out, server.url, 20, "--batch", "--max-tokens-total", "1")
        assert code == 3, stderr  # the cap allows no request
        assert "collected" in stderr and "no request of this run took" in stderr
        usage = json.loads((out / "run.json").read_text())["usage"]
        assert sum(s["prompt_tokens"] + s["completion_tokens"] for s in usage.values()) == served
        assert sum(s["unanswered"] for s in usage.values()) == 0
        collected = sum(s["requests"] for s in usage.values())
        code, stderr = _run(out, server.url, 20, "--batch")
        assert code == 0, stderr
    assert (out / "tasks.jsonl").read_bytes() == (tmp_path / "reference" / "tasks.jsonl").read_bytes()
    assert set(batches.submissions.values()) == {1}, "a request was submitted twice"
    run = json.loads((out / "run.json").read_text())
    assert sum(s["requests"] for s in run["replayed"].values()) >= collected > 0
    assert sum(s["prompt_tokens"] + s["completion_tokens"] for s in run["usage"].values()) == server.served_tokens
