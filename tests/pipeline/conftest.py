"""What the pipeline's tests share: the scripted model behind a key, and `generate` run in-process against it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from selfinstruct.cli.app import cli
from tests.servers import FakeOpenAIServer, StartServer

_SETTINGS = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "SELFINSTRUCT_MODEL", "SELFINSTRUCT_PRICE_INPUT",
             "SELFINSTRUCT_PRICE_OUTPUT", "SELFINSTRUCT_BATCH_DISCOUNT")  # fmt: skip


@pytest.fixture
def generate_env() -> dict[str, str | None]:
    """An environment for click's CliRunner that unsets every generate setting the shell may have (key included)."""
    return dict.fromkeys(_SETTINGS)


@pytest.fixture
def server(scripted_server: StartServer) -> FakeOpenAIServer:
    """The scripted model on a fake server that wants an API key (`server.api_key`)."""
    return scripted_server(api_key="sk-test-SECRET-0123456789")


@pytest.fixture
def run(seeds: Path, generate_env: dict[str, str | None]) -> Callable[..., tuple[int, str, str]]:
    """`run(server, out, *args, env=None)`: `selfinstruct generate` in-process from the English seeds with seed 7,
    quiet, against `server` with its key; returns (exit code, stdout, stderr)."""

    def run(
        server: FakeOpenAIServer, out: Path, *args: str, env: dict[str, str | None] | None = None
    ) -> tuple[int, str, str]:
        argv = ["generate", "--seeds", str(seeds), "--out", str(out), "--base-url", server.url, "--model", "fake-model"]
        argv += ["--seed", "7", "-q", *args]
        key = server.api_key or "sk-test-any"
        result = CliRunner().invoke(cli, argv, env={**generate_env, "OPENAI_API_KEY": key, **(env or {})})
        return result.exit_code, result.stdout, result.stderr

    return run


@pytest.fixture(scope="session")
def tasks() -> Callable[[Path], list[dict[str, object]]]:
    """`tasks(out)`: the pool a run wrote (out/tasks.jsonl), record by record."""

    def tasks(out: Path) -> list[dict[str, object]]:
        return [json.loads(line) for line in (out / "tasks.jsonl").read_text(encoding="utf-8").splitlines()]

    return tasks
