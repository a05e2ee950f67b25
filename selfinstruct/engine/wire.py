"""What goes over the wire for one completion, shared by the synchronous and the batch engine.

Both engines must send byte-for-byte the same request for the same step, prompt, parameters and seed, and
read a reply the same way, or a batch run would not be the run it claims to be.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from typing import Any

from selfinstruct.engine.types import Api, Completion, EndpointSettings, StepParams
from selfinstruct.io.records import is_count

log = logging.getLogger(__name__)

CHAT_PATH = "/v1/chat/completions"
COMPLETIONS_PATH = "/v1/completions"


# OpenAI's reasoning models (o1, o3, o4-mini, gpt-5...; not gpt-5-chat) refuse max_tokens ("use
# max_completion_tokens"), any temperature or top_p but the default, the penalties and stop sequences.
_OPENAI_REASONING = re.compile(r"^(?:openai/)?(?:o\d+(?:-|$)|gpt-5(?!-chat))", re.IGNORECASE)


def is_openai_reasoning_model(model: str) -> bool:
    return bool(_OPENAI_REASONING.match(model))


def request_body(settings: EndpointSettings, prompt: str, params: StepParams, seed: int | None) -> dict[str, Any]:
    """The JSON body of one request (without `stream`), for the endpoint's API kind. An OpenAI reasoning model
    gets only what it accepts: max_completion_tokens (its thinking counts in it) and low reasoning effort,
    sampling at its defaults, no stops (its reply ends with its turn) and no seed. The step's own API, when it
    has one, wins over the endpoint's (StepParams.api)."""
    api = params.api_on(settings.api)
    if api == "chat" and is_openai_reasoning_model(settings.model):
        return {
            "model": settings.model,
            "max_completion_tokens": params.max_tokens,
            "reasoning_effort": "low",
            "messages": [{"role": "user", "content": prompt}],
        }
    body: dict[str, Any] = {
        "model": settings.model,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "max_tokens": params.max_tokens,
    }
    if params.stop:
        body["stop"] = list(params.stop)[:4]
    if params.presence_penalty:
        body["presence_penalty"] = params.presence_penalty
    if params.frequency_penalty:
        body["frequency_penalty"] = params.frequency_penalty
    if seed is not None:
        body["seed"] = seed
    if api == "chat":
        body["messages"] = [{"role": "user", "content": prompt}]
    else:
        body["prompt"] = prompt
    return body


def request_path(settings: EndpointSettings, params: StepParams | None = None) -> str:
    """The path a request goes to: the step's API when it has one, else the endpoint's."""
    api = params.api_on(settings.api) if params is not None else settings.api
    return CHAT_PATH if api == "chat" else COMPLETIONS_PATH


def parse_body(settings: EndpointSettings, body: dict[str, Any]) -> Completion:
    """A `Completion` from a raw 200 body (a batch output line), read as the synchronous client reads a reply;
    ValueError when it is not one."""
    import openai.types
    import openai.types.chat
    import pydantic

    model: Any = openai.types.chat.ChatCompletion if settings.api == "chat" else openai.types.Completion
    try:  # usage is read apart: a reply whose usage is unusable is charged an estimate, not failed
        reply = model.model_validate({key: value for key, value in body.items() if key != "usage"})
        return completion_of(reply, settings.api, body.get("usage", {}))
    except pydantic.ValidationError as exc:
        raise ValueError(f"not a completion body ({exc.error_count()} schema errors)") from None
    except MalformedResponse as exc:
        raise ValueError(str(exc)) from None


class MalformedResponse(Exception):
    """A 200 whose body is not a completion (a proxy's HTML page, broken JSON, no choices): retried like a 5xx."""


def completion_of(reply: Any, api: Api, usage: Any = None) -> Completion:
    """The text, finish reason and usage of a parsed response, or MalformedResponse saying what is wrong.
    `usage`: the raw usage object when the reply was parsed without it (parse_body)."""

    if isinstance(reply, (str, bytes)):
        text = reply if isinstance(reply, str) else reply.decode("utf-8", "replace")
        snippet = " ".join(text.split())[:80]
        raise MalformedResponse(f"a page that is not JSON ({snippet!r})" if snippet else "an empty body")
    choices = getattr(reply, "choices", None)
    counts = usage_counts(usage if usage is not None else getattr(reply, "usage", None))
    prompt_tokens, completion_tokens = counts or (0, 0)
    if choices is None:
        raise MalformedResponse("JSON without choices")
    if not choices:  # a well-formed answer with nothing in it: an empty response, not an endpoint fault
        return Completion("", "empty", prompt_tokens, 0, reported=counts is not None)
    try:
        choice = choices[0]
        text = choice.message.content if api == "chat" else choice.text
        finish = choice.finish_reason or "stop"
    except (AttributeError, TypeError, IndexError):
        raise MalformedResponse(f"a choice of unexpected shape ({str(choices[0])[:80]!r})") from None
    if text is not None and not isinstance(text, str):
        raise MalformedResponse(f"a choice whose text is {type(text).__name__}")
    stop = getattr(choice, "stop_reason", None)  # (an int there is a stop token id: no string was matched)
    names_stops = "stop_reason" in (getattr(choice, "model_extra", None) or {})
    stop_reason = stop if isinstance(stop, str) else ("" if names_stops else None)  # "": it says none fired
    return Completion(text or "", str(finish), prompt_tokens, completion_tokens, stop_reason, counts is not None)


def usage_counts(usage: Any) -> tuple[int, int] | None:
    """(prompt, completion) tokens when the reply reports both as whole numbers >= 0; None for usage that is
    missing, negative, fractional or not a number (some proxies and older local servers): the reply is then
    charged an estimate instead (budget.charged)."""
    if isinstance(usage, dict):
        counts = (usage.get("prompt_tokens"), usage.get("completion_tokens"))
    else:
        counts = (getattr(usage, "prompt_tokens", None), getattr(usage, "completion_tokens", None))
    whole = [c for c in counts if is_count(c)]
    return (whole[0], whole[1]) if len(whole) == 2 else None


MAX_REPLY_CHARS = 4096  # plus REPLY_CHARS_PER_TOKEN per max_tokens: more than any honest reply of that length
REPLY_CHARS_PER_TOKEN = 32


def capped(result: Completion, max_tokens: int) -> Completion:
    """A reply longer than max_tokens can make (a 10 MB body) is cut there, as a reply that hit max_tokens
    (finish_reason "length"), so that the journal and the pipeline never hold the rest."""
    limit = MAX_REPLY_CHARS + REPLY_CHARS_PER_TOKEN * max_tokens
    if len(result.text) <= limit:
        return result
    log.warning("a reply of %d characters was cut to %d (max_tokens %d)", len(result.text), limit, max_tokens)
    return dataclasses.replace(result, text=result.text[:limit], finish_reason="length", stop_reason=None)
