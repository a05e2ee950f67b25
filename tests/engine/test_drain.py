"""Ctrl-C, SIGTERM and SIGHUP drain a run (issue 26): the requests already on the wire land in the journal.

Before, the first signal cancelled every request in flight: the server had answered (and billed) them, the
replies were thrown away, and the resume paid for them again; with more requests in flight (scheduling rule
2) that cost more than the journal test's 5% bound. Real subprocesses, real signals, the loopback fake with
latency so that requests are in flight when the signal comes.
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

from tests.servers import FakeOpenAIServer, Fault, Request, StartServer

KEY = "sk-test-drain"
ENV = {k: v for k, v in os.environ.items() if k != "OPENAI_BASE_URL"} | {"OPENAI_API_KEY": KEY}


@pytest.fixture
def _cli(seeds: Path) -> Callable[..., list[str]]:
    def _cli(out: Path, url: str, n: int, *extra: str) -> list[str]:
        return [sys.executable, "-m", "selfinstruct", "generate", "--seeds", str(seeds), "--out", str(out),
                "--base-url", url, "--model", "fake-model", "--seed", "11", "-n", str(n), "-q",
                "--concurrency", "8", *extra]  # fmt: skip

    return _cli


def _question(request: Request) -> str:
    """What was asked, exactly (prompt, parameters and seed): the same question asked twice is paid twice."""
    return json.dumps(request.body, sort_keys=True)


def _is_instances(request: Request) -> bool:
    tail = request.prompt.rstrip()
    return not tail.endswith("Task 9:") and not tail.endswith("Is it classification?")


def _wait(condition: Callable[[], bool], proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 120
    while not condition():
        assert proc.poll() is None, f"the run ended before {what}"
        assert time.monotonic() < deadline, f"no {what} within 120 s"
        time.sleep(0.01)


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def _in_flight(server: FakeOpenAIServer) -> int:
    return sum(1 for r in list(server.requests) if not r.outcome)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_the_replies_in_flight_at_an_interruption_are_journaled_and_never_paid_again(
    tmp_path: Path, sig: signal.Signals, scripted_server: StartServer, _cli: Callable[..., list[str]]
) -> None:
    n = 40
    out, reference = tmp_path / "run", tmp_path / "reference"
    with scripted_server(api_key=KEY, latency=0.3) as server:
        subprocess.run(_cli(reference, server.url, n), env=ENV, check=True, timeout=300, capture_output=True)
        start = len(server.requests)
        log = tmp_path / "stderr"
        with log.open("wb") as err:
            proc = subprocess.Popen(_cli(out, server.url, n), env=ENV, stdout=subprocess.DEVNULL, stderr=err)
            _wait(lambda: _lines(out / "tasks.jsonl") >= 3 and _in_flight(server) >= 3, proc, "requests in flight")
            proc.send_signal(sig)
            code = proc.wait(timeout=60)
        stderr = log.read_text()
        assert code == (130 if sig == signal.SIGINT else 128 + sig), stderr
        first = server.requests[start:]
        paid = {_question(r) for r in first if r.outcome == "ok"}
        journal = [json.loads(line) for line in (out / "responses.jsonl").read_text().splitlines()]
        assert len([r for r in journal if "key" in r]) == len(paid)  # every reply the server gave is journaled
        assert "interrupted: finishing" in stderr and "again to abandon them" in stderr, stderr
        assert "Traceback" not in stderr
        run_json = json.loads((out / "run.json").read_text())
        assert run_json["status"] == "interrupted"
        assert _lines(out / "tasks.jsonl") < n

        middle = len(server.requests)
        subprocess.run(_cli(out, server.url, n), env=ENV, check=True, timeout=300, capture_output=True)
        asked_again = {_question(r) for r in server.requests[middle:]}
    assert not paid & asked_again  # what the interrupted run paid for is replayed, never paid again
    replayed = json.loads((out / "run.json").read_text())["replayed"]
    assert sum(step["requests"] for step in replayed.values()) > 0
    assert (out / "tasks.jsonl").read_bytes() == (reference / "tasks.jsonl").read_bytes()


def test_a_hung_request_holds_the_drain_no_longer_than_its_timeout_and_is_not_retried(
    tmp_path: Path, scripted_server: StartServer, _cli: Callable[..., list[str]]
) -> None:
    out = tmp_path / "run"
    with scripted_server(api_key=KEY, latency=0.05) as server:
        server.inject_when(_is_instances, Fault(hang=300))  # the first instances request never ends
        log = tmp_path / "stderr"
        with log.open("wb") as err:
            proc = subprocess.Popen(_cli(out, server.url, 40, "--timeout", "8"), env=ENV,
                                    stdout=subprocess.DEVNULL, stderr=err)  # fmt: skip
            hung = lambda: [r for r in list(server.requests) if _is_instances(r) and not r.outcome]  # noqa: E731
            _wait(lambda: bool(hung()), proc, "the hung request")
            question = _question(hung()[0])
            proc.send_signal(signal.SIGINT)
            code = proc.wait(timeout=120)  # the hang is 300 s: the drain ended at the request's own --timeout
        stderr = log.read_text()
        assert code == 130, stderr
        assert "interrupted: finishing" in stderr and "Traceback" not in stderr
        assert [_question(r) for r in server.requests].count(question) == 1  # no retry once interrupted
    assert json.loads((out / "run.json").read_text())["status"] == "interrupted"


def test_a_second_ctrl_c_abandons_the_requests_in_flight(
    tmp_path: Path, scripted_server: StartServer, _cli: Callable[..., list[str]]
) -> None:
    out = tmp_path / "run"
    with scripted_server(api_key=KEY, latency=0.05) as server:
        server.inject_when(_is_instances, Fault(hang=300), times=1000)  # no instances request ever ends
        log = tmp_path / "stderr"
        with log.open("wb") as err:
            proc = subprocess.Popen(_cli(out, server.url, 40, "--timeout", "600"), env=ENV,
                                    stdout=subprocess.DEVNULL, stderr=err)  # fmt: skip
            _wait(lambda: any(_is_instances(r) and not r.outcome for r in list(server.requests)), proc, "a hang")
            proc.send_signal(signal.SIGINT)
            _wait(lambda: "interrupted: finishing" in log.read_text(), proc, "the drain's notice")
            proc.send_signal(signal.SIGINT)
            code = proc.wait(timeout=60)  # the requests in flight would take 300 s, their timeout 600 s
        stderr = log.read_text()
    assert code == 130, stderr
    assert "Traceback" not in stderr
    assert json.loads((out / "run.json").read_text())["status"] == "interrupted"
