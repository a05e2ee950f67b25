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
   itself (alpha >= floor(t*m) + 1), the longer one the prefix for its shortest possible partner. A pair of
   equal lengths is looked for once, by its later text: either text may be the indexed one (each holds the
   prefix for partners at least as long as itself and probes with the one for any partner, and the positional
   bounds are symmetric when m = n), so the later one's range ends before its own number at its own length
   (rouge_keys sorts texts by number within a length). Before, both texts found such a pair, and every text
   found itself: 14% of the candidate tuples at a million texts, 26% of those the mask bound reads.
3. Signatures: a rare first common element is matched on its own; a frequent one (many texts hold it) only
   together with the second common element, which follows it in the order and is frequent too, and a pair of
   two very common elements that many texts hold as a pair only together with the third common element too.
   So common words never produce the long candidate lists a plain prefix filter reads, and only the pairs
   that would are matched by triples (a text of c common words has about c^2/2 pairs but c^3/6 triples).
   Exact because both texts of a pair name the same signature: its first common element e1 decides alone or
   not (by rank), and its first two (e1, e2) decide pair or triple, through one table (PairTable) that both
   sides read; e2 and e3, the next common elements, lie within both prefixes plus one and plus two (step 1),
   so both texts hold that signature, whatever the table says. The table only trades probes for candidates.
4. Candidates are ranges of one array of keys (signature | length | text | position) sorted in place
   (rouge_keys), found through a directory of key buckets after a bitmap of the signatures present screens out
   most probes;
   the length, positional and a 128-bit token-mask overlap bound prune them in numpy before any LCS is computed
   (rouge_candidates: the probing texts' chunks shared out among a thread per core, up to 4).
5. Survivors get rapidfuzz's exact bit-parallel LCS and rouge-score's own float formula.

Pairs whose threshold needs a single shared element (alpha < 2: very short texts at lower thresholds) are
joined the same way with every element matched on its own.
"""

from __future__ import annotations

import contextlib
import ctypes
from collections.abc import Callable, Sequence
from operator import itemgetter

import numpy as np
import numpy.typing as npt
from rapidfuzz import process
from rapidfuzz.distance import LCSseq

from selfinstruct.filters.heap import reused_heap, small_pages
from selfinstruct.filters.rouge_candidates import MAX_LEN, Probing, probe_all, threads_for
from selfinstruct.filters.rouge_keys import KeyLayout, KeySearch
from selfinstruct.filters.rouge_math import EPS as _EPS
from selfinstruct.filters.rouge_math import FloatArray, IntArray, fmeasures, min_overlap
from selfinstruct.filters.rouge_signatures import Elements, PairTable, Signatures

_LEVEL_DF = (100, 1000)  # elements in at most this many texts are matched alone; in over 1,000, pairs may be triples
_PAIR_DF = 100  # such a pair indexed in more texts than this is matched as triples (PairTable)
_PAIR_BITS = 22  # of the table of pair counts (16 MiB of int32)
_CHUNK_DOCS = 8192  # texts whose signatures are made at once (bounds the memory of the candidate ranges)
_VERIFY = 1 << 18  # pairs per LCS call (its two lists of texts are held meanwhile)
_SEEN_BITS = 27  # of the bitmap of signatures present on the indexed side (16 MiB)
_SEEN_BLOCK = 1 << 21  # keys marked in it at once
_GROUP_PROBES = 1 << 20  # probes of several chunks searched together (KeySearch.by_part; 24 MB of them), all threads


def _release_freed() -> None:
    """Give the heap's free pages back to the OS (glibc's malloc_trim; elsewhere nothing): the join's many
    mid-sized arrays leave it fragmented, and the filter's later peak would stack on top of them."""
    with contextlib.suppress(OSError, AttributeError):  # AttributeError: not glibc
        ctypes.CDLL(None).malloc_trim(0)


def _alpha(total: IntArray, t: float) -> IntArray:
    """The fewest shared elements for F1 > t at this combined length."""
    out: IntArray = np.floor(t * total / 2).astype(np.int64) + 1
    return out


def _masks(el: Elements, codes: Sequence[str]) -> npt.NDArray[np.uint64]:
    """A 128-bit mask per text, a bit per token (by code point mod 128), as two uint64 side by side (one cache
    line holds both halves of a text's mask); made a slice of texts at a time."""
    out = np.zeros((len(codes), 2), dtype=np.uint64)
    flat = out.reshape(-1)
    for start in range(0, len(codes), _CHUNK_DOCS):
        part = codes[start : start + _CHUNK_DOCS]
        bit = np.frombuffer("".join(part).encode("utf-32-le"), dtype=np.uint32) % 128
        doc = np.repeat(np.arange(start, start + len(part), dtype=np.int64), el.lens[start : start + len(part)])
        np.bitwise_or.at(flat, 2 * doc + (bit >> 6), np.uint64(1) << (bit & 63).astype(np.uint64))
    return out


def _pick(codes: Sequence[str], at: IntArray) -> Sequence[str]:
    """codes[i] for each i in `at`, in one C call (a list comprehension took twice as long)."""
    if len(at) == 1:
        return [codes[int(at[0])]]
    picked: Sequence[str] = itemgetter(*at.tolist())(codes) if len(at) else []
    return picked


def _mark_seen(seen: npt.NDArray[np.uint8], keys: IntArray, shift: int, bits: int, folds: bool) -> None:
    """Set the bit of each sorted key's signature field (keys >> shift), folded to the bitmap's `bits`, a block
    of keys at a time: a sorted block falls into runs per bitmap byte, OR-ed together by one reduceat
    (np.bitwise_or.at and np.unique cost several times more)."""
    for at in range(0, len(keys), _SEEN_BLOCK):
        folded = (keys[at : at + _SEEN_BLOCK] >> shift) & ((1 << bits) - 1)
        if folds:  # fields wider than the bitmap: folding breaks their order
            folded.sort()
        byte = folded >> 3
        run = np.flatnonzero(np.concatenate(([True], byte[1:] != byte[:-1])))
        seen[byte[run]] |= np.bitwise_or.reduceat(np.uint8(1) << (folded & 7).astype(np.uint8), run)


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

    `workers`: threads for the probes and the LCS (-1: one per core, at most 4; one for small inputs, threads_for).
    `progress(k)` is called as the texts from first_new on are probed (the counts add up to their number)."""
    if not codes or first_new >= len(codes):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)
    with reused_heap(), small_pages():
        return _similar_pairs(codes, t, first_new, workers, progress)


def _similar_pairs(
    codes: Sequence[str], t: float, first_new: int, workers: int, progress: Callable[[int], object] | None
) -> tuple[IntArray, IntArray, FloatArray]:
    n_docs = len(codes)
    none = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0))
    el = Elements(codes)
    if len(el.lens) and int(el.lens.max()) > MAX_LEN:
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
    threads = threads_for(n_docs, _CHUNK_DOCS, workers)  # for the probes and the LCS alike
    if bound <= 0:
        _join(el, docs, (short_prefix, long_prefix), (every, every), bound, first_new, masks, found, progress, threads)
    else:
        r1, r2 = (int(np.searchsorted(el.df_sorted, d, "right")) for d in _LEVEL_DF)
        _join(el, docs, (short_prefix, long_prefix), (r1, r2), bound, first_new, masks, found, progress, threads)
        # Pairs that need fewer than three shared elements (m + n < 4/t), then fewer than two (m + n < 2/t),
        # are found again among the short texts with fewer levels.
        for size, levels in ((4, (r1, every)), (2, (every, every))):
            small = docs[el.lens < size / bound]
            if len(small):
                _join(el, small, (short_prefix, long_prefix), levels, bound, first_new, masks, found, None, threads)
    if not found:
        return none
    # Each chunk's pairs are sorted already: a stable sort merges the runs (np.unique hashed them, 3x slower).
    pairs = np.concatenate(found)
    pairs.sort(kind="stable")
    pairs = pairs[np.concatenate(([True], pairs[1:] != pairs[:-1]))]
    lens = el.lens
    del el, masks, found  # the verification's lists of texts come on top of what is still held
    _release_freed()
    a, b = pairs >> 32, pairs & 0xFFFFFFFF
    scores = np.empty(len(pairs))
    for s in range(0, len(pairs), _VERIFY):
        aa, bb = a[s : s + _VERIFY], b[s : s + _VERIFY]
        lcs = process.cpdist(
            _pick(codes, bb),
            _pick(codes, aa),
            scorer=LCSseq.similarity,
            dtype=np.int64,
            workers=threads,
        )
        scores[s : s + _VERIFY] = fmeasures(lcs, lens[bb], lens[aa])
    keep = scores > t
    return a[keep], b[keep], scores[keep]


def _join(
    el: Elements,
    docs: IntArray,
    prefixes: tuple[IntArray, IntArray],
    levels: tuple[int, int],
    bound: float,
    first_new: int,
    masks: npt.NDArray[np.uint64],
    found: list[IntArray],
    progress: Callable[[int], object] | None,
    threads: int,
) -> None:
    """Candidate pairs among `docs` (shorter text's short prefix against the longer one's long prefix), pruned,
    appended to `found` as a << 32 | b keys (a < b), probed in `threads` threads."""
    short_prefix, long_prefix = prefixes
    layout = KeyLayout(len(el.lens), int(el.lens.max()))
    # Which signature fields occur at all, a bit each (folded to _SEEN_BITS): most probes are dropped by it
    # before the binary search, which is what the join spends most of its time on.
    seen_bits = min(layout.sig_bits, _SEEN_BITS)
    seen_mask = (1 << seen_bits) - 1
    seen = np.zeros(1 << (seen_bits - 3), dtype=np.uint8)
    # Counted first, then made into place a chunk at a time: holding every chunk until the array could be
    # allocated doubled the join's peak memory.
    chunks = range(0, len(docs), _CHUNK_DOCS)
    # Which pairs of common elements are common pairs: counted on the indexed side, whose lists they would make.
    frequent = None
    if levels[1] < el.n_elements:
        table = PairTable(_PAIR_BITS)
        for c in chunks:
            table.add(el, docs[c : c + _CHUNK_DOCS], short_prefix, levels)
        frequent = table.frequent(_PAIR_DF)
        del table
    total = sum(Signatures.count(el, docs[c : c + _CHUNK_DOCS], short_prefix, levels, frequent) for c in chunks)
    s_key = np.empty(total, dtype=np.int64)
    at = 0
    for start in chunks:
        short = Signatures(el, docs[start : start + _CHUNK_DOCS], short_prefix, levels, frequent)
        s_key[at : at + len(short.sig)] = layout.keys(short)
        at += len(short.sig)
        del short
    if at != len(s_key):
        raise RuntimeError(f"the join counted {len(s_key)} signatures and made {at}")
    s_key.sort()
    _mark_seen(seen, s_key, layout.shift + layout.len_bits, seen_bits, layout.sig_bits > seen_bits)
    search = KeySearch(s_key, layout.sig_bits)
    lens = el.lens
    # alpha_of[m + n]: the fewest shared elements at that combined length (a gather from a small table is
    # cheaper than the float arithmetic per candidate tuple, and gives the same integers).
    alpha_of = _alpha(np.arange(2 * int(lens.max()) + 2, dtype=np.int64), bound)
    # Tokens of each text beyond the bits of its mask (repeats, and tokens sharing a bit): at most this many of
    # its shared tokens are not counted by the masks' common bits.
    # (int32: gathered twice per candidate tuple, from 4 MB at a million texts instead of 8)
    unmasked = (lens - (np.bitwise_count(masks[:, 0]) + np.bitwise_count(masks[:, 1]))).astype(np.int32)
    rows = masks.view(np.dtype("V16")).reshape(-1)  # a text's mask as one item
    probing = Probing(el, docs, long_prefix, levels, frequent, layout, seen, seen_mask, search, s_key, bound,
                      first_new, alpha_of, unmasked, rows, _CHUNK_DOCS, _GROUP_PROBES)  # fmt: skip
    probe_all(probing, threads, found, progress)
