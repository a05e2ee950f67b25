"""Read a judge's rating of one response (a score and a reason) or its choice between two (A, B or a tie),
from JSON or `Label: value` lines, with the audit's reader; anything missing or ambiguous is unreadable, never
guessed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from selfinstruct.audit.verdicts import LABELLED_LINE, field_key, json_objects
from selfinstruct.text import is_refusal

_SCORE_KEYS = {"score", "rating", "overall_score", "overall", "总分", "评分", "分数"}
_CHOICE_KEYS = {"better", "winner", "preferred", "preference", "choice", "verdict", "better_response", "更好",
                "更好的回答", "胜者", "选择"}  # fmt: skip
_REASON_KEYS = {"reason", "explanation", "rationale", "理由", "原因"}
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:/\s*\d+|out of \d+|分)?\s*[.。]?\s*$", re.IGNORECASE)
_A = {"a", "response a", "response_a", "answer a", "1", "first", "回答a", "a更好"}
_B = {"b", "response b", "response_b", "answer b", "2", "second", "回答b", "b更好"}
_TIE = {"tie", "equal", "same", "both", "neither", "draw", "平局", "相同", "一样"}


@dataclass(frozen=True)
class Rating:
    """A score on the rubric's scale and the judge's reason; or None and why the reply is unreadable."""

    score: float | None
    reason: str = ""
    why: str = ""


@dataclass(frozen=True)
class Choice:
    """ "A", "B" or "tie", with the reason; or None and why the reply is unreadable."""

    better: str | None
    reason: str = ""
    why: str = ""


def _fields(text: str, keys: set[str], finish_reason: str) -> tuple[Any, str] | None:
    """(the value of the first of `keys`, the reason) from a JSON object, else (unless cut off) labelled lines."""
    for obj in json_objects(text):
        found = {field_key(str(k)): v for k, v in obj.items()}
        value = next((found[k] for k in found if k in keys), None)
        if value is not None:
            reason = next((found[k] for k in found if k in _REASON_KEYS), "")
            return value, " ".join(reason.split()) if isinstance(reason, str) else ""
    if finish_reason == "length":
        return None
    lines = {field_key(m.group(1)): m.group(2) for m in reversed(list(LABELLED_LINE.finditer(text)))}
    value = next((lines[k] for k in lines if k in keys), None)
    if value is None:
        return None
    return value, " ".join(next((lines[k] for k in lines if k in _REASON_KEYS), "").split())


def _unreadable(text: str, finish_reason: str, what: str) -> str:
    if not text.strip():
        return "empty"
    if is_refusal(text):
        return "refusal"
    if finish_reason == "length":
        return "truncated"
    return f"no {what}"


def read_rating(text: str, finish_reason: str, scale: int) -> Rating:
    """The score (1 to `scale`, halves allowed) and reason of a judge's reply."""
    got = _fields(text, _SCORE_KEYS, finish_reason)
    if got is None:
        return Rating(None, why=_unreadable(text, finish_reason, "score"))
    value, reason = got
    number: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str) and (match := _NUMBER.match(value)):
        number = float(match.group(1))
    if number is None or not 1 <= number <= scale or number * 2 != int(number * 2):  # also refuses NaN
        return Rating(None, why=f"score {str(value)[:20]!r} is not a number from 1 to {scale}")
    return Rating(int(number) if number == int(number) else number, reason)


def read_choice(text: str, finish_reason: str) -> Choice:
    """Which of two responses the judge prefers ("A", "B") or "tie"."""
    got = _fields(text, _CHOICE_KEYS, finish_reason)
    if got is None:
        return Choice(None, why=_unreadable(text, finish_reason, "choice"))
    value, reason = got
    word = " ".join(str(value).strip().strip("\"'.。*").lower().split())
    for label, words in (("A", _A), ("B", _B), ("tie", _TIE)):
        if word in words:
            return Choice(label, reason)
    return Choice(None, why=f"choice {str(value)[:20]!r} is not A, B or tie")
