"""One query against the near-duplicate index's documents: the exact scores of its candidates (verification),
and the candidates for a threshold below the one the prefix postings were built for (a scan of full postings).
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Sequence
from operator import itemgetter

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import LCSseq

from selfinstruct.filters.rouge_math import FloatArray, IntArray, fmeasures, min_overlap, rouge_fmeasure

_SMALL = 24  # below this many candidates, plain Python beats numpy's and rapidfuzz's per-call overhead


def exact_scores(code: str, docs: Sequence[int] | IntArray, codes: Sequence[str], lens: array[int]) -> FloatArray:
    """Exact ROUGE-L F1 of `code` against each doc, with rouge-score's float operations in its order."""
    m = len(code)
    if len(docs) <= _SMALL:
        lcs = LCSseq.similarity
        return np.array([rouge_fmeasure(lcs(code, codes[d]), m, len(codes[d])) for d in docs], dtype=np.float64)
    if isinstance(docs, np.ndarray):
        choices = itemgetter(*docs.tolist())(codes)
    else:
        choices = itemgetter(*docs)(codes)
        docs = np.array(docs, dtype=np.int64)
    sims = process.cdist([code], choices, scorer=LCSseq.similarity, dtype=np.int64)[0]
    return fmeasures(sims, m, np.frombuffer(lens, dtype=np.int64)[docs])


def postings_candidates(code: str, t: float, postings: dict[str, array[int]]) -> list[int]:
    """Documents that could score above t, from the full postings of the query's rarest tokens: a pair above t
    shares at least alpha tokens, so it shares one of any len - alpha + 1 of the query's (a superset)."""
    alpha = min_overlap(len(code), t)
    if alpha is None:
        return []
    counts = Counter(code)
    covered, lists = 0, []
    for ch in sorted(counts, key=lambda c: len(postings.get(c, ()))):
        if ch in postings:
            lists.append(postings[ch])
        covered += counts[ch]
        if covered >= len(code) - alpha + 1:
            break
    return sorted(set().union(*lists))
