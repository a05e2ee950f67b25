"""Text primitives shared by the filters: tokenizing for ROUGE-L, word counts, script detection, refusals.

The ROUGE tokenizer is rouge-score's default tokenizer (``tokenize(text, None)``: lowercase, then runs of
``[a-z0-9]``; every other character separates words, so "résumé" is "r", "sum"), because the Self-Instruct
threshold of 0.7 was tuned on it and decisions must match rouge-score's. One deliberate difference: rouge-score
deletes CJK ideographs, so Chinese text would score 0 against everything; here each ideograph is one token.
"""

from __future__ import annotations

import re
from typing import Literal

Language = Literal["en", "zh"]

_ASCII_TOKEN_RE = re.compile(r"[a-z0-9]+")
# The ideographs of is_cjk_ideograph, as a character class.
_CJK_CLASS = "\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaff\U00020000-\U000323af\u3007"
_TOKEN_RE = re.compile(f"[a-z0-9]+|[{_CJK_CLASS}]")
_CJK_RE = re.compile(f"[{_CJK_CLASS}]")


def is_cjk_ideograph(ch: str) -> bool:
    """True for CJK unified/compatibility ideographs (all extensions) and 〇."""
    cp = ord(ch)
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0xF900 <= cp <= 0xFAFF
        or 0x20000 <= cp <= 0x323AF
        or cp == 0x3007
    )


def without_cjk(text: str) -> str:
    """The text with every CJK ideograph replaced by a space (what rouge-score's tokenizer sees of it)."""
    return _CJK_RE.sub(" ", text)


def rouge_tokens(text: str) -> list[str]:
    """Tokens for ROUGE-L: rouge-score's default tokenizer, plus one token per CJK ideograph.

    Lowercasing comes first, as in rouge-score: a few non-ASCII letters lowercase to ASCII (the Kelvin sign
    U+212A is "k"; "İ" is "i" and a combining dot), and rouge-score keeps those.
    """
    text = text.lower()
    if text.isascii():
        return _ASCII_TOKEN_RE.findall(text)
    return _TOKEN_RE.findall(text)


_ASCII_WORD_BYTES = bytes(c if chr(c) in "abcdefghijklmnopqrstuvwxyz0123456789" else 32 for c in range(256))


def rouge_token_bytes(text: str) -> list[bytes]:
    """rouge_tokens as UTF-8 bytes; on ASCII text about 2.5x faster (the near-duplicate index's hot path)."""
    if text.isascii():
        return text.encode("ascii").lower().translate(_ASCII_WORD_BYTES).split()
    return [token.encode() for token in rouge_tokens(text)]


def cjk_count(text: str) -> int:
    return sum(1 for ch in text if is_cjk_ideograph(ch))


def detect_language(text: str) -> Language:
    """'zh' when CJK ideographs make up at least 30% of the letters, else 'en'."""
    if text.isascii():
        return "en"
    letters = 0
    cjk = 0
    for ch in text:
        if is_cjk_ideograph(ch):
            cjk += 1
            letters += 1
        elif ch.isalnum():
            letters += 1
    return "zh" if letters and cjk / letters >= 0.3 else "en"


CJK_CHARS_PER_WORD = 1.5


def word_count(text: str) -> float:
    """Length in English-word equivalents.

    Whitespace-separated words count one each. In text with CJK ideographs, every 1.5 ideographs count as one
    word (the average length of a Chinese word), and the remaining non-CJK runs count by whitespace words,
    so "写一首诗" (write a poem) is 2.7 words and "Translate 这句话" is 1 + 2.
    """
    if text.isascii():
        return float(len(text.split()))
    cjk = 0
    other: list[str] = []
    for ch in text:
        if is_cjk_ideograph(ch):
            cjk += 1
            other.append(" ")
        else:
            other.append(ch)
    rest = "".join(other).split()
    # Words made only of punctuation (e.g. "，" between ideographs) are not words.
    words = sum(1 for w in rest if any(c.isalnum() for c in w))
    return words + cjk / CJK_CHARS_PER_WORD


# A reply that declines instead of answering: the audit's judge, and the answers of Magpie and Evol-Instruct.
_REFUSAL = re.compile(
    r"^\W*(?:i'?m sorry|i am sorry|sorry,|i (?:can(?:no|')t|cannot|won'?t|am unable|'m unable|am not able)|"
    r"as an ai|i must decline|抱歉|对不起|很抱歉|我无法|我不能)",
    re.IGNORECASE,
)


def looks_like_refusal(text: str) -> bool:
    """The reply opens by declining ("I'm sorry", "As an AI", "抱歉"...)."""
    return bool(_REFUSAL.match(text.strip()))
