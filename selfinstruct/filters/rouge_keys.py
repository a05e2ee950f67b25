"""The indexed side of the batch join: one int64 key per signature (signature | length | text | position),
sorted in place, and the search of its ranges (rouge_join's step 4).

Sorting the keys themselves groups the entries by signature and then length with no permutation array (an
argsort and its gathers were most of the join's peak memory). Probes find their ranges through a directory of
key buckets: each answer lies within one bucket, so the search reads that bucket only, in any probe order.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from selfinstruct.filters.rouge_math import IntArray
from selfinstruct.filters.rouge_signatures import Signatures

# A key: 62 bits, so that the end of the last signature's range stays a positive int64; positions clamp at 4
# bits; a signature keeps at least 24 (fewer would make hash collisions common).
_KEY_BITS = 62
_POS_BITS = 4
_MIN_SIG_BITS = 24
_STEPS = 4  # keys stepped over (they share a cache line) before a bucket is binary-searched
_DIR_BITS = 24  # at most, of the directory of key buckets (KeySearch: 64 MiB of int32, from 13M keys on)
_BATCH = 1 << 15  # probes searched at once (their key lines stay cached from range starts to range ends)
_PART_BITS = 8  # KeySearch.by_part: 256 parts of the keys (half a megabyte each at a million texts)
_SPREAD = 0x9E3779B1  # odd: multiplying by it modulo a power of two is one to one


class KeyLayout:
    """The bits of a key of the indexed (shorter) side, high to low: signature | length | text | position.

    Sorting these keys in place groups the entries by signature, then length, then text, with no permutation
    array (an argsort and its gathers were most of the join's peak memory); a range can so end before a given
    text of a given length (`before`). Signatures are folded to the bits left, lengths and positions clamped;
    both only admit extra candidates (lengths are read from the texts)."""

    def __init__(self, n_docs: int, max_len: int) -> None:
        self.doc_bits = max(1, (n_docs - 1).bit_length())
        self.pos_max = (1 << _POS_BITS) - 1
        self.shift = self.doc_bits + _POS_BITS
        self.len_bits = max(1, min(max_len.bit_length(), _KEY_BITS - self.shift - _MIN_SIG_BITS))
        self.sig_bits = _KEY_BITS - self.shift - self.len_bits
        if self.sig_bits < _MIN_SIG_BITS:
            raise OverflowError("too many texts for the batch join")
        self.len_cap = (1 << self.len_bits) - 1

    def field(self, sig: IntArray) -> IntArray:
        """Signatures in sig_bits: ranks below half are spread over the lower half (times an odd number modulo
        its size: one to one, so ranks never collide, and consecutive ranks land in different buckets of the
        KeySearch directory), the rest fold into the upper half."""
        half = 1 << (self.sig_bits - 1)
        out: IntArray = np.where(sig < half, (sig * _SPREAD) & (half - 1), (sig & (half - 1)) | half)
        return out

    def probe(self, field: IntArray, n: IntArray) -> IntArray:
        """The smallest key with this signature field and a length field of at least n, which may be
        len_cap + 1: the start of the next field (a range end). Range starts clamp n to len_cap themselves."""
        out: IntArray = ((field << self.len_bits) + np.minimum(n, self.len_cap + 1)) << self.shift  # +, not |
        return out

    def before(self, field: IntArray, n: IntArray, doc: IntArray) -> IntArray:
        """The smallest key with this signature field, length field n (at most len_cap) and text `doc`: a range
        ending there holds the texts of that length numbered below doc, and none of longer ones."""
        out: IntArray = ((field << self.len_bits | n) << self.shift) | doc << _POS_BITS
        return out

    def keys(self, sig: Signatures) -> IntArray:
        length = np.minimum(sig.n, self.len_cap)
        pos = np.minimum(sig.pos, self.pos_max)  # a lower position only admits more
        out: IntArray = (self.field(sig.sig) << self.len_bits | length) << self.shift
        out |= sig.doc << _POS_BITS | pos
        return out

    def doc(self, key: IntArray) -> IntArray:
        out: IntArray = (key >> _POS_BITS) & ((1 << self.doc_bits) - 1)
        return out


class KeySearch:
    """np.searchsorted(keys, needles, "left") for the sorted keys of the indexed side, fast for needles in any
    order: a directory of where each bucket of keys (their top bits) starts bounds each answer to one bucket, a
    few keys of which are stepped over (most buckets hold a few keys); the needles left binary-search their bucket."""

    def __init__(self, keys: IntArray, sig_bits: int) -> None:
        self.keys = keys
        bits = max(1, min(sig_bits, _DIR_BITS, len(keys).bit_length()))
        self.shift = _KEY_BITS - bits
        # starts[b]: the first key whose bucket is b or later (a needle's bucket may be 2**bits: a range end).
        starts = np.full((1 << bits) + 2, len(keys), dtype=np.int32 if len(keys) < 1 << 31 else np.int64)
        for at in range(0, len(keys), 1 << 21):
            bucket = keys[at : at + (1 << 21)] >> self.shift
            new = np.flatnonzero(np.diff(bucket, prepend=-1))  # the first key of each bucket in this part
            first = bucket[new]
            fresh = starts[first] == len(keys)  # not begun in an earlier part
            starts[first[fresh]] = at + new[fresh]
        np.minimum.accumulate(starts[::-1], out=starts[::-1])  # empty buckets start where the next does
        self.starts = starts

    def by_part(self, starts: IntArray) -> IntArray:
        """An order of range starts that brings together those in the same part of the keys (the same top bits):
        searched in it, a part's keys are read from the cache. At a million texts the keys are 100 MB and a
        chunk's 200k probes land on as many different cache lines, in any order (sorting one chunk's probes
        gained nothing); half a million probes in 256 parts of 50k keys each share them. A one-byte radix sort."""
        part = (starts >> max(0, _KEY_BITS - _PART_BITS)).astype(np.uint8)  # range starts are below 2**_KEY_BITS
        order: IntArray = np.argsort(part, kind="stable")
        return order

    def lower_bound(self, needles: IntArray) -> IntArray:
        bucket = needles >> self.shift
        at: IntArray = self.starts[bucket].astype(np.int64)
        return self._step(at, self.starts[bucket + 1], needles)

    def ranges(self, starts: IntArray, ends: IntArray) -> tuple[IntArray, IntArray]:
        """(lower_bound(starts), lower_bound(ends)) for ranges starts[i] <= ends[i], a batch of probes at a
        time: the key lines a batch's starts read are still in the cache when its ends are searched."""
        lo, hi = np.empty_like(starts), np.empty_like(ends)
        for at in range(0, len(starts), _BATCH):
            lo[at : at + _BATCH] = self.lower_bound(starts[at : at + _BATCH])
            hi[at : at + _BATCH] = self.range_ends(lo[at : at + _BATCH], ends[at : at + _BATCH])
        return lo, hi

    def range_ends(self, lo: IntArray, ends: IntArray) -> IntArray:
        """lower_bound(ends) for ends just past lo (each range starts at lo): most ranges hold a few keys."""
        return self._step(lo.copy(), self.starts[(ends >> self.shift) + 1], ends)

    def _step(self, at: IntArray, stop: npt.NDArray[np.integer], needles: IntArray) -> IntArray:
        """Step each answer at < stop past the keys below its needle, _STEPS times; then search the rest."""
        keys, last = self.keys, len(self.keys) - 1
        if last < 0:  # no keys: every answer is 0
            return at
        active = np.arange(len(at))
        for _ in range(_STEPS):
            a = at[active]
            active = active[(a < stop[active]) & (keys[np.minimum(a, last)] < needles[active])]
            if not len(active):
                return at
            at[active] += 1
        # The rest lie in large buckets: a binary search of each one's bucket, all at once.
        low, high, find = at[active], stop[active].astype(np.int64), needles[active]
        while len(active):
            open_ = low < high  # the answer lies in [low, high]
            at[active[~open_]] = low[~open_]
            active, low, high, find = active[open_], low[open_], high[open_], find[open_]
            mid = (low + high) >> 1
            below = keys[mid] < find
            low = np.where(below, mid + 1, low)
            high = np.where(below, high, mid)
        return at
