"""Reasoning models write their thinking into the reply; it is never part of the answer."""

from __future__ import annotations

import re

# What a reasoning model may think, at low effort, before it answers: its thinking counts in max_tokens (OpenAI's
# max_completion_tokens), and 8 tokens for a yes/no would be spent on it alone. Added for OpenAI's reasoning models
# (settings), suggested for others when their thinking used a step's budget (THINKING_NOTE).
REASONING_ROOM = 2048
_REASONING_TAGS = ("think", "thinking", "reasoning")
_STRAY_CLOSE = re.compile(r"</(?:think|thinking|reasoning)>", re.IGNORECASE)


def strip_reasoning(text: str) -> str:
    """The reply without a reasoning model's thinking: ``<think>...</think>`` blocks (also ``<thinking>`` and
    ``<reasoning>``), a leading block whose opening tag the server's chat template swallowed (text up to a
    lone ``</think>``), and an unclosed block at the end (the reply ran out of tokens while still thinking).
    Plain string search, not a regex: a degenerate reply with thousands of tags stays linear."""
    low = text.lower()
    if "<" not in low or not any(f"<{t}>" in low or f"</{t}>" in low for t in _REASONING_TAGS):
        return text
    out: list[str] = []
    pos = 0
    first_open = min((i for t in _REASONING_TAGS if (i := low.find(f"<{t}>")) >= 0), default=len(low))
    first_close = min((i for t in _REASONING_TAGS if (i := low.find(f"</{t}>")) >= 0), default=len(low))
    if first_close < first_open:  # "...reasoning...</think> answer": the opening tag was in the prompt
        last_close = max(low.rfind(f"</{t}>", 0, first_open) for t in _REASONING_TAGS)
        pos = low.index(">", last_close) + 1
    while pos < len(text):
        opens = [(i, t) for t in _REASONING_TAGS if (i := low.find(f"<{t}>", pos)) >= 0]
        if not opens:
            out.append(text[pos:])
            break
        i, tag = min(opens)
        out.append(text[pos:i])
        close = low.find(f"</{tag}>", i)
        if close < 0:
            break  # still thinking when the reply ended
        pos = close + len(tag) + 3
    return _STRAY_CLOSE.sub("", "".join(out))


THINKING_NOTE = (
    "note: the model used all %d tokens of step %s before it wrote any answer, as a reasoning model does when it "
    "thinks first: such a reply carries no answer (classify takes it as not classification, the other steps drop "
    "it). Give the step room with --max-tokens %s=%d, or turn the model's thinking off on the server (e.g. Qwen3's "
    "enable_thinking=false)"
)


def spent_on_thinking(text: str, finish_reason: str) -> bool:
    """A reply cut at max_tokens with no answer in it: a reasoning model (R1 distills, Qwen3, QwQ) thought through
    the step's whole budget (the 8-token yes/no of classify first). Its thinking is in the text, or left out of it
    by the server's reasoning parser (vLLM's reasoning_content), and the text is then empty."""
    return finish_reason == "length" and not strip_reasoning(text).strip()
