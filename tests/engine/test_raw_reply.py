"""Replies read from their raw bytes (raw_reply): the same Completion the SDK's types gave, every malformed shape
retried as a malformed 200, over real HTTP against the loopback fake."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import openai
import pytest

from selfinstruct.engine.raw_reply import read_reply
from selfinstruct.engine.types import StepParams
from selfinstruct.engine.wire import MalformedResponse, completion_of
from selfinstruct.errors import EndpointError
from tests.servers import Fault, StartServer, usage_faults

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


def _sdk_reading(body: dict[str, Any], api: Any) -> Any:
    """What the SDK's post() made of a body before raw_reply: its types built without validation (construct)."""
    from openai._models import construct_type

    model = openai.types.chat.ChatCompletion if api == "chat" else openai.types.Completion
    return completion_of(construct_type(type_=model, value=body), api)


def _body(api: str, text: Any, **choice: Any) -> dict[str, Any]:
    content = {"message": {"role": "assistant", "content": text}} if api == "chat" else {"text": text}
    kind = "chat.completion" if api == "chat" else "text_completion"
    usage = {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}
    return {"id": "x", "object": kind, "created": 1, "model": "m", "choices": [{**CHOICE, **content, **choice}]} | {
        "usage": usage
    }


SHAPES: dict[str, dict[str, Any]] = {
    "plain": {},
    "length": {"finish_reason": "length"},
    "null_finish": {"finish_reason": None},
    "vllm_stop_string": {"stop_reason": "\n\n16"},
    "vllm_stop_token": {"stop_reason": 128009},
    "vllm_no_stop": {"stop_reason": None},
}


@pytest.mark.parametrize("api", ["chat", "completions"])
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_well_formed_reply_reads_as_the_sdk_types_read_it(api: str, shape: str) -> None:
    body = _body(api, "Task: sort a list", **SHAPES[shape])
    assert read_reply(json.dumps(body).encode(), api) == _sdk_reading(body, api)  # type: ignore[arg-type]


@pytest.mark.parametrize("fault", sorted(usage_faults()))
def test_unusable_usage_reads_as_the_sdk_types_read_it(fault: str) -> None:
    body = _body("chat", "ok")
    spec = usage_faults()[fault]
    if spec.omit_usage:
        del body["usage"]
    else:
        body["usage"] = spec.usage
    got = read_reply(json.dumps(body).encode(), "chat")
    assert got == _sdk_reading(body, "chat") and not got.reported


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
