"""The served model's own chat template, rendered by the server: llama.cpp's `POST /apply-template` (the embedded
model's server, and llama-server behind a --base-url) turns chat messages into the prompt text the model sees.

Asked through the SDK's generic `post` (no call of its own exists for it), at the server's root beside `/v1`.
Other servers (vLLM, Ollama, OpenAI) have no such route: the answer is then None, and the caller decides
otherwise. Nothing here knows what the prompt is for.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from selfinstruct.engine.aio import deadline
from selfinstruct.engine.types import EndpointSettings

log = logging.getLogger(__name__)
APPLY_TEMPLATE = "/apply-template"
PROBE_SECONDS = 30.0  # a template is rendered in milliseconds; a server that takes longer has no such route


async def render_chat(endpoint: EndpointSettings, messages: list[dict[str, str]]) -> str | None:
    """The prompt text the served model's chat template makes of `messages`, or None when the server cannot
    say (no such route, messages its template refuses, no answer)."""
    import openai

    if not endpoint.base_url:  # OpenAI's API has no such route
        return None
    root = endpoint.base_url.rstrip("/").removesuffix("/v1")
    client = openai.AsyncOpenAI(base_url=endpoint.base_url, api_key=endpoint.api_key, max_retries=0,
                                timeout=min(endpoint.timeout, PROBE_SECONDS))  # fmt: skip
    try:
        raw: bytes = await deadline(
            client.post(root + APPLY_TEMPLATE, body={"messages": messages}, cast_to=bytes),
            min(endpoint.timeout, PROBE_SECONDS),
        )
    except (openai.APIError, TimeoutError) as exc:
        log.info("%s%s: no chat template from the server (%s)", root, APPLY_TEMPLATE, type(exc).__name__)
        return None
    finally:
        await client.close()
    try:
        reply: Any = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    prompt = reply.get("prompt") if isinstance(reply, dict) else None
    return prompt if isinstance(prompt, str) else None
