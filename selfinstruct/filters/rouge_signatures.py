"""The batch join's view of the texts: multiset elements in one global order, and the signatures their
prefixes give under the signature levels (rouge_join's steps 1 and 3).

An element is a token or its k-th repeat (so that shared elements count shared tokens with multiplicity). The
global order ranks elements rarest first by their document frequency over the whole input. A signature is an
element of a prefix on its own (rare elements), or hashed together with each element that follows it within
the prefix plus one (frequent ones), and a pair that many indexed texts hold (PairTable) with each one after
that within the prefix plus two too, so that common words never make long candidate lists.
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
        # (text, token) keys, sorted: in place where possible, since this is the largest array of the join. Both
        # sorts here only order each text's own few keys (the texts are in order already): numpy's stable sort
        # finds that order in a fraction of its default sort's time (0.15 s instead of 0.9 s for 14M keys).
        key = np.repeat(np.arange(len(codes), dtype=np.int64) << 21, self.lens)  # code points < 2**21
        key |= np.frombuffer("".join(codes).encode("utf-32-le"), dtype=np.uint32)
        key.sort(kind="stable")
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
        key.sort(kind="stable")
        self.rank = _low32(key)
        self.n_elements = len(df)


def _low32(key: IntArray) -> npt.NDArray[np.int32]:
    """The low 32 bits of non-negative int64 keys as int32 (below 2**31 here), with no int64 temporary."""
    low = key.view(np.int32)[::2] if np.little_endian else key.view(np.int32)[1::2]
    out: npt.NDArray[np.int32] = low.copy()
    return out


class Signatures:
    """The signatures of the texts `docs` under one prefix rule: (signature, text, length, effective position).

    `levels` = (r1, r2): elements ranked below r1 are matched alone; the others with the next common element
    (a pair), except that a pair whose first element ranks from r2 on and which `frequent` marks (its bucket of
    pair hashes, from PairTable) is matched with the next common element after it too (a triple). `frequent`
    None marks every such pair (triples for every first element from r2 on). A pair of texts needs alpha >= 3
    for triples (the callers see to it). Signatures are hashed to 42 bits: a collision only adds candidates."""

    def __init__(
        self,
        el: Elements,
        docs: IntArray,
        prefix: IntArray,
        levels: tuple[int, int],
        frequent: npt.NDArray[np.bool_] | None = None,
    ) -> None:
        w = _Windows(el, docs, prefix, levels, frequent)
        one = np.flatnonzero(w.in_prefix & (w.rank < levels[0]))
        sig, docs_out, pos_out = [w.rank[one]], [w.doc[one]], [w.pos[one]]
        pair = ~w.triple
        first, second = w.first[pair], w.second[pair]
        sig.append(w.pair_hash[pair])
        docs_out.append(w.doc[first])
        pos_out.append(np.maximum(w.pos[first], w.pos[second] - 1))
        # Triples: a frequent pair and each later element within the prefix plus two.
        count = w.third_count
        first, second = np.repeat(w.first[w.triple], count), np.repeat(w.second[w.triple], count)
        third = second + 1 + ranges(count)
        sig.append(_mix(w.rank[first], w.rank[second], w.rank[third]))
        docs_out.append(w.doc[first])
        pos_out.append(np.maximum(np.maximum(w.pos[first], w.pos[second] - 1), w.pos[third] - 2))
        self.sig = np.concatenate(sig)  # as many as count() says they are
        self.doc = np.concatenate(docs_out)
        self.pos = np.concatenate(pos_out)
        self.n = el.lens[self.doc]

    @staticmethod
    def count(
        el: Elements,
        docs: IntArray,
        prefix: IntArray,
        levels: tuple[int, int],
        frequent: npt.NDArray[np.bool_] | None = None,
    ) -> int:
        """len(Signatures(...).sig), without making them: the elements matched alone, the pairs that are not
        frequent, and a triple per frequent pair and later element within the prefix plus two."""
        w = _Windows(el, docs, prefix, levels, frequent)
        alone = np.count_nonzero(w.in_prefix & (w.rank < levels[0]))
        return int(alone + np.count_nonzero(~w.triple) + w.third_count.sum())


class _Windows:
    """Each text's prefix plus two, flattened (rank, text, position of every entry), and its (first, second)
    pairs: a first element within the prefix ranked from r1 on, and each later one within the prefix plus one
    (the second common element lies there, rouge_join's step 1); which of them go on to triples, and how many
    third elements each has (those after the second within the prefix plus two)."""

    def __init__(
        self,
        el: Elements,
        docs: IntArray,
        prefix: IntArray,
        levels: tuple[int, int],
        frequent: npt.NDArray[np.bool_] | None,
    ) -> None:
        r1, r2 = levels
        lens = el.lens[docs]
        plen = np.minimum(prefix[np.minimum(lens, len(prefix) - 1)], lens)
        p3 = np.minimum(plen + 2, lens)
        self.doc = np.repeat(docs, p3)
        self.pos = ranges(p3)
        self.rank = el.rank[np.repeat(el.starts[docs], p3) + self.pos].astype(np.int64)
        self.in_prefix = self.pos < np.repeat(plen, p3)
        # One past each text's last entry within the prefix plus one (plus two), as flat indices.
        end3 = np.cumsum(p3)
        end2 = np.repeat(end3 - p3 + np.minimum(plen + 1, lens), p3)
        end3 = np.repeat(end3, p3)
        lead = np.flatnonzero(self.in_prefix & (self.rank >= r1))
        count = end2[lead] - lead - 1
        self.first = np.repeat(lead, count)
        self.second = self.first + 1 + ranges(count)
        self.pair_hash = _mix(self.rank[self.first], self.rank[self.second], -1)
        self.triple = self.rank[self.first] >= r2
        if frequent is not None:
            self.triple &= frequent[_bucket(self.pair_hash, len(frequent))]
        second = self.second[self.triple]
        self.third_count = end3[second] - second - 1


class PairTable:
    """How many texts of the indexed side hold each pair (first element ranked from r2 on, as in _Windows),
    counted per bucket of the pair's hash (a bucket sums the pairs that share it): `frequent()` marks the
    buckets over a count, whose pairs both sides then match as triples. Any marking keeps the join exact (both
    sides read the same table); it only trades probes for candidates."""

    def __init__(self, bits: int) -> None:
        self._counts = np.zeros(1 << bits, dtype=np.int32)
        self._held: list[IntArray] = []
        self._size = 0

    def add(self, el: Elements, docs: IntArray, prefix: IntArray, levels: tuple[int, int]) -> None:
        w = _Windows(el, docs, prefix, levels, None)
        buckets = _bucket(w.pair_hash[w.triple], len(self._counts))
        self._held.append(buckets)
        self._size += len(buckets)
        if self._size >= len(self._counts):  # bincount a few million at once (each call makes a whole table)
            self.counts()

    def counts(self) -> npt.NDArray[np.int32]:
        """The count of each bucket, over every text added so far."""
        if self._held:
            self._counts += np.bincount(np.concatenate(self._held), minlength=len(self._counts)).astype(np.int32)
        self._held, self._size = [], 0
        return self._counts

    def frequent(self, above: int) -> npt.NDArray[np.bool_]:
        out: npt.NDArray[np.bool_] = self.counts() > above
        return out


def _bucket(pair_hash: IntArray, size: int) -> IntArray:
    """A pair's bucket of a table of `size` (a power of two): the top bits of its hash times an odd constant
    (the hash's own low bits are nearly linear in the ranks, so small ranks would share buckets)."""
    shift = np.uint64(64 - (size.bit_length() - 1))
    mixed = pair_hash.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    out: IntArray = (mixed >> shift).astype(np.int64) if size > 1 else np.zeros(len(pair_hash), dtype=np.int64)
    return out


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
