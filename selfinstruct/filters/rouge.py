"""Exact ROUGE-L near-duplicate index.

ROUGE-L F1 of token sequences a (length m) and b (length n) is 2*LCS/(m+n). Deciding "F1 > t against any
kept instruction" naively costs one Python LCS per kept instruction per candidate; this index gives the same
decisions without touching most of the pool:

1. Length bound: F1 <= 2*min(m,n)/(m+n), so only lengths n in [n_lo, n_hi] can exceed t.
2. Overlap bound: LCS <= |a ∩ b| (multiset). Any b above t shares at least `alpha` tokens with a, so it must
   contain one of any (m - alpha + 1) tokens of a (pigeonhole). We probe the inverted lists of a's rarest
   tokens only; this needs no global token order, because the pool side indexes every token.
3. The survivors get an exact bit-parallel LCS (rapidfuzz Indel on token-id strings), and the final
   comparison uses rouge-score's own float formula, so boundary cases decide exactly as rouge-score does.

Bounds are computed with a small safety margin, so they can only keep extra candidates, never lose one.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import Indel

from selfinstruct.filters.base import Rejection
from selfinstruct.text import rouge_tokens

DEFAULT_THRESHOLD = 0.7
# Safety margin for the bounds and for rapidfuzz's own float cutoff; only ever admits extra candidates.
_EPS = 1e-6
_SURROGATES = 0xE000 - 0xD800
_MAX_VOCAB = 0x10FFFF - _SURROGATES - 1


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
        self._vocab: dict[str, int] = {}
        self._texts: list[str] = []
        self._codes: list[str] = []
        self._postings: dict[int, list[int]] = {}

    def __len__(self) -> int:
        return len(self._texts)

    @property
    def instructions(self) -> list[str]:
        return self._texts

    def _encode(self, tokens: Iterable[str], *, grow: bool) -> str:
        """Tokens as a string of one code point per token id, the fastest input for rapidfuzz."""
        chars = []
        vocab = self._vocab
        for tok in tokens:
            tid = vocab.get(tok)
            if tid is None:
                if not grow:
                    tid = -1  # unseen token: matches nothing in the index
                else:
                    tid = len(vocab)
                    if tid >= _MAX_VOCAB:
                        raise OverflowError("near-duplicate index vocabulary is full (over 1.1M distinct tokens)")
                    vocab[tok] = tid
            chars.append(_char(tid))
        return "".join(chars)

    def add(self, instruction: str) -> int:
        """Index an instruction; returns its position."""
        code = self._encode(rouge_tokens(instruction), grow=True)
        doc = len(self._texts)
        self._texts.append(instruction)
        self._codes.append(code)
        postings = self._postings
        for ch in set(code):
            lst = postings.get(ord(ch))
            if lst is None:
                postings[ord(ch)] = [doc]
            else:
                lst.append(doc)
        return doc

    def add_all(self, instructions: Iterable[str]) -> None:
        for instruction in instructions:
            self.add(instruction)

    def _candidate_docs(self, code: str, threshold: float) -> Iterable[int]:
        """Documents that could score above threshold (a superset, never missing one)."""
        m = len(code)
        t = threshold - _EPS
        if t < 0:
            return range(len(self._codes))
        # Smallest pool length n that can beat t: 2*min(m,n)/(m+n) > t.
        n_lo = 1
        while n_lo <= m and 2 * n_lo <= t * (m + n_lo):
            n_lo += 1
        if n_lo > m:
            return ()
        # LCS needed at that length; longer pool entries need more, so this is the loosest bound.
        alpha = max(1, int(t * (m + n_lo) / 2) + 1)
        while alpha > 1 and 2 * (alpha - 1) > t * (m + n_lo):
            alpha -= 1
        probe = m - alpha + 1
        counts = Counter(code)
        postings = self._postings
        empty: list[int] = []
        ranked = sorted(counts, key=lambda ch: len(postings.get(ord(ch), empty)))
        chosen: list[list[int]] = []
        covered = 0
        for ch in ranked:
            lst = postings.get(ord(ch))
            if lst:
                chosen.append(lst)
            covered += counts[ch]
            if covered >= probe:
                break
        if not chosen:
            return ()
        if len(chosen) == 1:
            return chosen[0]
        return set().union(*chosen)

    def matches(self, instruction: str, threshold: float | None = None, *, limit: int | None = None) -> list[Match]:
        """Every indexed instruction whose ROUGE-L F1 against `instruction` is above threshold, best first.

        `limit` restricts the search to the first `limit` indexed instructions (a snapshot of an earlier state).
        """
        t = self.threshold if threshold is None else threshold
        code = self._encode(rouge_tokens(instruction), grow=False)
        m = len(code)
        if m == 0 or not self._codes:
            return []
        docs = self._candidate_docs(code, t)
        codes = self._codes
        choices = {d: codes[d] for d in docs} if limit is None else {d: codes[d] for d in docs if d < limit}
        if not choices:
            return []
        found: list[Match] = []
        for _, _, doc in process.extract(
            code, choices, scorer=Indel.normalized_similarity, score_cutoff=max(0.0, t - _EPS), limit=None
        ):
            n = len(codes[doc])
            lcs = (m + n - Indel.distance(code, codes[doc])) // 2
            score = rouge_fmeasure(lcs, m, n)
            if score > t:
                found.append(Match(doc, self._texts[doc], score))
        found.sort(key=lambda x: (-x.score, x.index))
        return found

    def best_match(self, instruction: str, threshold: float | None = None, *, limit: int | None = None) -> Match | None:
        """The most similar indexed instruction if its F1 is above threshold (ties: the earliest)."""
        found = self.matches(instruction, threshold, limit=limit)
        return found[0] if found else None

    def most_similar(self, instruction: str, k: int = 10) -> list[Match]:
        """The k most similar indexed instructions with exact scores (a full scan; for metadata, not filtering)."""
        code = self._encode(rouge_tokens(instruction), grow=False)
        m = len(code)
        if m == 0 or not self._codes or k <= 0:
            return []
        docs = set().union(*(self._postings.get(ord(ch), ()) for ch in set(code)))
        codes = self._codes
        scored = []
        for doc in docs:
            n = len(codes[doc])
            lcs = (m + n - Indel.distance(code, codes[doc])) // 2
            scored.append((rouge_fmeasure(lcs, m, n), -doc))
        top = heapq.nlargest(k, scored)
        return [Match(-neg, self._texts[-neg], score) for score, neg in top]

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


def _char(tid: int) -> str:
    if tid < 0:
        return "\U0010ffff"  # never assigned to a token (the vocabulary is capped below it)
    cp = tid + 1
    if cp >= 0xD800:
        cp += _SURROGATES
    return chr(cp)
