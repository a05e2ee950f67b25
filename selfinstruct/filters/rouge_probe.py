"""The prefix postings of the near-duplicate index and their probe: the (query, document) pairs that could
score above a threshold, for a block of queries at once (prefix, length and positional filters, PPJoin)."""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain, repeat
from operator import itemgetter

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import LCSseq

from selfinstruct.filters.rouge_codes import Prefix, end_key
from selfinstruct.filters.rouge_math import EPS, IntArray, fmeasures

# A prefix posting is doc << _DOC_SHIFT | position; a probe ORs in query << _Q_SHIFT | its position << _POS_BITS,
# so sorting the probed entries groups them by (query, document) and orders each group by position.
# Positions clamp at _POS_MAX (a looser, still safe bound for instructions of over a thousand tokens).
_POS_BITS = 10
_POS_MAX = (1 << _POS_BITS) - 1
_DOC_SHIFT = 2 * _POS_BITS
_Q_SHIFT = 54
_DOC_MASK = (1 << (_Q_SHIFT - _DOC_SHIFT)) - 1
BLOCK_MAX = 1 << (63 - _Q_SHIFT)  # queries per block, so that keys stay positive int64
ZERO = np.zeros(1, dtype=np.int64)
NO_PAIRS = np.zeros(0, dtype=np.int64)
NO_POSTINGS: array[int] = array("q")


@dataclass(frozen=True)
class PrefixIndex:
    """What a probe reads of the index: its prefix postings, and per document its length and where its
    indexed prefix ends (the order key of its last element, and how many elements follow it)."""

    postings: dict[str, array[int]]
    lens: array[int]
    prefix_end: array[int]
    prefix_rest: array[int]


def index_prefix(postings: dict[str, array[int]], doc: int, prefix: Prefix) -> None:
    """Post a document's prefix elements, each with the document and its position."""
    base = doc << _DOC_SHIFT
    for j, key in enumerate(prefix):
        entry = base | (j if j < _POS_MAX else _POS_MAX)
        arr = postings.get(key)
        if arr is None:
            postings[key] = array("q", (entry,))
        else:
            arr.append(entry)


def candidate_pairs(
    index: PrefixIndex, codes: Sequence[str], prefixes: Sequence[Prefix], t: float, window: range | None = None
) -> tuple[IntArray, IntArray]:
    """(query, document) pairs that could score above t, for a block of queries (a superset of the true ones);
    with `window`, only documents in it (each postings list is in document order: its slice is found by bisection,
    so a search of the few documents indexed since an earlier one reads only their postings).

    Prefix, length and positional filters (PPJoin). The probes run in the global order, so for each pair the
    matched elements arrive in order: every common element before the last matched one is among them, and
    nothing before the first matched one is shared. Hence the overlap is at most (matched + what follows
    the last match) and at most (1 + what follows the first match). Moreover a common element that was not
    matched lies outside one of the two prefixes, so after the end of the prefix that ends first in the
    global order: the overlap is also at most (matched + the elements after that prefix)."""
    found = map(index.postings.get, chain.from_iterable(prefixes), repeat(NO_POSTINGS))
    lists = list(found) if window is None else [_within(postings, window) for postings in found]
    probed = b"".join(lists)  # one copy of every probed list, in C (a numpy view of each costs far more)
    if not probed:
        return NO_PAIRS, NO_PAIRS
    plens = np.array([len(p) for p in prefixes], dtype=np.int64)
    starts = np.cumsum(plens) - plens
    position = np.minimum(np.arange(int(plens.sum()), dtype=np.int64) - np.repeat(starts, plens), _POS_MAX)
    tags = np.repeat(np.arange(len(prefixes), dtype=np.int64) << _Q_SHIFT, plens) | position << _POS_BITS
    keys = np.frombuffer(probed, dtype=np.int64) | np.repeat(tags, list(map(len, lists)))
    keys.sort(kind="stable")  # runs of sorted postings: the merge sort mostly merges
    group = keys >> _DOC_SHIFT
    ends = np.flatnonzero(group[1:] != group[:-1])  # the last entry of each (query, document) but the final one
    first = keys[np.concatenate((ZERO, ends + 1))]
    ends = np.concatenate((ends, [len(keys) - 1]))
    last = keys[ends]
    counts = np.diff(ends, prepend=-1)
    query = first >> _Q_SHIFT
    doc = (first >> _DOC_SHIFT) & _DOC_MASK
    m = np.array([len(c) for c in codes], dtype=np.int64)[query]
    n = np.frombuffer(index.lens, dtype=np.int64)[doc]
    total = (m + n).astype(np.float64)
    need = np.floor(t * total / 2) + 1
    after_first = np.minimum(m - ((first >> _POS_BITS) & _POS_MAX), n - (first & _POS_MAX))
    after_last = counts - 1 + np.minimum(m - ((last >> _POS_BITS) & _POS_MAX), n - (last & _POS_MAX))
    query_end = np.array([end_key(p) for p in prefixes], dtype=np.int64)[query]
    query_rest = m - plens[query]
    doc_end = np.frombuffer(index.prefix_end, dtype=np.int64)[doc]
    doc_rest = np.frombuffer(index.prefix_rest, dtype=np.int64)[doc]
    after_prefix = counts + np.where(query_end <= doc_end, query_rest, doc_rest)
    keep = np.flatnonzero(
        (2 * np.minimum(m, n) > t * total) & (after_first >= need) & (after_last >= need) & (after_prefix >= need)
    )
    return query[keep], doc[keep]


def _within(postings: array[int], window: range) -> memoryview:
    """The entries of one postings list (sorted: document, then position) whose document lies in `window`."""
    lo = bisect_left(postings, window.start << _DOC_SHIFT)
    hi = bisect_left(postings, window.stop << _DOC_SHIFT, lo)
    return memoryview(postings)[lo:hi]


def best_in_index(
    index: PrefixIndex,
    index_codes: Sequence[str],
    codes: Sequence[str],
    prefixes: Sequence[Prefix],
    threshold: float,
    workers: int,
) -> list[tuple[float, int] | None]:
    """For each query of a block, its best (F1, document) above the threshold in the index (ties to the
    earliest document), or None: candidate_pairs, then one batched exact LCS."""
    best: list[tuple[float, int] | None] = [None] * len(codes)
    query, doc = candidate_pairs(index, codes, prefixes, threshold - EPS)
    if not len(query):
        return best
    lcs = process.cpdist(
        itemgetter(*query.tolist())(codes) if len(query) > 1 else [codes[int(query[0])]],
        itemgetter(*doc.tolist())(index_codes) if len(doc) > 1 else [index_codes[int(doc[0])]],
        scorer=LCSseq.similarity,
        dtype=np.int64,
        workers=workers,
    )
    m = np.array([len(code) for code in codes], dtype=np.int64)
    scores = fmeasures(lcs, m[query], np.frombuffer(index.lens, dtype=np.int64)[doc])
    hit = np.flatnonzero(scores > threshold)
    if len(hit):
        order = hit[np.lexsort((doc[hit], -scores[hit], query[hit]))]
        for q, d, s in zip(query[order].tolist(), doc[order].tolist(), scores[order].tolist(), strict=True):
            if best[q] is None:
                best[q] = (s, d)
    return best


def pairs_within(codes: Sequence[str], threshold: float, workers: int) -> dict[int, list[tuple[int, float]]]:
    """The pairs of a block above the threshold: row i -> [(j, F1)] for the earlier rows j < i (one matrix)."""
    within: dict[int, list[tuple[int, float]]] = {}
    if len(codes) > 1:
        m = np.array([len(code) for code in codes], dtype=np.int64)
        lcs = process.cdist(codes, codes, scorer=LCSseq.similarity, dtype=np.int64, workers=workers)
        pair_scores = fmeasures(lcs, m[:, None], m[None, :])
        rows, cols = np.nonzero(np.tril(pair_scores > threshold, -1))
        for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
            within.setdefault(i, []).append((j, float(pair_scores[i, j])))
    return within
