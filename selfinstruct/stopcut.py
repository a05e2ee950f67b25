"""Whether a reply that a stop sequence ended was cut inside a field, like a reply cut at ``max_tokens``.

The default stop sequences start with a newline ("\\nTask:", "\\n20."), so they fire only at a line start.
A line inside an output can still begin with one ("Task: buy milk" in a to-do list, "20.50 is the total"),
and the server then ends the reply there with finish_reason "stop", which looks like a clean end. When the
server names the stop that fired (vLLM's ``stop_reason``), the reply is read as cut unless it ends where the
prompt's format puts the next item: after a blank line or a ``###`` separator, or at a new ``Example N``. A
stop without a leading newline (a user's, or an older run's) that fired mid-line cuts the field it is in.
Servers that do not name the stop (OpenAI, llama.cpp, Ollama) leave an EOS and a stop indistinguishable:
those replies are taken as they are.
"""

from __future__ import annotations

import re

from selfinstruct.llm import Completion

# Stops that open a new example: the reply they end is complete whatever precedes them.
_NEW_EXAMPLE = re.compile(r"^\n(?:example|示例)\s*\d+$", re.IGNORECASE)
_BOUNDARY = re.compile(r"(?:\n[ \t]*|\n[ \t]*#{3,}[ \t]*)$")


def stopped_inside_field(text: str, stop_reason: str | None) -> bool:
    """True when the stop string `stop_reason` ended `text` in the middle of a field."""
    if not stop_reason or not stop_reason.strip() or not text.strip():
        return False  # (a blank-line stop ends a block by definition)
    if not stop_reason.startswith("\n"):
        return not text.endswith("\n")  # fired mid-line
    if _NEW_EXAMPLE.match(stop_reason.rstrip()):
        return False
    return not _BOUNDARY.search("\n" + text)


def is_cut(reply: Completion) -> bool:
    """A reply whose last item may be incomplete: cut at max_tokens, or by a stop inside a field."""
    if reply.finish_reason == "length":
        return True
    return reply.finish_reason == "stop" and stopped_inside_field(reply.text, reply.stop_reason)
