"""The export options, checked together and resolved once: CLI flag, then defaults."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from selfinstruct.errors import InputError

EXPORT_FORMATS: tuple[str, ...] = ("alpaca", "sharegpt", "openai-chat", "prompt-completion", "hf")
ShareGPTRoles = Literal["sharegpt", "openai"]
HF_VALIDATION_SPLIT = 0.05  # the hf folder is for trainers, which want an evaluation split


@dataclass(frozen=True)
class ExportSettings:
    """Everything `selfinstruct export` needs. `out` is a .json/.jsonl file, or a folder for the hf format."""

    source: Path
    fmt: str
    out: Path
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
        return None if self.fmt == "hf" or not self.validation_split else self.validation_file


def resolve_export_settings(
    source: Path | str,
    fmt: str,
    out: Path | str,
    *,
    instances_per_task: int | None = None,
    include_seeds: bool = False,
    seed: int = 0,
    shuffle: bool = False,
    validation_split: float | None = None,
    eos: str | None = None,
    roles: str | None = None,
    system: str | None = None,
    min_score: float | None = None,
    audit: Path | str | None = None,
) -> ExportSettings:
    """Check the export options together (None: not given) and resolve their defaults; nonsense is an InputError."""
    if not str(out).strip():
        raise InputError("--out is empty; give a .json or .jsonl file, or a folder for --format hf")
    source, out = Path(source), Path(out)
    if fmt not in EXPORT_FORMATS:
        raise InputError(f"unknown export format {fmt!r}; choose one of: {', '.join(EXPORT_FORMATS)}")
    suffix = out.suffix.lower()
    if fmt == "hf":
        if suffix in (".json", ".jsonl"):
            raise InputError(f"--format hf writes a dataset folder; give a directory for --out, not a {suffix} file")
        if out.exists() and not out.is_dir():
            raise InputError("--format hf writes a dataset folder, and this is a file; give a directory", path=out)
    else:
        if out.is_dir():
            raise InputError("is a directory; give a .json or .jsonl file for the export", path=out)
        if suffix not in (".json", ".jsonl"):
            raise InputError(
                f"--out {out}: end the name in .json (a JSON array) or .jsonl (one record per line)"
                + ("; --format hf writes a dataset folder" if not suffix else "")
            )
    if instances_per_task is not None and instances_per_task < 1:
        raise InputError("--instances-per-task must be at least 1")
    if eos is not None and fmt != "prompt-completion":
        raise InputError(f"--eos applies to --format prompt-completion only, not {fmt}")
    if roles is not None and fmt != "sharegpt":
        raise InputError(f"--roles applies to --format sharegpt only ({fmt} has fixed role names)")
    if roles not in (None, "sharegpt", "openai"):
        raise InputError(f"unknown --roles {roles!r}; use sharegpt (human/gpt) or openai (user/assistant)")
    if system is not None and fmt in ("alpaca", "prompt-completion"):
        raise InputError(f"--system needs a format with a system turn (sharegpt, openai-chat, hf); {fmt} has none")
    if system is not None and not system.strip():
        raise InputError("--system is empty; give the system prompt text or leave the option out")
    if audit is not None and min_score is None:
        raise InputError("--audit names the audit journal for --min-score; pass --min-score too")
    if min_score is not None and not 0.0 <= min_score <= 5.0:
        raise InputError(f"--min-score {min_score:g} is out of range; the audit scores from 0 to 5")
    split = (HF_VALIDATION_SPLIT if fmt == "hf" else 0.0) if validation_split is None else validation_split
    if not 0.0 <= split < 1.0:
        raise InputError(f"--validation-split {split} is out of range; give a share like 0.05 (0 for none)")
    return ExportSettings(
        source=source,
        fmt=fmt,
        out=out,
        instances_per_task=instances_per_task,
        include_seeds=include_seeds,
        seed=seed,
        shuffle=shuffle,
        validation_split=split,
        eos=eos or "",
        roles="openai" if roles == "openai" else "sharegpt",
        system=system or "",
        min_score=min_score,
        audit=Path(audit) if audit is not None else None,
    )
