"""What a server says when a request does not fit the model's context, and what to do about it.

Servers refuse a prompt plus ``max_tokens`` beyond the model's context each in their own words (HTTP 400):

- OpenAI: code ``context_length_exceeded``, "This model's maximum context length is L tokens. However, you
  requested T tokens (P in the messages, M in the completion)..." (or "your messages resulted in P tokens").
- vLLM, by version: "... However, you requested M output tokens and your prompt contains [at least] P input
  tokens, for a total of ..."; "'max_tokens' or 'max_completion_tokens' is too large: M. This model's maximum
  context length is L tokens and your request has P input tokens"; "max_tokens=M cannot be greater than
  max_model_len=L"; older "... you requested T tokens (P in the messages, M in the completion)" and "... you
  requested P tokens in the messages".
- llama.cpp's server: type ``exceed_context_size_error`` with ``n_prompt_tokens`` and ``n_ctx`` (it checks the
  prompt only, and stops a reply that reaches the context end with finish_reason "length").
- Ollama truncates a prompt beyond ``num_ctx`` without a word: its usage then counts far fewer prompt tokens
  than were sent (``truncated_prompt``).

When only ``max_tokens`` overflows, the request is asked again once with the ``max_tokens`` that fits; when the
prompt itself does not fit, the run stops with one line naming both sizes and the fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from selfinstruct.engine.budget import typical_tokens
from selfinstruct.errors import EndpointError
from selfinstruct.io.records import is_count

_LIMIT = (
    re.compile(r"maximum context length is (\d+)", re.I),
    re.compile(r"max_model_len\s*=\s*(\d+)", re.I),
    re.compile(r"context length is only (\d+)", re.I),
    re.compile(r"available context size \((\d+) tokens\)", re.I),
)
_PROMPT = (
    re.compile(r"prompt contains (?:at least )?(\d+) input tokens", re.I),
    re.compile(r"request has (\d+) input tokens", re.I),
    re.compile(r"\((\d+) in the messages", re.I),
    re.compile(r"requested (\d+) tokens in the (?:messages|input)", re.I),
    re.compile(r"messages resulted in (\d+) tokens", re.I),
    re.compile(r"passed (\d+) input tokens", re.I),
    re.compile(r"^request \((\d+) tokens\)", re.I),
)
_PHRASES = ("context length", "context window", "context size", "max_model_len", "exceed_context_size")


@dataclass(frozen=True)
class Overflow:
    """A refusal for length: the model's context and the prompt's tokens, as far as the server said them."""

    limit: int | None
    prompt_tokens: int | None
    server: str  # "llama.cpp", "vLLM" or "" (unknown): which fix to name
    max_tokens_beyond: bool = False  # the server said max_tokens alone exceeds the context (vLLM's max_model_len)

    def fitting_max_tokens(self, max_tokens: int) -> int | None:
        """The max_tokens that fits beside the prompt, when smaller than `max_tokens`; None when the prompt itself
        does not fit, or the server did not say enough to know. A max_tokens beyond the context itself, where the
        server named only the context (vLLM: "max_tokens=M cannot be greater than max_model_len=L"), becomes
        L - 1, which that server then refuses with the prompt's size, or answers."""
        if self.max_tokens_beyond and self.limit is not None and self.prompt_tokens is None and max_tokens > self.limit:
            return self.limit - 1
        if self.limit is None or self.prompt_tokens is None:
            return None
        room = self.limit - self.prompt_tokens
        return room if 0 < room < max_tokens else None

    def describe(self) -> str:
        """The sizes, as far as known: "a prompt of 5,120 tokens against a context of 4,096 tokens"."""
        prompt = f"a prompt of {self.prompt_tokens:,} tokens" if self.prompt_tokens is not None else "the prompt"
        limit = f"a context of {self.limit:,} tokens" if self.limit is not None else "the model's context"
        return f"{prompt} against {limit}"

    def fix(self) -> str:
        server = {
            "llama.cpp": "start llama.cpp's server with a larger --ctx-size",
            "vLLM": "start vLLM with a larger --max-model-len",
        }.get(self.server, "a server context of that size (llama.cpp: --ctx-size; Ollama: OLLAMA_CONTEXT_LENGTH)")
        return (
            f"use shorter seed instructions or a shorter --prompts template, a model with a larger context, or {server}"
        )


def read_overflow(status: int, body: Any, message: str) -> Overflow | None:
    """The overflow a refusal reports, or None when the refusal is about something else."""
    inner = body.get("error", body) if isinstance(body, dict) else None
    inner = inner if isinstance(inner, dict) else {}
    code, kind = str(inner.get("code", "")), str(inner.get("type", ""))
    llamacpp = kind == "exceed_context_size_error" or "available context size" in message
    if not (status == 413 or code == "context_length_exceeded" or llamacpp or
            any(p in message.lower() for p in _PHRASES)):  # fmt: skip
        return None
    limit = _first(_LIMIT, message)
    prompt = _first(_PROMPT, message)
    if llamacpp:
        limit = _int(inner.get("n_ctx"), limit)
        prompt = _int(inner.get("n_prompt_tokens"), prompt)
    vllm = inner.get("param") == "input_tokens" or "max_model_len" in message or "'max_completion_tokens'" in message
    beyond = "cannot be greater than max_model_len" in message
    return Overflow(limit, prompt, "llama.cpp" if llamacpp else "vLLM" if vllm else "", beyond)


def _first(patterns: tuple[re.Pattern[str], ...], text: str) -> int | None:
    for pattern in patterns:
        if m := pattern.search(text):
            return int(m.group(1))
    return None


def _int(value: Any, default: int | None) -> int | None:
    return value if is_count(value) and value > 0 else default


# Ollama's usage counts the prompt as it was truncated to num_ctx: a count under half the estimate of what was
# sent, on a prompt of some length, is that (a tokenizer differs from the estimate by far less).
TRUNCATION_RATIO = 0.5
TRUNCATION_MIN_TOKENS = 256


def truncated_prompt(prompt: str, reported_prompt_tokens: int) -> bool:
    """Whether a reply's usage says the server read far fewer prompt tokens than `prompt` holds."""
    estimate = typical_tokens(prompt)
    return estimate >= TRUNCATION_MIN_TOKENS and reported_prompt_tokens < TRUNCATION_RATIO * estimate


TRUNCATION_WARNING = (
    "the server counted %d prompt tokens for a prompt of about %.0f: it cut the prompt to its context, and the "
    "model answered what was left (Ollama does so at num_ctx: set OLLAMA_CONTEXT_LENGTH, or num_ctx in a "
    "Modelfile, above the prompt's size)"
)


class ContextLengthError(EndpointError):
    """The prompt does not fit the model's context; the caller may shorten it once."""

    def __init__(self, message: str, overflow: Overflow | None = None) -> None:
        super().__init__(message)
        self.overflow = overflow  # what the server said of the sizes (None: a refusal it did not explain)
