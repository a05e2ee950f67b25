"""llama.cpp's `POST /apply-template` on the fake server (an ExtraRoutes): chat messages rendered with a chat
template, for Magpie's pre-query template read from the server."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

Render = Callable[[list[dict[str, str]]], str | None]  # None: the template refuses these messages (a 500)


def chatml(messages: list[dict[str, str]]) -> str:
    """SmolLM2's template: ChatML, with a default system turn when none is given."""
    if messages[0]["role"] != "system":
        messages = [{"role": "system", "content": "You are a helpful AI assistant named SmolLM"}, *messages]
    turns = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return turns + "<|im_start|>assistant\n"


def phi3(messages: list[dict[str, str]]) -> str | None:
    """A template of a family we do not know, which refuses a system turn as Gemma's does."""
    if any(m["role"] == "system" for m in messages):
        return None
    return "".join(f"<|{m['role']}|>\n{m['content']}<|end|>\n" for m in messages) + "<|assistant|>\n"


class ApplyTemplate:
    """Answers POST /apply-template (at the root, as llama.cpp serves it) with `render`'s prompt."""

    def __init__(self, render: Render) -> None:
        self.render = render
        self.paths: list[str] = []  # the paths asked, as sent

    def handle(self, fake: Any, h: Any, method: str, path: str, raw: bytes) -> bool:
        if method != "POST" or not path.endswith("/apply-template"):
            return False
        self.paths.append(h.path)
        prompt = self.render(json.loads(raw)["messages"])
        if prompt is None:
            h._send_error(500, "this template does not take these messages", None)
        else:
            h._send_json(200, {"prompt": prompt})
        return True
