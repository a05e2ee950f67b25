"""What goes over the wire for one completion, shared by the synchronous and the batch engine.

Both engines must send byte-for-byte the same request for the same step, prompt, parameters and seed, and
read a reply the same way (`raw_reply`, the one reader of reply shapes), or a batch run would not be the run it
claims to be.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from typing import Any

from selfinstruct.engine.types import Completion, EndpointSettings, StepParams

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
            "messages": _messages(prompt, params),
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
        body["messages"] = _messages(prompt, params)
    else:
        body["prompt"] = f"{params.system}\n\n{prompt}" if params.system else prompt
    return body


def _messages(prompt: str, params: StepParams) -> list[dict[str, str]]:
    """The chat messages of a prompt: the step's system message (when it has one), then the prompt."""
    user = {"role": "user", "content": prompt}
    return [{"role": "system", "content": params.system}, user] if params.system else [user]


def request_path(settings: EndpointSettings, params: StepParams | None = None) -> str:
    """The path a request goes to: the step's API when it has one, else the endpoint's."""
    api = params.api_on(settings.api) if params is not None else settings.api
    return CHAT_PATH if api == "chat" else COMPLETIONS_PATH


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
