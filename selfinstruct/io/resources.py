"""Where the bundled prompts and seeds live: inside the wheel, or at the repository root in a checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent  # selfinstruct/, above io/


def bundled_dir(name: str) -> Path:
    """`prompts` or `seeds`: selfinstruct/_bundled/<name> in an installed wheel, else <repo>/<name>."""
    for candidate in (_PACKAGE / "_bundled" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"bundled {name}/ not found next to {_PACKAGE}; reinstall selfinstruct")


def default_seeds(language: str) -> Path:
    base = bundled_dir("seeds")
    return base / "seed_tasks.jsonl" if language == "en" else base / language / "seed_tasks.jsonl"
