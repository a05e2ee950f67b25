"""Decontamination as a filter of the generate loop: a candidate that reproduces a benchmark item is rejected
(`filter:contaminated`) before any classify or instances request is paid for it."""

from __future__ import annotations

from dataclasses import dataclass

from selfinstruct.filters.base import Rejection
from selfinstruct.filters.contamination.index import BenchmarkIndex, Contamination
from selfinstruct.text import Language


def contamination_rejection(found: Contamination) -> Rejection:
    """The rejection record of a contaminated instruction: the item it matches, in `similar_to` and in full."""
    what = (
        f"its n-grams cover {found.score:.0%} of the item"
        if found.rule == "coverage"
        else f"shares a run of {found.longest} tokens with it"
    )
    return Rejection(
        "contamination",
        "contaminated",
        f"{found.item.benchmark} item {found.item.id}: {what}",
        similar_to=found.item.text,
        score=round(found.score, 4),
        match=found.to_dict(),
    )


@dataclass
class ContaminationFilter:
    """A TextFilter over a benchmark index."""

    index: BenchmarkIndex
    name: str = "contamination"

    def check(self, instruction: str, language: Language) -> Rejection | None:
        found = self.index.check(instruction)
        return None if found is None else contamination_rejection(found)
