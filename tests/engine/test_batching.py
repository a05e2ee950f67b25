"""The batching client: the pipeline's requests gathered into batches, none ever submitted twice."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from selfinstruct.engine.batch.api import BatchRequest
from selfinstruct.engine.batch.client import BatchingClient
from selfinstruct.engine.batch.ids import custom_id
from selfinstruct.engine.batch.ledger import LEDGER, BatchLedger
from selfinstruct.engine.budget import Budget
from selfinstruct.engine.context_window import ContextLengthError
from selfinstruct.engine.journal import JOURNAL, ResponseJournal
from selfinstruct.engine.journaled import JournaledClient
from selfinstruct.engine.types import Completion, EndpointSettings, StepParams, StepUsage, Usage
from selfinstruct.errors import EndpointError, InputError
from tests.servers import FakeBatches, FakeOpenAIServer, Reply, Request, StartServer

PARAMS = StepParams(temperature=0.7, top_p=0.5, max_tokens=64)


def _answer(request: Request) -> Reply:
    return Reply(text=f"answer to {request.prompt}")


@pytest.fixture
def fake(
    fake_batches: Callable[..., FakeBatches], fake_openai: StartServer
) -> Iterator[tuple[FakeOpenAIServer, FakeBatches]]:
    batches = fake_batches()
    with fake_openai(_answer, routes=batches) as server:
        yield server, batches


def _client(server: FakeOpenAIServer, run_dir: Path, **kw: object) -> BatchingClient:
    settings = EndpointSettings(base_url=server.url, api_key="k", model="fake-model", max_retries=1)
    return BatchingClient(
        settings, run_dir / LEDGER, gather_seconds=0.05, poll_seconds=0.01, max_poll_seconds=0.02, **kw
    )  # type: ignore[arg-type]


async def _ask_all(client: BatchingClient, prompts: list[str], step: str = "instructions") -> list[Completion]:
    try:
        return list(await asyncio.gather(*(client.complete(step, p, PARAMS, seed=i) for i, p in enumerate(prompts))))
    finally:
        await client.aclose()


def test_requests_asked_together_go_out_as_one_batch(
    tmp_path: Path, fake: tuple[FakeOpenAIServer, FakeBatches]
) -> None:
    server, batches = fake
    client = _client(server, tmp_path)
    answers = asyncio.run(_ask_all(client, [f"p{i}" for i in range(30)]))
    assert [a.text for a in answers] == [f"answer to p{i}" for i in range(30)]
    assert len(batches.created) == 1 and sum(batches.submissions.values()) == 30
    assert client.usage.step("instructions").requests == 30
    assert client.usage.step("instructions").prompt_tokens == 30
    assert BatchLedger(tmp_path / LEDGER).batches == {batches.created[0]: list(batches.submissions)}


def test_the_same_request_twice_is_one_line(tmp_path: Path, fake: tuple[FakeOpenAIServer, FakeBatches]) -> None:
    server, batches = fake
    client = _client(server, tmp_path)

    async def go() -> list[Completion]:
        try:
            return list(await asyncio.gather(*(client.complete("classify", "same", PARAMS, seed=7) for _ in range(3))))
        finally:
            await client.aclose()

    answers = asyncio.run(go())
    assert {a.text for a in answers} == {"answer to same"}
    assert sum(batches.submissions.values()) == 1


def test_custom_id_follows_the_request() -> None:
    s = EndpointSettings(base_url="http://x/v1", api_key="k", model="m")
    assert custom_id(s, "p", PARAMS, 1) == custom_id(s, "p", PARAMS, 1)
    others = {custom_id(s, "p", PARAMS, 2), custom_id(s, "q", PARAMS, 1), custom_id(s, "p", PARAMS, None)}
    assert custom_id(s, "p", PARAMS, 1) not in others and len(others) == 3


def test_failed_lines_are_sent_again_in_the_next_batch(
    tmp_path: Path, fake: tuple[FakeOpenAIServer, FakeBatches]
) -> None:
    server, batches = fake
    batches.fail_rate = 0.3
    client = _client(server, tmp_path, max_attempts=8)
    answers = asyncio.run(_ask_all(client, [f"p{i}" for i in range(40)]))
    assert [a.text for a in answers] == [f"answer to p{i}" for i in range(40)]
    assert len(batches.created) > 1
    resent = sum(n - 1 for n in batches.submissions.values())
    assert resent == client.usage.step("instructions").retries > 0
    ledger = BatchLedger(tmp_path / LEDGER)
    assert all(len(ledger.attempts(cid)) == n for cid, n in batches.submissions.items())


def test_a_failed_batch_is_sent_again(tmp_path: Path, fake: tuple[FakeOpenAIServer, FakeBatches]) -> None:
    server, batches = fake
    batches.fail_next = 1
    answers = asyncio.run(_ask_all(_client(server, tmp_path), ["a", "b"]))
    assert [a.text for a in answers] == ["answer to a", "answer to b"]
    assert len(batches.created) == 2 and set(batches.submissions.values()) == {2}


def test_too_many_failures_stop_with_one_line(tmp_path: Path, fake: tuple[FakeOpenAIServer, FakeBatches]) -> None:
    server, batches = fake
    batches.fail_rate = 1.0
    with pytest.raises(EndpointError, match=r"failed in 2 batches \(last: HTTP 500.*run the same command again"):
        asyncio.run(_ask_all(_client(server, tmp_path, max_attempts=2), ["a"]))
    assert batches.submissions == {custom_id(_client(server, tmp_path).settings, "a", PARAMS, 0): 2}


def test_the_rerun_the_message_suggests_gets_its_own_tries(
    tmp_path: Path, fake: tuple[FakeOpenAIServer, FakeBatches]
) -> None:
    """Issue 20 #6: the tries of earlier processes, kept in batches.jsonl, must not fail the rerun at once."""
    server, batches = fake
    batches.fail_rate = 1.0
    with pytest.raises(EndpointError, match="run the same command again to retry"):
        asyncio.run(_ask_all(_client(server, tmp_path, max_attempts=2), ["a"]))
    batches.fail_rate = 0.0
    rerun = _client(server, tmp_path, max_attempts=2)
    answers = asyncio.run(_ask_all(rerun, ["a"]))
    assert [a.text for a in answers] == ["answer to a"]
    assert len(BatchLedger(tmp_path / LEDGER).attempts(custom_id(rerun.settings, "a", PARAMS, 0))) == 3


def test_context_too_long_is_raised_for_the_pipeline_to_shorten(
    tmp_path: Path, fake: tuple[FakeOpenAIServer, FakeBatches]
) -> None:
    server, batches = fake
    batches.fail_rate = 1.0
    batches.line_error = (400, "context_length_exceeded", "This model's maximum context length is 8 tokens.")
    with pytest.raises(ContextLengthError, match="longer than the model's context"):
        asyncio.run(_ask_all(_client(server, tmp_path), ["a long prompt"]))
    assert len(batches.created) == 1


def test_a_rejected_line_is_not_sent_again(tmp_path: Path, fake: tuple[FakeOpenAIServer, FakeBatches]) -> None:
    server, batches = fake
    batches.fail_rate = 1.0
    batches.line_error = (400, "invalid_value", "temperature is out of range")
    with pytest.raises(EndpointError, match=r"a batch request was rejected \(HTTP 400 invalid_value: temperature"):
        asyncio.run(_ask_all(_client(server, tmp_path), ["a"]))
    assert len(batches.created) == 1


def test_a_restarted_run_waits_for_the_batch_in_flight(
    tmp_path: Path, fake: tuple[FakeOpenAIServer, FakeBatches]
) -> None:
    server, batches = fake
    batches.step_seconds = 0.3  # the batch stays in flight while the first client dies
    prompts = [f"p{i}" for i in range(5)]

    async def die_after_submit() -> None:
        client = _client(server, tmp_path)
        tasks = [
            asyncio.ensure_future(client.complete("instructions", p, PARAMS, seed=i)) for i, p in enumerate(prompts)
        ]
        while not batches.created:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        for t in tasks:
            t.cancel()
        await client.aclose()

    asyncio.run(die_after_submit())
    assert len(batches.created) == 1
    again = _client(server, tmp_path)
    answers = asyncio.run(_ask_all(again, prompts))
    assert [a.text for a in answers] == [f"answer to {p}" for p in prompts]
    assert len(batches.created) == 1 and set(batches.submissions.values()) == {1}
    assert again.batch_ids == batches.created


def test_ledger_torn_last_line_is_dropped_and_damage_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / LEDGER
    good = '{"file": "f1", "custom_ids": ["x"]}\n{"file": "f1", "batch": "b1"}\n'
    path.write_text(good + '{"file": "f2", "cust')
    ledger = BatchLedger(path)
    assert ledger.batches == {"b1": ["x"]} and ledger.attempts("x") == ["f1"]
    assert path.read_text() == good
    path.write_text("garbage\n" + good)
    with pytest.raises(InputError, match=r"batches.jsonl:1: not a batch record"):
        BatchLedger(path)


def test_a_batch_created_but_not_recorded_is_found_not_created_again(
    tmp_path: Path, fake: tuple[FakeOpenAIServer, FakeBatches]
) -> None:
    """A kill between the create call and the ledger line: the restart finds the batch by its input file."""
    server, batches = fake
    client = _client(server, tmp_path)

    async def upload_and_create_unrecorded() -> None:
        cid = custom_id(client.settings, "a", PARAMS, 0)
        try:
            file_id = await client._client.upload([BatchRequest(cid, "a", PARAMS, 0)])
            client.ledger.add_file(file_id, [cid])
            await client._client.create(file_id)  # killed before the ledger heard of this batch
        finally:
            await client.aclose()

    asyncio.run(upload_and_create_unrecorded())
    assert len(batches.created) == 1
    again = _client(server, tmp_path)
    answers = asyncio.run(_ask_all(again, ["a"]))
    assert answers[0].text == "answer to a"
    assert len(batches.created) == 1 and again.batch_ids == batches.created


def _garbling(server: FakeOpenAIServer) -> None:
    """Lines asking about "garbled" are answered 200 with a body that is no completion (billed, unreadable)."""
    original = server.answer_body

    def answer_body(path: str, body: dict[str, Any]) -> Any:
        return {"choices": "nonsense"} if "garbled" in json.dumps(body) else original(path, body)

    server.answer_body = answer_body  # type: ignore[method-assign]


def test_lines_nobody_took_are_journaled_and_charged_by_the_sweep(
    tmp_path: Path, fake_batches: Callable[..., FakeBatches], fake_openai: StartServer
) -> None:
    """The resume gap: a batch submitted before a kill whose lines the next run does not ask again was paid, but
    its replies were never read, so they stayed charged their reservation and a later request could not find them
    in the journal. The sweep journals them under their keys and charges what they report; a line that came back
    unreadable keeps its reservation and gives nothing to replay."""
    batches = fake_batches(step_seconds=600)  # in flight until the test finishes it
    prompts = ["p0", "p1", "cut here", "garbled"]

    def answer(request: Request) -> Reply:
        if "cut" in request.prompt:
            return Reply(text="half a sent", finish_reason="length")
        return Reply(text=f"answer to {request.prompt}")

    def open_client(shown: list[str] | None = None) -> tuple[ResponseJournal, BatchingClient]:
        journal = ResponseJournal(tmp_path / JOURNAL)
        client = _client(
            server, tmp_path, journal=journal, usage=journal.spend, on_status=None if shown is None else shown.append
        )
        return journal, client

    async def give_up_after_submit(client: BatchingClient) -> None:
        """A run that asked, then was killed (or stopped) while its batch was in flight."""
        tasks = [asyncio.ensure_future(client.complete("answer", p, PARAMS, seed=i)) for i, p in enumerate(prompts)]
        while not client.ledger.batch_of:
            await asyncio.sleep(0.01)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await client.aclose()

    async def sweep(client: BatchingClient) -> None:
        try:
            await client.sweep()
        finally:
            await client.aclose()

    with fake_openai(answer, routes=batches) as server:
        _garbling(server)
        journal, client = open_client()
        asyncio.run(give_up_after_submit(client))
        journal.close()
        shown: list[str] = []
        journal, client = open_client(shown)  # the next run, while the batch still runs: nothing to settle yet
        assert journal.spend.step("answer").unanswered == 4
        asyncio.run(sweep(client))
        journal.close()
        assert "4 paid batch line(s)" in " ".join(shown) and batches.created[0] in " ".join(shown)
        batches.finish(server)  # a day later
        shown.clear()
        journal, client = open_client(shown)
        asyncio.run(sweep(client))
        journal.close()
        assert "collected 3 batch line(s)" in " ".join(shown)
        served = server.served_tokens
    journal = ResponseJournal(tmp_path / JOURNAL)  # what the run directory spent, read afresh
    stats = journal.spend.step("answer")
    garbled = journal.unanswered.popitem()[1]  # the unreadable line: still its reservation
    assert journal.unanswered == {} and stats.unanswered == 1 and stats.requests == 3 and len(journal) == 3
    # the three replies charged what the server metered for them (the garbled body bypasses its meter)
    assert stats.prompt_tokens + stats.completion_tokens - garbled[1] - garbled[2] == served
    replayed = JournaledClient(_client(server, tmp_path, journal=journal), journal)
    cut = asyncio.run(replayed.complete("answer", "cut here", PARAMS, seed=2))  # served from the journal
    journal.close()
    assert (cut.text, cut.finish_reason) == ("half a sent", "length")  # the caller sees the cut, as ever
    assert replayed.replayed.step("answer").requests == 1 and len(batches.created) == 1


def test_the_sweep_corrects_the_counts_of_requests_given_up_in_the_same_run(
    tmp_path: Path, fake_batches: Callable[..., FakeBatches], fake_openai: StartServer
) -> None:
    """A request given up on while its batch runs (the target reached) is charged its reservation at once, in the
    run's usage and budget; when the batch has finished by the end of the run, the sweep replaces that by what the
    reply reports, and a line that failed unbilled by nothing."""
    batches = fake_batches(step_seconds=600)
    batches.line_error = (500, None, "injected")
    with fake_openai(_answer, routes=batches) as server:
        journal = ResponseJournal(tmp_path / JOURNAL)
        budget = Budget(max_tokens=100_000)
        client = _client(server, tmp_path, journal=journal, usage=journal.spend, budget=budget)

        async def run() -> None:
            try:
                tasks = [asyncio.ensure_future(client.complete("answer", f"q{i}", PARAMS, seed=i)) for i in range(6)]
                while not client.ledger.batch_of:
                    await asyncio.sleep(0.01)
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                given_up = client.usage.step("answer")
                assert given_up.unanswered == 6 and budget.used_tokens == given_up.prompt_tokens + 6 * 64
                batches.fail_rate = 0.5
                batches.finish(server)
                await client.sweep()
            finally:
                await client.aclose()
                journal.close()

        asyncio.run(run())
        failed = sum(b.failed for b in batches.batches.values())
    stats = client.usage.step("answer")
    assert 0 < failed < 6 and stats.unanswered == 0 and stats.requests == 6 - failed
    assert stats.prompt_tokens + stats.completion_tokens == budget.used_tokens == server.served_tokens


def test_a_job_sweeping_an_earlier_runs_lines_leaves_its_own_counts_alone(
    tmp_path: Path, fake_batches: Callable[..., FakeBatches], fake_openai: StartServer
) -> None:
    """respond, prefer and audit count this process's requests only (their usage starts at zero; what the run
    directory spent is the budget's, read from the journal). A line of an earlier process collected by the sweep
    corrects the budget to what the server served, and must not be taken out of counts that never held it (they
    went negative: -1 unanswered, minus the reservation's tokens)."""
    batches = fake_batches(step_seconds=600)
    with fake_openai(_answer, routes=batches) as server:
        journal = ResponseJournal(tmp_path / JOURNAL)
        earlier = _client(server, tmp_path, journal=journal, usage=journal.spend)

        async def give_up() -> None:
            try:
                tasks = [asyncio.ensure_future(earlier.complete("answer", f"q{i}", PARAMS, seed=i)) for i in range(3)]
                while not earlier.ledger.batch_of:
                    await asyncio.sleep(0.01)
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            finally:
                await earlier.aclose()

        asyncio.run(give_up())
        journal.close()
        batches.finish(server)
        journal = ResponseJournal(tmp_path / JOURNAL)
        spent = journal.spend.total()
        budget = Budget(max_tokens=100_000, used_tokens=spent.prompt_tokens + spent.completion_tokens)
        usage = Usage()
        client = _client(server, tmp_path, journal=journal, usage=usage, budget=budget, counts_earlier=False)

        async def sweep() -> None:
            try:
                await client.sweep()
            finally:
                await client.aclose()

        asyncio.run(sweep())
        journal.close()
        served = server.served_tokens
    assert usage.to_dict() == Usage().to_dict()  # nothing this process asked: nothing counted
    assert budget.used_tokens == served and len(ResponseJournal(tmp_path / JOURNAL)) == 3


def test_a_job_request_answered_by_an_earlier_runs_batch_line_leaves_its_own_counts_alone(
    tmp_path: Path, fake_batches: Callable[..., FakeBatches], fake_openai: StartServer
) -> None:
    """The same as the sweep above, but the earlier process's lines are taken by this process's own requests for
    the same questions (JournaledClient over BatchingClient, as respond, prefer and audit ask): the budget takes
    the lines' reservations back and holds what the server served; this process paid for nothing, so its counts
    stay at zero (they went negative: -1 unanswered each, minus the reservations, plus the replies) and the
    replies count as replayed."""
    batches = fake_batches(step_seconds=600)
    with fake_openai(_answer, routes=batches) as server:
        journal = ResponseJournal(tmp_path / JOURNAL)
        earlier = _client(server, tmp_path, journal=journal, usage=journal.spend)

        async def give_up() -> None:
            try:
                tasks = [asyncio.ensure_future(earlier.complete("answer", f"q{i}", PARAMS, seed=i)) for i in range(3)]
                while not earlier.ledger.batch_of:
                    await asyncio.sleep(0.01)
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            finally:
                await earlier.aclose()

        asyncio.run(give_up())
        journal.close()
        batches.finish(server)
        journal = ResponseJournal(tmp_path / JOURNAL)
        spent = journal.spend.total()
        budget = Budget(max_tokens=100_000, used_tokens=spent.prompt_tokens + spent.completion_tokens)
        usage = Usage()
        inner = _client(server, tmp_path, journal=journal, usage=usage, budget=budget, counts_earlier=False)
        client = JournaledClient(inner, journal)

        async def ask() -> list[Completion]:
            try:
                return list(
                    await asyncio.gather(*(client.complete("answer", f"q{i}", PARAMS, seed=i) for i in range(3)))
                )
            finally:
                await client.aclose()

        replies = asyncio.run(ask())
        journal.close()
        served = server.served_tokens
    assert [r.text for r in replies] == [f"answer to q{i}" for i in range(3)]
    assert len(batches.created) == 1  # the earlier batch's lines, nothing submitted again
    assert usage.to_dict() == {"answer": dataclasses.asdict(StepUsage())}  # nothing this process paid for
    assert client.replayed.step("answer").requests == 3
    assert budget.used_tokens == served and ResponseJournal(tmp_path / JOURNAL).unanswered == {}
