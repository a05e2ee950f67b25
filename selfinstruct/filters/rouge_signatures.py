"""The batch join's view of the texts: multiset elements in one global order, and the signatures their
prefixes give under the signature levels (rouge_join's steps 1 and 3).

An element is a token or its k-th repeat (so that shared elements count shared tokens with multiplicity). The
global order ranks elements rarest first by their document frequency over the whole input. A signature is an
element of a prefix on its own (rare elements), or hashed together with the next one or two elements that
follow it within the prefix plus one or two (frequent ones), so that common words never make long candidate
lists.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from selfinstruct.filters.rouge_math import IntArray


class Elements:
    """Each text's multiset elements as ranks in the global order (rarest first), sorted per text."""

    def __init__(self, codes: Sequence[str]) -> None:
        self.lens = np.fromiter(map(len, codes), dtype=np.int64, count=len(codes))
        self.starts = np.cumsum(self.lens) - self.lens
        # (text, token) keys, sorted: in place where possible, since this is the largest array of the join.
        key = np.repeat(np.arange(len(codes), dtype=np.int64) << 21, self.lens)  # code points < 2**21
        key |= np.frombuffer("".join(codes).encode("utf-32-le"), dtype=np.uint32)
        key.sort()
        # The k-th repeat of a token in a text is an element of its own: (token, k).
        k = np.arange(len(key), dtype=np.int32)
        run_start = np.ones(len(key), dtype=bool)
        np.not_equal(key[1:], key[:-1], out=run_start[1:])
        run_at = np.where(run_start, k, np.int32(0))
        del run_start
        k -= np.maximum.accumulate(run_at, out=run_at)
        del run_at
        elem = _low32(key)  # int32, not an int64 `key & mask`: this step's peak is the join's largest
        elem &= (1 << 21) - 1  # the code point
        repeats = np.flatnonzero(k)
        if len(repeats):
            _, extra = np.unique(elem[repeats].astype(np.int64) << 32 | k[repeats], return_inverse=True)
            elem[repeats] = (1 << 21) + extra
            del extra
        del k, repeats
        present = np.bincount(elem) > 0
        elem = (np.cumsum(present, dtype=np.int32) - 1)[elem]  # dense element ids
        df = np.bincount(elem)
        order = np.argsort(df, kind="stable")
        rank = np.empty(len(df), dtype=np.int32)  # rank[elem] below is a temporary of every element: int32
        rank[order] = np.arange(len(df), dtype=np.int32)
        self.df_sorted = df[order]
        key >>= 21
        key <<= 32
        key |= rank[elem]
        del elem
        key.sort()
        self.rank = _low32(key)
        self.n_elements = len(df)


def _low32(key: IntArray) -> npt.NDArray[np.int32]:
    """The low 32 bits of non-negative int64 keys as int32 (below 2**31 here), with no int64 temporary."""
    low = key.view(np.int32)[::2] if np.little_endian else key.view(np.int32)[1::2]
    out: npt.NDArray[np.int32] = low.copy()
    return out


class Signatures:
    """The signatures of the texts `docs` under one prefix rule: (signature, text, length, effective position).

    `levels` = (r1, r2): elements ranked below r1 are matched alone, those below r2 with the next common
    element, the rest with the next two. A pair of texts needs alpha >= 3 for that (the callers see to it).
    Signatures are hashed to 42 bits: a collision only adds candidates."""

    def __init__(self, el: Elements, docs: IntArray, prefix: IntArray, levels: tuple[int, int]) -> None:
        r1, r2 = levels
        lens = el.lens[docs]
        plen = np.minimum(prefix[np.minimum(lens, len(prefix) - 1)], lens)
        p3 = np.minimum(plen + 2, lens)
        at = np.repeat(el.starts[docs], p3) + ranges(p3)
        doc = np.repeat(docs, p3)
        pos = ranges(p3)
        rank = el.rank[at].astype(np.int64)
        in_prefix = pos < np.repeat(plen, p3)
        # One past each text's last entry within the prefix plus one (plus two), as local indices.
        end3 = np.cumsum(p3)
        end2 = np.repeat(end3 - p3 + np.minimum(plen + 1, lens), p3)
        end3 = np.repeat(end3, p3)
        one = np.flatnonzero(in_prefix & (rank < r1))
        sig, docs_out, pos_out = [rank[one]], [doc[one]], [pos[one]]
        # Level 2: the first common element and any later one within the prefix plus one.
        two = np.flatnonzero(in_prefix & (rank >= r1) & (rank < r2))
        if len(two):
            count = end2[two] - two - 1
            first = np.repeat(two, count)
            second = first + 1 + ranges(count)
            sig.append(_mix(rank[first], rank[second], -1))
            docs_out.append(doc[first])
            pos_out.append(np.maximum(pos[first], pos[second] - 1))
        # Level 3: and two later ones within the prefix plus two.
        three = np.flatnonzero(in_prefix & (rank >= r2))
        if len(three):
            count = np.maximum(end3[three] - three - 2, 0)
            first = np.repeat(three, count)
            second = first + 1 + ranges(count)
            count = end3[second] - second - 1
            first, second = np.repeat(first, count), np.repeat(second, count)
            third = second + 1 + ranges(count)
            sig.append(_mix(rank[first], rank[second], rank[third]))
            docs_out.append(doc[first])
            pos_out.append(np.maximum(np.maximum(pos[first], pos[second] - 1), pos[third] - 2))
        self.sig = np.concatenate(sig)  # as many as count() says they are
        self.doc = np.concatenate(docs_out)
        self.pos = np.concatenate(pos_out)
        self.n = el.lens[self.doc]

    @staticmethod
    def count(el: Elements, docs: IntArray, prefix: IntArray, levels: tuple[int, int]) -> int:
        """len(Signatures(...).sig), from the prefixes alone: an element at position p of a prefix of plen
        elements (plen + 1 and plen + 2 with the next ones) has 1, plen + 1 - p - 1 pairs or c(c+1)/2 triples,
        c = plen + 2 - p - 2, by its level (each end clamped to the text's length, as there)."""
        r1, r2 = levels
        lens = el.lens[docs]
        plen = np.minimum(prefix[np.minimum(lens, len(prefix) - 1)], lens)
        pos = ranges(plen)
        rank = el.rank[np.repeat(el.starts[docs], plen) + pos]
        end2 = np.repeat(np.minimum(plen + 1, lens), plen)
        c = np.maximum(np.repeat(np.minimum(plen + 2, lens), plen) - pos - 2, 0)
        two = (rank >= r1) & (rank < r2)
        three = rank >= r2
        return int(np.count_nonzero(rank < r1) + (end2 - pos - 1)[two].sum() + (c * (c + 1) // 2)[three].sum())


_SIG_MASK = (1 << 42) - 1


def _mix(a: IntArray, b: IntArray, c: IntArray | int) -> IntArray:
    """A 42-bit hash of a pair or triple of ranks, above every single rank's own value."""
    h = (a * 0x9E3779B1 + 1) * 0x85EBCA77 + b * 0xC2B2AE3D + (np.asarray(c) + 1) * 0x27D4EB2F
    out: IntArray = ((h ^ (h >> 29)) & _SIG_MASK) | (1 << 41)
    return out


def ranges(counts: IntArray) -> IntArray:
    """0, 1, ..., c-1 for each count c, concatenated."""
    total = int(counts.sum())
    out: IntArray = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    return out
