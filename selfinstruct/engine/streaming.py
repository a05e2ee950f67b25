"""One streamed completion, for the embedded model: no deadline on the whole reply, only on silence.

A llama.cpp server on an oversubscribed CPU may decode one token a second: a fixed total timeout then throws
away minutes of decoded tokens and sends the request again, slower still. Streamed, every token shows that
the server is alive; an attempt ends only when no token has come for `idle` seconds (--timeout). How fast
each reply was decoded goes to `pace` (see localmodel.PaceWatch), which says when the machine looks busy.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from selfinstruct.engine.raw_reply import usage_counts

if TYPE_CHECKING:
    import openai

Pace = Callable[[int, float], None]  # told each streamed reply's completion tokens and decoding seconds


class StreamBroken(Exception):
    """The stream stopped before its end (connection lost, an error event, no chunk at all): retried like a
    dropped connection."""


@dataclass(frozen=True)
class Streamed:
    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    reported: bool = True  # False: the stream had no usable usage


@functools.cache
def _transport_errors() -> tuple[type[Exception], ...]:
    """The HTTP library's transport errors, which reach a stream's reader unwrapped: the SDK's client is httpx
    in older releases and httpx2 in newer ones (a fresh install may have only one of them), and with the aiohttp
    transport LLMClient uses, aiohttp's errors that its adapter does not translate."""
    errors: list[type[Exception]] = []
    for name, error in (("httpx2", "TransportError"), ("httpx", "TransportError"), ("aiohttp", "ClientError")):
        try:
            errors.append(getattr(importlib.import_module(name), error))
        except ImportError:
            continue
    return tuple(errors)


async def streamed_completion(
    client: openai.AsyncOpenAI,
    path: str,
    body: dict[str, Any],
    api: Literal["chat", "completions"],
    idle: float,
    pace: Pace | None = None,
) -> Streamed:
    """The completion of `body`, streamed; TimeoutError when no chunk came for `idle` seconds."""
    import openai

    transport_errors = _transport_errors()
    chunk_type: Any = openai.types.chat.ChatCompletionChunk if api == "chat" else openai.types.Completion
    last = [time.monotonic()]  # when the last chunk came (or the request went)
    first: list[float] = []  # when the first token came: decoding starts there
    pieces: list[str] = []
    finish = ["stop"]
    usage: list[Any] = [None]

    async def consume() -> None:
        stream = await client.post(
            path, body={**body, "stream": True, "stream_options": {"include_usage": True}},
            cast_to=chunk_type, stream=True, stream_cls=openai.AsyncStream[chunk_type],
        )  # fmt: skip
        try:
            async for chunk in stream:
                last[0] = time.monotonic()
                if getattr(chunk, "usage", None) is not None:
                    usage[0] = chunk.usage
                for choice in getattr(chunk, "choices", None) or []:
                    text = choice.delta.content if api == "chat" else choice.text
                    if text:
                        first[:] = first or [last[0]]
                        pieces.append(text)
                    if choice.finish_reason:
                        finish[0] = str(choice.finish_reason)
        except transport_errors as exc:  # the SDK wraps these before the first byte only
            raise StreamBroken(f"{type(exc).__name__}: {exc}".rstrip(": ")) from None
        except openai.APIError as exc:
            if isinstance(exc, (openai.APIStatusError, openai.APIConnectionError)):
                raise
            raise StreamBroken(f"an error event in the stream: {exc.message}") from None
        finally:
            await stream.close()

    consumer = asyncio.ensure_future(consume())
    try:
        while not consumer.done():
            silent = time.monotonic() - last[0]
            if silent >= idle:
                raise TimeoutError(f"no token for {idle:g} s")
            await asyncio.wait({consumer}, timeout=idle - silent)
    finally:
        consumer.cancel()  # a no-op once it is done
        await asyncio.gather(consumer, return_exceptions=True)  # its outcome taken in whatever happens
    consumer.result()  # the SDK's errors (HTTP status, connection) reach the caller's retry loop as they are
    if usage[0] is None and not pieces:
        raise StreamBroken("a stream without a chunk")
    counts = usage_counts(usage[0])  # None: no usable usage, and the reply is charged an estimate
    prompt_tokens, completion_tokens = counts or (0, 0)
    if pace is not None and first and completion_tokens > 1:
        pace(completion_tokens, max(last[0] - first[0], 1e-3))
    return Streamed("".join(pieces), finish[0], prompt_tokens, completion_tokens, counts is not None)
