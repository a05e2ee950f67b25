"""The bundled prompts and seeds, read as package data with importlib.resources: one code path everywhere.

`selfinstruct/_bundled/prompts` and `selfinstruct/_bundled/seeds` are symbolic links, committed, to the repository's
top-level `prompts/` and `seeds/`, the editable source: a checkout (`python -m selfinstruct`) and an editable install
read those folders through them, and a wheel holds copies at the same place (pyproject's force-include).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def bundled_dir(name: str) -> Path:
    """`prompts` or `seeds`: the package's `_bundled/<name>` (in a checkout, the top-level folder it links to)."""
    found = files("selfinstruct") / "_bundled" / name
    if not isinstance(found, Path) or not found.is_dir():  # a zipped install, or a checkout without its links
        raise FileNotFoundError(f"bundled {name}/ not found in {found}; reinstall selfinstruct")
    return found.resolve()


def default_seeds(language: str) -> Path:
    base = bundled_dir("seeds")
    return base / "seed_tasks.jsonl" if language == "en" else base / language / "seed_tasks.jsonl"
