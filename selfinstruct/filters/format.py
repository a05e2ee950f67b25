"""Drop instructions with a malformed start: punctuation, the wrong script, or "Write a program"."""

from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import dataclass

from selfinstruct.filters.base import Rejection
from selfinstruct.text import Language, is_cjk_ideograph

# Chinese instructions may open with a quoted title or phrase: 《红楼梦》的作者是谁？
_ZH_OPENERS = set("《〈「『“‘（")
_WRITE_A_PROGRAM = re.compile(r"write\s+a\s+program(?![a-z])", re.I)
_ZH_PROGRAM_PREFIXES = ("编写一个程序", "写一个程序", "编写程序", "写程序")


@dataclass(frozen=True)
class FormatFilter:
    name: str = "format"

    def check(self, instruction: str, language: Language) -> Rejection | None:
        text = instruction.strip()
        if not text:
            return Rejection(self.name, "empty", "the instruction is empty")
        first = text[0]
        if language == "zh":
            if first in _ZH_OPENERS:
                pass
            elif first in string.punctuation or unicodedata.category(first).startswith("P"):
                return Rejection(self.name, "starts_with_punctuation", f'starts with "{first}"')
            elif not (is_cjk_ideograph(first) or (first.isascii() and first.isalnum())):
                return Rejection(self.name, "wrong_script", f'starts with "{first}", not Chinese or English')
            if text.startswith(_ZH_PROGRAM_PREFIXES):
                return Rejection(self.name, "write_a_program", "asks to write a program")
        else:
            if first in string.punctuation:
                return Rejection(self.name, "starts_with_punctuation", f'starts with "{first}"')
            if not first.isascii():
                return Rejection(self.name, "wrong_script", f'starts with "{first}", not English')
        if _WRITE_A_PROGRAM.match(text):
            return Rejection(self.name, "write_a_program", 'starts with "Write a program"')
        return None
