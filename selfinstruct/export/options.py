"""The export options, checked together against the chosen format and resolved once (None: not given)."""

from __future__ import annotations

from pathlib import Path

from selfinstruct.errors import InputError
from selfinstruct.export.registry import FORMATS
from selfinstruct.export.settings import ExportSettings


def _having(flag: str) -> str:
    """The formats that take an option, for the message that refuses it elsewhere."""
    return ", ".join(name for name, form in FORMATS.items() if getattr(form, flag))


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
    if fmt not in FORMATS:
        raise InputError(f"unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    form = FORMATS[fmt]
    suffix = out.suffix.lower()
    if form.folder:
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
    if eos is not None and not form.takes_eos:
        raise InputError(f"--eos applies to --format {_having('takes_eos')} only, not {fmt}")
    if roles is not None and not form.takes_roles:
        raise InputError(f"--roles applies to --format {_having('takes_roles')} only ({fmt} has fixed role names)")
    if roles not in (None, "sharegpt", "openai"):
        raise InputError(f"unknown --roles {roles!r}; use sharegpt (human/gpt) or openai (user/assistant)")
    if system is not None and not form.system_turn:
        raise InputError(f"--system needs a format with a system turn ({_having('system_turn')}); {fmt} has none")
    if system is not None and not system.strip():
        raise InputError("--system is empty; give the system prompt text or leave the option out")
    if audit is not None and min_score is None:
        raise InputError("--audit names the audit journal for --min-score; pass --min-score too")
    if min_score is not None and not 0.0 <= min_score <= 5.0:
        raise InputError(f"--min-score {min_score:g} is out of range; the audit scores from 0 to 5")
    split = form.default_validation_split if validation_split is None else validation_split
    if not 0.0 <= split < 1.0:
        raise InputError(f"--validation-split {split} is out of range; give a share like 0.05 (0 for none)")
    return ExportSettings(
        source=source,
        fmt=fmt,
        out=out,
        folder=form.folder,
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
