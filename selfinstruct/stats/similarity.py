"""ROUGE-L of each instruction to its most similar earlier instruction or seed, exactly and fast enough for
50k-task pools: rapidfuzz's LCS of pairs over the 256 most frequent tokens (exact for the pairs that share
no rarer token; a row keeps only its largest LCS per partner length), then the few pairs sharing a rarer token
scored exactly where they could win. Each row first gets a bar (the exact best of a few partners sharing a
rare token), and chunks of partners whose bound cannot reach it are not compared at all."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import chain
from typing import Any

from selfinstruct.filters.rouge import NearDuplicateIndex
from selfinstruct.filters.rouge_math import fmeasures
from selfinstruct.stats.report import SIM_BINS
from selfinstruct.text import rouge_tokens

_CELLS = 16_000_000  # matrix cells computed per block (bounds memory to ~50 MB)
_MAX_ROWS = 2048  # rows per block
_SEGMENT = 64  # columns per segment of which each row keeps the largest LCS (to find its best pair again)
_OWN_BYTES = 256  # the most frequent tokens: one byte each in the strings compared for every pair
_EPS = 1e-6  # margin for float rounding between a bound and an exact F1; only admits more pairs
_WORKERS = -1
_GUESSES = 16  # rare-sharing partners per row scored exactly first, as the bar the other pairs must reach
_AHEAD = 2  # blocks prepared at once, each on one thread (rapidfuzz's own threads cost more on small calls)
_CHUNK = 512  # columns per chunk: a row's LCS with a chunk is computed only if the chunk's bound reaches its bar


def similarity_bin(score: float) -> int:
    """The 0.1-wide bin of a ROUGE-L F1 score; 1.0 falls in the last bin, float noise at edges rounds up."""
    return min(SIM_BINS - 1, int(score * SIM_BINS + 1e-9))


def _ranges(counts: Any) -> Any:
    """0, 1, ..., c-1 for each count c, concatenated."""
    import numpy as np

    return np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)


class _Encoded:
    """The texts' rouge tokens, for rapidfuzz's LCS on strings (one character per token):

    - `exact`: one code point per distinct token;
    - `frequent`: the 256 most frequent tokens only, a byte each (rapidfuzz is fastest on byte strings). Their
      LCS is the exact LCS of every pair that shares no rarer token, and a lower bound of the others;
    - the rarer tokens' postings, so that the pairs sharing one (few, as they are rare) can be listed with
      the count of rare elements they share, which bounds what those tokens can add to the LCS.
    """

    def __init__(self, tokens: list[list[str]], ranked: list[str], own_bytes: int = _OWN_BYTES) -> None:
        import numpy as np

        rank = {tok: k for k, tok in enumerate(ranked)}
        counts = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
        flat = np.fromiter(map(rank.__getitem__, chain.from_iterable(tokens)), dtype=np.int64, count=counts.sum())
        owner = np.repeat(np.arange(len(tokens), dtype=np.int64), counts)
        self.lens = counts
        points = np.where(flat >= 0xD800, flat + 0x800, flat).astype(np.uint32)  # no surrogates
        self.exact = _split(points.tobytes().decode("utf-32-le"), counts)
        frequent = flat < own_bytes
        self.freq_lens = np.bincount(owner[frequent], minlength=len(tokens))  # bounds the LCS of most pairs
        self.frequent = _split(flat[frequent].astype(np.uint8).tobytes().decode("latin-1"), self.freq_lens)
        self.frequent_array = np.array(self.frequent, dtype=object)  # gathered a block's columns at a time
        text, tok = owner[~frequent], flat[~frequent]
        # Rare elements: (token, its k-th occurrence in the text), so that shared elements count min(c_a, c_b).
        order = np.lexsort((tok, text))
        text, tok = text[order], tok[order]
        run = np.r_[True, (tok[1:] != tok[:-1]) | (text[1:] != text[:-1])] if len(tok) else np.zeros(0, bool)
        k = np.arange(len(tok)) - np.maximum.accumulate(np.where(run, np.arange(len(tok)), 0))
        elem = tok * (int(k.max(initial=0)) + 1) + k
        by_elem = np.lexsort((text, elem))  # postings: each element's texts, ascending
        elem_sorted = elem[by_elem]
        first = np.r_[True, elem_sorted[1:] != elem_sorted[:-1]] if len(elem) else np.zeros(0, bool)
        group = np.maximum.accumulate(np.where(first, np.arange(len(elem)), 0))
        self.post_text = text[by_elem]
        # Per occurrence (sorted by text): where its element's postings start and how many texts precede it.
        self.occ_text = text
        self.occ_start = np.empty(len(elem), dtype=np.int64)
        self.occ_before = np.empty(len(elem), dtype=np.int64)
        self.occ_start[by_elem] = group
        self.occ_before[by_elem] = np.arange(len(elem)) - group

    def rare_pairs(self, s: int, e: int, below: int) -> tuple[Any, Any, Any]:
        """The pairs (b, a), s <= b < e, a < min(b, below), that share rare elements, and how many."""
        import numpy as np

        lo, hi = np.searchsorted(self.occ_text, (s, e))
        count = self.occ_before[lo:hi]
        a = self.post_text[np.repeat(self.occ_start[lo:hi], count) + _ranges(count)]
        b = np.repeat(self.occ_text[lo:hi], count)
        keep = a < below
        keys, shared = np.unique((b[keep] - s) << 32 | a[keep], return_counts=True)
        return (keys >> 32) + s, keys & 0xFFFFFFFF, shared


def _split(text: str, counts: Any) -> list[str]:
    """`text` cut into consecutive pieces of these lengths."""
    ends = counts.cumsum().tolist()
    return [text[a:b] for a, b in zip([0, *ends][:-1], ends, strict=True)]


def _encode_all(texts: Sequence[str], own_bytes: int = _OWN_BYTES) -> _Encoded | None:
    """The texts encoded for `_max_sim_blocks` (`own_bytes` <= 256 frequent tokens compared for every pair);
    None if there are more distinct tokens than code points."""
    tokens = [rouge_tokens(text) for text in texts]
    ranked = [tok for tok, _ in Counter(chain.from_iterable(tokens)).most_common()]
    if len(ranked) > 0x10FFFF - 0x800:
        return None
    return _Encoded(tokens, ranked, own_bytes)


class _Best:
    """The exact best F1 of each text so far and a text that reaches it."""

    def __init__(self, codes: _Encoded) -> None:
        import numpy as np

        self.exact, self.lens = codes.exact, codes.lens
        self.score = np.zeros(len(codes.exact))
        self.partner = np.full(len(codes.exact), -1, dtype=np.int64)

    def rescore(self, rows: Any, cols: Any) -> None:
        """Exact F1 of the pairs (rows[k], cols[k]) (text indices); each row keeps the best, if better."""
        rows, cols, score = _exact_best(self.exact, self.lens, rows, cols)
        better = score > self.score[rows]
        self.score[rows[better]] = score[better]
        self.partner[rows[better]] = cols[better]


def _exact_best(exact: list[str], lens: Any, rows: Any, cols: Any) -> tuple[Any, Any, Any]:
    """Exact F1 of the pairs (rows[k], cols[k]): each distinct row once, with its best pair (rows ascending)."""
    import numpy as np
    from rapidfuzz import process
    from rapidfuzz.distance import LCSseq

    if not len(rows):
        return rows, cols, np.zeros(0)
    lcs = process.cpdist([exact[i] for i in rows.tolist()], [exact[j] for j in cols.tolist()],
                         scorer=LCSseq.similarity, dtype=np.int64, workers=_WORKERS)  # fmt: skip
    score = fmeasures(lcs, lens[rows], lens[cols])
    order = np.lexsort((score, rows))  # by row, then score: each row's best pair comes last
    rows, cols, score = rows[order], cols[order], score[order]
    last = np.r_[rows[1:] != rows[:-1], True]
    return rows[last], cols[last], score[last]


@dataclass
class _Prepared:
    """What a block needs besides the row's bests so far, computed ahead (rapidfuzz runs without the GIL)."""

    lcs: Any  # the frequent tokens' LCS of rows x cols; 0 where `done` is False (those cells cannot win)
    done: Any  # rows x chunks of `chunk` columns: whether that part of `lcs` was computed
    chunk: int
    rare: tuple[Any, Any, Any]  # codes.rare_pairs(s, e, below)
    guess: tuple[Any, Any, Any]  # rows, partners, exact F1: each row's best among a few rare pairs


def _prepare(codes: _Encoded, s: int, e: int, cols: Any, below: int, chunk: int, guesses: int) -> _Prepared:
    """A first guess of each row's best, exact, from its `guesses` most promising partners sharing a rare
    element; then the LCS of the frequent-token strings of texts s..e-1 (rows) and `cols` (sorted by length),
    only on the chunks of `chunk` columns where a pair's bound 2*min(frequent tokens of each)/(m+n) can reach the guess
    (the pairs that share a rare token are bounded apart, in _block)."""
    import numpy as np
    from rapidfuzz import process
    from rapidfuzz.distance import LCSseq

    lens, flens = codes.lens, codes.freq_lens
    b, a, shared = rare = codes.rare_pairs(s, e, below)
    bound = (np.minimum(np.minimum(flens[a], flens[b]) + shared, np.minimum(lens[a], lens[b]))
             / np.maximum(lens[a] + lens[b], 1))  # fmt: skip
    order = np.argsort(2.0 * (b - s) - bound)  # by row (b is sorted), then the bound, highest first
    counts = np.bincount(b - s, minlength=e - s)
    pick = order[_ranges(counts) < guesses]
    guess = _exact_best(codes.exact, lens, b[pick], a[pick])
    target = np.zeros(e - s)
    target[guess[0] - s] = guess[2]
    m, fm, width = lens[s:e], flens[s:e], len(cols)
    chunk_starts = np.arange(0, width, chunk)
    fmax = np.maximum.reduceat(flens[cols], chunk_starts) if width else np.zeros(0, np.int64)
    can = 2.0 * np.minimum(fm[:, None], fmax[None, :]) / np.maximum(m[:, None] + lens[cols][chunk_starts][None, :], 1)
    longest = max(m.max(initial=0), lens[cols].max(initial=0))
    lcs = np.zeros((e - s, width), dtype=np.uint8 if longest < 256 else np.int32)
    done = np.zeros(can.shape, dtype=bool)
    nmax = lens[cols][np.minimum(chunk_starts + chunk, width) - 1] if width else np.zeros(0, np.int64)
    # The most promising chunks first: each row's bar rises with the LCS found (a pair of that chunk reaches
    # at least 2*LCS/(m + its longest)), so fewer rows of the later chunks need computing.
    for k in np.argsort(-can.sum(axis=0), kind="stable").tolist():
        rows = np.flatnonzero((can[:, k] > 0) & (can[:, k] >= target - _EPS))
        if not len(rows):
            continue
        c0 = int(chunk_starts[k])
        part = codes.frequent_array[cols[c0 : c0 + chunk]].tolist()
        got = process.cdist([codes.frequent[s + r] for r in rows.tolist()], part, scorer=LCSseq.similarity,
                            dtype=lcs.dtype, workers=1)  # fmt: skip
        lcs[rows, c0 : c0 + chunk] = got
        done[rows, k] = True
        late = np.flatnonzero(cols[c0 : c0 + chunk] >= s)  # texts after the row do not count
        if len(late):
            got[:, late] *= cols[c0 + late][None, :] < (s + rows)[:, None]
        target[rows] = np.maximum(target[rows], 2.0 * got.max(axis=1) / np.maximum(m[rows] + nmax[k], 1) - _EPS)
    return _Prepared(lcs, done, chunk, rare, guess)


def _block(best: _Best, codes: _Encoded, s: int, e: int, cols: Any, ready: _Prepared) -> None:
    """The exact best of texts s..e-1 against the texts `cols` (sorted by length) that are before both the
    row's own text and `below`, given `ready` = _prepare(codes, s, e, cols, below).

    The LCS of the frequent-token strings (rapidfuzz cdist) is exact for the pairs that share no rare token.
    Within the columns of one length the F1 grows with the LCS, so each row's best among them is its largest
    LCS there (kept per segment of columns, to find the pair again). The pairs that share rare tokens are then
    scored exactly where that LCS plus their shared rare elements could reach the row's best."""
    import numpy as np

    lens, lcs = best.lens, ready.lcs
    m, n, width = lens[s:e], lens[cols], len(cols)
    if not width:
        return
    late = np.flatnonzero(cols >= s)
    if len(late):
        lcs[:, late] *= cols[late][None, :] < np.arange(s, e)[:, None]
    starts = np.flatnonzero(np.r_[True, n[1:] != n[:-1]])  # a group of columns per length
    seg = np.union1d(starts, np.arange(0, width, _SEGMENT))
    seg_group = np.searchsorted(starts, seg, "right") - 1
    seg_max = np.maximum.reduceat(lcs, seg, axis=1)
    group_max = np.maximum.reduceat(seg_max, np.searchsorted(seg, starts), axis=1)
    scores = fmeasures(group_max, m[:, None], n[starts][None, :])
    top_group = scores.argmax(axis=1)
    rows = np.arange(e - s)
    top = scores[rows, top_group]
    # The pair behind each row's best: the first cell of the first segment of its group holding that LCS.
    value = group_max[rows, top_group]
    top_seg = ((seg_group[None, :] == top_group[:, None]) & (seg_max == value[:, None])).argmax(axis=1)
    inside = (lcs[rows[:, None], np.minimum(seg[top_seg][:, None] + np.arange(_SEGMENT), width - 1)]
              == value[:, None]).argmax(axis=1)  # fmt: skip
    found = top > 0
    best.score[s:e] = top
    best.partner[s:e] = np.where(found, cols[seg[top_seg] + inside], -1)
    g_rows, g_cols, g_score = ready.guess
    better = g_score > top[g_rows - s]
    best.score[g_rows[better]] = g_score[better]
    best.partner[g_rows[better]] = g_cols[better]
    # Pairs sharing rare tokens: their exact LCS is at most the frequent tokens' LCS (or, where it was not
    # computed, the fewer frequent tokens of the two) + the shared rare elements.
    b, a, shared = ready.rare
    if len(b):
        where = np.empty(len(lens), dtype=np.int64)
        where[cols] = np.arange(width)
        at = where[a]
        frequent = np.where(ready.done[b - s, at // ready.chunk], lcs[b - s, at],
                            np.minimum(codes.freq_lens[a], codes.freq_lens[b]))  # fmt: skip
        bound = 2.0 * (frequent + shared) / np.maximum(lens[b] + lens[a], 1.0)
        keep = bound >= best.score[b] - _EPS
        best.rescore(b[keep], a[keep])


def _max_sim_blocks(
    codes: _Encoded, start: int, earlier: bool, chunk: int = _CHUNK, guesses: int = _GUESSES
) -> tuple[list[float | None], list[int]]:
    """Exact best F1 of text i (i >= start) and a text that reaches it, against texts[:i] when `earlier`,
    else against the references texts[:start] only; a block of rows at a time (see `_block`), with
    rouge-score's float formula."""
    import numpy as np

    total = len(codes.exact)
    if total == 0 or (start == 0 and not earlier):
        return [None] * (total - start), [-1] * (total - start)
    best = _Best(codes)
    by_length = np.lexsort((-codes.freq_lens, codes.lens))  # chunks of like bounds
    first = s = max(start, 1)
    blocks = []
    while s < total:
        e = min(total, s + max(1, min(_MAX_ROWS, _CELLS // (s if earlier else start))))
        below = e if earlier else start
        blocks.append((s, e, by_length[by_length < below], below))
        s = e
    # The next blocks are prepared on threads (rapidfuzz without the GIL) while numpy settles this one.
    with ThreadPoolExecutor(_AHEAD) as pool:
        ahead = deque(pool.submit(_prepare, codes, *block, chunk, guesses) for block in blocks[:_AHEAD])
        for k, (s, e, cols, _) in enumerate(blocks):
            ready = ahead.popleft().result()
            if k + _AHEAD < len(blocks):
                ahead.append(pool.submit(_prepare, codes, *blocks[k + _AHEAD], chunk, guesses))
            _block(best, codes, s, e, cols, ready)
    head: list[float | None] = [None] * (first - start)
    return head + best.score[first:].tolist(), [-1] * (first - start) + best.partner[first:].tolist()


def _max_sim_index(texts: Sequence[str], start: int, earlier: bool) -> tuple[list[float | None], list[int]]:
    """NearDuplicateIndex queries at falling thresholds; scores below 0.1 come back as 0.0 (no partner)."""
    index, out, partners = NearDuplicateIndex(), list[float | None](), list[int]()
    index.add_all(texts[:start])
    for text in texts[start:]:
        matches = (index.best_match(text, threshold=t) for t in (0.6, 0.4, 0.3, 0.2, 0.0999)) if len(index) else ()
        match = next((m for m in matches if m is not None), None)
        out.append(match.score if match else 0.0 if len(index) else None)
        partners.append(match.index if match else -1)
        if earlier:
            index.add(text)
    return out, partners


@dataclass
class Similarities:
    """Per instruction: the ROUGE-L F1 to its most similar reference or earlier instruction (None: nothing to
    compare with) and that text's index in references + instructions (-1: none above 0)."""

    scores: list[float | None]
    partners: list[int]
    exact: bool  # False: scores below 0.1 are 0.0 and only their bin is right


def max_similarities(
    instructions: Sequence[str], references: Sequence[str] = (), *, earlier: bool = True, exact: bool | None = None
) -> Similarities:
    """For each instruction, the most similar text among `references` and (when `earlier`) the instructions
    before it. Exact unless `exact` is False or the vocabulary overflows the code points."""
    texts = [*references, *instructions]
    codes = _encode_all(texts) if exact is not False else None
    if codes is not None:
        return Similarities(*_max_sim_blocks(codes, len(references), earlier), True)
    return Similarities(*_max_sim_index(texts, len(references), earlier), False)


def similarities_both_ways(
    instructions: Sequence[str], references: Sequence[str]
) -> tuple[Similarities, Similarities | None]:
    """max_similarities against the references and earlier instructions, and against the references alone
    (None without references), tokenizing and encoding the texts once."""
    texts = [*references, *instructions]
    codes = _encode_all(texts)
    if codes is None:
        earlier = Similarities(*_max_sim_index(texts, len(references), True), False)
        alone = Similarities(*_max_sim_index(texts, len(references), False), False) if references else None
        return earlier, alone
    earlier = Similarities(*_max_sim_blocks(codes, len(references), True), True)
    return earlier, Similarities(*_max_sim_blocks(codes, len(references), False), True) if references else None
