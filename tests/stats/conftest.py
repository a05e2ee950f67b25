"""What the stats tests share: writing a JSONL pool, and the stats extra's optional packages."""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def write_jsonl() -> Callable[[Path, Sequence[dict[str, Any]]], Path]:
    """`write_jsonl(path, rows)`: the rows as a JSONL file (UTF-8, unescaped); returns the path."""

    def write_jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> Path:
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        return path

    return write_jsonl


@pytest.fixture(scope="session")
def need() -> Callable[[str], Any]:
    """`need(module)`: an optional package of the stats extra, or skip. CI installs the extra and sets
    SELFINSTRUCT_REQUIRE_LOCAL=1: there a missing package fails the test instead of skipping it."""

    def need(module: str) -> Any:
        try:
            return importlib.import_module(module)
        except ImportError:
            if os.environ.get("SELFINSTRUCT_REQUIRE_LOCAL") == "1":
                raise
            pytest.skip(f"{module} is not installed (pip install -e '.[stats]')")

    return need
