"""The benchmark index: every item's hashed n-grams in one sorted array, and the scan of texts against it.

Coverage is open-instruct's n-gram match score (decontamination/search.py): of an item's tokens, the share
that lie in at least one of its n-grams also found in the text. An item shorter than n tokens has no n-gram,
so it is matched whole (its tokens in a row in the text); it then covers m / min(n, L) of a text of L tokens, so
a 3-word item flags a 4-word record but not a long one that happens to contain the phrase. Independently, a
run of at least `min_span` tokens shared in order is contamination whatever its share of a long item.

Memory: 16 bytes per indexed n-gram (key, item, position) and a presence table of 16 to 32 one-byte slots per
n-gram, plus the vocabulary and the items' texts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from selfinstruct.errors import InputError
from selfinstruct.filters.contamination.matches import Groups, best_per_text, long_groups, short_groups
from selfinstruct.filters.contamination.ngrams import Keys, Layout, Windows, valid_windows
from selfinstruct.filters.contamination.tokens import (
    SEPARATOR,
    Ids,
    batch_tokens,
    grow,
    joined,
    lookup,
    new_vocabulary,
    tokens,
)

DEFAULT_N = 8  # open-r1's and Tulu 3's n-gram size; GPT-3's 13 misses every prompt under 13 words
DEFAULT_THRESHOLD = 0.5  # Tulu 3: an item more than half covered by a training example's 8-grams
DEFAULT_MIN_SPAN = 30  # tokens shared in a row that are contamination even in a long passage
BATCH = 8192  # texts scanned at once: bounds the memory of the hits of very common n-grams


@dataclass(frozen=True)
class BenchmarkItem:
    """One evaluation item: its benchmark's name, its id there and the text to match."""

    benchmark: str
    id: str
    text: str


@dataclass(frozen=True)
class Contamination:
    """Why a text is contaminated: the item, the matched span (normalised tokens), the coverage score, the
    longest run shared in order, and which rule decided (coverage or long_substring)."""

    item: BenchmarkItem
    score: float
    span: str
    longest: int
    rule: str

    def to_dict(self) -> dict[str, object]:
        return {
            "benchmark": self.item.benchmark,
            "item": self.item.id,
            "item_text": self.item.text,
            "span": self.span,
            "score": round(self.score, 4),
            "longest": self.longest,
            "rule": self.rule,
        }


class BenchmarkIndex:
    """The n-grams of a set of benchmark items, scanned against many texts at a time."""

    def __init__(
        self,
        items: Sequence[BenchmarkItem],
        *,
        n: int = DEFAULT_N,
        threshold: float = DEFAULT_THRESHOLD,
        min_span: int = DEFAULT_MIN_SPAN,
    ) -> None:
        if n < 1:
            raise InputError(f"--ngram {n}: use a whole number of at least 1")
        if not 0.0 <= threshold < 1.0:
            raise InputError(f"--threshold {threshold}: use a number from 0 up to (not including) 1")
        if min_span < 1:
            raise InputError(f"--min-span {min_span}: use a whole number of at least 1")
        self.n, self.threshold, self.min_span = n, threshold, min_span
        self.vocab = new_vocabulary()
        self.items = [item for item in items if tokens(item.text)]  # an item of punctuation only matches nothing
        ids = self._item_ids()
        layout = Layout.of(ids)
        self.lengths = layout.lengths
        long_w = valid_windows(ids, n, layout)
        order = np.argsort(long_w.keys, kind="stable")
        self.keys: Keys = long_w.keys[order]
        self.item_of = long_w.text[order].astype(np.int32)
        self.pos_of = long_w.pos[order].astype(np.int32)
        self.short: dict[int, tuple[Keys, np.ndarray]] = {}
        for m in sorted({int(x) for x in self.lengths if 0 < x < n}):
            w = valid_windows(ids, m, layout)
            take = self.lengths[w.text] == m  # an m-token item is its own single m-gram
            keys, item = w.keys[take], w.text[take].astype(np.int32)
            order = np.argsort(keys, kind="stable")
            self.short[m] = (keys[order], item[order])
        # A bit per slot of the keys' low bits, set for every indexed key: a window whose slot is clear cannot
        # match, and most windows are dropped before the binary search (16+ slots per key: a few % pass wrongly).
        size = 1 << max(16, min(28, (16 * max(1, self.ngrams)).bit_length()))
        self._mask = np.uint64(size - 1)
        self._present = np.zeros(size, dtype=bool)
        for keys in (self.keys, *(k for k, _ in self.short.values())):
            self._present[keys & self._mask] = True
        self._tokens: dict[int, list[str]] = {}  # items' tokens, for the spans reported

    def _item_ids(self) -> Ids:
        """The items' token ids, separated, tokenized a batch at a time: a list of every item's tokens at once
        would be the build's peak memory (140 MB for 2M tokens)."""
        parts: list[Ids] = []
        sep = np.array([SEPARATOR], dtype=np.int64)
        for start in range(0, len(self.items), BATCH):
            if parts:
                parts.append(sep)
            parts.append(grow(batch_tokens([item.text for item in self.items[start : start + BATCH]]), self.vocab))
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    @property
    def ngrams(self) -> int:
        """How many n-grams are indexed (items shorter than n count one each)."""
        return len(self.keys) + sum(len(k) for k, _ in self.short.values())

    @property
    def nbytes(self) -> int:
        """Memory held by the index arrays."""
        arrays: list[np.ndarray] = [self.keys, self.item_of, self.pos_of, self._present]
        arrays += [a for pair in self.short.values() for a in pair]
        return sum(a.nbytes for a in arrays)

    def scan(self, texts: Sequence[str]) -> list[Contamination | None]:
        """For each text, the contamination that decides it (the highest score), or None when it is clean."""
        out: list[Contamination | None] = []
        for start in range(0, len(texts), BATCH):
            out.extend(self._scan(texts[start : start + BATCH]))
        return out

    def check(self, text: str) -> Contamination | None:
        return self._scan([text])[0]

    def _maybe(self, w: Windows) -> Windows:
        """The windows whose key may be indexed (the bitmap's test; the binary search decides)."""
        return w.select(self._present[w.keys & self._mask])

    def _scan(self, texts: Sequence[str]) -> list[Contamination | None]:
        out: list[Contamination | None] = [None] * len(texts)
        if not texts or not self.items:
            return out
        ids = lookup(batch_tokens(texts), self.vocab)
        layout = Layout.of(ids)
        parts: list[Groups] = []
        if len(self.keys):
            w = self._maybe(valid_windows(ids, self.n, layout))
            parts.append(long_groups(w, self.keys, self.item_of, self.pos_of, self.lengths, self.n))
        for m, (keys, item_of) in self.short.items():
            w = valid_windows(ids, m, layout)
            # Only texts it can cover more than the threshold of: m / min(n, L) > threshold.
            w = self._maybe(w.select(m > self.threshold * np.minimum(layout.lengths[w.text], self.n)))
            parts.append(short_groups(w, keys, item_of, m, self.n, layout.lengths))
        best = best_per_text(parts, self.threshold, self.min_span)
        for text, item, score, longest, start in best:
            it = self.items[item]
            if item not in self._tokens:
                self._tokens[item] = tokens(it.text)
            span = joined(self._tokens[item][start : start + longest])
            rule = "coverage" if score > self.threshold else "long_substring"
            out[text] = Contamination(item=it, score=score, span=span, longest=longest, rule=rule)
        return out
