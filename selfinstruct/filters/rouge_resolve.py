"""The greedy filter's decisions read off the similar pairs of the batch join (rouge_join.similar_pairs)."""

from __future__ import annotations

from array import array
from collections.abc import Callable, Sequence
from itertools import repeat

import numpy as np

from selfinstruct.filters.heap import small_pages
from selfinstruct.filters.rouge_join import similar_pairs
from selfinstruct.filters.rouge_math import FloatArray, IntArray

_KEY_BITS = 63  # of partners_in_order's sort keys (int64, non-negative)


def resolve(
    n_old: int, new: Sequence[int], first: Sequence[bool], a: IntArray, b: IntArray, scores: FloatArray
) -> list[tuple[int, float] | None]:
    """The greedy filter read off the pairs. Texts 0..n_old-1 are kept already; `new[k]` is the text that the
    k-th new instruction is (distinct texts are numbered by first occurrence, so texts before it are earlier),
    `first[k]` whether it occurs there for the first time. For each new instruction: (the kept text with the
    best F1 above the threshold, ties to the earliest, and that F1), or None: kept.

    A repeat of a kept text matches it at 1.0; a repeat of a dropped one has the same partners it had."""
    n_texts = max(n_old, max(new, default=-1) + 1)
    kept = bytearray(n_texts)
    kept[:n_old] = b"\x01" * n_old
    src, dst, score = partners_in_order(n_texts, a, b, scores)
    # Flat machine arrays, not lists: a million texts' bounds and partners as Python ints and floats were the
    # filter's peak memory, after the join (indexing an array makes each int as it is read).
    bounds = array(
        "q", np.concatenate(([0], np.cumsum(np.bincount(src, minlength=n_texts)))).astype(np.int64).tobytes()
    )
    partners = array("q", dst.astype(np.int64).tobytes())
    partner_scores = array("d", score.astype(np.float64).tobytes())
    out: list[tuple[int, float] | None] = []
    for text, is_first in zip(new, first, strict=True):
        if not is_first and kept[text]:
            out.append((text, 1.0))
            continue
        match = None
        for j in range(bounds[text], bounds[text + 1]):
            if kept[partners[j]]:
                match = (partners[j], partner_scores[j])
                break
        if match is None and is_first:
            kept[text] = 1
        out.append(match)
    return out


def partners_in_order(
    n_texts: int, a: IntArray, b: IntArray, scores: FloatArray
) -> tuple[IntArray, IntArray, FloatArray]:
    """Both ends of every pair as (text, partner, F1), sorted by text, then F1 from the best, then partner.

    One sort of int64 keys, text | rank of the F1 among the distinct ones (best first) | partner, when they fit
    in 63 bits: the F1s are few distinct floats (1,168 among 643k pairs at a million texts), and equal floats
    share a rank, so the order is exactly a lexsort's, in 0.14 s instead of its three passes' 0.36 s at 1M."""
    levels = np.unique(scores)
    text_bits, rank_bits = max(1, (n_texts - 1).bit_length()), max(1, (len(levels) - 1).bit_length())
    if 2 * text_bits + rank_bits > _KEY_BITS:
        src, dst, score = np.concatenate((a, b)), np.concatenate((b, a)), np.concatenate((scores, scores))
        order = np.lexsort((dst, -score, src))
        return src[order], dst[order], score[order]
    rank = len(levels) - 1 - np.searchsorted(levels, scores)
    key = np.concatenate(((a << rank_bits | rank) << text_bits | b, (b << rank_bits | rank) << text_bits | a))
    key.sort()
    text_mask, rank_mask = (1 << text_bits) - 1, (1 << rank_bits) - 1
    return key >> (rank_bits + text_bits), key & text_mask, levels[len(levels) - 1 - ((key >> text_bits) & rank_mask)]


def number_distinct(
    old: Sequence[str], codes: Sequence[str]
) -> tuple[list[str], array[int], int, array[int], list[bool]]:
    """Number the distinct texts (by code), the indexed ones (`old`) first, by first occurrence: the distinct
    codes, the index position of each old number's first text, how many numbers are old, each new text's
    number, and whether it is that number's first text."""
    # Texts are numbered by first occurrence of their code; a text without tokens matches nothing (F1 0), so
    # each one keeps a number of its own.
    ids: dict[str, int] = {}
    distinct: list[str] = []
    position = array("q")  # number -> the index position of its first occurrence, once kept (flat: 1M)
    for doc, code in enumerate(old):
        if (ids.setdefault(code, len(distinct)) if code else len(distinct)) == len(distinct):
            distinct.append(code)
            position.append(doc)
    n_old = len(distinct)
    new = array("q")
    first: list[bool] = []
    for code in codes:
        size = len(distinct)
        number = ids.setdefault(code, size) if code else size
        if number == size:
            distinct.append(code)
        new.append(number)
        first.append(number == size)
    del ids  # a million keys: not held through the join
    return distinct, position, n_old, new, first


@small_pages()  # the pairs' arrays too (heap.small_pages)
def greedy_join(
    old: Sequence[str],
    codes: Sequence[str],
    threshold: float,
    workers: int,
    progress: Callable[[int], object] | None,
) -> tuple[list[tuple[int, float] | None], array[int]]:
    """The greedy filter over `codes` after the kept `old` ones, through the batch join: every pair above the
    threshold among the distinct texts, then the decisions read off them in order. Per code: None (kept), or
    (the position of its match, F1), positions counting `old` first and then the kept codes; and which codes
    were kept. `progress(k)` counts decided codes."""
    distinct, position, n_old, new, first = number_distinct(old, codes)
    a, b, scores = similar_pairs(distinct, threshold, first_new=n_old, workers=workers, progress=progress)
    if progress is not None and len(distinct) - n_old < len(codes):
        progress(len(codes) - (len(distinct) - n_old))
    position.extend(repeat(-1, len(distinct) - n_old))
    out: list[tuple[int, float] | None] = []
    kept = array("q")
    for k, decision in enumerate(resolve(n_old, new, first, a, b, scores)):
        if decision is None:
            position[new[k]] = len(old) + len(kept)
            kept.append(k)
            out.append(None)
        else:
            out.append((position[decision[0]], decision[1]))
    return out, kept
