"""The greedy filter's decisions read off the similar pairs of the batch join (rouge_join.similar_pairs)."""

from __future__ import annotations

from array import array
from collections.abc import Callable, Sequence
from itertools import repeat

import numpy as np

from selfinstruct.filters.heap import small_pages
from selfinstruct.filters.rouge_join import similar_pairs
from selfinstruct.filters.rouge_math import FloatArray, IntArray


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
    src, dst, score = np.concatenate((a, b)), np.concatenate((b, a)), np.concatenate((scores, scores))
    order = np.lexsort((dst, -score, src))
    src, dst, score = src[order], dst[order], score[order]
    # Flat machine arrays, not lists: a million texts' bounds and partners as Python ints and floats were the
    # filter's peak memory, after the join (indexing an array makes each int as it is read).
    bounds = array("q", np.searchsorted(src, np.arange(n_texts + 1)).astype(np.int64).tobytes())
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
