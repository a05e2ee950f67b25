"""`generate --method magpie` end to end against the loopback fake and its scripted chat model: queries from the
pre-query template over /v1/completions, answers over /v1/chat/completions, the engine's guarantees unchanged."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from selfinstruct.cli.app import cli
from tests.servers import ApplyTemplate, FakeOpenAIServer, Render, Reply, Request, Responder, StartServer, chatml, phi3

KEY = "sk-test-magpie"
CLEAN_ENV = {k: None for k in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "SELFINSTRUCT_MODEL", "SELFINSTRUCT_LANGUAGE")}
MAGPIE = ["--method", "magpie", "--api", "completions"]


@pytest.fixture
def server(scripted_server: StartServer) -> FakeOpenAIServer:
    return scripted_server(api_key=KEY)


def system_text(root: Path) -> str:
    return (root / "prompts" / "en" / "magpie_system.txt").read_text(encoding="utf-8").strip()


def run(server: FakeOpenAIServer, out: Path, *args: str, model: str = "Qwen2.5-7B-Instruct") -> tuple[int, str, str]:
    argv = ["generate", "--out", str(out), "--base-url", server.url, "--model", model, "--seed", "7", "-q"]
    result = CliRunner().invoke(cli, [*argv, *args], env={**CLEAN_ENV, "OPENAI_API_KEY": KEY})
    return result.exit_code, result.stdout, result.stderr


def records(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_exact_n_of_answered_queries(tmp_path: Path, server: FakeOpenAIServer) -> None:
    out = tmp_path / "run"
    code, stdout, stderr = run(server, out, *MAGPIE, "-n", "12")
    assert code == 0, stderr
    pool = records(out / "tasks.jsonl")
    assert len(pool) == 12 and "reached the target of 12 tasks" in stdout
    for task in pool:
        assert isinstance(task["instruction"], str) and task["instruction"].endswith(".")
        [instance] = task["instances"]  # type: ignore[misc]
        assert instance["input"] == "" and instance["output"].startswith("Here is a helpful answer")
        meta = task["meta"]
        assert isinstance(meta, dict) and meta["method"] == "magpie" and meta["template"] == "chatml"
    # Queries are completions of the pre-query template, cut at its end of turn; answers are chat requests
    # carrying the query alone as the user turn.
    queries = [r for r in server.requests if r.path == "/v1/completions"]
    answers = [r for r in server.requests if r.path == "/v1/chat/completions"]
    assert queries and all(r.prompt.endswith("<|im_start|>user\n") and "<|im_end|>" in r.body["stop"] for r in queries)
    asked = {r.body["messages"][0]["content"] for r in answers}
    assert all(len(r.body["messages"]) == 1 and r.body["messages"][0]["role"] == "user" for r in answers)
    assert {str(t["instruction"]) for t in pool} <= asked
    assert (out / "seeds.jsonl").read_text() == ""  # magpie reads no seeds
    run_json = json.loads((out / "run.json").read_text())
    assert run_json["settings"]["method_facts"]["template_family"] == "chatml"
    assert run_json["usage"]["query"]["requests"] == len(queries) and run_json["usage"]["answer"]["requests"] > 0


def test_same_pool_at_concurrency_1_and_16(tmp_path: Path, server: FakeOpenAIServer) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    assert run(server, a, *MAGPIE, "-n", "40", "--concurrency", "1")[0] == 0
    assert run(server, b, *MAGPIE, "-n", "40", "--concurrency", "16")[0] == 0
    assert (a / "tasks.jsonl").read_bytes() == (b / "tasks.jsonl").read_bytes()
    assert (a / "rejected.jsonl").read_bytes() == (b / "rejected.jsonl").read_bytes()


def test_near_duplicate_queries_are_never_answered(tmp_path: Path, server: FakeOpenAIServer) -> None:
    out = tmp_path / "run"
    assert run(server, out, *MAGPIE, "-n", "60", "--concurrency", "1")[0] == 0
    duplicates = [r for r in records(out / "rejected.jsonl") if r["reason"] == "near_duplicate"]
    answered = {r.body["messages"][0]["content"] for r in server.requests if r.path == "/v1/chat/completions"}
    assert duplicates  # 60 queries from the scripted model's few thousand repeat some
    assert not any(r["instruction"] in answered for r in duplicates if r["stage"] == "filter")


def test_resume_replays_the_journal_and_extends_the_pool(tmp_path: Path, server: FakeOpenAIServer) -> None:
    out, reference = tmp_path / "run", tmp_path / "reference"
    assert run(server, reference, *MAGPIE, "-n", "20")[0] == 0
    assert run(server, out, *MAGPIE, "-n", "8")[0] == 0
    sent = len(server.requests)
    assert run(server, out, *MAGPIE, "-n", "8")[0] == 0  # nothing to do
    assert run(server, out, *MAGPIE, "-n", "20")[0] == 0
    assert (out / "tasks.jsonl").read_bytes() == (reference / "tasks.jsonl").read_bytes()
    assert len(server.requests) - sent < 2 * 20  # the first 8 tasks' requests were not asked again


def _cli(out: Path, url: str, concurrency: int) -> list[str]:
    return [sys.executable, "-m", "selfinstruct", "generate", *MAGPIE, "--out", str(out), "--base-url", url,
            "--model", "Qwen2.5-7B-Instruct", "--seed", "7", "-n", "30", "-q",
            "--concurrency", str(concurrency)]  # fmt: skip


@pytest.mark.parametrize("kill_after", [0.4, 1.0])
def test_kill_9_then_resume_is_byte_identical(
    tmp_path: Path, kill_after: float, fake_openai: StartServer, scripted: Responder
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SELFINSTRUCT_"))}
    env["OPENAI_API_KEY"] = KEY
    with fake_openai(scripted, api_key=KEY, latency=0.02) as srv:
        reference = tmp_path / "reference"
        subprocess.run(_cli(reference, srv.url, 4), env=env, check=True, timeout=120)
        out = tmp_path / "killed"
        proc = subprocess.Popen(_cli(out, srv.url, 4), env=env)
        time.sleep(kill_after)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        subprocess.run(_cli(out, srv.url, 8), env=env, check=True, timeout=120)
    assert (out / "tasks.jsonl").read_bytes() == (reference / "tasks.jsonl").read_bytes()


def test_token_budget_is_a_hard_cap(tmp_path: Path, server: FakeOpenAIServer) -> None:
    out = tmp_path / "run"
    code, stdout, _ = run(server, out, *MAGPIE, "-n", "500", "--max-tokens-total", "20000", "--concurrency", "8")
    assert code == 3 and "budget" in stdout
    usage = json.loads((out / "run.json").read_text())["usage"]
    assert sum(s["prompt_tokens"] + s["completion_tokens"] for s in usage.values()) <= 20_000


REFUSAL = "I'm sorry, but I can't help with that."


def test_a_model_that_refuses_every_answer_stops_the_run(
    tmp_path: Path, fake_openai: StartServer, scripted: Responder
) -> None:
    def responder(request: Request) -> str:
        return REFUSAL if request.path == "/v1/chat/completions" else scripted(request).text

    with fake_openai(responder, api_key=KEY) as srv:
        out = tmp_path / "run"
        code, stdout, _ = run(srv, out, *MAGPIE, "-n", "50", "--max-unusable", "10", "--concurrency", "8")
        sent = len(srv.requests)
    assert code == 5 and "10 responses in a row" in stdout and "instances:answer_refused" in stdout
    assert sent <= 2 * (10 + 8)  # a query and an answer each, a quarter of the way one request at a time
    assert not (out / "tasks.jsonl").read_text()
    reasons = {r["reason"] for r in records(out / "rejected.jsonl")}
    assert reasons == {"answer_refused"}


def test_truncated_and_empty_answers_are_rejected_with_their_reason(
    tmp_path: Path, fake_openai: StartServer, scripted: Responder
) -> None:
    def responder(request: Request) -> Reply:
        if request.path != "/v1/chat/completions":
            return scripted(request)
        kind = int(request.body["seed"]) % 3
        if kind == 0:
            return Reply("A long answer that ran", finish_reason="length")
        return Reply("") if kind == 1 else scripted(request)

    with fake_openai(responder, api_key=KEY) as srv:
        out = tmp_path / "run"
        code, _, stderr = run(srv, out, *MAGPIE, "-n", "6", "--concurrency", "1")
    assert code == 0, stderr
    reasons = {r["reason"] for r in records(out / "rejected.jsonl")}
    assert {"answer_truncated", "answer_empty"} <= reasons
    assert all(t["instances"][0]["output"] for t in records(out / "tasks.jsonl"))  # type: ignore[index]


@pytest.mark.parametrize(
    ("model", "family", "header"),
    [
        ("meta-llama/Meta-Llama-3.1-8B-Instruct", "llama3", "<|start_header_id|>user<|end_header_id|>\n\n"),
        ("google/gemma-2-9b-it", "gemma", "<start_of_turn>user\n"),
        ("mistralai/Mistral-7B-Instruct-v0.3", "mistral", "<s>[INST] "),
        ("HuggingFaceTB/SmolLM2-1.7B-Instruct", "chatml", "<|im_start|>user\n"),
    ],
)
def test_the_template_comes_from_the_model_family(
    tmp_path: Path, server: FakeOpenAIServer, model: str, family: str, header: str
) -> None:
    out = tmp_path / "run"
    code, _, stderr = run(server, out, *MAGPIE, "-n", "3", model=model)
    assert code == 0, stderr
    assert all(t["meta"]["template"] == family for t in records(out / "tasks.jsonl"))  # type: ignore[index]
    queries = [r for r in server.requests if r.path == "/v1/completions"]
    assert queries and all(r.prompt.endswith(header) for r in queries)


def test_a_given_pre_query_template_wins(tmp_path: Path, server: FakeOpenAIServer) -> None:
    out = tmp_path / "run"
    code, _, stderr = run(server, out, *MAGPIE, "-n", "3", "--pre-query-template", r"<|im_start|>user\n",
                          model="my-finetune")  # fmt: skip
    assert code == 0, stderr
    queries = [r for r in server.requests if r.path == "/v1/completions"]
    assert queries and all(r.prompt == "<|im_start|>user\n" for r in queries)
    assert all(t["meta"]["template"] == "chatml" for t in records(out / "tasks.jsonl"))  # type: ignore[index]


def test_chinese_queries_and_answers(tmp_path: Path, server: FakeOpenAIServer) -> None:
    out = tmp_path / "run"
    code, _, stderr = run(server, out, *MAGPIE, "-n", "5", "--language", "zh")
    assert code == 0, stderr
    pool = records(out / "tasks.jsonl")
    assert len(pool) == 5 and all("，主题是" in str(t["instruction"]) or "判断" in str(t["instruction"]) for t in pool)
    assert all(t["instances"][0]["output"].startswith("好的") for t in pool)  # type: ignore[index]


@pytest.mark.parametrize(
    ("args", "model", "message"),
    [
        (["--method", "magpie"], "Qwen2.5-7B-Instruct", "--method magpie needs --api completions"),
        ([*MAGPIE], "mystery-model", "magpie cannot tell the chat template of model 'mystery-model'"),
        ([*MAGPIE, "--pre-query-template", "  "], "mystery-model", "--pre-query-template is empty"),
        ([*MAGPIE, "--seeds", "{seeds}"], "Qwen2.5-7B-Instruct", "--method magpie reads no seed tasks"),
        (["--pre-query-template", "<|user|>"], "Qwen2.5-7B-Instruct", "--pre-query-template works with --method"),
    ],
)
def test_what_magpie_cannot_do_is_one_line_and_exit_2(
    tmp_path: Path, server: FakeOpenAIServer, args: list[str], model: str, message: str, seeds: Path
) -> None:
    args = [a.replace("{seeds}", str(seeds)) for a in args]
    out = tmp_path / "run"
    code, _, stderr = run(server, out, *args, "-n", "3", model=model)
    assert code == 2 and message in stderr and "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert not out.exists() and server.requests == []


def test_unknown_served_model_is_refused_before_anything_is_written(
    tmp_path: Path, fake_openai: StartServer, scripted: Responder
) -> None:
    """Without --model the served model's name is known only once the server is asked: still nothing written."""
    with fake_openai(scripted, api_key=KEY, models=["mystery-model"]) as srv:
        out = tmp_path / "run"
        argv = ["generate", *MAGPIE, "--out", str(out), "--base-url", srv.url, "-n", "3", "-q"]
        result = CliRunner().invoke(cli, argv, env={**CLEAN_ENV, "OPENAI_API_KEY": KEY})
        assert all(r.path not in ("/v1/completions", "/v1/chat/completions") for r in srv.requests)
    assert result.exit_code == 2 and "mystery-model" in result.stderr
    assert not (out / "run.json").exists() and not (out / "tasks.jsonl").exists()


def test_dry_run_estimates_both_steps_and_calls_nothing(tmp_path: Path, server: FakeOpenAIServer) -> None:
    out = tmp_path / "run"
    code, stdout, stderr = run(server, out, *MAGPIE, "-n", "100", "--dry-run")
    assert code == 0, stderr
    assert "===== prompt: query =====\n<|im_start|>system\n" in stdout
    lines = {line.split()[0]: line.split()[1:] for line in stdout.splitlines() if line.startswith("  ")}
    queries, answers = int(lines["query"][0].replace(",", "")), int(lines["answer"][0].replace(",", ""))
    assert answers >= 100 and queries > answers
    assert server.requests == [] and not out.exists()


@pytest.mark.parametrize(
    ("render", "family", "prompt", "stop"),
    [
        (chatml, "chatml", "<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n", "<|im_end|>"),
        (phi3, "custom", "<|user|>\n", "<|end|>"),  # no system turn: the template refuses one
    ],
)
def test_the_server_renders_the_template_of_a_model_we_do_not_know(
    tmp_path: Path,
    render: Render,
    family: str,
    prompt: str,
    stop: str,
    root: Path,
    fake_openai: StartServer,
    scripted: Responder,
) -> None:
    route = ApplyTemplate(render)
    with fake_openai(scripted, api_key=KEY, routes=route) as srv:
        out = tmp_path / "run"
        code, _, stderr = run(srv, out, *MAGPIE, "-n", "3", model="mystery-model")
        queries = [r for r in srv.requests if r.path == "/v1/completions"]
    assert code == 0, stderr
    assert route.paths and all(p == "/apply-template" for p in route.paths)  # at the root, beside /v1
    expected = prompt.replace("{system}", system_text(root))
    assert queries and all(r.prompt == expected and r.body["stop"][0] == stop for r in queries)
    facts = json.loads((out / "run.json").read_text())["settings"]["method_facts"]
    assert facts["template_source"] == "server" and facts["template_family"] == family
    pool = records(out / "tasks.jsonl")
    assert len(pool) == 3 and all(stop not in str(t["instruction"]) for t in pool)


def test_a_given_template_wins_over_the_server(tmp_path: Path, fake_openai: StartServer, scripted: Responder) -> None:
    route = ApplyTemplate(chatml)
    with fake_openai(scripted, api_key=KEY, routes=route) as srv:
        code, _, stderr = run(srv, tmp_path / "run", *MAGPIE, "-n", "2", "--pre-query-template", "<|user|>\\n")
        queries = [r for r in srv.requests if r.path == "/v1/completions"]
    assert code == 0, stderr
    assert route.paths == [] and all(r.prompt == "<|user|>\n" for r in queries)
