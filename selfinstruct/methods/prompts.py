"""How every method shows things in a prompt: demonstrations normalised as the original scripts did, and
whether a prompt ends in an open line the reply continues."""

from __future__ import annotations

import re


def ends_open(prompt: str) -> bool:
    """Whether a prompt ends in an open line ("Task 9:", "4. Instruction:"): then the reply's first line is
    the answer to it, with a chat model as with a base model (prompts/README.md)."""
    return bool(prompt) and not prompt.endswith("\n")


_TRAILING_COLONS = ":："


def demonstration(instruction: str) -> str:
    """An instruction as a demonstration shows it, normalised as both original scripts do: whitespace runs
    (newlines too) collapsed to one space and a trailing colon stripped, so that a multi-line seed stays one
    line of the one-per-line list and "...the following email:" does not invite the model to add the email.
    The full-width colon is stripped too, for Chinese seeds."""
    return re.sub(r"\s+", " ", instruction).strip().rstrip(_TRAILING_COLONS).rstrip()
