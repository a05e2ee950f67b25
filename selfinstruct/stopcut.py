"""Whether a reply that a stop sequence ended was cut inside a field, like a reply cut at ``max_tokens``.

The default stop sequences are anchored to a line start ("\\nTask:", "\\n###\\n20"), so they never fire mid-line,
but a line inside an output can still begin with one ("Task: buy milk" in a to-do list), and the server then
ends the reply there with finish_reason "stop", which looks like a clean end. When the server names the stop
that fired (vLLM's ``stop_reason``), the reply is read as cut unless it ends where the prompt's format puts
the next item: after a blank line or a ``###`` line, or at a stop that itself opens a block (``###``,
``Example N``, ``N. Instruction``). A stop without a leading newline (a user's, or an older run's) that fired
mid-line cuts the field it is in.
Servers that do not name the stop (OpenAI, llama.cpp, Ollama) leave an EOS and a stop indistinguishable:
those replies are taken as they are.
"""

from __future__ import annotations

import re

from selfinstruct.llm import Completion

# Stops that open a new block (a separator, an example, an Alpaca task): the reply they end is complete
# whatever precedes them.
_OPENS_BLOCK = re.compile(r"^\n?(?:#{3,}|(?:example|示例)\s*\d+\s*$|\d+\s*\.\s*(?:instruction|指令))", re.IGNORECASE)
_BOUNDARY = re.compile(r"(?:\n[ \t]*|\n[ \t]*#{3,}[ \t]*)$")


def stopped_inside_field(text: str, stop_reason: str | None) -> bool:
    """True when the stop string `stop_reason` ended `text` in the middle of a field."""
    if not stop_reason or not stop_reason.strip() or not text.strip():
        return False  # (a blank-line stop ends a block by definition)
    if not stop_reason.startswith("\n"):
        if not text.endswith("\n"):
            return True  # fired mid-line
        text, stop_reason = text[:-1], "\n" + stop_reason  # fired at a line start: judged as such a stop is
    return not (_OPENS_BLOCK.match(stop_reason) or _BOUNDARY.search("\n" + text))


def is_cut(reply: Completion) -> bool:
    """A reply whose last item may be incomplete: cut at max_tokens, or by a stop inside a field."""
    if reply.finish_reason == "length":
        return True
    return reply.finish_reason == "stop" and stopped_inside_field(reply.text, reply.stop_reason)
