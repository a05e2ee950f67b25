"""Exact ROUGE-L near-duplicate index.

ROUGE-L F1 of token sequences a (length m) and b (length n) is 2*LCS/(m+n), and LCS <= |a ∩ b| (multiset
overlap). Deciding "F1 > t against any kept instruction" naively costs one LCS per kept instruction per
candidate; this index gives the same decisions while touching a few of them (a similarity join, PPJoin-style):

1. Prefix filter. Order tokens globally by document frequency, rarest first. A pair above t shares at least
   alpha = floor(t(m+n)/2)+1 tokens, so its first common token lies within the first len - alpha + 1 tokens
   of *both* sequences. Each indexed instruction posts only that prefix; a query probes only its own prefix.
   The order is rebuilt from the current frequencies each time the index grows 4x (amortised O(N)); tokens
   first seen in between rank rarest, which keeps the order consistent for everything indexed so far.
2. Length and positional filters. F1 <= 2*min(m,n)/(m+n); and since nothing before the first common token
   is shared, the overlap is at most 1 + the shorter of the two remainders after it.
3. Verification. Survivors get an exact bit-parallel LCS (rapidfuzz Indel on strings with one code point per
   token) and rouge-score's own float formula (same operations, same order), so boundary cases decide
   exactly as rouge-score does. Bounds use a small safety margin: they can only admit extra candidates.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import itemgetter

import numpy as np
import numpy.typing as npt
from rapidfuzz import process
from rapidfuzz.distance import Indel

from selfinstruct.filters.base import Rejection
from selfinstruct.text import rouge_tokens

DEFAULT_THRESHOLD = 0.7
_EPS = 1e-6  # margin of every bound (and of float error); only ever admits extra candidates
_SURROGATES = 0xE000 - 0xD800
_MAX_VOCAB = 0x10FFFF - _SURROGATES - 1
_UNSEEN = "\U0010ffff"  # a query token the index has never seen: no code of an indexed token equals it
_POS_BITS = 10  # prefix postings hold doc << 10 | position; longer prefixes clamp (a looser, still safe bound)
_POS_MAX = (1 << _POS_BITS) - 1
_TRUE = np.ones(1, dtype=bool)
_SMALL = 24  # below this many entries/candidates, plain Python beats numpy's per-call overhead


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


@dataclass(frozen=True)
class Match:
    """An indexed instruction and its exact ROUGE-L F1 against the query."""

    index: int
    instruction: str
    score: float


class NearDuplicateIndex:
    """Instructions kept so far, searchable for exact ROUGE-L F1 above a threshold.

    Example:
        >>> index = NearDuplicateIndex()
        >>> index.add("Write a short poem about the sea.")
        0
        >>> index.best_match("Write a short poem about the ocean.").score > 0.7
        True
    """

    name = "rouge"

    def __init__(self, threshold: float = DEFAULT_THRESHOLD) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError("threshold must be between 0 and 1")
        self.threshold = threshold
        self._chars: dict[str, str] = {}  # token -> its code point (by first-seen id)
        self._texts: list[str] = []
        self._codes: list[str] = []
        self._lens: array[int] = array("q")
        self._postings: dict[str, list[int]] = {}  # every token -> documents (any threshold, most_similar)
        # Prefix filter for thresholds >= self.threshold, in rank space: token code -> rank code (rarer = higher).
        self._prefix_t = threshold - _EPS
        self._rank_table: dict[int, int] = {}
        self._prefix_postings: dict[str, array[int]] = {}
        self._next_rebuild = 256
        self._last: tuple[str, str] = ("", "")

    def __len__(self) -> int:
        return len(self._texts)

    @property
    def instructions(self) -> list[str]:
        return self._texts

    # -- building ----------------------------------------------------------------------------------------

    def _encode(self, instruction: str) -> str:
        """The instruction as one code point per token (the fastest input for rapidfuzz)."""
        if self._last[0] == instruction:
            return self._last[1]
        chars = self._chars
        code = "".join([chars.get(tok, _UNSEEN) for tok in rouge_tokens(instruction)])
        self._last = (instruction, code)
        return code

    def add(self, instruction: str) -> int:
        """Index an instruction; returns its position."""
        code = self._encode(instruction)
        if _UNSEEN in code:
            chars = self._chars
            for tok in rouge_tokens(instruction):
                if tok not in chars:
                    if len(chars) >= _MAX_VOCAB:
                        raise OverflowError("near-duplicate index vocabulary is full (over 1.1M distinct tokens)")
                    ch = chars[tok] = _char(len(chars))
                    self._rank_table[ord(ch)] = ord(_char(len(self._rank_table)))  # new tokens rank rarest
            code = "".join([chars[tok] for tok in rouge_tokens(instruction)])
            self._last = (instruction, code)
        doc = len(self._texts)
        self._texts.append(instruction)
        self._codes.append(code)
        self._lens.append(len(code))
        for ch in set(code):
            lst = self._postings.get(ch)
            if lst is None:
                self._postings[ch] = [doc]
            else:
                lst.append(doc)
        self._index_prefix(doc, code)
        if doc + 1 >= self._next_rebuild:
            self._rebuild_prefixes()
        return doc

    def add_all(self, instructions: Iterable[str]) -> None:
        for instruction in instructions:
            self.add(instruction)

    def _rebuild_prefixes(self) -> None:
        """Re-rank tokens by document frequency and re-index every prefix (each time the index grows 4x: O(N))."""
        by_df = sorted(self._postings, key=lambda ch: (-len(self._postings[ch]), ch))
        self._rank_table = {ord(ch): ord(_char(rank)) for rank, ch in enumerate(by_df)}
        self._prefix_postings = {}
        for doc, code in enumerate(self._codes):
            self._index_prefix(doc, code)
        self._next_rebuild = 4 * len(self._codes)

    def _index_prefix(self, doc: int, code: str) -> None:
        postings = self._prefix_postings
        for ch, j in self._prefix(code, self._prefix_t):
            entry = doc << _POS_BITS | min(j, _POS_MAX)
            arr = postings.get(ch)
            if arr is None:
                postings[ch] = array("q", (entry,))
            else:
                arr.append(entry)

    def _prefix(self, code: str, t: float) -> list[tuple[str, int]]:
        """The elements among the first len - alpha + 1 in the global order, with their positions there.

        Elements are multiset elements: the k-th repeat of a token (k >= 1) has its own key, token + chr(k), so
        that matching elements count shared tokens with multiplicity."""
        alpha = _min_overlap(len(code), t)
        if alpha is None:
            return []
        ordered = sorted(code.translate(self._rank_table), reverse=True)[: len(code) - alpha + 1]
        out: list[tuple[str, int]] = []
        prev, k = "", 0
        for j, ch in enumerate(ordered):
            k = k + 1 if ch == prev else 0
            prev = ch
            out.append((ch + chr(k) if k else ch, j))
        return out

    # -- searching ---------------------------------------------------------------------------------------

    def _candidates(self, code: str, t: float) -> Sequence[int]:
        """Documents that could score above t (a superset: never misses one)."""
        if t < 0:
            return range(len(self._codes))
        if t >= self._prefix_t:
            return self._prefix_candidates(code, t)
        # A lower threshold than the index was built for: probe the query's rarest tokens in full postings.
        alpha = _min_overlap(len(code), t)
        if alpha is None:
            return []
        counts = Counter(code)
        covered, lists = 0, []
        for ch in sorted(counts, key=lambda c: len(self._postings.get(c, ()))):
            if ch in self._postings:
                lists.append(self._postings[ch])
            covered += counts[ch]
            if covered >= len(code) - alpha + 1:
                break
        return sorted(set().union(*lists))

    def _prefix_candidates(self, code: str, t: float) -> Sequence[int]:
        """Prefix, length and positional filters (PPJoin). The probes run in the global order, so for each
        document the matched elements arrive in order: every common element before the last matched one is
        among them, and nothing before the first matched one is shared. Hence the overlap is at most
        (matched + what follows the last match) and at most (1 + what follows the first match)."""
        m = len(code)
        parts: list[npt.NDArray[np.int64]] = []
        query_pos: list[int] = []
        for key, i in self._prefix(code, t):
            arr = self._prefix_postings.get(key)
            if arr:
                parts.append(np.frombuffer(arr, dtype=np.int64))
                query_pos.append(i)
        if not parts:
            return []
        if sum(len(p) for p in parts) <= _SMALL:
            return self._prefix_candidates_small(m, t, parts, query_pos)
        entries = np.concatenate(parts)
        qpos = np.repeat(np.array(query_pos, dtype=np.int64), [len(p) for p in parts])
        all_docs = entries >> _POS_BITS
        order = np.argsort(all_docs, kind="stable")
        grouped = all_docs[order]
        starts = np.flatnonzero(np.concatenate((_TRUE, grouped[1:] != grouped[:-1])))
        counts = np.diff(starts, append=len(grouped))
        first, last = order[starts], order[starts + counts - 1]
        docs = grouped[starts]
        n = np.frombuffer(self._lens, dtype=np.int64)[docs]
        total = (m + n).astype(np.float64)
        need = np.floor(t * total / 2) + 1
        after_first = 1 + np.minimum(m - qpos[first] - 1, n - (entries[first] & _POS_MAX) - 1)
        after_last = counts + np.minimum(m - qpos[last] - 1, n - (entries[last] & _POS_MAX) - 1)
        keep = (2 * np.minimum(m, n) > t * total) & (after_first >= need) & (after_last >= need)
        result: list[int] = docs[keep].tolist()
        return result

    def _prefix_candidates_small(
        self, m: int, t: float, parts: list[npt.NDArray[np.int64]], query_pos: list[int]
    ) -> list[int]:
        """The same filters as _prefix_candidates, in plain Python for a handful of entries."""
        state: dict[int, list[int]] = {}  # doc -> [matched, first bound, last query pos, last doc pos]
        for arr, i in zip(parts, query_pos, strict=True):
            for entry in arr.tolist():
                doc, j = entry >> _POS_BITS, entry & _POS_MAX
                s = state.get(doc)
                if s is None:
                    state[doc] = [1, 1 + min(m - i - 1, self._lens[doc] - j - 1), i, j]
                else:
                    s[0] += 1
                    s[2], s[3] = i, j
        out = []
        for doc, (matched, after_first, i, j) in state.items():
            n = self._lens[doc]
            need = int(t * (m + n) / 2) + 1
            if 2 * min(m, n) > t * (m + n) and after_first >= need and matched + min(m - i - 1, n - j - 1) >= need:
                out.append(doc)
        return sorted(out)

    def _scores(self, code: str, docs: Sequence[int]) -> npt.NDArray[np.float64]:
        """Exact ROUGE-L F1 of `code` against each doc, with rouge-score's float operations in its order."""
        m = len(code)
        if len(docs) <= _SMALL:  # numpy and cdist cost more than they save on a handful
            codes = self._codes
            return np.array(
                [
                    rouge_fmeasure((m + len(codes[d]) - Indel.distance(code, codes[d])) // 2, m, len(codes[d]))
                    for d in docs
                ],
                dtype=np.float64,
            )
        choices = itemgetter(*docs)(self._codes)
        dist = process.cdist([code], choices, scorer=Indel.distance, dtype=np.int64)[0]
        return _fmeasures(m, dist, np.frombuffer(self._lens, dtype=np.int64)[np.asarray(docs, dtype=np.int64)])

    def matches(self, instruction: str, threshold: float | None = None, *, limit: int | None = None) -> list[Match]:
        """Every indexed instruction whose ROUGE-L F1 against `instruction` is above threshold, best first.

        `limit` restricts the search to the first `limit` indexed instructions (a snapshot of an earlier state).
        """
        t = self.threshold if threshold is None else threshold
        code = self._encode(instruction)
        if not code or not self._codes:
            return []
        docs = self._candidates(code, t - _EPS)
        if limit is not None:
            docs = [d for d in docs if d < limit]
        if not docs:
            return []
        scores = self._scores(code, docs)
        hits: list[int] = np.flatnonzero(scores > t).tolist()
        found = [Match(docs[i], self._texts[docs[i]], float(scores[i])) for i in hits]
        found.sort(key=lambda x: (-x.score, x.index))
        return found

    def best_match(self, instruction: str, threshold: float | None = None, *, limit: int | None = None) -> Match | None:
        """The most similar indexed instruction if its F1 is above threshold (ties: the earliest)."""
        found = self.matches(instruction, threshold, limit=limit)
        return found[0] if found else None

    def most_similar(self, instruction: str, k: int = 10) -> list[Match]:
        """The k most similar indexed instructions with exact scores (all that share a token; for metadata)."""
        code = self._encode(instruction)
        if not code or not self._codes or k <= 0:
            return []
        docs = sorted(set().union(*(self._postings.get(ch, ()) for ch in set(code))))
        if not docs:
            return []
        scores = self._scores(code, docs)
        order = sorted(range(len(docs)), key=lambda i: (-scores[i], docs[i]))[:k]
        return [Match(docs[i], self._texts[docs[i]], float(scores[i])) for i in order]

    def check(self, instruction: str) -> Rejection | None:
        """The filter interface: a Rejection naming the duplicated instruction, or None."""
        match = self.best_match(instruction)
        if match is None:
            return None
        return Rejection(
            self.name,
            "near_duplicate",
            f"ROUGE-L {match.score:.3f} > {self.threshold:g} against an instruction already kept",
            similar_to=match.instruction,
            score=match.score,
        )


def _fmeasures(m: int, dist: npt.NDArray[np.int64], n: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """rouge_fmeasure over arrays: the same IEEE operations in the same order, so the same floats."""
    lcs = (m + n - dist) // 2
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = lcs / n
        recall = lcs / m
        f = 2 * precision * recall / (precision + recall)
    return np.where((n > 0) & (precision + recall > 0), f, 0.0)


def _min_overlap(m: int, t: float) -> int | None:
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


def _char(tid: int) -> str:
    cp = tid + 1
    if cp >= 0xD800:
        cp += _SURROGATES
    return chr(cp)
