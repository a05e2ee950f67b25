"""Every pair of texts with ROUGE-L F1 above a threshold, exactly: the similarity self-join behind the batch filter.

The greedy filter over a whole file needs, for each instruction, its best match among the earlier ones that
were kept. Here the pairs above the threshold are found first, among all the texts at once (the file is known
before filtering starts), and the greedy decisions are then read off them in order (`NearDuplicateIndex`).

Why the pairs come out exact and fast (t the threshold, a pair of lengths m <= n needs an LCS, hence a
multiset overlap, of alpha = floor(t(m+n)/2) + 1 elements; an element is a token or its k-th repeat):

1. One global order, rarest element first, from the whole input's frequencies. A pair's first common element
   lies among the first len - alpha + 1 elements of both texts (prefix filter), and its second common element
   among the first len - alpha + 2.
2. Length-aware prefixes: the shorter text of a pair needs only the prefix for partners at least as long as
   itself (alpha >= floor(t*m) + 1), the longer one the prefix for its shortest possible partner.
3. Signatures: a rare first common element is matched on its own; a frequent one (many texts hold it) only
   together with the second common element, which follows it in the order and is frequent too. So common
   words never produce the long candidate lists a plain prefix filter reads.
4. Candidates are ranges of one array of keys (signature | length | position | text) sorted in place, found
   with one two-level search (_lower_bound) after a bitmap of the signatures present screens out most probes;
   the length, positional and a 128-bit token-mask overlap bound prune them in numpy before any LCS is computed.
5. Survivors get rapidfuzz's exact bit-parallel LCS and rouge-score's own float formula.

Pairs whose threshold needs a single shared element (alpha < 2: very short texts at lower thresholds) are
joined the same way with every element matched on its own.
"""

from __future__ import annotations

import contextlib
import ctypes
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
from rapidfuzz import process
from rapidfuzz.distance import LCSseq

from selfinstruct.filters.rouge_math import EPS as _EPS
from selfinstruct.filters.rouge_math import FloatArray, IntArray, fmeasures, min_overlap

_LEVEL_DF = (100, 1000)  # elements in at most this many texts are matched alone, with one more, with two more
_CHUNK_DOCS = 8192  # texts whose signatures are made at once (bounds the memory of the candidate ranges)
_CHUNK_TUPLES = 1 << 18  # candidate (text, text) tuples expanded per step (a dozen arrays of this many)
_VERIFY = 1 << 18  # pairs per LCS call (its two lists of texts are held meanwhile)
_MAX_LEN = (1 << 20) - 1  # tokens in a text; longer ones go to the incremental index (OverflowError)
# A key of the indexed side (_Layout): 62 bits, so that the end of the last signature's range stays a positive
# int64; positions clamp at 4 bits; a signature keeps at least 24 (fewer would make hash collisions common).
_KEY_BITS = 62
_POS_BITS = 4
_MIN_SIG_BITS = 24
_STEPS = 4  # keys stepped over before a range's end is searched for
_SAMPLE_BITS = 4  # every 16th key is searched first (_lower_bound)
_SEEN_BITS = 27  # of the bitmap of signatures present on the indexed side (16 MiB)


class _Elements:
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


def _release_freed() -> None:
    """Give the heap's free pages back to the OS (glibc's malloc_trim; elsewhere nothing): the join's many
    mid-sized arrays leave it fragmented, and the filter's later peak would stack on top of them."""
    with contextlib.suppress(OSError, AttributeError):  # AttributeError: not glibc
        ctypes.CDLL(None).malloc_trim(0)


def _low32(key: IntArray) -> npt.NDArray[np.int32]:
    """The low 32 bits of non-negative int64 keys as int32 (below 2**31 here), with no int64 temporary."""
    low = key.view(np.int32)[::2] if np.little_endian else key.view(np.int32)[1::2]
    out: npt.NDArray[np.int32] = low.copy()
    return out


def _alpha(total: IntArray, t: float) -> IntArray:
    """The fewest shared elements for F1 > t at this combined length."""
    out: IntArray = np.floor(t * total / 2).astype(np.int64) + 1
    return out


class _Signatures:
    """The signatures of the texts `docs` under one prefix rule: (signature, text, length, effective position).

    `levels` = (r1, r2): elements ranked below r1 are matched alone, those below r2 with the next common
    element, the rest with the next two. A pair of texts needs alpha >= 3 for that (the callers see to it).
    Signatures are hashed to 42 bits: a collision only adds candidates."""

    def __init__(self, el: _Elements, docs: IntArray, prefix: IntArray, levels: tuple[int, int]) -> None:
        r1, r2 = levels
        lens = el.lens[docs]
        plen = np.minimum(prefix[np.minimum(lens, len(prefix) - 1)], lens)
        p3 = np.minimum(plen + 2, lens)
        at = np.repeat(el.starts[docs], p3) + _ranges(p3)
        doc = np.repeat(docs, p3)
        pos = _ranges(p3)
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
            second = first + 1 + _ranges(count)
            sig.append(_mix(rank[first], rank[second], -1))
            docs_out.append(doc[first])
            pos_out.append(np.maximum(pos[first], pos[second] - 1))
        # Level 3: and two later ones within the prefix plus two.
        three = np.flatnonzero(in_prefix & (rank >= r2))
        if len(three):
            count = np.maximum(end3[three] - three - 2, 0)
            first = np.repeat(three, count)
            second = first + 1 + _ranges(count)
            count = end3[second] - second - 1
            first, second = np.repeat(first, count), np.repeat(second, count)
            third = second + 1 + _ranges(count)
            sig.append(_mix(rank[first], rank[second], rank[third]))
            docs_out.append(doc[first])
            pos_out.append(np.maximum(np.maximum(pos[first], pos[second] - 1), pos[third] - 2))
        self.sig = np.concatenate(sig)  # as many as count() says they are
        self.doc = np.concatenate(docs_out)
        self.pos = np.concatenate(pos_out)
        self.n = el.lens[self.doc]

    @staticmethod
    def count(el: _Elements, docs: IntArray, prefix: IntArray, levels: tuple[int, int]) -> int:
        """len(_Signatures(...).sig), from the prefixes alone: an element at position p of a prefix of plen
        elements (plen + 1 and plen + 2 with the next ones) has 1, plen + 1 - p - 1 pairs or c(c+1)/2 triples,
        c = plen + 2 - p - 2, by its level (each end clamped to the text's length, as there)."""
        r1, r2 = levels
        lens = el.lens[docs]
        plen = np.minimum(prefix[np.minimum(lens, len(prefix) - 1)], lens)
        pos = _ranges(plen)
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


def _ranges(counts: IntArray) -> IntArray:
    """0, 1, ..., c-1 for each count c, concatenated."""
    total = int(counts.sum())
    out: IntArray = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    return out


def _masks(el: _Elements, codes: Sequence[str]) -> tuple[IntArray, IntArray]:
    """Two 64-bit masks per text, a bit per token (by code point mod 128); made a slice of texts at a time."""
    lo = np.zeros(len(codes), dtype=np.uint64)
    hi = np.zeros(len(codes), dtype=np.uint64)
    for start in range(0, len(codes), _CHUNK_DOCS):
        part = codes[start : start + _CHUNK_DOCS]
        bit = np.frombuffer("".join(part).encode("utf-32-le"), dtype=np.uint32) % 128
        doc = np.repeat(np.arange(start, start + len(part), dtype=np.int64), el.lens[start : start + len(part)])
        low = bit < 64
        np.bitwise_or.at(lo, doc[low], np.uint64(1) << bit[low].astype(np.uint64))
        np.bitwise_or.at(hi, doc[~low], np.uint64(1) << (bit[~low] - 64).astype(np.uint64))
    return lo, hi  # type: ignore[return-value]


def similar_pairs(
    codes: Sequence[str],
    t: float,
    *,
    first_new: int = 0,
    workers: int = 1,
    progress: Callable[[int], object] | None = None,
) -> tuple[IntArray, IntArray, FloatArray]:
    """Every pair (a, b), a < b, b >= first_new, of texts (one code point per token) with ROUGE-L F1 above t,
    and its F1 (rouge-score's float, with b as the prediction's reference order: precision = LCS / len(a)).

    `progress(k)` is called as the texts from first_new on are probed (the counts add up to their number)."""
    n_docs = len(codes)
    none = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0))
    if n_docs == 0 or first_new >= n_docs:
        return none
    el = _Elements(codes)
    if len(el.lens) and int(el.lens.max()) > _MAX_LEN:
        raise OverflowError("a text is too long for the batch join")
    bound = t - _EPS
    max_len = int(el.lens.max()) if n_docs else 0
    long_prefix = np.zeros(max_len + 1, dtype=np.int64)
    short_prefix = np.zeros(max_len + 1, dtype=np.int64)
    for length in range(1, max_len + 1):
        need = min_overlap(length, bound) if bound > 0 else 1
        long_prefix[length] = 0 if need is None else length - need + 1
        short_prefix[length] = min(length, length - int(np.floor(bound * length))) if bound > 0 else length
    every = el.n_elements
    masks = _masks(el, codes)
    found: list[IntArray] = []
    docs = np.arange(n_docs, dtype=np.int64)
    if bound <= 0:
        _join(el, docs, (short_prefix, long_prefix), (every, every), bound, first_new, masks, found, progress)
    else:
        r1, r2 = (int(np.searchsorted(el.df_sorted, d, "right")) for d in _LEVEL_DF)
        _join(el, docs, (short_prefix, long_prefix), (r1, r2), bound, first_new, masks, found, progress)
        # Pairs that need fewer than three shared elements (m + n < 4/t), then fewer than two (m + n < 2/t),
        # are found again among the short texts with fewer levels.
        for size, levels in ((4, (r1, every)), (2, (every, every))):
            small = docs[el.lens < size / bound]
            if len(small):
                _join(el, small, (short_prefix, long_prefix), levels, bound, first_new, masks, found, None)
    if not found:
        return none
    pairs = np.unique(np.concatenate(found))
    lens = el.lens
    del el, masks, found  # the verification's lists of texts come on top of what is still held
    _release_freed()
    a, b = pairs >> 32, pairs & 0xFFFFFFFF
    scores = np.empty(len(pairs))
    for s in range(0, len(pairs), _VERIFY):
        aa, bb = a[s : s + _VERIFY], b[s : s + _VERIFY]
        lcs = process.cpdist(
            [codes[i] for i in bb.tolist()],
            [codes[i] for i in aa.tolist()],
            scorer=LCSseq.similarity,
            dtype=np.int64,
            workers=workers,
        )
        scores[s : s + _VERIFY] = fmeasures(lcs, lens[bb], lens[aa])
    keep = scores > t
    return a[keep], b[keep], scores[keep]


class _Layout:
    """The bits of a key of the indexed (shorter) side, high to low: signature | length | position | text.

    Sorting these keys in place groups the entries by signature and then length, with no permutation array
    (an argsort and its gathers were most of the join's peak memory). Signatures are folded to the bits left,
    lengths and positions clamped; both only admit extra candidates (lengths are read from the texts)."""

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
        """Signatures in sig_bits: ranks below half stay as they are, the rest fold into the upper half."""
        half = 1 << (self.sig_bits - 1)
        out: IntArray = np.where(sig < half, sig, (sig & (half - 1)) | half)
        return out

    def probe(self, field: IntArray, n: IntArray) -> IntArray:
        """The smallest key with this signature field and a length field of at least n, which may be
        len_cap + 1: the start of the next field (a range end). Range starts clamp n to len_cap themselves."""
        out: IntArray = ((field << self.len_bits) + np.minimum(n, self.len_cap + 1)) << self.shift  # +, not |
        return out

    def keys(self, sig: _Signatures) -> IntArray:
        length = np.minimum(sig.n, self.len_cap)
        pos = np.minimum(sig.pos, self.pos_max)  # a lower position only admits more
        out: IntArray = (self.field(sig.sig) << self.len_bits | length) << self.shift
        out |= pos << self.doc_bits | sig.doc
        return out


def _join(
    el: _Elements,
    docs: IntArray,
    prefixes: tuple[IntArray, IntArray],
    levels: tuple[int, int],
    bound: float,
    first_new: int,
    masks: tuple[IntArray, IntArray],
    found: list[IntArray],
    progress: Callable[[int], object] | None,
) -> None:
    """Candidate pairs among `docs` (shorter text's short prefix against the longer one's long prefix), pruned,
    appended to `found` as a << 32 | b keys (a < b)."""
    short_prefix, long_prefix = prefixes
    layout = _Layout(len(el.lens), int(el.lens.max()))
    # Which signature fields occur at all, a bit each (folded to _SEEN_BITS): most probes are dropped by it
    # before the binary search, which is what the join spends most of its time on.
    seen_bits = min(layout.sig_bits, _SEEN_BITS)
    seen_mask = (1 << seen_bits) - 1
    seen = np.zeros(1 << (seen_bits - 3), dtype=np.uint8)
    # Counted first, then made into place a chunk at a time: holding every chunk until the array could be
    # allocated doubled the join's peak memory.
    chunks = range(0, len(docs), _CHUNK_DOCS)
    total = sum(_Signatures.count(el, docs[c : c + _CHUNK_DOCS], short_prefix, levels) for c in chunks)
    s_key = np.empty(total, dtype=np.int64)
    at = 0
    for start in chunks:
        short = _Signatures(el, docs[start : start + _CHUNK_DOCS], short_prefix, levels)
        s_key[at : at + len(short.sig)] = layout.keys(short)
        at += len(short.sig)
        folded = layout.field(short.sig) & seen_mask
        np.bitwise_or.at(seen, folded >> 3, np.uint8(1) << (folded & 7).astype(np.uint8))
        del short, folded
    if at != len(s_key):
        raise RuntimeError(f"the join counted {len(s_key)} signatures and made {at}")
    s_key.sort()
    sample = s_key[:: 1 << _SAMPLE_BITS].copy()
    doc_mask = (1 << layout.doc_bits) - 1
    lo_mask, hi_mask = masks
    lens = el.lens
    ratio = bound / (2 - bound) if bound > 0 else 0.0
    for start in range(0, len(docs), _CHUNK_DOCS):
        part = docs[start : start + _CHUNK_DOCS]
        probe = _Signatures(el, part, long_prefix, levels)
        field = layout.field(probe.sig)
        # The shorter text x: n_x in [ratio * n_y, n_y], and the y-side positional bound.
        n_y = probe.n
        n_lo = np.floor(ratio * n_y).astype(np.int64)
        n_hi = n_y if bound <= 0 else np.minimum(n_y, np.floor(2 * (n_y - probe.pos) / bound - n_y).astype(np.int64))
        folded = field & seen_mask
        live = (n_hi >= n_lo) & ((seen[folded >> 3] >> (folded & 7).astype(np.uint8)) & 1).astype(bool)
        del folded
        # Probing in key order: each search's reads are near the previous one's (cache-friendly).
        order = np.flatnonzero(live)
        order = order[np.argsort(field[order])]
        field, p_doc, n_y, n_lo, n_hi = field[order], probe.doc[order], n_y[order], n_lo[order], n_hi[order]
        del probe, order, live
        lo = _lower_bound(s_key, sample, layout.probe(field, np.minimum(n_lo, layout.len_cap)))
        hi = _range_ends(s_key, sample, lo, layout.probe(field, n_hi + 1))
        count = np.maximum(hi - lo, 0)
        cum = np.cumsum(count)
        first = 0
        while first < len(count):
            # Entries first..last expand to at most _CHUNK_TUPLES tuples (or one entry, however many).
            base = cum[first - 1] if first else 0
            last = max(first + 1, int(np.searchsorted(cum, base + _CHUNK_TUPLES, "right")))
            c = count[first:last]
            src = np.repeat(np.arange(first, last, dtype=np.int64), c)
            x_key = s_key[np.repeat(lo[first:last], c) + _ranges(c)]
            x, y = x_key & doc_mask, p_doc[src]
            nx, ny = lens[x], n_y[src]
            alpha = _alpha(nx + ny, bound)
            x_pos = (x_key >> layout.doc_bits) & layout.pos_max
            ok = (x != y) & (np.maximum(x, y) >= first_new) & (x_pos <= nx - alpha)
            ok &= (nx <= ny) & (2 * nx > bound * (nx + ny))
            x, y, nx, ny, alpha = x[ok], y[ok], nx[ok], ny[ok], alpha[ok]
            missing_x = np.bitwise_count(lo_mask[x] & ~lo_mask[y]) + np.bitwise_count(hi_mask[x] & ~hi_mask[y])
            missing_y = np.bitwise_count(lo_mask[y] & ~lo_mask[x]) + np.bitwise_count(hi_mask[y] & ~hi_mask[x])
            ok = np.minimum(nx - missing_x, ny - missing_y) >= alpha
            x, y = x[ok], y[ok]
            if len(x):
                found.append(np.unique(np.minimum(x, y) << 32 | np.maximum(x, y)))
            first = last
        if progress is not None:
            done = int(np.count_nonzero(part >= first_new))
            if done:
                progress(done)


def _lower_bound(keys: IntArray, sample: IntArray, needles: IntArray) -> IntArray:
    """np.searchsorted(keys, needles, "left") for sample = keys[::2**_SAMPLE_BITS]: a search of the small sample
    (it stays in cache), then a branch-free binary search of one block of keys for all needles at once, whose
    memory reads overlap (a plain search of the whole array waits for a cache miss at each step of each needle)."""
    if not len(keys):
        return np.zeros(len(needles), dtype=np.int64)
    block = np.searchsorted(sample, needles, "left")  # sample[block - 1] < needle <= sample[block]
    pos = np.maximum(block - 1, 0) << _SAMPLE_BITS  # keys[pos] < needle where block > 0
    last = len(keys) - 1
    step = 1 << (_SAMPLE_BITS - 1)
    while step:
        at = pos + step
        pos = np.where((at <= last) & (keys[np.minimum(at, last)] < needles), at, pos)
        step >>= 1
    out: IntArray = np.where(block > 0, pos + 1, 0)
    return out


def _range_ends(keys: IntArray, sample: IntArray, lo: IntArray, end: IntArray) -> IntArray:
    """np.searchsorted(keys, end) for ends just past lo: most ranges hold a few keys, which are stepped over
    (they share lo's cache line) instead of searched for; the rest are searched."""
    hi = lo.copy()
    active = np.arange(len(lo))
    last = len(keys) - 1
    for _ in range(_STEPS):
        at = hi[active]
        active = active[(at <= last) & (keys[np.minimum(at, last)] < end[active])]
        if not len(active):
            return hi
        hi[active] += 1
    hi[active] = _lower_bound(keys, sample, end[active])
    return hi
