"""The records of rejected.jsonl: what was rejected, at which stage, why, and the reply that shows it.

Every record carries the raw model reply behind it (``raw``, at most RAW_CHARS characters): the instruction
list for a candidate the filters dropped, the instance reply for one the instance step dropped, the reply
itself for a response nothing could be parsed from. Without it a run that rejects most candidates cannot
tell a parser problem from a model problem; `stats` shows examples from it.
"""

from __future__ import annotations

from typing import Any

from selfinstruct.filters import Rejection

RAW_CHARS = 4000


def candidate_rejection(
    request: int, candidate: int, stage: str, rejection: Rejection, instruction: str, raw: str
) -> dict[str, Any]:
    """A candidate instruction that a filter or the instance step rejected."""
    return {"meta": {"request": request, "candidate": candidate}, "stage": stage, **rejection.to_dict(),
            "instruction": instruction, "raw": raw[:RAW_CHARS]}  # fmt: skip


def response_rejection(request: int, reason: str, detail: str, raw: str) -> dict[str, Any]:
    """A response that gave no candidate at all (empty, or nothing parseable)."""
    return {"meta": {"request": request, "candidate": -1}, "stage": "response", "reason": reason, "detail": detail,
            "raw": raw[:RAW_CHARS]}  # fmt: skip
