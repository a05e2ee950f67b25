"""The journal as the budget's ledger (issue 20): every attempt that may have been billed is charged, and the
spend of a run directory is read back from the journal, whatever the endpoint reports and however the run ends."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from selfinstruct.engine.budget import Budget, BudgetExhausted
from selfinstruct.engine.client import LLMClient
from selfinstruct.engine.journal import ResponseJournal
from selfinstruct.engine.journaled import JournaledClient
from selfinstruct.engine.types import Completion, EndpointSettings, StepParams, Usage
from selfinstruct.errors import EndpointError
from tests.servers import HUGE_TEXT, FakeOpenAIServer, Fault, Reply, StartServer, make_pool, usage_faults

PARAMS = StepParams(temperature=0.0, top_p=1.0, max_tokens=40)
PROMPT = "Write one short instruction for a language model. " * 4


def _answer(_request: object) -> Reply:
    return Reply(text="Name three primary colours.")


def _settings(server: FakeOpenAIServer, **kw: object) -> EndpointSettings:
    return EndpointSettings(base_url=server.url, api_key="k", model="fake-model", **kw)  # type: ignore[arg-type]


def _settled(server: FakeOpenAIServer) -> int:
    """The server's bill once every request it received has been answered (late ones included)."""
    deadline = time.monotonic() + 30
    while any(not r.outcome for r in server.requests) and time.monotonic() < deadline:
        time.sleep(0.02)
    return server.served_tokens


@pytest.mark.parametrize("kind", sorted(usage_faults()))
def test_a_reply_without_usable_usage_is_charged_at_least_its_reservation(
    tmp_path: Path, kind: str, fake_openai: StartServer
) -> None:
    """Issue 20 #1: omitted usage was charged 0 tokens, a negative one -8.6M, a string one crashed."""

    async def go(server: FakeOpenAIServer) -> tuple[Completion, Usage, ResponseJournal]:
        journal = ResponseJournal(tmp_path / "responses.jsonl")
        client = JournaledClient(LLMClient(_settings(server), ledger=journal), journal)
        try:
            return await client.complete("instructions", PROMPT, PARAMS, seed=1), client.usage, journal
        finally:
            await client.aclose()
            journal.close()

    with fake_openai(_answer) as server:
        server.inject(usage_faults()[kind])
        result, usage, _ = asyncio.run(go(server))
        served = _settled(server)
    assert result.text == "Name three primary colours." and not result.reported
    reservation = Budget().prompt_estimate("instructions", PROMPT) + PARAMS.max_tokens
    assert result.prompt_tokens + result.completion_tokens >= max(reservation, served)
    assert usage.total().no_usage == 1 and usage.total().total_tokens == result.prompt_tokens + result.completion_tokens
    reopened = ResponseJournal(tmp_path / "responses.jsonl")
    assert reopened.spend.total().total_tokens == usage.total().total_tokens and reopened.spend.total().no_usage == 1
    reopened.close()


def test_late_replies_are_charged_and_every_retry_reserves_again(fake_openai: StartServer) -> None:
    """Issue 20 #3: a server that bills and answers after the timeout was paid 7 times on one reservation."""
    reservation = Budget().prompt_estimate("instructions", PROMPT) + PARAMS.max_tokens
    cap = int(reservation * 2.5)

    async def go(server: FakeOpenAIServer) -> Usage:
        client = LLMClient(_settings(server, timeout=0.3, max_retries=6), budget=Budget(max_tokens=cap))
        try:
            with pytest.raises(BudgetExhausted):
                await client.complete("instructions", PROMPT, PARAMS)
        finally:
            await client.aclose()
        return client.usage

    with fake_openai(lambda r: Reply(text="word " * 40)) as server:
        server.inject_when(lambda r: True, Fault(hang=0.6), times=100)
        usage = asyncio.run(go(server))
        served = _settled(server)
    assert len(server.requests) == 2  # the third attempt could not fit beside two possibly billed ones
    assert usage.total().unanswered == 2 and usage.total().total_tokens == 2 * reservation
    assert 0 < served <= cap


def test_refusals_cost_nothing_and_lost_attempts_keep_their_reservation(
    tmp_path: Path, fake_openai: StartServer
) -> None:
    """A 429 and a 4xx are refused before anything is generated; a 5xx, a dropped connection and a kill in
    flight may have been billed: the journal charges them their reservation, read back on open."""

    async def go(server: FakeOpenAIServer) -> Usage:
        journal = ResponseJournal(tmp_path / "responses.jsonl")
        client = JournaledClient(LLMClient(_settings(server, max_retries=4), ledger=journal), journal)
        try:
            await client.complete("instructions", PROMPT, PARAMS, seed=1)
            server.inject(Fault(status=400))
            with pytest.raises(EndpointError, match="request rejected"):
                await client.complete("instructions", PROMPT + "!", PARAMS, seed=2)
        finally:
            await client.aclose()
        # A kill while in flight: the attempt's line is written, its reply never comes.
        await journal.sent("classify", 30, 3)
        journal.close()
        return client.usage

    with fake_openai(_answer) as server:
        server.inject(Fault(status=429, retry_after=0.01), Fault(status=500), Fault(drop=True))
        usage = asyncio.run(go(server))
    reservation = Budget().prompt_estimate("instructions", PROMPT) + PARAMS.max_tokens
    answered = len(PROMPT.split()) + 4
    assert usage.total().total_tokens == answered + 2 * reservation and usage.total().unanswered == 2
    journal = ResponseJournal(tmp_path / "responses.jsonl")
    assert journal.spend.total().total_tokens == usage.total().total_tokens + 33
    assert journal.spend.step("classify").unanswered == 1 and journal.spend.total().requests == 1
    journal.close()


def test_a_huge_reply_is_cut_before_it_reaches_the_journal(tmp_path: Path, fake_openai: StartServer) -> None:
    """Issue 20 #12: a 10 MB reply was journaled whole."""

    async def go(server: FakeOpenAIServer) -> Completion:
        journal = ResponseJournal(tmp_path / "responses.jsonl")
        client = JournaledClient(LLMClient(_settings(server), ledger=journal), journal)
        try:
            return await client.complete("instructions", PROMPT, PARAMS, seed=1)
        finally:
            await client.aclose()
            journal.close()

    with fake_openai(_answer) as server:
        server.inject(Fault(text=HUGE_TEXT))
        result = asyncio.run(go(server))
    assert result.text.startswith("word") and result.finish_reason == "length"
    assert (tmp_path / "responses.jsonl").stat().st_size < 100_000
    line = json.loads((tmp_path / "responses.jsonl").read_text().splitlines()[-1])
    assert line["finish_reason"] == "length" and line["completion_tokens"] == 1


def test_nothing_is_sent_that_the_ledger_cannot_record(
    tmp_path: Path, scripted_server: StartServer, seeds: Path, failing_cli: Callable[..., tuple[int, str, str]]
) -> None:
    """Issue 20 #2 (full disk): a reply was paid and then could not be journaled, so the next run's budget did not
    know it. Now an attempt's line is written before it is sent: with the journal's disk full, nothing is sent."""
    with scripted_server(api_key="sk-test-ledger") as server:
        args = ["generate", "--seeds", str(seeds), "--base-url", server.url, "--model", "m", "-n", "6", "--seed", "3"]
        code, _, stderr = failing_cli(*args, "--out", "run", "-q", cwd=tmp_path, api_key=server.api_key,
                                      fail={"FAIL_WRITE": "responses.jsonl"})  # fmt: skip
        lines = stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in stderr, stderr
        line = lines[0]
        assert code == 1 and "run/responses.jsonl" in line and "No space left on device" in line
        assert server.requests == []
        code, _, stderr = failing_cli(*args, "--out", "run", "-q", "--max-tokens-total", "100000", cwd=tmp_path,
                                      api_key=server.api_key)  # fmt: skip
        assert code == 0, stderr
        spent = ResponseJournal(tmp_path / "run" / "responses.jsonl")
        assert spent.spend.total().total_tokens >= server.served_tokens > 0
        spent.close()


def test_an_audit_whose_judge_bills_late_replies_stays_under_its_cap(
    tmp_path: Path, judge_server: StartServer, run_audit: Callable[..., tuple[int, str, str]]
) -> None:
    """The audit follows the same ledger rule: every attempt is charged (a retry after a late reply too) and what
    was spent is read back from pool.audit_responses.jsonl. Before, a task's retries were not counted and a
    failed task's spend was forgotten, so each rerun the error line suggests paid again from zero."""
    pool = tmp_path / "pool.jsonl"
    make_pool(pool, 40)
    cap = 12_000
    with judge_server(api_key="sk-test-ledger", enforce_max_tokens=True) as server:
        server.inject_when(lambda r: True, Fault(hang=0.45), times=10**6)  # billed, answered after the timeout
        args = ("--max-tokens-total", str(cap), "--timeout", "0.3", "--max-retries", "3", "--concurrency", "8")
        for _ in range(4):  # "gave up after 4 attempts ... run the same command again"
            code, _, stderr = run_audit(server, pool, *args)
            assert code in (1, 3) and len(stderr.strip().splitlines()) <= 1 and "Traceback" not in stderr, stderr
            if code == 3:
                break
        served = _settled(server)
    assert code == 3 and 0 < served <= cap, (code, served)
    ledger = ResponseJournal(tmp_path / "pool.audit_responses.jsonl")
    assert served <= ledger.spend.total().total_tokens <= cap and ledger.spend.total().unanswered > 0
    ledger.close()
