"""Issue 20, item 12: each small defect, one test (one line on stderr, the right exit code, nothing half-done)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from selfinstruct.cli.app import cli
from selfinstruct.engine.client import LLMClient
from selfinstruct.engine.context_window import ContextLengthError
from selfinstruct.engine.types import EndpointSettings, StepParams
from selfinstruct.filters.rouge import NearDuplicateIndex
from selfinstruct.filters.rouge_codes import elements
from tests.servers import FakeOpenAIServer, Fault, StartServer

KEY = "sk-test-small-defects"
ENV = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": None, "SELFINSTRUCT_MODEL": None, "SELFINSTRUCT_JUDGE_API_KEY": None,
       "SELFINSTRUCT_JUDGE_BASE_URL": None, "SELFINSTRUCT_JUDGE_MODEL": None}  # fmt: skip


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env=ENV)
    return result.exit_code, result.stdout, result.stderr


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def write_pool(path: Path, n: int = 4) -> Path:
    tasks = [{"id": f"machine_task_{i}", "instruction": f"Describe a festival held in town number {i}.",
              "instances": [{"input": "", "output": f"Festival {i}."}], "is_classification": False}
             for i in range(n)]  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(t) + "\n" for t in tasks), encoding="utf-8")
    return path


@pytest.fixture
def server(scripted_server: StartServer) -> FakeOpenAIServer:
    return scripted_server(api_key=KEY)


@pytest.fixture
def generate(seeds: Path) -> Callable[..., tuple[int, str, str]]:
    """`generate(server, out, *args, seeds=English)`: the command in-process with seed 1, quiet."""
    english = seeds

    def generate(server: FakeOpenAIServer, out: Path, *args: str, seeds: Path = english) -> tuple[int, str, str]:
        return run("generate", "--seeds", str(seeds), "--out", str(out), "--base-url", server.url, "--model", "m",
                   "--seed", "1", "-q", *args)  # fmt: skip

    return generate


def test_audit_with_no_readable_verdict_exits_5_and_filter_min_score_writes_nothing(
    tmp_path: Path, fake_openai: StartServer
) -> None:
    source = write_pool(tmp_path / "pool.jsonl")
    with fake_openai(lambda r: "I would rather not say.", api_key=KEY) as judge:
        code, _, stderr = run("audit", str(source), "--judge-base-url", judge.url, "--judge-model", "m", "-q")
    assert code == 5 and "judge unusable" in one_line(stderr)
    out = tmp_path / "good.jsonl"
    code, _, stderr = run("filter", str(source), "--min-score", "3", "--out", str(out), "-q")
    line = one_line(stderr)
    assert code == 1 and "nothing to keep" in line and "unreadable 4" in line and not out.exists()


def test_classification_only_refused_after_classifying_the_seeds_leaves_the_corrected_command_free(
    tmp_path: Path, server: FakeOpenAIServer, generate: Callable[..., tuple[int, str, str]]
) -> None:
    seeds = tmp_path / "seeds.jsonl"  # no is_classification: decided at the start of the run (here by rules)
    seeds.write_text("".join(json.dumps({"instruction": f"Write a short poem about the river number {i}."}) + "\n"
                             for i in range(10)), encoding="utf-8")  # fmt: skip
    out = tmp_path / "run"
    code, _, stderr = generate(server, out, "-n", "2", "--classify", "rules", "--classification-only", seeds=seeds)
    assert code == 2 and "has 0 classification tasks" in one_line(stderr)
    code, _, stderr = generate(server, out, "-n", "2", "--classify", "rules", seeds=seeds)
    assert code == 0, stderr
    assert len((out / "tasks.jsonl").read_text(encoding="utf-8").splitlines()) == 2


@pytest.mark.parametrize("layout", ["jsonl", "array"])
def test_deeply_nested_json_is_one_line(tmp_path: Path, layout: str) -> None:
    nested = '{"instruction": "Deep task here.", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    path = tmp_path / f"deep.{'jsonl' if layout == 'jsonl' else 'json'}"
    good = json.dumps({"instruction": "A normal task to keep."})
    path.write_text(f"{good}\n{nested}\n" if layout == "jsonl" else f"[{good},\n{nested}]", encoding="utf-8")
    for command in (["filter", str(path), "--out", str(tmp_path / "o.jsonl")], ["validate", str(path)]):
        code, _, stderr = run(*command)
        line = one_line(stderr)
        assert code == 2 and f"{path}:2:" in line and "nested too deeply" in line
    assert not (tmp_path / "o.jsonl").exists()


def test_deeply_nested_json_in_a_run_directory_is_one_line(
    tmp_path: Path, server: FakeOpenAIServer, generate: Callable[..., tuple[int, str, str]]
) -> None:
    out = tmp_path / "run"
    assert generate(server, out, "-n", "2")[0] == 0
    with (out / "tasks.jsonl").open("a", encoding="utf-8") as fh:
        fh.write('{"instruction": "x", "y": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    code, _, stderr = generate(server, out, "-n", "4")
    assert code == 2 and "tasks.jsonl:3: corrupt record" in one_line(stderr)


def test_one_token_repeated_two_million_times_is_indexed() -> None:
    index = NearDuplicateIndex()
    index.add("Write a poem about the sea.")
    index.add("a " * 2_000_000)
    best = index.most_similar("Write a poem about the sea.", 2)
    assert [m.index for m in best] == [0, 1] and best[0].score == 1.0 and 0 < best[1].score < 0.001
    keys = elements("b" * 0x110002)
    assert len(set(keys)) == len(keys) == 0x110002


def test_413_is_a_context_length_error(fake_openai: StartServer) -> None:
    with fake_openai(lambda r: "ok") as server:
        server.inject(Fault(status=413, message="Request Entity Too Large"))
        settings = EndpointSettings(base_url=server.url, api_key="k", model="m", max_retries=3)

        async def go() -> None:
            client = LLMClient(settings)
            try:
                await client.complete("instructions", "a long prompt", StepParams(0.0, 1.0, 8))
            finally:
                await client.aclose()

        with pytest.raises(ContextLengthError, match="longer than the context"):
            asyncio.run(go())
        assert len(server.requests) == 1  # not retried: the same prompt would be refused again


@pytest.mark.parametrize("command", ["generate", "audit"])
def test_local_model_that_is_not_gguf_is_one_line(tmp_path: Path, command: str) -> None:
    fake = tmp_path / "model.gguf"
    fake.write_text("<html>404 Not Found</html>\n" * 50, encoding="utf-8")
    env = {**ENV, "OPENAI_API_KEY": None}
    args = ["generate", "-n", "1", "--out", str(tmp_path / "run")] if command == "generate" else ["audit", str(
        write_pool(tmp_path / "pool.jsonl"))]  # fmt: skip
    result = CliRunner().invoke(cli, [*args, "--local-model", str(fake)], env=env)
    line = one_line(result.stderr)
    assert result.exit_code == 2 and "not a GGUF model file" in line and str(fake) in line
    assert not (tmp_path / "run").exists()


def test_run_json_without_settings_is_refused(
    tmp_path: Path, server: FakeOpenAIServer, generate: Callable[..., tuple[int, str, str]]
) -> None:
    out = tmp_path / "run"
    assert generate(server, out, "-n", "2")[0] == 0
    run_json = json.loads((out / "run.json").read_text(encoding="utf-8"))
    del run_json["settings"]
    (out / "run.json").write_text(json.dumps(run_json), encoding="utf-8")
    before = (out / "tasks.jsonl").read_bytes()
    code, _, stderr = generate(server, out, "-n", "4", "--mode", "alpaca")  # other settings: must not slip through
    assert code == 2 and 'no "settings" section' in one_line(stderr)
    assert (out / "tasks.jsonl").read_bytes() == before


def test_a_duplicated_pool_line_is_refused(
    tmp_path: Path, server: FakeOpenAIServer, generate: Callable[..., tuple[int, str, str]]
) -> None:
    out = tmp_path / "run"
    assert generate(server, out, "-n", "3")[0] == 0
    lines = (out / "tasks.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    (out / "tasks.jsonl").write_text("".join([*lines, lines[1]]), encoding="utf-8")
    code, _, stderr = generate(server, out, "-n", "6")
    assert code == 2 and "record 4 repeats record 2" in one_line(stderr)
