"""What goes over the wire for one completion, shared by the synchronous and the batch engine.

Both engines must send byte-for-byte the same request for the same step, prompt, parameters and seed, and
read a reply the same way, or a batch run would not be the run it claims to be.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from selfinstruct.llm import Completion, EndpointSettings, StepParams

CHAT_PATH = "/v1/chat/completions"
COMPLETIONS_PATH = "/v1/completions"


def request_body(settings: EndpointSettings, prompt: str, params: StepParams, seed: int | None) -> dict[str, Any]:
    """The JSON body of one request (without `stream`), for the endpoint's API kind."""
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
    if settings.api == "chat":
        body["messages"] = [{"role": "user", "content": prompt}]
    else:
        body["prompt"] = prompt
    return body


def request_path(settings: EndpointSettings) -> str:
    return CHAT_PATH if settings.api == "chat" else COMPLETIONS_PATH


def parse_body(settings: EndpointSettings, body: dict[str, Any]) -> Completion:
    """A `Completion` from a raw 200 body (a batch output line), read as the synchronous client reads a reply;
    ValueError when it is not one."""
    import openai.types
    import openai.types.chat
    import pydantic

    from selfinstruct.llm import _completion_of, _MalformedResponse

    model: Any = openai.types.chat.ChatCompletion if settings.api == "chat" else openai.types.Completion
    try:  # usage is read apart: a reply whose usage is unusable is charged an estimate, not failed
        reply = model.model_validate({key: value for key, value in body.items() if key != "usage"})
        return _completion_of(reply, settings.api, body.get("usage", {}))
    except pydantic.ValidationError as exc:
        raise ValueError(f"not a completion body ({exc.error_count()} schema errors)") from None
    except _MalformedResponse as exc:
        raise ValueError(str(exc)) from None
