"""ROUGE-L of each instruction to its most similar earlier instruction or seed, exactly and fast enough for
50k-task pools: rapidfuzz's LCS of every pair over the 256 most frequent tokens (exact for the pairs that share
no rarer token; a row keeps only its largest LCS per partner length), then the few pairs sharing a rarer token
scored exactly where they could win."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import chain
from typing import Any

from selfinstruct.filters.rouge import NearDuplicateIndex
from selfinstruct.filters.rouge_math import fmeasures
from selfinstruct.stats_report import SIM_BINS
from selfinstruct.text import rouge_tokens

_CELLS = 16_000_000  # matrix cells computed per block (bounds memory to ~50 MB)
_MAX_ROWS = 2048  # rows per block
_SEGMENT = 64  # columns per segment of which each row keeps the largest LCS (to find its best pair again)
_OWN_BYTES = 256  # the most frequent tokens: one byte each in the strings compared for every pair
_EPS = 1e-6  # margin for float rounding between a bound and an exact F1; only admits more pairs
_WORKERS = -1


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
        self.frequent = _split(flat[frequent].astype(np.uint8).tobytes().decode("latin-1"),
                               np.bincount(owner[frequent], minlength=len(tokens)))  # fmt: skip
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
        import numpy as np
        from rapidfuzz import process
        from rapidfuzz.distance import LCSseq

        if not len(rows):
            return
        exact = self.exact
        lcs = process.cpdist([exact[i] for i in rows.tolist()], [exact[j] for j in cols.tolist()],
                             scorer=LCSseq.similarity, dtype=np.int64, workers=_WORKERS)  # fmt: skip
        score = fmeasures(lcs, self.lens[rows], self.lens[cols])
        order = np.lexsort((score, rows))  # by row, then score: each row's best pair comes last
        rows, cols, score = rows[order], cols[order], score[order]
        last = np.r_[rows[1:] != rows[:-1], True]
        rows, cols, score = rows[last], cols[last], score[last]
        better = score > self.score[rows]
        self.score[rows[better]] = score[better]
        self.partner[rows[better]] = cols[better]


def _dense(codes: _Encoded, s: int, e: int, cols: Any) -> Any:
    """The LCS of the frequent-token strings of texts s..e-1 (rows) and `cols`."""
    import numpy as np
    from rapidfuzz import process
    from rapidfuzz.distance import LCSseq

    longest = codes.lens[s:e].max(initial=0), codes.lens[cols].max(initial=0)
    return process.cdist(codes.frequent[s:e], codes.frequent_array[cols].tolist(), scorer=LCSseq.similarity,
                         dtype=np.uint8 if max(longest) < 256 else np.int32, workers=_WORKERS)  # fmt: skip


def _block(best: _Best, codes: _Encoded, s: int, e: int, cols: Any, below: int, lcs: Any) -> None:
    """The exact best of texts s..e-1 against the texts `cols` (sorted by length) that are before both the
    row's own text and `below`, given `lcs` = _dense(codes, s, e, cols).

    The LCS of the frequent-token strings (rapidfuzz cdist) is exact for the pairs that share no rare token.
    Within the columns of one length the F1 grows with the LCS, so each row's best among them is its largest
    LCS there (kept per segment of columns, to find the pair again). The pairs that share rare tokens are then
    scored exactly where that LCS plus their shared rare elements could reach the row's best."""
    import numpy as np

    lens = best.lens
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
    # Pairs sharing rare tokens: their exact LCS is at most the frequent tokens' LCS + the shared rare elements.
    b, a, shared = codes.rare_pairs(s, e, below)
    if len(b):
        where = np.empty(len(lens), dtype=np.int64)
        where[cols] = np.arange(width)
        bound = 2.0 * (lcs[b - s, where[a]] + shared) / np.maximum(lens[b] + lens[a], 1.0)
        keep = bound >= top[b - s] - _EPS
        best.rescore(b[keep], a[keep])


def _max_sim_blocks(codes: _Encoded, start: int, earlier: bool) -> tuple[list[float | None], list[int]]:
    """Exact best F1 of text i (i >= start) and a text that reaches it, against texts[:i] when `earlier`,
    else against the references texts[:start] only; a block of rows at a time (see `_block`), with
    rouge-score's float formula."""
    import numpy as np

    total = len(codes.exact)
    if total == 0 or (start == 0 and not earlier):
        return [None] * (total - start), [-1] * (total - start)
    best = _Best(codes)
    by_length = np.argsort(codes.lens, kind="stable")
    first = s = max(start, 1)
    blocks = []
    while s < total:
        e = min(total, s + max(1, min(_MAX_ROWS, _CELLS // (s if earlier else start))))
        below = e if earlier else start
        blocks.append((s, e, by_length[by_length < below], below))
        s = e
    # rapidfuzz computes the next block's LCS (without the GIL) while numpy settles this one.
    with ThreadPoolExecutor(1) as pool:
        ahead = pool.submit(_dense, codes, *blocks[0][:3]) if blocks else None
        for k, (s, e, cols, below) in enumerate(blocks):
            assert ahead is not None
            lcs = ahead.result()
            ahead = pool.submit(_dense, codes, *blocks[k + 1][:3]) if k + 1 < len(blocks) else None
            _block(best, codes, s, e, cols, below, lcs)
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
