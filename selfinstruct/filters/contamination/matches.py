"""From n-gram hits to scores: for each (text, item) pair with a shared n-gram, the item's coverage and the
longest run of tokens the two share in order. Vectorised: the hits of a batch can number in the millions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from selfinstruct.filters.contamination.ngrams import Ints, Keys, Windows

Floats = np.ndarray


@dataclass(frozen=True)
class Groups:
    """One row per (text, item) pair that shares something."""

    text: Ints
    item: Ints
    score: Floats
    longest: Ints  # tokens of the longest run shared in order
    start: Ints  # where that run starts in the item


def _empty() -> Groups:
    z = np.zeros(0, dtype=np.int64)
    return Groups(z, z, np.zeros(0), z, z)


def _hits(w: Windows, keys: Keys) -> tuple[Ints, Ints]:
    """For every occurrence in `keys` of a window's key: the window and the index entry (both sorted by window)."""
    if not len(keys) or not len(w.keys):
        z = np.zeros(0, dtype=np.int64)
        return z, z
    left = np.searchsorted(keys, w.keys, side="left")
    found = keys[np.minimum(left, len(keys) - 1)] == w.keys
    win = np.flatnonzero(found)
    left = left[win]
    count = np.searchsorted(keys, w.keys[win], side="right") - left
    rep_win = np.repeat(win, count)
    first = np.repeat(np.cumsum(count) - count, count)
    entry = np.repeat(left, count) + (np.arange(len(rep_win)) - first)
    return rep_win, entry


def _starts(*columns: Ints) -> np.ndarray:
    """True where a row starts a new run of equal values in all columns (rows sorted by them)."""
    new = np.ones(len(columns[0]), dtype=bool)
    if len(new) > 1:
        new[1:] = np.logical_or.reduce([c[1:] != c[:-1] for c in columns])
    return new


def long_groups(w: Windows, keys: Keys, item_of: np.ndarray, pos_of: np.ndarray, lengths: Ints, n: int) -> Groups:
    """Coverage of items of n tokens or more: each matched n-gram covers its n item tokens."""
    win, entry = _hits(w, keys)
    if not len(win):
        return _empty()
    t, it = w.text[win], item_of[entry].astype(np.int64)
    ip, rp = pos_of[entry].astype(np.int64), w.pos[win]
    # Coverage: the union of the matched n-grams' token ranges in the item.
    order = np.lexsort((ip, it, t))
    t1, it1, ip1 = t[order], it[order], ip[order]
    keep = _starts(t1, it1, ip1)  # the same item n-gram found twice in the text covers it once
    t1, it1, ip1 = t1[keep], it1[keep], ip1[keep]
    new = _starts(t1, it1)
    covers = np.full(len(ip1), n, dtype=np.int64)
    if len(ip1) > 1:
        same = ~new[1:]
        covers[:-1][same] = np.minimum(np.diff(ip1)[same], n)
    group = np.cumsum(new) - 1
    covered = np.bincount(group, weights=covers)
    g_text, g_item = t1[new], it1[new]
    score = np.minimum(covered / lengths[g_item], 1.0)
    # Longest run in order: consecutive item n-grams on one diagonal (text position - item position).
    d = rp - ip
    order = np.lexsort((ip, d, it, t))
    t2, it2, d2, ip2 = t[order], it[order], d[order], ip[order]
    run_new = _starts(t2, it2, d2)
    if len(ip2) > 1:
        run_new[1:] |= ip2[1:] != ip2[:-1] + 1
    run = np.cumsum(run_new) - 1
    run_len = np.bincount(run) + (n - 1)
    run_text, run_item, run_start = t2[run_new], it2[run_new], ip2[run_new]
    # Each run's group: groups are sorted by (text, item), so a combined key finds it.
    width = int(max(it.max(), 0)) + 1
    run_group = np.searchsorted(g_text * width + g_item, run_text * width + run_item)
    best = np.lexsort((-run_len, run_group))
    first = best[_starts(run_group[best])]
    return Groups(g_text, g_item, score, run_len[first], run_start[first])


def short_groups(w: Windows, keys: Keys, item_of: np.ndarray, m: int, n: int, text_lengths: Ints) -> Groups:
    """Items of m < n tokens found whole: they cover m / min(n, L) of a text of L tokens."""
    win, entry = _hits(w, keys)
    if not len(win):
        return _empty()
    t, it = w.text[win], item_of[entry].astype(np.int64)
    order = np.lexsort((it, t))
    t, it = t[order], it[order]
    keep = _starts(t, it)
    t, it = t[keep], it[keep]
    score = m / np.minimum(text_lengths[t], n)
    return Groups(t, it, np.minimum(score, 1.0), np.full(len(t), m, dtype=np.int64), np.zeros(len(t), dtype=np.int64))


def best_per_text(parts: list[Groups], threshold: float, min_span: int) -> list[tuple[int, int, float, int, int]]:
    """For each contaminated text, its deciding pair: (text, item, score, longest run, run start), the highest
    score first, then the longest run, then the first item."""
    if not parts:
        return []
    text = np.concatenate([p.text for p in parts])
    item = np.concatenate([p.item for p in parts])
    score = np.concatenate([p.score for p in parts])
    longest = np.concatenate([p.longest for p in parts])
    start = np.concatenate([p.start for p in parts])
    flagged = np.flatnonzero((score > threshold) | (longest >= min_span))
    if not len(flagged):
        return []
    text, item, score, longest, start = (a[flagged] for a in (text, item, score, longest, start))
    order = np.lexsort((item, -longest, -score, text))
    first = order[_starts(text[order])]
    return [(int(text[k]), int(item[k]), float(score[k]), int(longest[k]), int(start[k])) for k in first]
