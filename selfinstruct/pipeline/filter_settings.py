"""What `selfinstruct filter` needs, resolved once by the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from selfinstruct.filters import DEFAULT_KEYWORDS, DEFAULT_THRESHOLD, FILTER_NAMES, LanguageOption


@dataclass(frozen=True)
class FilterSettings:
    """Everything `selfinstruct filter` needs."""

    input: Path
    out: Path
    filters: tuple[str, ...] = FILTER_NAMES
    threshold: float = DEFAULT_THRESHOLD
    against: tuple[Path, ...] = ()
    language: LanguageOption = "en"
    rejected: Path | None = None
    keywords: tuple[str, ...] = field(default=DEFAULT_KEYWORDS)
    min_score: float | None = None  # keep only instances the audit scored at least this (see audit_scores)
    audit: Path | None = None  # the audit journal; default: the one `selfinstruct audit` writes for the input
