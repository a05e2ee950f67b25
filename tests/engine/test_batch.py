"""The Batch API transport against the loopback fake of /v1/files and /v1/batches."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import Callable, Iterator

import pytest

from selfinstruct.engine.batch.api import BatchClient, BatchRequest, BatchStatus, request_file
from selfinstruct.engine.types import EndpointSettings, StepParams
from selfinstruct.engine.wire import request_body
from selfinstruct.errors import EndpointError
from tests.servers import FakeBatches, FakeOpenAIServer, Reply, Request, StartServer

PARAMS = StepParams(temperature=0.7, top_p=0.5, max_tokens=64, stop=("\n\n",))


def _answer(request: Request) -> Reply:
    if "cut" in request.prompt:
        return Reply(text="half a sent", finish_reason="length")
    return Reply(text=f"answer to {request.prompt}")


@pytest.fixture
def fake(
    fake_batches: Callable[..., FakeBatches], fake_openai: StartServer
) -> Iterator[tuple[FakeOpenAIServer, FakeBatches]]:
    batches = fake_batches()
    with fake_openai(_answer, routes=batches) as server:
        yield server, batches


def _settings(server: FakeOpenAIServer, api: str = "chat") -> EndpointSettings:
    return EndpointSettings(base_url=server.url, api_key="k", model="fake-model", api=api, max_retries=2)  # type: ignore[arg-type]


def _requests(n: int, prefix: str = "q") -> list[BatchRequest]:
    return [BatchRequest(f"r{i}", f"{prefix} {i}", PARAMS, seed=i) for i in range(n)]


def _run(settings: EndpointSettings, requests: list[BatchRequest], seen: list[BatchStatus] | None = None):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        client = BatchClient(settings, poll_seconds=0.01, max_poll_seconds=0.02)
        try:
            submitted = await client.submit(requests)
            final = await client.wait(submitted.id, seen.append if seen is not None else None)
            return submitted, final, await client.results(final, [r.custom_id for r in requests])
        finally:
            await client.aclose()

    return asyncio.run(go())


def test_request_file_lines_are_the_synchronous_requests(fake: tuple[FakeOpenAIServer, FakeBatches]) -> None:
    server, _ = fake
    settings = _settings(server)
    lines = [json.loads(line) for line in request_file(settings, _requests(2)).decode().splitlines()]
    assert [line["custom_id"] for line in lines] == ["r0", "r1"]
    assert lines[1]["url"] == "/v1/chat/completions"
    assert lines[1]["body"] == request_body(settings, "q 1", PARAMS, 1)
    assert lines[1]["body"]["seed"] == 1 and lines[1]["body"]["stop"] == ["\n\n"]
    with pytest.raises(ValueError, match="appears twice"):
        request_file(settings, [*_requests(1), *_requests(1)])


def test_a_batch_runs_to_completion_and_every_line_is_matched(fake: tuple[FakeOpenAIServer, FakeBatches]) -> None:
    server, batches = fake
    seen: list[BatchStatus] = []
    submitted, final, results = _run(_settings(server), [*_requests(3), BatchRequest("c", "cut me", PARAMS)], seen)
    assert submitted.status == "validating" and submitted.total == 4
    assert [s.status for s in seen] == ["in_progress", "finalizing", "completed"]
    assert final.completed == 4 and final.failed == 0
    assert results.failures == {}
    assert results.completions["r2"].text == "answer to q 2"
    assert results.completions["r2"].finish_reason == "stop"
    assert results.completions["r2"].prompt_tokens == 2
    assert results.completions["c"].finish_reason == "length"
    assert batches.submissions == {"r0": 1, "r1": 1, "r2": 1, "c": 1}
    assert all(r.outcome == "batch" for r in server.requests)


def test_completions_api_batches(fake: tuple[FakeOpenAIServer, FakeBatches]) -> None:
    server, _ = fake
    _, final, results = _run(_settings(server, api="completions"), _requests(2))
    assert final.status == "completed"
    assert results.completions["r1"].text == "answer to q 1"
    assert server.requests[0].path == "/v1/completions"


def test_a_step_with_its_own_api_gets_a_batch_of_its_own(fake: tuple[FakeOpenAIServer, FakeBatches]) -> None:
    """A batch names one endpoint: a step's own API (Magpie's chat answers on a completions endpoint) sends its
    lines to that path, the batch is made for it and its replies are read in its shape; mixing is refused."""
    server, batches = fake
    settings = _settings(server, api="completions")
    chat = dataclasses.replace(PARAMS, api="chat")
    answers = [BatchRequest(f"a{i}", f"q {i}", chat, seed=i) for i in range(2)]
    lines = [json.loads(line) for line in request_file(settings, answers).decode().splitlines()]
    assert {line["url"] for line in lines} == {"/v1/chat/completions"} and "messages" in lines[0]["body"]
    with pytest.raises(ValueError, match="one endpoint path"):
        request_file(settings, [*answers, *_requests(1)])
    _, final, results = _run(settings, answers)
    assert final.status == "completed" and results.completions["a1"].text == "answer to q 1"
    assert batches.batches[final.id].endpoint == "/v1/chat/completions"
    assert [r.path for r in server.requests] == ["/v1/chat/completions"] * 2


def test_the_fake_fails_a_batch_whose_lines_go_elsewhere(fake: tuple[FakeOpenAIServer, FakeBatches]) -> None:
    """What makes the test above mean something: OpenAI fails such a batch in validation, and so does the fake."""
    server, _ = fake
    settings = _settings(server, api="completions")

    async def go() -> BatchStatus:
        client = BatchClient(settings, poll_seconds=0.01, max_poll_seconds=0.02)
        try:
            file_id = await client.upload(_requests(2))
            return await client.wait((await client.create(file_id, path="/v1/chat/completions")).id)
        finally:
            await client.aclose()

    final = asyncio.run(go())
    assert final.status == "failed" and "does not match the batch's endpoint" in final.errors
    assert server.requests == []


def test_the_fake_fails_a_batch_whose_lines_name_two_models(fake: tuple[FakeOpenAIServer, FakeBatches]) -> None:
    """A batch file takes one model, at OpenAI and at the fake: what makes the routed --batch tests (a batch per
    step's model) mean something. The file is uploaded with the SDK itself, as the batching client never mixes."""
    import openai

    server, batches = fake
    cheap, strong = _settings(server), dataclasses.replace(_settings(server), model="strong-model")
    content = request_file(cheap, _requests(1)) + request_file(strong, [BatchRequest("s", "q", PARAMS, seed=1)])
    sdk = openai.OpenAI(base_url=server.url, api_key="k", max_retries=0)
    try:
        uploaded = sdk.files.create(file=("mixed.jsonl", content), purpose="batch")
        created = sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions",
                                     completion_window="24h")  # fmt: skip
        final = sdk.batches.retrieve(created.id)
    finally:
        sdk.close()
    assert final.status == "failed" and final.errors is not None and final.errors.data is not None
    assert "a batch file takes one model" in str(final.errors.data[0].message)
    assert server.requests == [] and batches.batches[created.id].ending == "failed"


def test_failed_lines_are_failures_with_the_reason(fake: tuple[FakeOpenAIServer, FakeBatches]) -> None:
    server, batches = fake
    batches.fail_rate = 0.3
    _, final, results = _run(_settings(server), _requests(40))
    assert final.failed == len(results.failures) > 0
    assert len(results.completions) + len(results.failures) == 40
    assert all(why.startswith("HTTP 500") for why in results.failures.values())


def test_expired_batch_keeps_what_was_done(fake: tuple[FakeOpenAIServer, FakeBatches]) -> None:
    server, batches = fake
    batches.expire_next = 1
    _, final, results = _run(_settings(server), _requests(10))
    assert final.status == "expired"
    assert len(results.completions) == 5
    assert set(results.failures.values()) == {
        "batch_expired: This request could not be executed before the completion window expired."
    }


def test_failed_batch_fails_every_line(fake: tuple[FakeOpenAIServer, FakeBatches]) -> None:
    server, batches = fake
    batches.fail_next = 1
    _, final, results = _run(_settings(server), _requests(3))
    assert final.status == "failed"
    assert results.completions == {}
    assert set(results.failures) == {"r0", "r1", "r2"}
    assert "injected validation failure" in results.failures["r0"]


def test_lines_missing_from_both_files_are_failures(fake: tuple[FakeOpenAIServer, FakeBatches]) -> None:
    server, _ = fake
    settings = _settings(server)

    async def go() -> None:
        client = BatchClient(settings, poll_seconds=0.01)
        try:
            submitted = await client.submit(_requests(2))
            final = await client.wait(submitted.id)
            results = await client.results(final, ["r0", "r1", "ghost"])
        finally:
            await client.aclose()
        assert "ghost" in results.failures and "missing from the output" in results.failures["ghost"]
        assert set(results.completions) == {"r0", "r1"}

    asyncio.run(go())


def test_malformed_result_bodies_are_failures(fake: tuple[FakeOpenAIServer, FakeBatches]) -> None:
    server, _ = fake
    server.answer_body = lambda path, body: {"choices": "nonsense"}  # type: ignore[method-assign]
    _, _, results = _run(_settings(server), _requests(2))
    assert results.completions == {}
    assert all(why.startswith("malformed response body") for why in results.failures.values())


def test_unknown_batch_is_one_clear_error(fake: tuple[FakeOpenAIServer, FakeBatches]) -> None:
    server, _ = fake

    async def go() -> None:
        client = BatchClient(_settings(server))
        try:
            await client.retrieve("batch_nope")
        finally:
            await client.aclose()

    with pytest.raises(EndpointError, match=r"checking batch batch_nope failed: not found \(404\).*Batch API"):
        asyncio.run(go())


def test_control_calls_are_retried_on_server_errors(fake: tuple[FakeOpenAIServer, FakeBatches]) -> None:
    server, batches = fake
    batches.errors_next = [503, 429]  # two of the three attempts the upload may make
    _, final, results = _run(_settings(server), _requests(2))
    assert final.status == "completed" and set(results.completions) == {"r0", "r1"}
    assert batches.errors_next == [] and len(batches.created) == 1


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ((429, "You exceeded your current quota."), r"out of quota \(429 insufficient_quota\).*add credit"),
        ((401, "Incorrect API key provided."), r"authentication failed \(401\).*check OPENAI_API_KEY"),
    ],
)
def test_control_calls_stop_at_once_on_what_cannot_heal(
    fake: tuple[FakeOpenAIServer, FakeBatches], error: tuple[int, str], expected: str
) -> None:
    """The Batch API's control calls decide like the completion requests: a quota 429 is not retried."""
    server, batches = fake
    batches.errors_next = [error, 503, 503]
    with pytest.raises(EndpointError, match=rf"uploading a batch file failed: {expected}"):
        _run(_settings(server), _requests(1))
    assert batches.errors_next == [503, 503] and batches.created == []


def test_control_calls_give_up_with_one_line(fake: tuple[FakeOpenAIServer, FakeBatches]) -> None:
    server, batches = fake
    batches.errors_next = [502] * 3
    with pytest.raises(EndpointError, match=r"uploading a batch file gave up after 3 attempts .*batches in flight"):
        _run(_settings(server), _requests(1))
    assert batches.created == []


def test_a_trickling_control_call_ends_at_the_timeout(fake: tuple[FakeOpenAIServer, FakeBatches]) -> None:
    """A batch status sent a byte every 0.1 s (about a minute) is abandoned after --timeout and asked again."""
    server, batches = fake
    batches.trickle_retrieves = 1
    start = time.monotonic()
    _, final, results = _run(dataclasses.replace(_settings(server), timeout=1.0), _requests(2))
    elapsed = time.monotonic() - start
    assert final.status == "completed" and set(results.completions) == {"r0", "r1"}
    assert batches.trickle_retrieves == 0 and elapsed < 20, f"{elapsed:.0f} s"
