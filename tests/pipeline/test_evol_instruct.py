"""`generate --method evol-instruct` end to end against the loopback fake and its scripted model: evolutions with
their lineage, the elimination rules, and the engine's guarantees unchanged."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from selfinstruct.cli.app import cli
from selfinstruct.methods.evol_instruct.lineage import OPERATIONS
from tests.servers import FakeOpenAIServer, Fault, Reply, Request, Responder, StartServer

KEY = "sk-test-evol"
CLEAN_ENV = {k: None for k in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "SELFINSTRUCT_MODEL", "SELFINSTRUCT_LANGUAGE")}
EVOL = ["--method", "evol-instruct"]


@pytest.fixture
def server(scripted_server: StartServer) -> FakeOpenAIServer:
    return scripted_server(api_key=KEY)


def run(server: FakeOpenAIServer, out: Path, *args: str) -> tuple[int, str, str]:
    argv = ["generate", *EVOL, "--out", str(out), "--base-url", server.url, "--model", "fake-model", "--seed", "7"]
    result = CliRunner().invoke(cli, [*argv, "-q", *args], env={**CLEAN_ENV, "OPENAI_API_KEY": KEY})
    return result.exit_code, result.stdout, result.stderr


def records(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def small_source(tmp_path: Path, seeds: Path) -> Callable[[int], Path]:
    """`small_source(count)`: a task file of the first `count` English seeds."""

    def make(count: int) -> Path:
        path = tmp_path / "source.jsonl"
        path.write_text("\n".join(seeds.read_text(encoding="utf-8").splitlines()[:count]) + "\n", encoding="utf-8")
        return path

    return make


def test_exact_n_with_lineage(tmp_path: Path, server: FakeOpenAIServer, seeds: Path) -> None:
    out = tmp_path / "run"
    code, stdout, stderr = run(server, out, "-n", "15", "--from", str(seeds))
    assert code == 0, stderr
    pool = records(out / "tasks.jsonl")
    assert len(pool) == 15 and "reached the target of 15 tasks" in stdout
    sources = {json.loads(line)["id"] for line in seeds.read_text().splitlines()}
    for task in pool:
        meta = task["meta"]
        assert isinstance(meta, dict) and meta["method"] == "evol-instruct"
        assert meta["operation"] in OPERATIONS and meta["parent"] in sources and meta["round"] == 1
        [instance] = task["instances"]  # type: ignore[misc]
        assert instance["input"] == "" and instance["output"]
        assert "Rewritten Prompt" not in str(task["instruction"])  # the label a reply repeats is cut off
    usage = json.loads((out / "run.json").read_text())["usage"]
    assert usage["evolve"]["requests"] >= 15 and usage["judge"]["requests"] >= 15 and usage["answer"]["requests"] >= 15
    judged = [r for r in server.requests if r.prompt.rstrip().endswith("Answer:")]
    assert all("First instruction:" in r.prompt for r in judged)


@pytest.mark.parametrize("rounds", [1, 2])
def test_rounds_evolve_the_evolutions(
    tmp_path: Path, server: FakeOpenAIServer, rounds: int, small_source: Callable[[int], Path]
) -> None:
    """Two sources: every evolution is one round deeper than its parent, and none passes --rounds."""
    out = tmp_path / "run"
    code, _, stderr = run(server, out, "-n", "20", "--from", str(small_source(2)), "--rounds", str(rounds))
    assert code == 0, stderr
    pool = records(out / "tasks.jsonl")
    depths = [t["meta"]["round"] for t in pool]  # type: ignore[index]
    assert max(depths) == rounds and min(depths) == 1
    by_id = {str(t["id"]): t for t in pool}
    for task in pool:
        meta: dict[str, object] = task["meta"]  # type: ignore[assignment]
        parent = by_id.get(str(meta["parent"]))
        if parent is not None:  # evolved from a task of the pool: one round deeper, and written before it
            assert meta["round"] == parent["meta"]["round"] + 1  # type: ignore[index]
            assert pool.index(parent) < pool.index(task)
        else:
            assert meta["round"] == 1
    assert {t["meta"]["operation"] for t in pool} <= set(OPERATIONS)  # type: ignore[index]


def test_a_pool_is_a_source(tmp_path: Path, server: FakeOpenAIServer) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    assert run(server, first, "-n", "5")[0] == 0
    code, _, stderr = run(server, second, "-n", "5", "--from", str(first / "tasks.jsonl"))
    assert code == 0, stderr
    firsts = {str(t["id"]) for t in records(first / "tasks.jsonl")}
    assert {t["meta"]["parent"] for t in records(second / "tasks.jsonl")} <= firsts  # type: ignore[index]


def test_same_pool_at_concurrency_1_and_16(
    tmp_path: Path, server: FakeOpenAIServer, small_source: Callable[[int], Path]
) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    source = str(small_source(6))
    assert run(server, a, "-n", "40", "--from", source, "--concurrency", "1")[0] == 0
    assert run(server, b, "-n", "40", "--from", source, "--concurrency", "16")[0] == 0
    assert (a / "tasks.jsonl").read_bytes() == (b / "tasks.jsonl").read_bytes()
    assert (a / "rejected.jsonl").read_bytes() == (b / "rejected.jsonl").read_bytes()


def _cli(out: Path, url: str, source: Path, concurrency: int) -> list[str]:
    return [sys.executable, "-m", "selfinstruct", "generate", *EVOL, "--from", str(source), "--out", str(out),
            "--base-url", url, "--model", "fake-model", "--seed", "7", "-n", "30", "-q",
            "--concurrency", str(concurrency)]  # fmt: skip


@pytest.mark.parametrize("kill_after", [0.4, 1.0])
def test_kill_9_then_resume_is_byte_identical(
    tmp_path: Path,
    kill_after: float,
    small_source: Callable[[int], Path],
    fake_openai: StartServer,
    scripted: Responder,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SELFINSTRUCT_"))}
    env["OPENAI_API_KEY"] = KEY
    source = small_source(4)
    with fake_openai(scripted, api_key=KEY, latency=0.02) as srv:
        reference = tmp_path / "reference"
        subprocess.run(_cli(reference, srv.url, source, 4), env=env, check=True, timeout=120)
        out = tmp_path / "killed"
        proc = subprocess.Popen(_cli(out, srv.url, source, 4), env=env)
        time.sleep(kill_after)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        subprocess.run(_cli(out, srv.url, source, 8), env=env, check=True, timeout=120)
    assert (out / "tasks.jsonl").read_bytes() == (reference / "tasks.jsonl").read_bytes()


def test_resume_with_other_rounds_is_refused(tmp_path: Path, server: FakeOpenAIServer) -> None:
    """--rounds changes what is generated: run.json records it (a recorded method option) and a resume must
    give the same; left out, the default (4) is another value, refused as for any other option."""
    out = tmp_path / "run"
    assert run(server, out, "-n", "3", "--rounds", "2")[0] == 0
    settings = json.loads((out / "run.json").read_text())["settings"]
    assert settings["method_options"] == {"rounds": 2} and "method_facts" not in settings
    for other in (["--rounds", "3"], []):
        code, _, stderr = run(server, out, "-n", "6", *other)
        shown = other[1] if other else "4"
        assert code == 2 and f"method_options.rounds=2, not {shown}" in stderr and "Traceback" not in stderr
    code, _, stderr = run(server, out, "-n", "6", "--rounds", "2")
    assert code == 0, stderr
    assert len(records(out / "tasks.jsonl")) == 6


REFUSAL = "I'm sorry, but I can't help with rewriting that."


def _with(change: Callable[[Request], str | None], scripted: Responder) -> Callable[[Request], Reply]:
    """The scripted model, with some replies replaced."""

    def responder(request: Request) -> Reply:
        text = change(request)
        return Reply(text) if text is not None else scripted(request)

    return responder


def _evolving(request: Request) -> bool:
    return request.prompt.rstrip().endswith(("#Rewritten Prompt#:", "#Created Prompt#:"))


def test_a_model_that_refuses_every_evolution_stops_the_run(
    tmp_path: Path, fake_openai: StartServer, scripted: Responder
) -> None:
    with fake_openai(_with(lambda r: REFUSAL if _evolving(r) else None, scripted), api_key=KEY) as srv:
        code, stdout, _ = run(srv, tmp_path / "run", "-n", "50", "--concurrency", "8")
        sent = len(srv.requests)
    assert code == 5 and "20 responses in a row" in stdout and "response:no_items" in stdout
    assert sent <= 20 + 8  # a quarter of the way, one request at a time


def test_the_elimination_rules(tmp_path: Path, fake_openai: StartServer, scripted: Responder) -> None:
    """WizardLM's rules, each on some requests: the scaffolding copied, judged equal to its parent, an answer
    that is a short apology or only stop words. None of them reaches the pool."""

    def change(request: Request) -> str | None:
        seed = int(request.body.get("seed") or 0)
        kind = seed % 5
        if _evolving(request) and kind == 1:
            return "Rewrite the given prompt so that it asks for a poem about the sea."
        if "Equal or Different" in request.prompt and kind == 2:
            return "Equal"
        if request.path.endswith("/chat/completions") and not _evolving(request) and "Equal" not in request.prompt:
            if kind == 3:
                return "Good question! Sorry, I have no idea how to do that."
            if kind == 4:
                return "It is what it is, and that is all."
        return None

    with fake_openai(_with(change, scripted), api_key=KEY) as srv:
        out = tmp_path / "run"
        code, _, stderr = run(srv, out, "-n", "8", "--concurrency", "1")
    assert code == 0, stderr
    reasons = {r["reason"] for r in records(out / "rejected.jsonl")}
    assert {"copies_scaffolding", "no_information_gain", "answer_apology", "answer_empty_words"} <= reasons
    for task in records(out / "tasks.jsonl"):
        assert "given prompt" not in str(task["instruction"])
        assert not str(task["instances"][0]["output"]).startswith(("Sorry", "It is what"))  # type: ignore[index]


def test_chinese(tmp_path: Path, server: FakeOpenAIServer, zh_seeds: Path) -> None:
    out = tmp_path / "run"
    code, _, stderr = run(server, out, "-n", "5", "--language", "zh", "--from", str(zh_seeds))
    assert code == 0, stderr
    pool = records(out / "tasks.jsonl")
    assert len(pool) == 5 and all(str(t["instances"][0]["output"]).startswith("好的") for t in pool)  # type: ignore[index]
    assert any(r.prompt.rstrip().endswith(("#改写指令#：", "#新指令#：")) for r in server.requests)


def test_dry_run_estimates_the_three_steps(tmp_path: Path, server: FakeOpenAIServer) -> None:
    out = tmp_path / "run"
    code, stdout, stderr = run(server, out, "-n", "100", "--dry-run")
    assert code == 0, stderr
    assert "===== prompt: evolve =====" in stdout and "===== prompt: judge =====" in stdout
    lines = {line.split()[0]: line.split()[1:] for line in stdout.splitlines() if line.startswith("  ")}
    evolve, judge, answer = (int(lines[s][0].replace(",", "")) for s in ("evolve", "judge", "answer"))
    assert evolve > judge == answer >= 100
    assert server.requests == [] and not out.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--method", "self-instruct", "--rounds", "2"], "--rounds works with --method evol-instruct"),
        (["--rounds", "0"], "rounds"),
        (["--classification-only"], "--classification-only works with --method self-instruct"),
    ],
)
def test_bad_options_exit_2_and_write_nothing(
    tmp_path: Path, server: FakeOpenAIServer, args: list[str], message: str
) -> None:
    out = tmp_path / "run"
    code, _, stderr = run(server, out, "-n", "3", *args)
    assert code == 2 and message in stderr and "Traceback" not in stderr
    assert not out.exists() and server.requests == []


def test_stats_show_the_tree_and_export_reads_the_pool(
    tmp_path: Path, server: FakeOpenAIServer, small_source: Callable[[int], Path], seeds: Path
) -> None:
    from selfinstruct.stats.compute import compute_stats

    out = tmp_path / "run"
    assert run(server, out, "-n", "12", "--from", str(small_source(3)), "--rounds", "2")[0] == 0
    evolution = compute_stats(out, parse_verbs=False).evolution
    assert evolution is not None and evolution["depth"] == 2 and evolution["sources_evolved"] == 3
    assert sum(evolution["tasks_per_round"].values()) == sum(evolution["operations"].values()) == 12
    shown = CliRunner().invoke(cli, ["stats", str(out), "--no-verbs"])
    assert shown.exit_code == 0 and "evolution (Evol-Instruct lineage)" in shown.stdout
    assert compute_stats(seeds, parse_verbs=False).evolution is None  # no lineage, no section
    exported = tmp_path / "alpaca.json"
    result = CliRunner().invoke(cli, ["export", str(out), "--format", "alpaca", "--out", str(exported)])
    assert result.exit_code == 0, result.stderr
    rows = json.loads(exported.read_text())
    assert len(rows) == 12 and all(r["input"] == "" and r["output"] for r in rows)


def test_a_prompt_with_nothing_to_shorten_is_not_asked_again(tmp_path: Path, server: FakeOpenAIServer) -> None:
    """An answer too long for the context: one request and the server's own message, never a second identical
    request nor a word about demonstrations (there are none)."""
    too_long = Fault(status=400, message="This model's maximum context length is 10 tokens",
                     code="context_length_exceeded")  # fmt: skip
    server.inject_when(lambda r: r.path == "/v1/chat/completions" and "#" not in r.prompt and "Answer:" not in
                       r.prompt, too_long, times=1000)  # fmt: skip
    code, _, stderr = run(server, tmp_path / "run", "-n", "3", "--concurrency", "1")
    answers = [r for r in server.requests if r.path == "/v1/chat/completions" and r.outcome != "ok"]
    assert code == 1 and "longer than the context" in stderr and "demonstrations" not in stderr
    assert len(answers) == 1
