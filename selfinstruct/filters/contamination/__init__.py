"""Decontamination against evaluation sets: word n-gram coverage of benchmark items, as open-instruct scores it.

A record is contaminated by a benchmark item when the item's tokens that lie in one of its n-grams also found in
the record make up more than `threshold` of the item (short items, under n tokens, are matched whole), or when
the two share a long exact run of tokens. Tokens are normalised words, and single characters in CJK scripts.
"""

from selfinstruct.filters.contamination.filter import ContaminationFilter, contamination_rejection
from selfinstruct.filters.contamination.index import (
    DEFAULT_MIN_SPAN,
    DEFAULT_N,
    DEFAULT_THRESHOLD,
    BenchmarkIndex,
    BenchmarkItem,
    Contamination,
)

__all__ = [
    "DEFAULT_MIN_SPAN",
    "DEFAULT_N",
    "DEFAULT_THRESHOLD",
    "BenchmarkIndex",
    "BenchmarkItem",
    "Contamination",
    "ContaminationFilter",
    "contamination_rejection",
]
