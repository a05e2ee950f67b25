"""Hashed n-grams of token ids: one 64-bit key per window of n tokens, computed for a whole batch at once.

The hash folds the n ids in order (xor, then multiply by an odd 64-bit constant, FNV style, wrapping in
uint64) and ends with a 64-bit finaliser, so two different n-grams share a key with probability about 2**-64.
A window is valid only when none of its tokens is UNKNOWN or a SEPARATOR: it then lies inside one text and can
occur in the benchmark.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from selfinstruct.filters.contamination.tokens import SEPARATOR, Ids

_OFFSET = np.uint64(0xCBF29CE484222325)
_PRIME = np.uint64((0x100000001B3 | (0x9E3779B9 << 40)) & (2**64 - 1))  # odd, high bits set: small ids spread
_MIX1 = np.uint64(0xFF51AFD7ED558CCD)
_MIX2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)

Keys = npt.NDArray[np.uint64]
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Windows:
    """The valid windows of n tokens in a batch: their keys, the text each lies in and where it starts there."""

    keys: Keys
    text: Ints  # index of the text in the batch
    pos: Ints  # token position of the window's start in its text

    def select(self, mask: npt.NDArray[np.bool_]) -> Windows:
        return Windows(self.keys[mask], self.text[mask], self.pos[mask])


@dataclass(frozen=True)
class Layout:
    """Where each token of a batch lies: its text and its position in that text; and each text's length."""

    text: Ints
    pos: Ints
    lengths: Ints

    @classmethod
    def of(cls, ids: Ids) -> Layout:
        sep = ids == SEPARATOR
        text = np.cumsum(sep, dtype=np.int64)  # texts before this token (a separator ends its text)
        idx = np.arange(len(ids), dtype=np.int64)
        last_sep = np.maximum.accumulate(np.where(sep, idx, -1))
        pos = idx - last_sep - 1
        n_texts = int(text[-1]) + 1 if len(ids) else 0
        lengths = np.bincount(text[~sep], minlength=n_texts).astype(np.int64)
        return cls(text=text, pos=pos, lengths=lengths)


def hash_windows(ids: Ids, n: int) -> Keys:
    """The key of every window of n consecutive ids (len(ids) - n + 1 of them; none when fewer ids)."""
    count = len(ids) - n + 1
    if count <= 0:
        return np.zeros(0, dtype=np.uint64)
    u = ids.astype(np.uint64)  # negative sentinels wrap; their windows are masked out
    h = np.full(count, _OFFSET, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            h ^= u[k : k + count]
            h *= _PRIME
        h ^= h >> _S33
        h *= _MIX1
        h ^= h >> _S33
        h *= _MIX2
        h ^= h >> _S33
    return h


def valid_windows(ids: Ids, n: int, layout: Layout) -> Windows:
    """The windows of n tokens that hold only known tokens of one text."""
    keys = hash_windows(ids, n)
    if not len(keys):
        empty = np.zeros(0, dtype=np.int64)
        return Windows(keys, empty, empty)
    bad = np.concatenate(([0], np.cumsum(ids < 0, dtype=np.int64)))
    ok = (bad[n:] - bad[:-n]) == 0
    start = np.flatnonzero(ok)
    return Windows(keys=keys[ok], text=layout.text[start], pos=layout.pos[start])
