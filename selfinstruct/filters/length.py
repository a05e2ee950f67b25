"""Drop instructions too short to be a task or too long to be one instruction (Self-Instruct: <=3 or >150 words)."""

from __future__ import annotations

from dataclasses import dataclass

from selfinstruct.filters.base import Rejection
from selfinstruct.text import Language, word_count


@dataclass(frozen=True)
class LengthFilter:
    """Words are whitespace words; Chinese counts 1.5 ideographs as one word (see text.word_count)."""

    min_words: float = 3  # dropped when words <= min_words
    max_words: float = 150  # dropped when words > max_words
    name: str = "length"

    def check(self, instruction: str, language: Language) -> Rejection | None:
        words = word_count(instruction)
        if words <= self.min_words:
            return Rejection(self.name, "too_short", f"{words:g} words, needs more than {self.min_words:g}")
        if words > self.max_words:
            return Rejection(self.name, "too_long", f"{words:g} words, at most {self.max_words:g}")
        return None
