"""Normalised tokens for n-gram matching, many texts at a time, as integer ids of one shared vocabulary.

Normalisation: Unicode NFKC, case folded, words are runs of letters and digits (punctuation, spaces and "_"
separate them), and each CJK ideograph or Japanese kana is a token of its own (those scripts do not separate
words by spaces, so their n-grams are character n-grams). A batch of texts is joined with a separator and
tokenized by one regex pass: the per-text overhead of a million small calls is most of the time otherwise.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from itertools import repeat

import numpy as np
import numpy.typing as npt

from selfinstruct.text import CJK_CLASS

UNKNOWN = -1  # a token the benchmark never has: no n-gram through it can match
SEPARATOR = -2  # between two texts of a batch

_KANA = "\u3040-\u30ff"
_SEP = "\x00"
_ASCII_RE = re.compile(f"[a-z0-9]+|{_SEP}")
_UNICODE_RE = re.compile(f"[{CJK_CLASS}{_KANA}]|[^\\W_{CJK_CLASS}{_KANA}]+|{_SEP}")
_SINGLE_RE = re.compile(f"[{CJK_CLASS}{_KANA}]")

Ids = npt.NDArray[np.int64]


def normalise(text: str) -> str:
    """NFKC and case folding; ASCII text only needs lowercasing (the same result, much faster)."""
    if text.isascii():
        return text.lower()
    return unicodedata.normalize("NFKC", text).casefold()


def tokens(text: str) -> list[str]:
    """The normalised tokens of one text."""
    text = normalise(text.replace(_SEP, " "))
    return (_ASCII_RE if text.isascii() else _UNICODE_RE).findall(text)


def joined(toks: Sequence[str]) -> str:
    """Tokens back into readable text: words with spaces, CJK characters side by side."""
    if all(t.isascii() for t in toks):
        return " ".join(toks)
    out: list[str] = []
    for k, tok in enumerate(toks):
        if k and not (_SINGLE_RE.fullmatch(tok) and _SINGLE_RE.fullmatch(toks[k - 1])):
            out.append(" ")
        out.append(tok)
    return "".join(out)


def batch_tokens(texts: Sequence[str]) -> list[str]:
    """The tokens of every text, texts separated by the separator token (one regex pass for the batch)."""
    big = normalise(_SEP.join(t.replace(_SEP, " ") for t in texts))
    return (_ASCII_RE if big.isascii() else _UNICODE_RE).findall(big)


def lookup(toks: Sequence[str], vocab: dict[str, int]) -> Ids:
    """Ids of tokens in a fixed vocabulary: UNKNOWN for the others, SEPARATOR for the separator."""
    get = vocab.get
    ids = np.fromiter(map(get, toks, repeat(UNKNOWN)), dtype=np.int64, count=len(toks))
    return ids


def grow(toks: Sequence[str], vocab: dict[str, int]) -> Ids:
    """Ids of tokens, adding the new ones to the vocabulary (which maps the separator to SEPARATOR)."""
    add = vocab.setdefault
    return np.fromiter((add(t, len(vocab)) for t in toks), dtype=np.int64, count=len(toks))


def new_vocabulary() -> dict[str, int]:
    return {_SEP: SEPARATOR}
