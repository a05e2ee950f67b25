"""ROUGE-L arithmetic shared by the near-duplicate index, stats and the tests, and the overlap bounds of the
index's top-k search.

F1 is computed with exactly rouge-score's float operations in its order, so decisions at the threshold
match rouge-score's bit for bit; `lcs_length` is the plain reference the fast paths are tested against.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

EPS = 1e-6  # margin of every bound (and of float error) in the index and the join; only admits extra candidates


def rouge_fmeasure(lcs: int, m: int, n: int) -> float:
    """ROUGE-L F1 computed exactly as rouge-score does it (same float operations, same order)."""
    if m == 0 or n == 0:
        return 0.0
    precision = lcs / n
    recall = lcs / m
    if precision + recall > 0:
        return 2 * precision * recall / (precision + recall)
    return 0.0


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Plain dynamic-programming LCS: the reference the fast index is tested against."""
    if not a or not b:
        return 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def fmeasures(lcs: IntArray, m: IntArray | int, n: IntArray | int) -> FloatArray:
    """rouge_fmeasure over arrays: the same IEEE operations in the same order, so the same floats."""
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = lcs / n
        recall = lcs / m
        f = 2 * precision * recall / (precision + recall)
    return np.where((np.asarray(m) > 0) & (np.asarray(n) > 0) & (precision + recall > 0), f, 0.0)


def min_overlap(m: int, t: float) -> int | None:
    """The fewest shared tokens with which a length-m sequence can have F1 > t with any other sequence, or
    None when none can. Shorter partners need fewer, down to the shortest admissible length."""
    n_lo = 1  # smallest partner length that can beat t: 2*min(m,n)/(m+n) > t
    while n_lo <= m and 2 * n_lo <= t * (m + n_lo):
        n_lo += 1
    if n_lo > m:
        return None
    alpha = max(1, int(t * (m + n_lo) / 2) + 1)
    while alpha > 1 and 2 * (alpha - 1) > t * (m + n_lo):
        alpha -= 1
    return alpha


def overlaps(postings: Sequence[array[int]], n_docs: int) -> IntArray:
    """Per document, how many of these postings (one per multiset element of the query) list it: its multiset
    overlap with the query, an upper bound on their LCS."""
    lists = [np.frombuffer(p, dtype=np.int64) for p in postings]
    return np.bincount(np.concatenate(lists) if len(lists) > 1 else lists[0], minlength=n_docs)
