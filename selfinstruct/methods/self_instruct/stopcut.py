"""Whether a reply that a stop sequence ended was cut inside a field, like a reply cut at ``max_tokens``.

The default stop sequences are anchored to a line start ("\\nTask:", "\\n###\\n20"), so they never fire mid-line,
but a line inside an output can still begin with one ("Task: buy milk" in a to-do list), and the server then
ends the reply there with finish_reason "stop", which looks like a clean end. When the server names the stop
that fired (vLLM's ``stop_reason``), the reply is read as cut unless it ends where the prompt's format puts
the next item: after a blank line or a ``###`` line, or at a stop that itself opens a block (``###``,
``Example N``, ``N. Instruction``). A stop without a leading newline (a user's, or an older run's) that fired
mid-line cuts the field it is in.
Servers that do not name the stop (OpenAI, llama.cpp, Ollama) leave an EOS and a stop indistinguishable:
those replies are taken as they are, except for a reply whose last line is "Task: ..." (``task_tail``).

Instance replies stop at "\nExample 1" (completions only), which fires once a model that goes on to invent
the NEXT task ("Task: ...\nExample 1") starts that task's first example: such a reply ends in the new task's
"Task:" line, which the instance parser drops. Anchoring there rather than at "\nTask:" keeps an output line
that begins with "Task:" (a to-do list, a ticket) whole.
"""

from __future__ import annotations

import re

from selfinstruct.engine.types import Completion
from selfinstruct.methods.self_instruct.instance_markers import _CLASS_LABEL, _INPUT_LABEL, _OUTPUT_LABEL, _TASK_LINE

# Stops that open a new block (a separator, an example, an Alpaca task): the reply they end is complete
# whatever precedes them.
_OPENS_BLOCK = re.compile(r"^\n?(?:#{3,}|(?:example|示例)\s*\d+\s*$|\d+\s*\.\s*(?:instruction|指令))", re.IGNORECASE)
_BOUNDARY = re.compile(r"(?:\n[ \t]*|\n[ \t]*#{3,}[ \t]*)$")
# The stop that fires when a new task's first example starts: a reply it ends is whole only after a "Task:" line.
_NEW_TASK = re.compile(r"^\n(?:example|示例)\s*(?:1|一)\s*$", re.IGNORECASE)


def ends_in_task_line(text: str) -> bool:
    """Whether the last non-blank line of `text` is a "Task: ..." line."""
    last = next((line for line in reversed(text.splitlines()) if line.strip()), "")
    return bool(_TASK_LINE.match(last))


def stopped_inside_field(text: str, stop_reason: str | None) -> bool:
    """True when the stop string `stop_reason` ended `text` in the middle of a field."""
    if not stop_reason or not stop_reason.strip() or not text.strip():
        return False  # (a blank-line stop ends a block by definition)
    if _NEW_TASK.match(stop_reason):
        return not ends_in_task_line(text)  # "Example 1" inside an output ("Example 1: cats") is no new task
    if not stop_reason.startswith("\n"):
        if not text.endswith("\n"):
            return True  # fired mid-line
        text, stop_reason = text[:-1], "\n" + stop_reason  # fired at a line start: judged as such a stop is
    return not (_OPENS_BLOCK.match(stop_reason) or _BOUNDARY.search("\n" + text))


def is_cut(reply: Completion) -> bool:
    """A reply whose last item may be incomplete: cut at max_tokens, by a content filter (OpenAI and Azure end
    the reply where the filter fired, and keep what came before), or by a stop inside a field."""
    if reply.finish_reason in ("length", "content_filter"):
        return True
    return reply.finish_reason == "stop" and stopped_inside_field(reply.text, reply.stop_reason)


def task_tail(reply: Completion, stops: tuple[str, ...]) -> bool | None:
    """What a "Task: ..." line that ends `reply` is: True, the next task's header (the new-task stop ended the
    reply); False, text of the last output (the server says another end, or no new-task stop was sent); None,
    unknown (a server that does not name the stop, with the new-task stop sent): the parser then treats the
    reply as cut, so an output that may have lost its last line never reaches a pool."""
    if not any(_NEW_TASK.match(stop) for stop in stops) or reply.finish_reason != "stop":
        return False
    if reply.stop_reason is None:
        return None
    return bool(_NEW_TASK.match(reply.stop_reason))


def stopped_before_its_examples(reply: Completion, stops: tuple[str, ...]) -> bool:
    """Whether the new-task stop may have ended `reply` at its OWN first example, written after a preamble ("The
    game starts with two players...\n\nExample 1", the embedded model): a stopped reply with no instance label
    and no "Task:" line at its end. The caller asks again without that stop (vLLM, which names the stop,
    says so; elsewhere an answer that ended without instances, a refusal, costs one more request)."""
    if not any(_NEW_TASK.match(stop) for stop in stops) or reply.finish_reason != "stop":
        return False
    if reply.stop_reason is not None and not _NEW_TASK.match(reply.stop_reason):
        return False  # vLLM: another stop fired, or none ("")
    labels = (_INPUT_LABEL, _OUTPUT_LABEL, _CLASS_LABEL)
    labelled = any(p.match(line) for line in reply.text.splitlines() for p in labels)
    return not labelled and not ends_in_task_line(reply.text)


def without_new_task_stops(stops: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(stop for stop in stops if not _NEW_TASK.match(stop))
