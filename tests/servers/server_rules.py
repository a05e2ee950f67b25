"""What real OpenAI-compatible servers refuse, and how they apply ``stop``: the strict half of the fake.

A fake that accepts anything lets a client ship requests a real server answers with 400 (issue 21: vLLM refuses
``top_p`` 0.0). Each profile encodes the documented request checks of one server, with its message:

* ``openai``: the API reference's ranges (temperature [0, 2], top_p [0, 1], penalties [-2, 2], n [1, 128],
  max_tokens >= 1, at most 4 stop sequences, completions logprobs <= 5) and its refusal of unknown fields; for
  reasoning models (o-series, gpt-5) no max_tokens, penalties, stop or logprobs and sampling at its defaults;
* ``vllm``: ``SamplingParams._verify_args`` (top_p in (0, 1], temperature in [0, 2], no empty stop string,
  n 1 under greedy sampling, min_tokens <= max_tokens) and the protocol models' required fields;
* ``llamacpp``: the server's OpenAI-compatible parsing (n must be 1, no echo, best_of or suffix, prompt or
  messages required, top_logprobs needs logprobs);
* ``ollama``: its OpenAI layer's decoding (prompt a string, stop strings, integer seed and max_tokens,
  message content a string or text parts).

``strict`` (the fake's default) applies all four, so every test of the suite proves its requests pass each.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["PROFILES", "Violation", "apply_stop", "check_request"]

PROFILES = ("openai", "vllm", "llamacpp", "ollama")
CHAT = "/v1/chat/completions"

_OPENAI_COMMON = frozenset(
    {"model", "frequency_penalty", "logit_bias", "logprobs", "max_tokens", "n", "presence_penalty", "seed",
     "stop", "stream", "stream_options", "temperature", "top_p", "user"}
)  # fmt: skip
_OPENAI_CHAT = _OPENAI_COMMON | frozenset(
    {"messages", "top_logprobs", "max_completion_tokens", "response_format", "service_tier", "tools",
     "tool_choice", "parallel_tool_calls", "store", "metadata", "modalities", "prediction", "audio",
     "reasoning_effort", "web_search_options", "function_call", "functions", "verbosity", "prompt_cache_key",
     "safety_identifier"}
)  # fmt: skip
_OPENAI_COMPLETIONS = _OPENAI_COMMON | frozenset({"prompt", "best_of", "echo", "suffix"})


@dataclass(frozen=True)
class Violation:
    """A server's refusal of a request: its status, message and the parameter it names."""

    server: str
    message: str
    param: str | None = None
    status: int = 400
    err_type: str = "invalid_request_error"
    code: str | None = None  # OpenAI's error code ("context_length_exceeded"); vLLM and llama.cpp send 400
    extra: tuple[tuple[str, int], ...] = ()  # further fields of the error (llama.cpp's n_prompt_tokens, n_ctx)

    def body(self) -> dict[str, Any]:
        """The error body that server sends (all four wrap it in ``error``, as the SDK reads it)."""
        code: Any = 400 if self.server in ("vllm", "llamacpp") else self.code
        error = {"message": self.message, "type": self.err_type, "param": self.param, "code": code}
        return {"error": error | dict(self.extra)}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _stops(body: dict[str, Any]) -> list[Any]:
    stop = body.get("stop")
    if stop is None:
        return []
    return [stop] if isinstance(stop, str) else list(stop) if isinstance(stop, list) else [stop]


_REASONING_MODEL = re.compile(r"^(?:o\d+(?:-|$)|gpt-5(?!-chat))")
_REASONING_UNSUPPORTED = ("max_tokens", "presence_penalty", "frequency_penalty", "stop", "logprobs", "logit_bias")


def _openai_reasoning(body: dict[str, Any]) -> Violation | None:
    """OpenAI's reasoning models (o-series, gpt-5): no max_tokens, penalties or stop; sampling at defaults."""
    for name in _REASONING_UNSUPPORTED:
        if body.get(name) is not None:
            use = " Use 'max_completion_tokens' instead." if name == "max_tokens" else ""
            return Violation("openai", f"Unsupported parameter: '{name}' is not supported with this model.{use}",
                             name, code="unsupported_parameter")  # fmt: skip
    for name in ("temperature", "top_p"):
        if body.get(name) is not None and body[name] != 1:
            return Violation("openai", f"Unsupported value: '{name}' does not support {body[name]} with this model. "
                             "Only the default (1) value is supported.", name, code="unsupported_value")  # fmt: skip
    effort = body.get("reasoning_effort")
    if effort is not None and effort not in ("minimal", "low", "medium", "high"):
        return Violation("openai", f"Invalid value: '{effort}'. Supported values are: 'low', 'medium', and 'high'.",
                         "reasoning_effort", code="invalid_value")  # fmt: skip
    return None


def _openai(path: str, body: dict[str, Any]) -> Violation | None:
    def bad(message: str, param: str | None = None) -> Violation:
        return Violation("openai", message, param)

    known = _OPENAI_CHAT if path == CHAT else _OPENAI_COMPLETIONS
    for name in body:
        if name not in known:
            return bad(f"Unrecognized request argument supplied: {name}", name)
    if isinstance(body.get("model"), str) and _REASONING_MODEL.match(body["model"]):
        refused = _openai_reasoning(body)
        if refused is not None:
            return refused
    if not body.get("model"):
        return bad("you must provide a model parameter", "model")
    if path == CHAT and not (isinstance(body.get("messages"), list) and body["messages"]):
        return bad("[] is too short - 'messages'", "messages")
    if path != CHAT and "prompt" not in body:
        return bad("Missing required parameter: 'prompt'.", "prompt")
    ranges = {
        "temperature": (0.0, 2.0, "decimal"),
        "top_p": (0.0, 1.0, "decimal"),
        "presence_penalty": (-2.0, 2.0, "decimal"),
        "frequency_penalty": (-2.0, 2.0, "decimal"),
        "n": (1, 128, "integer"),
        "max_tokens": (1, math.inf, "integer"),
        "best_of": (1, 20, "integer"),
        "top_logprobs": (0, 20, "integer"),
    }
    if path != CHAT:
        ranges["logprobs"] = (0, 5, "integer")
    for name, (low, high, kind) in ranges.items():
        value = body.get(name)
        if value is None:
            continue
        if not (_is_int(value) if kind == "integer" else _is_number(value)):
            return bad(f"Invalid type for '{name}': expected {'an' if kind == 'integer' else 'a'} {kind}.", name)
        if value < low:
            return bad(f"Invalid '{name}': {kind} below minimum value. Expected a value >= {low:g}, but got "
                       f"{value} instead.", name)  # fmt: skip
        if value > high:
            return bad(f"Invalid '{name}': {kind} above maximum value. Expected a value <= {high:g}, but got "
                       f"{value} instead.", name)  # fmt: skip
    stop = body.get("stop")
    if stop is not None and not isinstance(stop, (str, list)):
        return bad("Invalid type for 'stop': expected one of a string or an array of strings.", "stop")
    if isinstance(stop, list):
        if len(stop) > 4:
            return bad(f"Invalid 'stop': array too long. Expected an array with maximum length 4, but got an array "
                       f"with length {len(stop)} instead.", "stop")  # fmt: skip
        if not all(isinstance(s, str) for s in stop):
            return bad("Invalid type for 'stop[0]': expected a string.", "stop")
    if "seed" in body and body["seed"] is not None and not _is_int(body["seed"]):
        return bad("Invalid type for 'seed': expected an integer.", "seed")
    if path == CHAT and "logprobs" in body and not isinstance(body["logprobs"], (bool, type(None))):
        return bad("Invalid type for 'logprobs': expected a boolean.", "logprobs")
    if path == CHAT and body.get("top_logprobs") is not None and not body.get("logprobs"):
        return bad("Invalid value for 'top_logprobs': 'logprobs' must be set to true.", "top_logprobs")
    return None


def _vllm(path: str, body: dict[str, Any]) -> Violation | None:
    def bad(message: str, param: str | None = None) -> Violation:
        return Violation("vllm", message, param, err_type="BadRequestError")

    if path == CHAT and not isinstance(body.get("messages"), list):
        return bad("Field required: messages", "messages")
    if path != CHAT and "prompt" not in body:
        return bad("Field required: prompt", "prompt")
    for name in ("temperature", "top_p", "presence_penalty", "frequency_penalty", "repetition_penalty", "min_p"):
        if body.get(name) is not None and not _is_number(body[name]):
            return bad(f"{name}: Input should be a valid number", name)
    for name in ("n", "max_tokens", "min_tokens", "top_k", "seed"):
        if body.get(name) is not None and not _is_int(body[name]):
            return bad(f"{name}: Input should be a valid integer", name)
    temperature = body.get("temperature")
    temperature = 1.0 if temperature is None else temperature
    top_p = body.get("top_p")
    top_p = 1.0 if top_p is None else top_p
    n = body.get("n") or 1
    for name in ("presence_penalty", "frequency_penalty"):
        value = body.get(name) or 0.0
        if not -2.0 <= value <= 2.0:
            return bad(f"{name} must be in [-2, 2], got {value}.", name)
    if body.get("repetition_penalty") is not None and body["repetition_penalty"] <= 0.0:
        return bad(f"repetition_penalty must be greater than zero, got {body['repetition_penalty']}.")
    if temperature < 0.0:
        return bad(f"temperature must be non-negative, got {temperature}.", "temperature")
    if temperature > 2.0:
        return bad(f"temperature must be in [0, 2], got {temperature}.", "temperature")
    if not 0.0 < top_p <= 1.0:
        return bad(f"top_p must be in (0, 1], got {top_p}.", "top_p")
    if body.get("top_k") is not None and body["top_k"] < -1:
        return bad(f"top_k must be 0 (disable), or at least 1, got {body['top_k']}.")
    if body.get("min_p") is not None and not 0.0 <= body["min_p"] <= 1.0:
        return bad(f"min_p must be in [0, 1], got {body['min_p']}.")
    max_tokens = body.get("max_tokens")
    if max_tokens is not None and max_tokens < 1:
        return bad(f"max_tokens must be at least 1, got {max_tokens}.", "max_tokens")
    min_tokens = body.get("min_tokens") or 0
    if max_tokens is not None and min_tokens > max_tokens:
        return bad(f"min_tokens must be less than or equal to max_tokens={max_tokens}, got {min_tokens}.")
    if n < 1:
        return bad(f"n must be at least 1, got {n}.", "n")
    if any(not s for s in _stops(body)):
        return bad("stop cannot contain an empty string.", "stop")
    if temperature < 1e-5 and n > 1:
        return bad(f"n must be 1 when using greedy sampling, got {n}.", "n")
    seed = body.get("seed")
    if seed is not None and not -(2**63) <= seed < 2**63:
        return bad(f"seed must be a 64-bit integer, got {seed}.", "seed")
    return None


def _llamacpp(path: str, body: dict[str, Any]) -> Violation | None:
    def bad(message: str) -> Violation:
        return Violation("llamacpp", message)

    if path == CHAT:
        if not isinstance(body.get("messages"), list):
            return bad("Expected 'messages' to be an array")
        if body.get("top_logprobs") is not None and not body.get("logprobs"):
            return bad("top_logprobs requires logprobs to be set to true")
    else:
        if "prompt" not in body:
            return bad('"prompt" is required')
        if body.get("echo"):
            return bad("Only no echo is supported")
        for param in ("best_of", "suffix"):
            if param in body:
                return bad(f"Unsupported param: {param}")
    if (body.get("n") or 1) != 1:
        return bad("Only one completion choice is allowed")
    if not all(isinstance(s, str) for s in _stops(body)):
        return bad("stop must be an array of strings")
    return None


def _ollama(path: str, body: dict[str, Any]) -> Violation | None:
    def bad(message: str) -> Violation:
        return Violation("ollama", message)

    struct = "ChatCompletionRequest" if path == CHAT else "CompletionRequest"
    if path == CHAT:
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return bad("[] is too short - 'messages'")
        for message in messages:
            content = message.get("content") if isinstance(message, dict) else None
            if not isinstance(content, (str, list, type(None))):
                return bad(f"invalid message content type: {type(content).__name__}")
    elif not isinstance(body.get("prompt"), str):
        return bad(f"json: cannot unmarshal {type(body.get('prompt')).__name__} into Go struct field "
                   f"{struct}.prompt of type string")  # fmt: skip
    for name in ("seed", "max_tokens"):
        if body.get(name) is not None and not _is_int(body[name]):
            return bad(f"json: cannot unmarshal number {body[name]} into Go struct field {struct}.{name} of type int")
    for name in ("temperature", "top_p", "presence_penalty", "frequency_penalty"):
        if body.get(name) is not None and not _is_number(body[name]):
            return bad(f"json: cannot unmarshal {type(body[name]).__name__} into Go struct field {struct}.{name} "
                       "of type float64")  # fmt: skip
    stop = body.get("stop")
    if stop is not None and not isinstance(stop, str):
        items = stop if isinstance(stop, list) else [stop]
        wrong = next((s for s in items if not isinstance(s, str)), None)
        if wrong is not None or not isinstance(stop, list):
            return bad(f"invalid type for 'stop' field: {type(wrong if wrong is not None else stop).__name__}")
    return None


_CHECKS = {"openai": _openai, "vllm": _vllm, "llamacpp": _llamacpp, "ollama": _ollama}


def check_request(path: str, body: dict[str, Any], profile: str = "strict") -> Violation | None:
    """The first refusal the profile's server(s) would answer this completion request with, or None."""
    names = PROFILES if profile == "strict" else (profile,)
    for name in names:
        violation = _CHECKS[name](path, body)
        if violation is not None:
            return violation
    return None


def apply_stop(text: str, stop: Any) -> tuple[str, str | None]:
    """The text as a server returns it: cut before the earliest occurrence of any stop string, which is
    excluded; with the stop string that matched (vLLM's ``stop_reason``), or None when none did."""
    stops = [s for s in ([stop] if isinstance(stop, str) else stop or []) if isinstance(s, str) and s]
    best: tuple[int, str] | None = None
    for s in stops:
        at = text.find(s)
        if at >= 0 and (best is None or at < best[0]):
            best = (at, s)
    if best is None:
        return text, None
    return text[: best[0]], best[1]
