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
3. Verification. Survivors get an exact bit-parallel LCS (rapidfuzz on strings with one code point per
   token) and rouge-score's own float formula (same operations, same order), so boundary cases decide
   exactly as rouge-score does (rouge_verify). Bounds use a small safety margin: they can only admit extra
   candidates.

`add_unique` runs the greedy filter a block at a time (rouge_probe: one probe of the index per block, one
pairwise LCS call), or over a whole file through the batch self-join (rouge_join, decisions by rouge_resolve),
which knows every instruction up front and so scales to a million.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import chain, repeat
from sys import intern  # the few distinct details of 300k drops are held once

import numpy as np

from selfinstruct.filters.base import Rejection
from selfinstruct.filters.heap import retain_heap
from selfinstruct.filters.rouge_codes import (
    MAX_VOCAB,
    UNSEEN,
    Prefix,
    char,
    code_point,
    elements,
    end_key,
    post,
)
from selfinstruct.filters.rouge_math import EPS as _EPS
from selfinstruct.filters.rouge_math import (
    FloatArray,
    IntArray,
    min_overlap,
)
from selfinstruct.filters.rouge_probe import (
    BLOCK_MAX,
    PrefixIndex,
    best_in_index,
    candidate_pairs,
    index_prefix,
    pairs_within,
)
from selfinstruct.filters.rouge_resolve import greedy_join
from selfinstruct.filters.rouge_topk import top_k
from selfinstruct.filters.rouge_verify import exact_scores, postings_candidates
from selfinstruct.text import rouge_token_bytes

DEFAULT_THRESHOLD = 0.7
DEFAULT_BLOCK = 64
JOIN_MIN = 4096  # add_unique calls with at least this many instructions use the batch join by default


@dataclass(frozen=True, slots=True)
class Match:
    """An indexed instruction and its exact ROUGE-L F1 against the query."""

    index: int
    instruction: str
    score: float


class NearDuplicateIndex:
    """Instructions kept so far, searchable for exact ROUGE-L F1 above a threshold.

    `workers` is the number of threads for the batched LCS calls of one-at-a-time searches (-1: every core);
    `join_workers` that of the batch join that decides a whole file at once (add_unique): -1, a thread per core
    (at most 4), since its pairs and decisions are the same in any number of threads.

    Example:
        >>> index = NearDuplicateIndex()
        >>> index.add("Write a short poem about the sea.")
        0
        >>> index.best_match("Write a short poem about the ocean.").score > 0.7
        True
        >>> [m is None for m in index.add_unique(["Name three rivers in Asia.", "Name 3 rivers in Asia."])]
        [True, False]
    """

    name = "rouge"

    def __init__(self, threshold: float = DEFAULT_THRESHOLD, *, workers: int = 1, join_workers: int = -1) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError("threshold must be between 0 and 1")
        self.threshold = threshold
        self.workers = workers
        self.join_workers = join_workers
        self._chars: dict[bytes, str] = {}  # token -> its code point (by first-seen id)
        self._texts: list[str] = []
        self._codes: list[str] = []
        self._lens: array[int] = array("q")
        # Where each document's indexed prefix ends: the order key of its last element, and how many follow it.
        self._prefix_end: array[int] = array("q")
        self._prefix_rest: array[int] = array("q")
        # Every multiset element (a token, or its k-th repeat as token + chr(k)) -> the documents holding it, for
        # lower thresholds and most_similar: built on first use, then kept up. int64 arrays, so that numpy reads
        # them without a copy.
        self._postings: dict[str, array[int]] | None = None
        # Prefix filter for thresholds >= self.threshold, in rank space: token code -> rank code (rarer = higher).
        self._prefix_t = threshold - _EPS
        self._rank_table: dict[int, int] = {}
        self._prefix_postings: dict[str, array[int]] = {}
        self._next_rebuild = 256
        self._stale = False  # the batch join appended documents that the prefix postings do not hold yet
        self._alpha: dict[int, int | None] = {}  # length -> min_overlap(length, self._prefix_t)
        self._last: tuple[str, str] = ("", "")

    def __len__(self) -> int:
        return len(self._texts)

    @property
    def instructions(self) -> list[str]:
        return self._texts

    # -- building ----------------------------------------------------------------------------------------

    def _encode(self, instruction: str, *, assign: bool = False) -> str:
        """The instruction as one code point per token (the fastest input for rapidfuzz).

        Tokens never seen before become UNSEEN, unless `assign` gives them codes (and the rarest ranks) of their
        own: a block of queries needs distinct codes for distinct new tokens, since they are compared together."""
        last_text, last_code = self._last
        if last_text == instruction and not (assign and UNSEEN in last_code):
            return last_code
        chars = self._chars
        tokens = rouge_token_bytes(instruction)
        code = "".join(map(chars.get, tokens, repeat(UNSEEN)))
        if assign and UNSEEN in code:
            ranks = self._rank_table  # holds every token; a new one ranks after all of them, i.e. rarest
            for tok in tokens:
                if tok not in chars:
                    if len(chars) >= MAX_VOCAB:
                        raise OverflowError("near-duplicate index vocabulary is full (over 1.1M distinct tokens)")
                    ch = chars[tok] = char(len(chars))
                    ranks[ord(ch)] = ord(ch)  # len(ranks) == len(chars), so the next rank is the same code point
            code = "".join(map(chars.__getitem__, tokens))
        self._last = (instruction, code)
        return code

    def add(self, instruction: str) -> int:
        """Index an instruction; returns its position."""
        self._maybe_rebuild()
        code = self._encode(instruction, assign=True)
        doc = self._append(instruction, code, self._prefix(code, self._prefix_t))
        self._maybe_rebuild()
        return doc

    def add_all(self, instructions: Iterable[str]) -> None:
        for instruction in instructions:
            self.add(instruction)

    def _append(self, instruction: str, code: str, prefix: Prefix) -> int:
        doc = len(self._texts)
        self._texts.append(instruction)
        self._codes.append(code)
        self._lens.append(len(code))
        if self._postings is not None:
            post(self._postings, doc, code)
        self._prefix_end.append(end_key(prefix))
        self._prefix_rest.append(len(code) - len(prefix))
        index_prefix(self._prefix_postings, doc, prefix)
        return doc

    def _maybe_rebuild(self) -> None:
        """Re-rank tokens by document frequency and re-index every prefix each time the index grows 4x: O(N);
        also before the first probe after a batch join."""
        if len(self._codes) < self._next_rebuild and not self._stale:
            return
        self._stale = False
        df = Counter(chain.from_iterable(map(set, self._codes)))
        by_df = sorted(self._chars.values())
        by_df.sort(key=df.__getitem__, reverse=True)  # most frequent first; stable, so ties stay in code order
        self._rank_table = dict(zip(map(ord, by_df), map(code_point, range(len(by_df))), strict=True))
        self._prefix_postings = {}
        for doc, code in enumerate(self._codes):
            prefix = self._prefix(code, self._prefix_t)
            self._prefix_end[doc] = end_key(prefix)
            index_prefix(self._prefix_postings, doc, prefix)
        self._next_rebuild = 4 * len(self._codes)

    def _full_postings(self) -> dict[str, array[int]]:
        if self._postings is None:
            postings: dict[str, array[int]] = {}
            for doc, code in enumerate(self._codes):
                post(postings, doc, code)
            self._postings = postings
        return self._postings

    def _probe(self) -> PrefixIndex:
        return PrefixIndex(self._prefix_postings, self._lens, self._prefix_end, self._prefix_rest)

    def _prefix(self, code: str, t: float) -> Prefix:
        """The keys of the elements among the first len - alpha + 1 in the global order.

        Elements are multiset elements: the k-th repeat of a token (k >= 1) has its own key, token + chr(k), so
        that matching elements count shared tokens with multiplicity."""
        m = len(code)
        if t == self._prefix_t:
            alpha = self._alpha.get(m, 0)
            if alpha == 0:
                alpha = self._alpha[m] = min_overlap(m, t)
        else:
            alpha = min_overlap(m, t)
        if alpha is None:
            return []
        return elements(sorted(code.translate(self._rank_table), reverse=True)[: m - alpha + 1])

    # -- searching ---------------------------------------------------------------------------------------

    def _candidates(self, code: str, t: float, window: range) -> Sequence[int]:
        """Documents in `window` that could score above t (a superset: never misses one)."""
        if t < 0:
            return window
        if t >= self._prefix_t:
            self._maybe_rebuild()
            part = window if len(window) < len(self._codes) else None  # (whole: no list needs cutting)
            docs: list[int] = candidate_pairs(self._probe(), [code], [self._prefix(code, t)], t, part)[1].tolist()
            return docs
        # A lower threshold than the index was built for: probe the query's rarest tokens in full postings.
        return [d for d in postings_candidates(code, t, self._full_postings()) if d in window]

    def _scores(self, code: str, docs: Sequence[int] | IntArray) -> FloatArray:
        return exact_scores(code, docs, self._codes, self._lens)

    def matches(
        self, instruction: str, threshold: float | None = None, *, limit: int | None = None, since: int = 0
    ) -> list[Match]:
        """Every indexed instruction whose ROUGE-L F1 against `instruction` is above threshold, best first.

        `limit` restricts the search to the first `limit` indexed instructions (a snapshot of an earlier state),
        `since` to those from the `since`-th on (the ones indexed after an earlier search of the others).
        """
        t = self.threshold if threshold is None else threshold
        code = self._encode(instruction)
        window = range(since, len(self._codes) if limit is None else min(limit, len(self._codes)))
        if not code or not window:
            return []
        docs = self._candidates(code, t - _EPS, window)
        if not docs:
            return []
        scores = self._scores(code, docs)
        hits: list[int] = np.flatnonzero(scores > t).tolist()
        found = [Match(docs[i], self._texts[docs[i]], float(scores[i])) for i in hits]
        found.sort(key=lambda x: (-x.score, x.index))
        return found

    def best_match(
        self, instruction: str, threshold: float | None = None, *, limit: int | None = None, since: int = 0
    ) -> Match | None:
        """The most similar indexed instruction if its F1 is above threshold (ties: the earliest), among those
        `matches` searches."""
        found = self.matches(instruction, threshold, limit=limit, since=since)
        return found[0] if found else None

    def most_similar(self, instruction: str, k: int = 10) -> list[Match]:
        """The k most similar indexed instructions with exact scores, best first (ties: the earliest); only
        instructions sharing a token (score > 0) count.

        Exact without scoring everything. A document's multiset overlap v with the query (shared tokens, with
        repeats), counted for every document at once from the postings, bounds its F1: LCS <= v, so
        F1 <= 2*min(v, n)/(m + n) <= 2v/(m + v). The documents with the largest overlaps are scored first; the
        k-th best score, tau, is a floor for the answer, so only documents whose overlap allows tau are looked
        at next, and of those only the ones whose own bound reaches tau are scored, from the highest bound down
        (`rouge_topk.best_by_bound`). On real instructions this scores about one document in 400 at a 50k pool."""
        code = self._encode(instruction)
        if not code or not self._codes or k <= 0:
            return []
        postings = self._full_postings()
        lists = [postings[key] for key in elements(code) if key in postings]
        if not lists:
            return []
        best = top_k(code, lists, len(self._codes), np.frombuffer(self._lens, dtype=np.int64), self._scores, k)
        docs, scores = best
        return [Match(d, self._texts[d], s) for d, s in zip(docs.tolist(), scores.tolist(), strict=True)]

    # -- the greedy filter, a block at a time ------------------------------------------------------------

    def add_unique(
        self,
        instructions: Iterable[str],
        *,
        block: int = DEFAULT_BLOCK,
        join: bool | None = None,
        progress: Callable[[int], object] | None = None,
    ) -> list[Match | None]:
        """The greedy in-order filter: for each instruction, its best match above the threshold among everything
        kept before it (the index, then the earlier instructions of this call that were kept), or None, in which
        case it is added. Same decisions and matches as best_match followed by add for each in turn.

        Many instructions at once (`join`, by default from JOIN_MIN on, when they outnumber the index) go
        through the batch self-join (rouge_join), which sees the whole input; otherwise a block at a time.
        `progress(k)` is called as they are decided (the counts add up to their number)."""
        if not 1 <= block <= BLOCK_MAX:
            raise ValueError(f"block must be between 1 and {BLOCK_MAX}")
        retain_heap()
        texts = list(instructions)
        if join is None:
            join = len(texts) >= JOIN_MIN and len(texts) >= len(self._codes)
        if join and texts:
            try:
                return self._join_unique(texts, progress)
            except OverflowError:  # a text over a million tokens: the blocks handle it
                pass
        out: list[Match | None] = []
        for start in range(0, len(texts), block):
            out.extend(self._add_block(texts[start : start + block]))
            self._maybe_rebuild()
            if progress is not None:
                progress(len(texts[start : start + block]))
        return out

    def _join_unique(self, texts: list[str], progress: Callable[[int], object] | None) -> list[Match | None]:
        """add_unique through the batch join: every pair above the threshold among the distinct texts (index
        and new), then the greedy decisions read off them in order."""
        codes = [self._encode(text, assign=True) for text in texts]
        if self.threshold >= 1.0:  # F1 never exceeds 1: everything is kept
            self._extend(texts, codes)
            if progress is not None:
                progress(len(texts))
            return [None] * len(texts)
        decisions, kept = greedy_join(self._codes, codes, self.threshold, self.join_workers, progress)
        n, out = len(self._texts), list[Match | None]()
        for decision in decisions:
            if decision is None:
                out.append(None)
            else:
                doc, score = decision
                out.append(Match(doc, texts[kept[doc - n]] if doc >= n else self._texts[doc], score))
        self._extend([texts[k] for k in kept], [codes[k] for k in kept])
        return out

    def _extend(self, texts: list[str], codes: list[str]) -> None:
        """Append documents whose prefixes are posted at the next probe (one rebuild instead of one per text)."""
        start = len(self._texts)
        self._texts.extend(texts)
        self._codes.extend(codes)
        self._lens.extend(map(len, codes))
        self._prefix_end.extend(repeat(0, len(codes)))
        for code in codes:
            alpha = self._alpha.get(len(code), 0)
            if alpha == 0:
                alpha = self._alpha[len(code)] = min_overlap(len(code), self._prefix_t)
            self._prefix_rest.append(len(code) if alpha is None else alpha - 1)
        if self._postings is not None:
            for doc, code in enumerate(codes, start):
                post(self._postings, doc, code)
        self._stale = True

    def _add_block(self, texts: list[str]) -> list[Match | None]:
        t = self._prefix_t
        codes = [self._encode(text, assign=True) for text in texts]
        prefixes = [self._prefix(code, t) for code in codes]
        best: list[tuple[float, int] | None] = [None] * len(texts)
        if self._codes:
            best = best_in_index(self._probe(), self._codes, codes, prefixes, self.threshold, self.workers)
        within = pairs_within(codes, self.threshold, self.workers)
        out: list[Match | None] = []
        kept: dict[int, int] = {}  # block position -> its doc
        for i, text in enumerate(texts):
            b = best[i]
            for j, s in within.get(i, ()):
                d = kept.get(j)
                if d is not None and (b is None or s > b[0]):
                    b = (s, d)
            if b is None:
                kept[i] = self._append(text, codes[i], prefixes[i])
                out.append(None)
            else:
                out.append(Match(b[1], self._texts[b[1]], b[0]))
        return out

    def rejection(self, match: Match) -> Rejection:
        """The filter's verdict on a candidate whose best match is `match`."""
        return Rejection(
            self.name,
            "near_duplicate",
            intern(f"ROUGE-L {match.score:.3f} > {self.threshold:g} against an instruction already kept"),
            similar_to=match.instruction,
            score=match.score,
        )

    def check(self, instruction: str) -> Rejection | None:
        """The filter interface: a Rejection naming the duplicated instruction, or None."""
        match = self.best_match(instruction)
        return None if match is None else self.rejection(match)
