"""LLMClient against the loopback fake: malformed 200 bodies are retried, then reported in one line."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from selfinstruct.cli.app import cli
from selfinstruct.engine.retry import retry_wait
from selfinstruct.engine.types import StepParams
from selfinstruct.errors import EndpointError
from tests.servers import Fault, StartServer

PARAMS = StepParams(temperature=0.0, top_p=1.0, max_tokens=16)
MALFORMED = {
    "broken_json": Fault(body='{"id": "x", "choices": [', content_type="application/json"),
    "html_page": Fault(body="<html><body><h1>502 Bad Gateway</h1>nginx</body></html>", content_type="text/html"),
    "null_choices": Fault(null_choices=True),
    "empty_body": Fault(body="", content_type="application/json"),
}


@pytest.mark.parametrize("api", ["chat", "completions"])
@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_malformed_200_is_retried(kind: str, api: str, fake_openai: StartServer, complete: Callable[..., str]) -> None:
    with fake_openai(lambda r: "ok") as server:
        server.inject(MALFORMED[kind])
        assert complete(server, api) == "ok"
        assert len(server.requests) == 2 and server.pending_faults() == 0


def test_a_trickling_server_ends_each_attempt_at_the_timeout(
    fake_openai: StartServer, complete: Callable[..., str]
) -> None:
    """A body sent one byte every 50 ms (about a minute in all) never lets one read wait a second: only a deadline
    on the whole attempt ends it. Bounds are generous: 3 attempts of 1 s and two backoffs."""
    with fake_openai(lambda r: "ok " * 300) as server:
        server.inject_when(lambda r: True, Fault(trickle=0.05), times=100)
        start = time.monotonic()
        with pytest.raises(EndpointError, match=r"gave up after 3 attempts \(no answer within 1 s\)"):
            complete(server, retries=2, timeout=1.0)
        elapsed = time.monotonic() - start
        assert [r.outcome for r in server.requests] == ["fault_trickle"] * 3
    assert elapsed < 30, f"3 attempts took {elapsed:.0f} s"


def test_a_slow_but_whole_answer_within_the_timeout_is_kept(
    fake_openai: StartServer, complete: Callable[..., str]
) -> None:
    with fake_openai(lambda r: "ok") as server:
        server.inject(Fault(trickle=0.002))
        assert complete(server, retries=0, timeout=30.0) == "ok"


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_malformed_200_every_time_is_one_clear_error(
    kind: str, fake_openai: StartServer, complete: Callable[..., str]
) -> None:
    with fake_openai(lambda r: "ok") as server:
        server.inject_when(lambda r: True, MALFORMED[kind], times=100)
        with pytest.raises(EndpointError) as info:
            complete(server, retries=1)
        message = str(info.value)
        assert message.startswith(server.url) and "malformed 200 response" in message and "gave up after 2" in message
        assert "\n" not in message


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_generate_on_a_malformed_endpoint_exits_1_without_traceback(
    tmp_path: Path, kind: str, scripted_server: StartServer, seeds: Path
) -> None:
    with scripted_server() as server:
        server.inject_when(lambda r: True, MALFORMED[kind], times=1000)
        argv = ["generate", "--seeds", str(seeds), "--out", str(tmp_path / "run"), "--base-url", server.url]
        argv += ["--model", "fake-model", "-n", "3", "--seed", "1", "--max-retries", "1", "-q", "--concurrency", "2"]
        result = CliRunner().invoke(cli, argv, env={"OPENAI_API_KEY": None, "OPENAI_BASE_URL": None})
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert server.url in lines[0] and "malformed 200 response" in lines[0]


def test_a_retry_after_honoured_does_not_lengthen_the_next_backoff(
    caplog: pytest.LogCaptureFixture, fake_openai: StartServer, complete: Callable[..., str]
) -> None:
    """Issue 26, item 1: the exponential backoff counted every failed attempt, so a 500 after three 429s whose
    Retry-After had been honoured waited 2-4 s (the fourth step), most of the tail of a 500-task run with 10% 429s
    and 5% 500s. The backoff now counts only the waits it had to guess: the 500 waits its first step."""
    with fake_openai(lambda r: "ok") as server:
        server.inject(*[Fault(status=429, retry_after=0.01)] * 3, Fault(status=500), Fault(status=500))
        with caplog.at_level("INFO", logger="selfinstruct.engine.client"):
            assert complete(server, retries=5) == "ok"
    logged = [r.getMessage() for r in caplog.records if "; retry " in r.getMessage()]
    waits = [float(message.rsplit(" in ", 1)[1].split()[0]) for message in logged]
    assert waits[:3] == [0.0, 0.0, 0.0]  # Retry-After: 0.01 s, as asked (logged to a tenth)
    assert waits[3] == 0.1 and 0.5 <= waits[4] <= 1.0  # the first and second steps: 0.05-0.1 s, 0.5-1 s


def test_the_first_unnamed_wait_is_short_and_the_patience_after_it_unchanged(
    caplog: pytest.LogCaptureFixture, fake_openai: StartServer, complete: Callable[..., str]
) -> None:
    """Issue 26's tail: a lone 500 on one of the last needed requests waited 0.25-0.5 s before its retry, on the
    critical path of a run with 5% 500s. The first guessed wait is now 0.05-0.1 s; from the second failure in a
    row the backoff doubles from 0.5-1 s as before, so a run gives an endpoint that is down the same patience."""
    with fake_openai(lambda r: "ok") as server:
        server.inject(*[Fault(status=500)] * 3)
        with caplog.at_level("INFO", logger="selfinstruct.engine.client"):
            assert complete(server, retries=3) == "ok"
    logged = [r.getMessage() for r in caplog.records if "; retry " in r.getMessage()]
    waits = [float(message.rsplit(" in ", 1)[1].split()[0]) for message in logged]
    assert len(waits) == 3 and waits[0] == 0.1  # 0.05-0.1 s, logged to a tenth
    assert 0.5 <= waits[1] <= 1.0 and 1.0 <= waits[2] <= 2.0
    jitter = random.Random(0)
    firsts = [retry_wait(0, None, jitter) for _ in range(200)]
    assert min(firsts) >= 0.05 and max(firsts) <= 0.1
    for guessed in range(1, 6):  # 0.5-1 s, 1-2 s, ... 8-16 s: the steps before the short first one came in
        assert 0.25 * 2**guessed <= retry_wait(guessed, None, jitter) <= 0.5 * 2**guessed
    assert retry_wait(0, 1.0, jitter) == 1.0 and retry_wait(3, 300.0, jitter) == 120.0  # Retry-After as asked
