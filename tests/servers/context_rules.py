"""How each server treats a request that does not fit the model's context: the fake's ``context`` option.

* ``openai``: 400 ``context_length_exceeded`` when prompt + max_tokens exceeds the context;
* ``vllm`` (and ``strict``): 400 when prompt + max_tokens exceeds ``max_model_len`` (vLLM 0.10+'s words, with
  ``param`` "input_tokens"), or "max_tokens=M cannot be greater than max_model_len=L" when max_tokens alone does;
* ``llamacpp``: 400 ``exceed_context_size_error`` (with ``n_prompt_tokens`` and ``n_ctx``) when the prompt alone
  does not fit; otherwise the reply stops where the context ends, finish_reason "length";
* ``ollama``: no error: the prompt is cut to the context (``num_ctx``) and its usage counts what was left.

The messages are the servers' own (vLLM's serving/renderer code, llama.cpp's server.cpp, OpenAI's API).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.servers.server_rules import Violation


@dataclass(frozen=True)
class ContextOutcome:
    """What the server does with a request for its context: refuse it, or answer with these limits."""

    violation: Violation | None = None
    prompt_tokens: int | None = None  # the prompt tokens it reports (Ollama: after cutting the prompt)
    room: int | None = None  # the most tokens it can generate before the context ends (llama.cpp)


def _max_tokens(body: dict[str, Any]) -> int | None:
    for name in ("max_completion_tokens", "max_tokens"):
        value = body.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def context_rule(profile: str, body: dict[str, Any], prompt: int, context: int) -> ContextOutcome:
    """The outcome of a request whose prompt has `prompt` tokens on a server with a context of `context`."""
    asked = _max_tokens(body)
    total = prompt + (asked or 0)
    if profile == "openai":
        if total <= context:
            return ContextOutcome()
        message = (f"This model's maximum context length is {context} tokens. However, you requested {total} tokens "
                   f"({prompt} in the messages, {asked or 0} in the completion). Please reduce the length of the "
                   "messages or completion.")  # fmt: skip
        return ContextOutcome(Violation("openai", message, "messages", code="context_length_exceeded"))
    if profile == "llamacpp":
        if prompt < context:
            return ContextOutcome(room=context - prompt)
        message = f"request ({prompt} tokens) exceeds the available context size ({context} tokens), try increasing it"
        extra = (("n_prompt_tokens", prompt), ("n_ctx", context))
        return ContextOutcome(Violation("llamacpp", message, err_type="exceed_context_size_error", extra=extra))
    if profile == "ollama":
        return ContextOutcome(prompt_tokens=min(prompt, context))
    if asked is not None and asked > context:  # vllm, strict
        param = "max_completion_tokens" if "max_completion_tokens" in body else "max_tokens"
        message = f"{param}={asked} cannot be greater than max_model_len={context}. Please request fewer output tokens."
        return ContextOutcome(Violation("vllm", message, param, err_type="BadRequestError"))
    if total <= context and prompt < context:
        return ContextOutcome()
    message = (f"This model's maximum context length is {context} tokens. However, you requested {asked or 0} output "
               f"tokens and your prompt contains {prompt} input tokens, for a total of {total} tokens. Please reduce "
               f"the length of the input prompt or the number of requested output tokens. "
               f"(parameter=input_tokens, value={prompt})")  # fmt: skip
    return ContextOutcome(Violation("vllm", message, "input_tokens", err_type="BadRequestError"))
