"""How the near-duplicate index sees an instruction: one code point per token, and its multiset elements.

A code string holds one character per token (the fastest input for rapidfuzz's LCS). A multiset element is a
token, or its k-th repeat as its own key (token + chr(k)), so that matching elements count shared tokens with
their multiplicity; the prefix filter and the full postings use the same keys.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Sequence

SURROGATES = 0xE000 - 0xD800
MAX_VOCAB = 0x10FFFF - SURROGATES - 1
KEY_BASE = 0x110000  # chr() takes less than this: a repeat number beyond it takes two characters (elements)
REPEAT_BITS = 40  # of end_key's repeat number: a token may repeat up to 2**40 times in one instruction
UNSEEN = "\U0010ffff"  # a query token the index has never seen: no code of an indexed token equals it

Prefix = list[str]  # element keys in the global order; an element's position is its index


def elements(code: Sequence[str]) -> list[str]:
    """The keys of a sequence's multiset elements, in its order: each token, and its k-th repeat (k >= 1) as
    token + chr(k), or from the 0x110000-th repeat on (one token 2M times) token + chr(k % 0x110000) +
    chr(k // 0x110000), three characters, so never equal to a two-character key. The prefix filter and the full
    postings use the same keys."""
    if len(set(code)) == len(code):  # no repeated token (the usual case)
        return list(code)
    seen: Counter[str] = Counter()
    out = []
    for ch in code:
        k = seen[ch]
        seen[ch] = k + 1
        out.append((ch + chr(k) if k < KEY_BASE else ch + chr(k % KEY_BASE) + chr(k // KEY_BASE)) if k else ch)
    return out


def post(postings: dict[str, array[int]], doc: int, code: str) -> None:
    """Add a document's multiset elements to the full postings."""
    for key in elements(code):
        lst = postings.get(key)
        if lst is None:
            postings[key] = array("q", (doc,))
        else:
            lst.append(doc)


def end_key(prefix: Prefix) -> int:
    """The position in the global order (rarest first, then repeat number) of a prefix's last element."""
    if not prefix:
        return -1
    key = prefix[-1]
    repeat: int = sum(ord(c) * KEY_BASE**i for i, c in enumerate(key[1:]))
    return (0x10FFFF - ord(key[0])) << REPEAT_BITS | repeat


def code_point(tid: int) -> int:
    """Token (or rank) number -> a code point: 1, 2, ..., skipping the surrogates (0 stays unused)."""
    return tid + 1 if tid + 1 < 0xD800 else tid + 1 + SURROGATES


def char(tid: int) -> str:
    return chr(code_point(tid))
