"""The filters in order: cheap text checks first, then the near-duplicate index, which also keeps state."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from selfinstruct.errors import InputError
from selfinstruct.filters.base import Rejection, TextFilter
from selfinstruct.filters.format import FormatFilter
from selfinstruct.filters.heap import paused_collector
from selfinstruct.filters.keyword import DEFAULT_KEYWORDS, KeywordFilter, require_jieba
from selfinstruct.filters.length import LengthFilter
from selfinstruct.filters.rouge import DEFAULT_THRESHOLD, NearDuplicateIndex
from selfinstruct.text import Language, detect_language

FILTER_NAMES: tuple[str, ...] = ("length", "keyword", "format", "rouge")
LanguageOption = Literal["en", "zh", "auto"]


def parse_filter_names(value: str | Sequence[str]) -> tuple[str, ...]:
    """'length,rouge' -> ('length', 'rouge'), in the canonical order; unknown names are an InputError."""
    names = [v.strip() for v in (value.split(",") if isinstance(value, str) else value) if v.strip()]
    unknown = [n for n in names if n not in FILTER_NAMES]
    if unknown:
        raise InputError(f"unknown filter {unknown[0]!r}; choose from {','.join(FILTER_NAMES)}")
    if not names:
        raise InputError(f"no filters given; choose from {','.join(FILTER_NAMES)}")
    return tuple(n for n in FILTER_NAMES if n in names)


@dataclass
class FilterChain:
    """Decides, in order, whether each instruction is kept; kept ones enter the near-duplicate index."""

    filters: tuple[str, ...] = FILTER_NAMES
    threshold: float = DEFAULT_THRESHOLD
    language: LanguageOption = "en"
    keywords: tuple[str, ...] = DEFAULT_KEYWORDS
    extra: tuple[TextFilter, ...] = ()  # checked first: decontamination (generate --decontaminate)
    index: NearDuplicateIndex = field(init=False)
    _text_filters: list[TextFilter] = field(init=False)

    def __post_init__(self) -> None:
        self.filters = parse_filter_names(self.filters)
        if not 0.0 <= self.threshold <= 1.0:
            raise InputError(f"threshold {self.threshold} is out of range; use a number between 0 and 1")
        if self.language not in ("en", "zh", "auto"):
            raise InputError(f"unknown language {self.language!r}; use en, zh or auto")
        if self.language == "zh" and "keyword" in self.filters:
            require_jieba()  # refused before any work; with "auto", when the first Chinese instruction comes
        self.index = NearDuplicateIndex(self.threshold)
        available: dict[str, TextFilter] = {
            "length": LengthFilter(),
            "keyword": KeywordFilter(keywords=self.keywords),
            "format": FormatFilter(),
        }
        self._text_filters = [*self.extra, *(available[n] for n in self.filters if n in available)]

    @property
    def uses_rouge(self) -> bool:
        return "rouge" in self.filters

    def language_of(self, instruction: str) -> Language:
        return detect_language(instruction) if self.language == "auto" else self.language

    def check_text(self, instruction: str) -> Rejection | None:
        """The stateless filters only (length, keyword, format)."""
        language = self.language_of(instruction)
        for f in self._text_filters:
            rejection = f.check(instruction, language)
            if rejection is not None:
                return rejection
        return None

    def check(self, instruction: str) -> Rejection | None:
        """All filters, without changing state."""
        rejection = self.check_text(instruction)
        if rejection is None and self.uses_rouge:
            rejection = self.index.check(instruction)
        return rejection

    def keep(self, instruction: str) -> None:
        """Record an accepted instruction so later candidates are compared with it."""
        if self.uses_rouge:
            self.index.add(instruction)

    def add_reference(self, instructions: Iterable[str]) -> None:
        """Instructions that count as already kept (seeds, an earlier pool)."""
        if self.uses_rouge:
            self.index.add_all(instructions)

    def offer_many(
        self, instructions: Sequence[str], progress: Callable[[int], object] | None = None
    ) -> list[Rejection | None]:
        """The greedy in-order decision of the original scripts (check, then keep if accepted) for each
        instruction in turn, with the near-duplicate checks batched. `progress(k)` counts decided instructions.
        The garbage collector waits meanwhile (heap.paused_collector: its full passes grew faster than the file)."""
        with paused_collector():
            return self._offer_many(instructions, progress)

    def _offer_many(
        self, instructions: Sequence[str], progress: Callable[[int], object] | None
    ) -> list[Rejection | None]:
        out = [self.check_text(instruction) for instruction in instructions]
        todo = [k for k, rejection in enumerate(out) if rejection is None] if self.uses_rouge else []
        if progress is not None and len(todo) < len(instructions):
            progress(len(instructions) - len(todo))
        if todo:
            matches = self.index.add_unique([instructions[k] for k in todo], progress=progress)
            for k, match in zip(todo, matches, strict=True):
                if match is not None:
                    out[k] = self.index.rejection(match)
        return out
