"""What `selfinstruct export` needs, resolved once (options.py checks and fills it in)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

ShareGPTRoles = Literal["sharegpt", "openai"]


@dataclass(frozen=True)
class ExportSettings:
    """Everything `selfinstruct export` needs. `out` is a .json/.jsonl file, or a folder for a folder format."""

    source: Path
    fmt: str
    out: Path
    folder: bool = False  # the format writes a dataset folder (hf), not a file
    instances_per_task: int | None = None
    include_seeds: bool = False
    seed: int = 0  # template choice, shuffle and the validation split all derive from it
    shuffle: bool = False
    validation_split: float = 0.0  # share of tasks (not instances) held out
    eos: str = ""  # appended to each prompt-completion completion; none by default (trainers add their own)
    roles: ShareGPTRoles = "sharegpt"  # sharegpt turns: human/gpt (LLaMA-Factory) or user/assistant (TRL)
    system: str = ""  # a system turn before each conversation
    min_score: float | None = None  # keep only pool instances the audit scored at least this (AlpaGasus-style)
    audit: Path | None = None  # the audit journal for min_score (default: the one `audit` wrote for source)

    @property
    def as_array(self) -> bool:
        """A JSON array (.json) rather than one record per line (.jsonl)."""
        return self.out.suffix.lower() == ".json"

    @property
    def validation_file(self) -> Path:
        """Where a file export's validation split goes: next to the main file, x.jsonl -> x.validation.jsonl."""
        return self.out.with_name(f"{self.out.stem}.validation{self.out.suffix}")

    @property
    def validation_out(self) -> Path | None:
        """The validation file this export writes (none for hf, whose folder holds both splits, or no split)."""
        return None if self.folder or not self.validation_split else self.validation_file
