"""Read a judge's verdict from its reply: a JSON object, or the same fields as plain `Label: value` lines.

A reply is read only when every answer is there and unambiguous; otherwise it is unreadable and says why.
Nothing is guessed: a missing field, a score outside 0-5, a refusal or a cut-off plain-text reply is
unreadable, never filled in. Scores are on AlpaGasus's 0-5 scale, where halves (4.5) are allowed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from selfinstruct.audit.questions import KEYS, QUESTIONS
from selfinstruct.text import looks_like_refusal

# Field -> the names a judge may use for it, as JSON keys or line labels (English and Chinese), compared
# after lower-casing and turning spaces and dashes into underscores.
_ALIASES: dict[str, tuple[str, ...]] = {
    **{q.key: q.aliases for q in QUESTIONS},
    "score": ("score", "overall_score", "overall", "rating", "总分", "评分", "分数"),
    "reason": ("reason", "explanation", "rationale", "理由", "原因"),
}  # fmt: skip
_KEY_TO_FIELD = {alias: name for name, aliases in _ALIASES.items() for alias in aliases}
# In plain text a bare "Input:" or "输出：" line is far more often the task echoed back than an answer.
_ECHOED = {"instruction", "input", "output", "指令", "输入", "输出"}
_LINE_TO_FIELD = {alias: name for alias, name in _KEY_TO_FIELD.items() if alias not in _ECHOED}

_YES = {"yes", "y", "true", "valid", "correct", "appropriate", "acceptable", "是", "是的", "对", "正确", "有效", "恰当"}
_NO = {"no", "n", "false", "invalid", "incorrect", "inappropriate", "unacceptable", "否", "不是", "不", "错误",
       "无效", "不恰当"}  # fmt: skip

_LINE = re.compile(
    r"^[ \t>*#-]*(?:\d+[.)、][ \t]*|q\d+[:.)][ \t]*)?\**([^:：*\n]{1,40}?)\**[ \t]*[:：][ \t]*\**(.*?)\**[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
SCORE_MIN, SCORE_MAX = 0.0, 5.0
_SCORE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:(?:/|out of|分?满分|分)\s*5?\s*(?:分)?)?\s*[.。]?\s*$")


@dataclass(frozen=True)
class Verdict:
    """The judge's yes/no answers (question key -> answer, for every question), its 0-5 score (halves
    allowed) and its reason."""

    answers: dict[str, bool]
    score: float
    reason: str

    @property
    def all_valid(self) -> bool:
        return all(self.answers.values())


@dataclass(frozen=True)
class Reading:
    """A verdict, or why the reply could not be read ("refusal", "empty", "truncated", "no verdict: ...")."""

    verdict: Verdict | None
    why: str = ""


def _key(text: str) -> str:
    return re.sub(r"[\s\-]+", "_", text.strip().lower()).strip("_?？")


def _boolean(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().strip("\"'.。!！").lower()
        word = re.split(r"[\s,，;；(（]", word, maxsplit=1)[0] if word else word
        if word in _YES:
            return True
        if word in _NO:
            return False
    return None


def score_value(number: float) -> float | int:
    """A score as the journal stores it: 4 for a whole number (JSON `4`), 4.5 otherwise."""
    return int(number) if number == int(number) else number


def _score(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    number: float | None = None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        match = _SCORE.match(value)
        number = float(match.group(1)) if match else None
    if number is None or not SCORE_MIN <= number <= SCORE_MAX:  # also refuses NaN
        return None
    return score_value(number)


def _verdict(fields: dict[str, Any]) -> Verdict | str:
    """A Verdict from canonical field -> raw value, or what is missing or wrong."""
    answers: dict[str, bool] = {}
    for question in KEYS:
        if question not in fields:
            return f"no verdict: {question} missing"
        answer = _boolean(fields[question])
        if answer is None:
            return f"no verdict: {question} is {str(fields[question])[:20]!r}, not yes or no"
        answers[question] = answer
    if "score" not in fields:
        return "no verdict: score missing"
    score = _score(fields["score"])
    if score is None:
        return f"no verdict: score {str(fields['score'])[:20]!r} is not a number from 0 to 5"
    reason = fields.get("reason", "")
    reason = " ".join(reason.split()) if isinstance(reason, str) else ""
    return Verdict(answers, score, reason)


def _json_objects(text: str) -> list[dict[str, Any]]:
    """Every top-level JSON object in the text (inside code fences, after chatter, ...), first first."""
    decoder = json.JSONDecoder()
    found: list[dict[str, Any]] = []
    pos = text.find("{")
    while pos != -1:
        try:
            value, end = decoder.raw_decode(text, pos)
        except (json.JSONDecodeError, RecursionError):  # (nested too deeply for Python's stack: not a verdict)
            pos = text.find("{", pos + 1)
            continue
        if isinstance(value, dict):
            found.append(value)
        pos = text.find("{", end)
    return found


def _canonical(obj: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    """Known fields by canonical name; one nested level is looked into ({"answers": {...}, "score": 4})."""
    fields: dict[str, Any] = {}
    for raw_key, value in obj.items():
        field = _KEY_TO_FIELD.get(_key(str(raw_key)))
        if field is not None and field not in fields and not isinstance(value, dict):
            fields[field] = value
    if depth == 0:  # top-level answers win over nested ones (e.g. an echoed {"task": {"instruction": ...}})
        for value in obj.values():
            if isinstance(value, dict):
                for name, inner in _canonical(value, 1).items():
                    fields.setdefault(name, inner)
    return fields


def _plain_fields(text: str) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for match in _LINE.finditer(text):
        field = _LINE_TO_FIELD.get(_key(match.group(1)))
        if field is not None and field not in fields:
            fields[field] = match.group(2)
    return fields


def read_verdict(text: str, finish_reason: str = "stop") -> Reading:
    """The verdict in a judge's reply; a reply cut off by max_tokens is read only if its JSON is complete."""
    if not text.strip():
        return Reading(None, "empty")
    problem = ""
    for obj in _json_objects(text):
        fields = _canonical(obj)
        if not fields:
            continue
        result = _verdict(fields)
        if isinstance(result, Verdict):
            return Reading(result)
        problem = problem or result
    if finish_reason != "length":  # cut-off plain text may have lost its last answer or half its reason
        fields = _plain_fields(text)
        if fields:
            result = _verdict(fields)
            if isinstance(result, Verdict):
                return Reading(result)
            problem = problem or result
    if looks_like_refusal(text):
        return Reading(None, "refusal")
    if finish_reason == "length":
        return Reading(None, "truncated")
    if not problem and "{" in text:
        problem = "no verdict: broken or incomplete JSON"
    return Reading(None, problem or "no verdict: neither JSON nor labelled lines")
