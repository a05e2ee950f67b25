"""--classification-only: the original's --use_clf_seed_tasks_only, as an option of `generate`."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from selfinstruct.cli.app import cli
from selfinstruct.io.seeds import load_tasks
from selfinstruct.methods.prompts import demonstration
from tests.servers import FakeOpenAIServer, StartServer

KEY = "sk-test-clf"
ENV = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": None, "SELFINSTRUCT_MODEL": None}
DEMO = re.compile(r"^(?:Task (\d+): |任务(\d+)：)(.*)$", re.M)


@pytest.fixture
def server(scripted_server: StartServer) -> FakeOpenAIServer:
    return scripted_server(api_key=KEY)


@pytest.fixture
def run(seed_files: dict[str, Path], seeds: Path) -> Callable[..., tuple[int, str, str]]:
    """`run(server, out, *args, seeds=English)`: generate in-process with seed 5; (exit code, stdout, stderr)."""

    def run(server: FakeOpenAIServer, out: Path, *args: str, seeds: Path = seed_files["en"]) -> tuple[int, str, str]:
        argv = ["generate", "--seeds", str(seeds), "--out", str(out), "--base-url", server.url]
        result = CliRunner().invoke(cli, [*argv, "--model", "fake-model", "--seed", "5", "-q", *args], env=ENV)
        return result.exit_code, result.stdout, result.stderr

    return run


def _instruction_prompts(server: FakeOpenAIServer) -> list[str]:
    return [r.prompt for r in server.requests if r.body and re.search(r"(Task 9:|任务9：)\s*$", r.prompt)]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_demonstrations_are_classification_seeds_shown_with_the_classification_prompt(
    tmp_path: Path,
    server: FakeOpenAIServer,
    lang: str,
    seed_files: dict[str, Path],
    run: Callable[..., tuple[int, str, str]],
) -> None:
    seeds = seed_files[lang]
    code, _, stderr = run(server, tmp_path / "run", "-n", "10", "--classification-only", "--language", lang,
                          seeds=seeds)  # fmt: skip
    assert code == 0, stderr
    classification = {demonstration(t.instruction) for t in load_tasks(seeds) if t.is_classification}
    machine = {demonstration(t.instruction) for t in load_tasks(tmp_path / "run" / "tasks.jsonl")}
    prompts = _instruction_prompts(server)
    assert prompts
    for prompt in prompts:
        assert prompt.startswith(
            "Below is a list of classification tasks" if lang == "en" else "下面是一份分类任务清单"
        )
        demos = [m.group(3) for m in DEMO.finditer(prompt) if m.group(3)]
        # From the second round on, up to 2 of the 8 are the run's own tasks (asked for as classification tasks).
        human = [d for d in demos if d not in machine]
        assert len(demos) == 8 and len(human) >= 6 and set(human) <= classification
    run_json = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run_json["settings"]["classification_only"] is True


def test_without_the_option_every_seed_may_be_shown(
    tmp_path: Path, server: FakeOpenAIServer, seeds: Path, run: Callable[..., tuple[int, str, str]]
) -> None:
    assert run(server, tmp_path / "run", "-n", "10")[0] == 0
    classification = {demonstration(t.instruction) for t in load_tasks(seeds) if t.is_classification}
    demos = {m.group(3) for p in _instruction_prompts(server) for m in DEMO.finditer(p) if m.group(3)}
    assert demos - classification
    assert all(p.startswith("Below is a list of tasks") for p in _instruction_prompts(server))


def test_the_option_is_part_of_the_resume_fingerprint(
    tmp_path: Path, server: FakeOpenAIServer, run: Callable[..., tuple[int, str, str]]
) -> None:
    out = tmp_path / "run"
    assert run(server, out, "-n", "3", "--classification-only")[0] == 0
    before = (out / "tasks.jsonl").read_bytes()
    code, _, stderr = run(server, out, "-n", "6")
    assert code == 2 and "classification_only" in stderr
    assert (out / "tasks.jsonl").read_bytes() == before


def test_too_few_classification_seeds_and_alpaca_mode_are_refused(
    tmp_path: Path, server: FakeOpenAIServer, run: Callable[..., tuple[int, str, str]]
) -> None:
    seeds = tmp_path / "seeds.jsonl"
    tasks = [
        {"instruction": f"Write a short poem about topic number {i}.", "is_classification": False} for i in range(10)
    ]
    tasks.append({"instruction": "Is the review positive or negative?", "is_classification": True})
    seeds.write_text("\n".join(json.dumps(t) for t in tasks), encoding="utf-8")
    code, _, stderr = run(server, tmp_path / "a", "-n", "3", "--classification-only", seeds=seeds)
    assert code == 2 and "has 1 classification tasks" in stderr and len(stderr.strip().splitlines()) == 1
    code, _, stderr = run(server, tmp_path / "b", "-n", "3", "--classification-only", "--mode", "alpaca")
    assert code == 2 and "--classification-only works with --mode self-instruct" in stderr
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists() and server.requests == []


def test_dry_run_shows_the_classification_prompt(
    tmp_path: Path, server: FakeOpenAIServer, run: Callable[..., tuple[int, str, str]]
) -> None:
    code, stdout, _ = run(server, tmp_path / "run", "-n", "50", "--classification-only", "--dry-run")
    assert code == 0 and "Below is a list of classification tasks" in stdout and server.requests == []
