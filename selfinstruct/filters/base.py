"""What every filter returns: None to keep, or a Rejection that says why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from selfinstruct.text import Language


@dataclass(frozen=True, slots=True)  # no __dict__: a million-record filter holds one per drop
class Rejection:
    filter: str  # length | keyword | format | rouge | (generate stages add their own)
    reason: str  # short stable code, e.g. "too_short", "blacklisted", "near_duplicate"
    detail: str  # one human-readable sentence
    similar_to: str | None = None
    score: float | None = None
    match: dict[str, Any] | None = None  # what a contamination rejection matched (benchmark, item, span, score)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"filter": self.filter, "reason": self.reason, "detail": self.detail}
        if self.similar_to is not None:
            out["similar_to"] = self.similar_to
            out["score"] = self.score
        if self.match is not None:
            out["contamination"] = self.match
        return out


class TextFilter(Protocol):
    """A stateless check on one instruction."""

    @property
    def name(self) -> str: ...

    def check(self, instruction: str, language: Language) -> Rejection | None: ...
