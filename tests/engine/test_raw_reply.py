"""Replies read by raw_reply, the one reader of reply shapes: what each shape reads as, every malformed shape
retried as a malformed 200 by the online client, and the Batch path reading each shape as the online client does,
over real HTTP against the loopback fakes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest

from selfinstruct.engine.batch.api import MALFORMED as MALFORMED_LINE
from selfinstruct.engine.batch.api import BatchClient, BatchRequest, BatchResults
from selfinstruct.engine.raw_reply import MalformedResponse, read_reply
from selfinstruct.engine.types import Api, Completion, EndpointSettings, StepParams
from selfinstruct.errors import EndpointError
from tests.servers import FakeBatches, Fault, StartServer, usage_faults

PARAMS = StepParams(temperature=0.0, top_p=1.0, max_tokens=16)
CHOICE = {"index": 0, "finish_reason": "stop", "logprobs": None}
# Bodies the SDK's objects once let through to an uncaught KeyError or a wrong answer, and shapes around them.
MALFORMED = {
    "choices_object": {"choices": {"0": {"message": {"content": "x"}}}},
    "choices_string": {"choices": "ok"},
    "choice_string": {"choices": ["ok"]},
    "message_string": {"choices": [{**CHOICE, "message": "ok"}]},
    "no_message": {"choices": [{**CHOICE}]},
    "content_number": {"choices": [{**CHOICE, "message": {"role": "assistant", "content": 7}}]},
    "json_list": [{"choices": []}],
    "json_string": "<html>502</html>",
    "json_number": 12,
}


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_a_malformed_shape_is_retried_then_answered(
    kind: str, fake_openai: StartServer, complete: Callable[..., str]
) -> None:
    with fake_openai(lambda r: "ok") as server:
        server.inject(Fault(body=json.dumps(MALFORMED[kind]), content_type="application/json"))
        assert complete(server, retries=2) == "ok"
        assert len(server.requests) == 2 and server.pending_faults() == 0


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_a_malformed_shape_every_time_is_one_clear_error(
    kind: str, fake_openai: StartServer, complete: Callable[..., str]
) -> None:
    with fake_openai(lambda r: "ok") as server:
        server.inject_when(lambda r: True, Fault(body=json.dumps(MALFORMED[kind]), content_type="application/json"), 9)
        with pytest.raises(EndpointError, match=r"gave up after 2 attempts \(malformed 200 response: "):
            complete(server, retries=1)


def _body(api: str, text: Any, **choice: Any) -> dict[str, Any]:
    content = {"message": {"role": "assistant", "content": text}} if api == "chat" else {"text": text}
    kind = "chat.completion" if api == "chat" else "text_completion"
    usage = {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}
    return {"id": "x", "object": kind, "created": 1, "model": "m", "choices": [{**CHOICE, **content, **choice}]} | {
        "usage": usage
    }


# Well-formed replies: the choice's extra fields, and the (finish reason, stop reason) read from them.
SHAPES: dict[str, tuple[dict[str, Any], tuple[str, str | None]]] = {
    "plain": ({}, ("stop", None)),
    "length": ({"finish_reason": "length"}, ("length", None)),
    "null_finish": ({"finish_reason": None}, ("stop", None)),
    "vllm_stop_string": ({"stop_reason": "\n\n16"}, ("stop", "\n\n16")),
    "vllm_stop_token": ({"stop_reason": 128009}, ("stop", "")),  # a stop token's id: no stop string fired
    "vllm_no_stop": ({"stop_reason": None}, ("stop", "")),  # vLLM says none fired (an EOS)
}


@pytest.mark.parametrize("api", ["chat", "completions"])
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_well_formed_reply_reads_its_text_finish_stop_and_usage(api: Api, shape: str) -> None:
    choice, (finish, stop) = SHAPES[shape]
    got = read_reply(json.dumps(_body(api, "Task: sort a list", **choice)).encode(), api)
    assert got == Completion("Task: sort a list", finish, 5, 2, stop, reported=True)


def _with_usage(body: dict[str, Any], fault: str) -> dict[str, Any]:
    spec = usage_faults()[fault]
    if spec.omit_usage:
        return {k: v for k, v in body.items() if k != "usage"}
    return body | {"usage": spec.usage}


@pytest.mark.parametrize("fault", sorted(usage_faults()))
def test_unusable_usage_is_read_as_not_reported(fault: str) -> None:
    got = read_reply(json.dumps(_with_usage(_body("chat", "ok"), fault)).encode(), "chat")
    assert (got.text, got.prompt_tokens, got.completion_tokens, got.reported) == ("ok", 0, 0, False)


# -- the Batch path reads the same shapes the same way --------------------------------------------------------


def _bodies(api: str) -> dict[str, Any]:
    """Every shape of this file, for one API: well-formed, with unusable usage, empty, and malformed."""
    return {
        **{f"well_formed_{name}": _body(api, "Task: sort a list", **choice) for name, (choice, _) in SHAPES.items()},
        **{f"usage_{fault}": _with_usage(_body(api, "ok"), fault) for fault in usage_faults()},
        "empty_choices": {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 0}},
        "null_content": _body(api, None),
        **MALFORMED,
    }


def _online_reading(body: Any, api: Api) -> Completion | str:
    """What the online client makes of a 200 with this body: a completion, or the malformed reply it retries."""
    try:
        return read_reply(json.dumps(body).encode(), api)
    except MalformedResponse as exc:
        return f"{MALFORMED_LINE}: {exc}"


def _batch_reading(body: Any, api: Api, fake_openai: StartServer, fake_batches: Callable[..., FakeBatches]) -> Any:
    """What the Batch path makes of a result line with this body, over HTTP: a completion, or the failure it
    retries."""
    batches = fake_batches()
    with fake_openai(lambda r: "ok", routes=batches) as server:
        server.inject_when(lambda r: True, Fault(body=json.dumps(body)), times=1)
        settings = EndpointSettings(base_url=server.url, api_key="k", model="m", api=api, max_retries=0)

        async def go() -> BatchResults:
            client = BatchClient(settings, poll_seconds=0.01, max_poll_seconds=0.02)
            try:
                submitted = await client.submit([BatchRequest("r0", "Say ok", PARAMS, seed=0)])
                return await client.results(await client.wait(submitted.id, None), ["r0"])
            finally:
                await client.aclose()

        results = asyncio.run(go())
    return results.completions.get("r0") or results.failures.get("r0")


@pytest.mark.parametrize("api", ["chat", "completions"])
@pytest.mark.parametrize("shape", sorted(_bodies("chat")))
def test_the_batch_path_reads_each_shape_as_the_online_client_does(
    shape: str, api: Api, fake_openai: StartServer, fake_batches: Callable[..., FakeBatches]
) -> None:
    """Before, a batch line was read through the SDK's types (pydantic), the online reply from its bytes: a shape
    fixed in one reader stayed broken in the other (a choices object was "3 schema errors" in a batch)."""
    body = _bodies(api)[shape]
    assert _batch_reading(body, api, fake_openai, fake_batches) == _online_reading(body, api)


def test_empty_choices_and_null_content_are_empty_answers_not_faults() -> None:
    empty = read_reply(
        json.dumps({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 0}}).encode(), "chat"
    )
    assert (empty.text, empty.finish_reason, empty.prompt_tokens) == ("", "empty", 3)
    assert read_reply(json.dumps(_body("chat", None)).encode(), "chat").text == ""


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"", "an empty body"),
        (b"  \n", "an empty body"),
        (b'{"id": "x", "choices": [', "broken JSON"),
        (b"<html><h1>502 Bad Gateway</h1></html>", "a page that is not JSON ('<html><h1>502"),
        (b"\xff\xfe{", "a page that is not JSON"),
    ],
)
def test_a_body_that_is_not_json_says_what_it_is(raw: bytes, words: str) -> None:
    with pytest.raises(MalformedResponse) as info:
        read_reply(raw, "completions")
    assert str(info.value).startswith(words)
