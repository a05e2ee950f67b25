"""What an export wrote, for the summary line and the dataset card."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Output:
    """One written file (or the hf folder's split) and what it holds."""

    split: str  # "train", "validation", or "all" when there is no split
    path: Path
    records: int
    tasks: int


@dataclass
class ExportResult:
    written: int
    tasks: int  # pool tasks exported (with at least one instance)
    seeds: int  # seed tasks exported
    skipped: int  # tasks without instances: nothing to train on
    outputs: list[Output] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # With --min-score: pool instances kept, and dropped for want of an audit score that high, by reason.
    score_kept: int = 0
    score_drops: Counter[str] = field(default_factory=Counter)
