"""Resuming a run directory: what it refuses (other inputs, a corrupt run.json) and what it trusts (the logs)."""

from __future__ import annotations

import itertools
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from selfinstruct.cli.app import cli
from selfinstruct.pipeline.runstate import RunState
from tests.servers import FakeOpenAIServer, Responder, StartServer

KEY = "sk-test-runstate"
ENV = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": None, "SELFINSTRUCT_MODEL": None}


@pytest.fixture(scope="module")
def server(module_fake_openai: StartServer, scripted: Responder) -> FakeOpenAIServer:
    return module_fake_openai(scripted, api_key=KEY)


@pytest.fixture(scope="module")
def run(seeds: Path) -> Callable[..., tuple[int, str]]:
    """`run(server, out, *args, seeds=English)`: generate in-process with seed 7; (exit code, stderr)."""
    english = seeds

    def run(server: FakeOpenAIServer, out: Path, *args: str, seeds: Path = english) -> tuple[int, str]:
        argv = ["generate", "--seeds", str(seeds), "--out", str(out), "--base-url", server.url]
        result = CliRunner().invoke(cli, [*argv, "--model", "fake-model", "--seed", "7", "-q", *args], env=ENV)
        return result.exit_code, result.stderr

    return run


def snapshot(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def base_run(
    tmp_path_factory: pytest.TempPathFactory, server: FakeOpenAIServer, run: Callable[..., tuple[int, str]]
) -> Path:
    out = tmp_path_factory.mktemp("base") / "run"
    code, stderr = run(server, out, "-n", "4")
    assert code == 0, stderr
    return out


@pytest.fixture
def copy(base_run: Path, tmp_path: Path) -> Path:
    out = tmp_path / "run"
    shutil.copytree(base_run, out)
    return out


def test_edited_prompt_template_is_refused(
    tmp_path: Path, server: FakeOpenAIServer, run: Callable[..., tuple[int, str]]
) -> None:
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    template = prompts / "instructions.txt"
    template.write_text("Come up with tasks.\n{{demonstrations}}\nTask {{next_number}}:", encoding="utf-8")
    out = tmp_path / "run"
    assert run(server, out, "-n", "3", "--prompts", str(prompts))[0] == 0
    before = snapshot(out)
    template.write_text("Come up with medical tasks.\n{{demonstrations}}\nTask {{next_number}}:", encoding="utf-8")
    code, stderr = run(server, out, "-n", "6", "--prompts", str(prompts))
    assert code == 2 and len(stderr.strip().splitlines()) == 1, stderr
    assert "was generated with prompts.instructions=sha256:" in stderr and ", not sha256:" in stderr
    assert snapshot(out) == before  # seeds.jsonl and run.json included: nothing written
    code, stderr = run(server, out, "-n", "6")  # the bundled template differs as well
    assert code == 2 and "prompts.instructions" in stderr


def test_other_seed_set_is_refused_and_a_moved_one_resumes(
    tmp_path: Path, server: FakeOpenAIServer, seeds: Path, run: Callable[..., tuple[int, str]]
) -> None:
    copied = tmp_path / "seeds.jsonl"
    shutil.copy(seeds, copied)
    out = tmp_path / "run"
    assert run(server, out, "-n", "3", seeds=copied)[0] == 0
    before = snapshot(out)
    lines = seeds.read_text(encoding="utf-8").splitlines(keepends=True)
    other = tmp_path / "other.jsonl"
    other.write_text("".join(lines[:-1]), encoding="utf-8")
    code, stderr = run(server, out, "-n", "6", seeds=other)
    assert code == 2 and len(stderr.strip().splitlines()) == 1, stderr
    assert "was generated with seeds=sha256:" in stderr
    assert snapshot(out) == before
    moved = tmp_path / "moved.jsonl"
    copied.rename(moved)
    code, stderr = run(server, out, "-n", "6", seeds=moved)
    assert code == 0, stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"[]", "run.json: expected a JSON object, found a list"),
        (b'{"state": {"next_request": "abc"}}', 'run.json: "state.next_request" must be a whole number >= 0'),
        (b'{"state": {"next_request": -3}}', '"state.next_request" must be a whole number >= 0'),
        (b'{"settings": [1]}', 'run.json: "settings" must be an object, found a list'),
        (b'{"state": []}', '"state" must be an object'),
        (b'{"usage": {"instructions": {"requests": "many"}}}', '"usage.instructions" must map counter names'),
        (b'{"seed_classification": {"seed_task_0": "yes"}}', '"seed_classification.seed_task_0" must be true'),
        (b'{"settings": {"mode": "self-instruct"', "run.json:1: not valid JSON"),
        (b'{"settings": "\xff\xfe"}', "run.json: not UTF-8 text"),
    ],
)
def test_corrupt_run_json_is_one_clear_line(
    copy: Path, server: FakeOpenAIServer, content: bytes, message: str, run: Callable[..., tuple[int, str]]
) -> None:
    (copy / "run.json").write_bytes(content)
    before = snapshot(copy)
    code, stderr = run(server, copy, "-n", "8")
    assert code == 2, stderr
    assert message in stderr and "restore it from a backup, or start again with a new --out" in stderr
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr
    assert snapshot(copy) == before


def test_a_stale_run_json_resumes_from_the_logs(
    tmp_path: Path, server: FakeOpenAIServer, run: Callable[..., tuple[int, str]]
) -> None:
    """run.json is saved at most once a second: a kill can leave next_request behind the logs. The resume must
    not depend on it: the same pool as a run that was never interrupted."""
    reference, out = tmp_path / "reference", tmp_path / "run"
    assert run(server, reference, "-n", "30")[0] == 0
    assert run(server, out, "-n", "20")[0] == 0
    run_json = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run_json["state"]["next_request"] > 0
    run_json["state"]["next_request"] = 0
    (out / "run.json").write_text(json.dumps(run_json), encoding="utf-8")
    code, stderr = run(server, out, "-n", "30")
    assert code == 0, stderr
    assert (out / "tasks.jsonl").read_bytes() == (reference / "tasks.jsonl").read_bytes()
    assert (out / "rejected.jsonl").read_bytes() == (reference / "rejected.jsonl").read_bytes()


def test_run_json_is_saved_at_most_once_a_second_while_running(
    tmp_path: Path, server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch, run: Callable[..., tuple[int, str]]
) -> None:
    """Many commits a second, few run.json rewrites; the final state is still saved at exit."""
    saves: list[tuple[float, object]] = []
    real_save = RunState.save

    def counting_save(self: RunState, **sections: object) -> None:
        saves.append((time.monotonic(), sections.get("status")))
        real_save(self, **sections)

    monkeypatch.setattr(RunState, "save", counting_save)
    start = time.monotonic()
    code, stderr = run(server, tmp_path / "run", "-n", "40", "--concurrency", "1")
    elapsed = time.monotonic() - start
    assert code == 0, stderr
    run_json = json.loads((tmp_path / "run" / "run.json").read_text(encoding="utf-8"))
    commits = run_json["state"]["next_request"]
    running = [t for t, status in saves if status == "running"]
    assert commits >= 5 and len(running) <= elapsed + 1 and len(running) < commits
    assert all(b - a >= 0.99 for a, b in itertools.pairwise(running))
    assert run_json["status"] == "complete" and run_json["counts"]["accepted"] == 40
