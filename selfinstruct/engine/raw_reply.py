"""The one reader of completion replies: the body of a 200, read as plain JSON (dicts), not the SDK's types.

Both engines read their replies here: the online client the raw bytes of each 200 (`read_reply`), the Batch
API each result line's body (`reply_of`), so a reply shape is understood, or refused, the same way in both, and a
fix to it lands once. The SDK still sends the request and raises its errors (4xx, 5xx, timeouts, dropped
connections). Building the SDK's ChatCompletion/Completion objects cost about a tenth of the client's CPU per
request and only to be read once, field by field (bench_generate profile, 2026-12-06). A malformed body is
refused with words that say what it is: a page that is not JSON, broken JSON, JSON without choices, a choice of
unexpected shape, a text that is not a string.
"""

from __future__ import annotations

import json
from typing import Any

from selfinstruct.engine.types import Api, Completion
from selfinstruct.io.records import is_count


class MalformedResponse(Exception):
    """A 200 whose body is not a completion (a proxy's HTML page, broken JSON, no choices): retried like a 5xx."""


def read_reply(raw: bytes, api: Api) -> Completion:
    """The text, finish reason, stop reason and usage of a 200 body, or MalformedResponse saying what is wrong."""

    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        text = raw.decode("utf-8", "replace")
        snippet = " ".join(text.split())[:80]
        if not snippet:
            raise MalformedResponse("an empty body") from None
        if snippet[0] in "{[":
            raise MalformedResponse(f"broken JSON ({exc})") from None
        raise MalformedResponse(f"a page that is not JSON ({snippet!r})") from None
    return reply_of(body, api)


def reply_of(body: Any, api: Api) -> Completion:
    """`read_reply` of a body already parsed from JSON (a Batch API result line's): the same reading."""
    if isinstance(body, str):
        snippet = " ".join(body.split())[:80]
        raise MalformedResponse(f"a page that is not JSON ({snippet!r})" if snippet else "an empty body")
    choices = body.get("choices") if isinstance(body, dict) else None
    if choices is None:
        raise MalformedResponse("JSON without choices")
    counts = usage_counts(body.get("usage"))
    prompt_tokens, completion_tokens = counts or (0, 0)
    if not isinstance(choices, list):
        raise MalformedResponse(f"choices that are {type(choices).__name__}, not a list")
    if not choices:  # a well-formed answer with nothing in it: an empty response, not an endpoint fault
        return Completion("", "empty", prompt_tokens, 0, reported=counts is not None)
    choice = choices[0]
    text = _text(choice, api)
    if text is not None and not isinstance(text, str):
        raise MalformedResponse(f"a choice whose text is {type(text).__name__}")
    finish = choice.get("finish_reason") or "stop"
    stop = choice.get("stop_reason")  # (an int there is a stop token id: no string was matched)
    stop_reason = stop if isinstance(stop, str) else ("" if "stop_reason" in choice else None)  # "": none fired
    return Completion(text or "", str(finish), prompt_tokens, completion_tokens, stop_reason, counts is not None)


def _text(choice: Any, api: Api) -> Any:
    """The choice's text (None for a chat message without content), or MalformedResponse when the choice has
    none of the shape its API gives it (a chat choice without a message object, a completion without text)."""
    if isinstance(choice, dict):
        if api == "chat":
            message = choice.get("message")
            if isinstance(message, dict):
                return message.get("content")
        elif "text" in choice:
            return choice["text"]
    raise MalformedResponse(f"a choice of unexpected shape ({str(choice)[:80]!r})")


def usage_counts(usage: Any) -> tuple[int, int] | None:
    """(prompt, completion) tokens when the reply reports both as whole numbers >= 0; None for usage that is
    missing, negative, fractional or not a number (some proxies and older local servers): the reply is then
    charged an estimate instead (budget.charged). A dict from a body, or the SDK's usage object of a stream."""
    if isinstance(usage, dict):
        counts = (usage.get("prompt_tokens"), usage.get("completion_tokens"))
    else:
        counts = (getattr(usage, "prompt_tokens", None), getattr(usage, "completion_tokens", None))
    whole = [c for c in counts if is_count(c)]
    return (whole[0], whole[1]) if len(whole) == 2 else None
