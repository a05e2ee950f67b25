"""The k most similar documents, exactly, scoring as few as their bounds allow (most_similar's search)."""

from __future__ import annotations

from array import array
from collections.abc import Callable, Sequence

import numpy as np

from selfinstruct.filters.rouge_math import EPS as _EPS
from selfinstruct.filters.rouge_math import FloatArray, IntArray, overlaps

_LEVELS = 1024  # bands of most_similar's bounds, a power of two


def best_by_bound(
    scores: Callable[[str, IntArray], FloatArray],
    lens: IntArray,
    code: str,
    docs: IntArray,
    overlap: IntArray,
    k: int,
    best: tuple[IntArray, FloatArray],
) -> tuple[IntArray, FloatArray]:
    """The k best (by score, then earliest) of the documents `best` (scored, at most k, best first) and
    `docs` (with their overlaps with the query).

    Each document's F1 bound 2*min(overlap, n)/(m + n) is computed; bands of documents are scored from the
    highest bound down, each about twice the last, until the next band cannot reach the k-th best score
    found so far."""
    n = lens[docs]
    bound = 2 * np.minimum(overlap, n) / (n + len(code))
    tau = kth_score(best, k)
    if tau > 0:
        keep = bound + _EPS >= tau
        docs, bound = docs[keep], bound[keep]
    if len(docs) <= 8 * k:
        return merge(best, docs, scores(code, docs), k)
    # bound * _LEVELS is exact (a power of two), so a document at level v has bound <= (v + 1) / _LEVELS.
    levels = np.minimum(bound * _LEVELS, _LEVELS - 1).astype(np.int16)
    at_least = np.append(np.cumsum(np.bincount(levels, minlength=_LEVELS)[::-1])[::-1], 0)
    hi, want = _LEVELS, 4 * k
    while hi > 0 and hi / _LEVELS + _EPS >= tau:
        # The band [lo, hi): the highest lo with `want` more documents at levels lo..hi-1, or all that are left.
        lo = max(0, int(np.searchsorted(-at_least, -(at_least[hi] + want), "right")) - 1)
        band = np.flatnonzero((levels >= lo) & (levels < hi))
        if tau > 0:
            band = band[bound[band] + _EPS >= tau]
        if len(band):
            best = merge(best, docs[band], scores(code, docs[band]), k)
            tau = kth_score(best, k)
        hi, want = lo, 2 * want
    return best


def merge(best: tuple[IntArray, FloatArray], docs: IntArray, scores: FloatArray, k: int) -> tuple[IntArray, FloatArray]:
    """The k best of two scored sets of documents, by score and then earliest, best first."""
    docs, scores = np.concatenate((best[0], docs)), np.concatenate((best[1], scores))
    order = np.lexsort((docs, -scores))[:k]
    return docs[order], scores[order]


def kth_score(best: tuple[IntArray, FloatArray], k: int) -> float:
    """The floor a top-k search has reached: the k-th best score found so far (0 while fewer are found)."""
    return float(best[1][-1]) if len(best[1]) == k else 0.0


def top_k(
    code: str,
    lists: Sequence[array[int]],
    n_docs: int,
    lens: IntArray,
    scores: Callable[[str, IntArray], FloatArray],
    k: int,
) -> tuple[IntArray, FloatArray]:
    """The k documents most similar to `code` (documents and exact scores, best first, ties to the earliest),
    from the postings `lists` of its elements: see NearDuplicateIndex.most_similar."""
    m = len(code)
    overlap = overlaps(lists, n_docs)
    # at_least[v]: documents with overlap >= v. A shared token is a common subsequence, so overlap > 0
    # means score > 0.
    hist = np.bincount(overlap)
    hist[0] = 0
    at_least = np.cumsum(hist[::-1])[::-1]
    top = int(np.flatnonzero(at_least >= min(4 * k, int(at_least[0])))[-1])
    first = np.flatnonzero(overlap >= top)
    best = best_by_bound(scores, lens, code, first, overlap[first], k, (np.zeros(0, dtype=np.int64), np.zeros(0)))
    if top > 1:
        tau = kth_score(best, k)
        # The fewest shared tokens v with 2v/(m + v) >= tau (less a margin): v >= tau*m/(2 - tau).
        need = max(1, int(np.floor(tau * m / (2 - tau) - 1e-3)))
        if need < top:
            rest = np.flatnonzero((overlap >= need) & (overlap < top))
            best = best_by_bound(scores, lens, code, rest, overlap[rest], k, best)
    return best
