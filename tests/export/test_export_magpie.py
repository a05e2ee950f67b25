"""A Magpie pool (no seeds, one answer per query) through stats, the hf folder and the chat formats."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from selfinstruct.cli.app import cli
from tests.servers import Responder, StartServer

KEY = "sk-test-magpie-export"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory, module_fake_openai: StartServer, scripted: Responder) -> Path:
    out = tmp_path_factory.mktemp("magpie") / "run"
    argv = ["generate", "--method", "magpie", "--api", "completions", "--out", str(out), "--model",
            "Qwen2.5-7B-Instruct", "--seed", "7", "-q", "-n", "20"]  # fmt: skip
    with module_fake_openai(scripted, api_key=KEY) as server:
        result = CliRunner().invoke(cli, [*argv, "--base-url", server.url],
                                    env={"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": None})  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return out


def _cli(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), env={"OPENAI_API_KEY": None})
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_openai_chat_export_is_one_user_and_one_assistant_turn(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "chat.jsonl"
    _cli("export", str(run_dir), "--format", "openai-chat", "--out", str(out))
    pool = [json.loads(line) for line in (run_dir / "tasks.jsonl").read_text().splitlines()]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == len(pool) == 20
    for row, task in zip(rows, pool, strict=True):
        assert [m["role"] for m in row["messages"]] == ["user", "assistant"]
        assert row["messages"][0]["content"] == task["instruction"]  # input "": the query alone
        assert row["messages"][1]["content"] == task["instances"][0]["output"]


@pytest.mark.skipif(importlib.util.find_spec("datasets") is None, reason='pip install -e ".[hf]"')
def test_hf_folder_loads_and_its_card_names_the_method(
    run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datasets

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    out = tmp_path / "ds"
    _cli("export", str(run_dir), "--format", "hf", "--out", str(out), "--validation-split", "0.2")
    ds = datasets.load_dataset(str(out), cache_dir=str(tmp_path / "cache"))
    assert ds["train"].num_rows + ds["validation"].num_rows == 20
    row = ds["train"][0]
    assert row["input"] == "" and row["messages"][0]["content"] == row["instruction"]
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "Magpie" in card and "with no seed tasks (the method needs none)" in card


def test_stats_and_filter_read_the_pool(run_dir: Path, tmp_path: Path) -> None:
    stdout = _cli("stats", str(run_dir))
    assert "20" in stdout
    kept = tmp_path / "kept.jsonl"
    _cli("filter", str(run_dir / "tasks.jsonl"), "--out", str(kept), "-q")
    assert len(kept.read_text().splitlines()) == 20
