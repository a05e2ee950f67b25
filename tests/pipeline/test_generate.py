"""`selfinstruct generate` end to end against the loopback fake OpenAI server and the scripted model."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from selfinstruct.cli.app import cli
from selfinstruct.io.seeds import load_tasks
from tests.servers import FakeOpenAIServer, Fault, Request, Responder, StartServer

KEY = "sk-test-SECRET-0123456789"


def test_exact_n_with_instances_and_run_record(
    tmp_path: Path,
    server: FakeOpenAIServer,
    run: Callable[..., tuple[int, str, str]],
    tasks: Callable[[Path], list[dict[str, object]]],
) -> None:
    out = tmp_path / "run"
    code, stdout, stderr = run(server, out, "-n", "12")
    assert code == 0, stderr
    pool = tasks(out)
    assert len(pool) == 12
    assert [t["id"] for t in pool] == [f"machine_task_{i}" for i in range(12)]
    assert all(t["instances"] for t in pool)
    assert any(t["is_classification"] for t in pool) or True
    # The pool is usable as seeds.
    assert len(load_tasks(out / "tasks.jsonl")) == 12
    run_json = json.loads((out / "run.json").read_text())
    assert run_json["status"] == "complete"
    usage = run_json["usage"]
    assert usage["instructions"]["requests"] >= 2 and usage["classify"]["requests"] >= 12
    assert usage["instances"]["prompt_tokens"] > 0
    assert run_json["counts"]["accepted"] == 12
    assert "reached the target of 12 tasks" in stdout
    meta = pool[0]["meta"]
    assert isinstance(meta, dict) and "most_similar_instructions" in meta and meta["max_similarity"] <= 0.7
    assert (out / "seeds.jsonl").exists()
    for line in (out / "rejected.jsonl").read_text().splitlines():
        rec = json.loads(line)
        assert rec["stage"] in ("filter", "instances", "response") and rec["reason"]


def test_classification_tasks_get_output_first_instances(
    tmp_path: Path,
    server: FakeOpenAIServer,
    run: Callable[..., tuple[int, str, str]],
    tasks: Callable[[Path], list[dict[str, object]]],
) -> None:
    out = tmp_path / "run"
    assert run(server, out, "-n", "30")[0] == 0
    cls = [t for t in tasks(out) if t["is_classification"]]
    assert cls, "the scripted model makes ~20% classification tasks"
    for t in cls:
        outputs = {i["output"] for i in t["instances"]}  # type: ignore[attr-defined]
        assert len(outputs) == len(t["instances"]) >= 2  # type: ignore[arg-type]
    output_first = [r for r in server.requests if "Class label:" in r.prompt]
    assert len(output_first) >= len(cls)


def test_same_pool_at_concurrency_1_and_16(
    tmp_path: Path, server: FakeOpenAIServer, run: Callable[..., tuple[int, str, str]]
) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    assert run(server, a, "-n", "25", "--concurrency", "1")[0] == 0
    assert run(server, b, "-n", "25", "--concurrency", "16")[0] == 0
    assert (a / "tasks.jsonl").read_bytes() == (b / "tasks.jsonl").read_bytes()
    assert run(server, c, "-n", "60", "--concurrency", "64")[0] == 0  # several rounds, many in flight
    assert (c / "tasks.jsonl").read_bytes().startswith((a / "tasks.jsonl").read_bytes())


def test_same_pool_past_the_first_full_rounds(
    tmp_path: Path,
    server: FakeOpenAIServer,
    run: Callable[..., tuple[int, str, str]],
    tasks: Callable[[Path], list[dict[str, object]]],
) -> None:
    """Beyond request 32 two full rounds may be in flight; the pool must not notice."""
    a, b = tmp_path / "a", tmp_path / "b"
    assert run(server, a, "-n", "150", "--concurrency", "3", "--window", "4")[0] == 0
    assert run(server, b, "-n", "150", "--concurrency", "64", "--window", "4")[0] == 0
    assert max(t["meta"]["request"] for t in tasks(a)) > 16  # type: ignore[index]
    assert (a / "tasks.jsonl").read_bytes() == (b / "tasks.jsonl").read_bytes()


def _minimum_requests(out: Path) -> int:
    """What a strictly sequential run pays for this pool: each instruction request up to the last one with an
    accepted task, plus classify + instances for each candidate that reached the instances stage."""
    files = [out / name for name in ("tasks.jsonl", "rejected.jsonl") if (out / name).exists()]
    records = [json.loads(line) for path in files for line in path.read_text(encoding="utf-8").splitlines()]
    pool = [r for r in records if "id" in r]
    reached_instances = len(pool) + sum(1 for r in records if r.get("stage") == "instances")
    return max(r["meta"]["request"] for r in pool) + 1 + 2 * reached_instances


@pytest.mark.parametrize(("concurrency", "slack"), [(1, 0.15), (32, 0.30)])
def test_requests_per_task_near_the_minimum(
    tmp_path: Path, server: FakeOpenAIServer, concurrency: int, slack: float, run: Callable[..., tuple[int, str, str]]
) -> None:
    """Issue 10, defect 1: 50 tasks at concurrency 1 took 311 requests where about 125 were needed."""
    out = tmp_path / "run"
    code, stdout, stderr = run(server, out, "-n", "50", "--concurrency", str(concurrency))
    assert code == 0, stderr
    paid = sum(step["requests"] for step in json.loads((out / "run.json").read_text())["usage"].values())
    assert paid == len(server.requests)
    minimum = _minimum_requests(out)
    assert minimum <= paid <= minimum * (1 + slack), (paid, minimum)
    assert f"requests per task: {paid / 50:.2f}" in stdout


def test_small_runs_show_the_model_its_own_tasks(
    tmp_path: Path,
    server: FakeOpenAIServer,
    run: Callable[..., tuple[int, str, str]],
    tasks: Callable[[Path], list[dict[str, object]]],
) -> None:
    """Issue 10, defect 7: from the second round (request 1) on, 2 of the 8 demonstrations are the model's own:
    tasks, or, for requests 1-63 (rule 4), request 0's candidates, some of which its instances step rejected."""
    out = tmp_path / "run"
    assert run(server, out, "-n", "30", "--concurrency", "8")[0] == 0
    rejected = [json.loads(line) for line in (out / "rejected.jsonl").read_text(encoding="utf-8").splitlines()]
    machine = {str(t["instruction"]) for t in tasks(out)}
    machine |= {r["instruction"] for r in rejected if r["meta"]["request"] == 0 and "instruction" in r}
    prompts = [r.prompt for r in server.requests if r.prompt.rstrip().endswith("Task 9:")]
    assert len(prompts) >= 3
    shown = [sum(f": {m}\n" in p for m in machine) for p in prompts]
    assert shown[0] == 0 and all(count == 2 for count in shown[1:]), shown


def test_resume_extends_the_same_pool(
    tmp_path: Path, server: FakeOpenAIServer, run: Callable[..., tuple[int, str, str]]
) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    assert run(server, a, "-n", "20")[0] == 0
    assert run(server, b, "-n", "8")[0] == 0
    code, stdout, _ = run(server, b, "-n", "20")
    assert code == 0 and "+12 this run" in stdout
    assert (a / "tasks.jsonl").read_bytes() == (b / "tasks.jsonl").read_bytes()
    code, stdout, _ = run(server, b, "-n", "20")
    assert code == 0 and "already has 20 tasks" in stdout


def test_killed_while_starting_starts_again(
    tmp_path: Path,
    server: FakeOpenAIServer,
    run: Callable[..., tuple[int, str, str]],
    tasks: Callable[[Path], list[dict[str, object]]],
) -> None:
    """Killed after the logs were created but before run.json was first written: nothing is lost, so the same
    command runs; a pool with records but no run.json is refused."""
    out = tmp_path / "run"
    out.mkdir()
    (out / "tasks.jsonl").touch()
    (out / "rejected.jsonl").touch()
    assert run(server, out, "-n", "3")[0] == 0
    assert len(tasks(out)) == 3
    (out / "run.json").unlink()
    code, _, stderr = run(server, out, "-n", "5")
    assert code == 2 and "run.json is missing" in stderr and len(stderr.strip().splitlines()) == 1
    assert len(tasks(out)) == 3


def test_resume_refuses_other_settings(
    tmp_path: Path,
    server: FakeOpenAIServer,
    seeds: Path,
    run: Callable[..., tuple[int, str, str]],
    generate_env: dict[str, str | None],
) -> None:
    out = tmp_path / "run"
    assert run(server, out, "-n", "3")[0] == 0
    before = (out / "tasks.jsonl").read_bytes()
    argv = ["generate", "--seeds", str(seeds), "--out", str(out), "--base-url", server.url, "--model", "fake-model"]
    result = CliRunner().invoke(cli, [*argv, "--seed", "8", "-n", "5"], env={**generate_env, "OPENAI_API_KEY": KEY})
    assert result.exit_code == 2
    assert "was generated with seed=7" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert (out / "tasks.jsonl").read_bytes() == before


def test_transient_faults_are_retried(
    tmp_path: Path,
    server: FakeOpenAIServer,
    run: Callable[..., tuple[int, str, str]],
    tasks: Callable[[Path], list[dict[str, object]]],
) -> None:
    server.inject(
        Fault(status=429, retry_after=0.05),
        Fault(status=500),
        Fault(drop=True),
        Fault(hang=3.0),
        Fault(status=503),
    )
    out = tmp_path / "run"
    # One request at a time and a target that needs several responses: every faulted request is awaited.
    code, _, stderr = run(server, out, "-n", "30", "--timeout", "1", "--concurrency", "1")
    assert code == 0, stderr
    assert len(tasks(out)) == 30
    assert server.pending_faults() == 0
    usage = json.loads((out / "run.json").read_text())["usage"]
    assert sum(step["retries"] for step in usage.values()) == 5


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (Fault(status=401, message="Incorrect API key"), "authentication failed (401)"),
        (Fault(status=403, message="not allowed"), "permission denied (403)"),
        (Fault(status=404, message="The model does not exist"), "not found (404)"),
        (Fault(status=429, message="You exceeded your current quota", code="insufficient_quota"), "out of quota"),
    ],
)
def test_fatal_errors_stop_at_once_and_keep_the_pool(
    tmp_path: Path,
    server: FakeOpenAIServer,
    fault: Fault,
    message: str,
    run: Callable[..., tuple[int, str, str]],
    tasks: Callable[[Path], list[dict[str, object]]],
) -> None:
    out = tmp_path / "run"
    assert run(server, out, "-n", "4")[0] == 0
    before = (out / "tasks.jsonl").read_bytes()
    # The first run paid for more than it committed; without its journal every request meets the fault.
    (out / "responses.jsonl").unlink()
    n_before = len(server.requests)
    server.inject_when(lambda r: True, fault, times=1000)
    code, _, stderr = run(server, out, "-n", "10")
    assert code == 1
    assert message in stderr and "Traceback" not in stderr
    assert len(server.requests) - n_before <= 8 * 4  # no retry storm: at most the first wave of requests
    assert (out / "tasks.jsonl").read_bytes() == before
    assert json.loads((out / "run.json").read_text())["status"] == "failed"
    server.reset()
    code, _, _ = run(server, out, "-n", "10")  # and it resumes
    assert code == 0 and len(tasks(out)) == 10


def test_context_too_long_is_shortened_once(
    tmp_path: Path, server: FakeOpenAIServer, run: Callable[..., tuple[int, str, str]]
) -> None:
    too_long = Fault(
        status=400, message="This model's maximum context length is 10 tokens", code="context_length_exceeded"
    )
    server.inject_when(lambda r: r.prompt.rstrip().endswith("Task 9:"), too_long, times=1)
    out = tmp_path / "run"
    code, _, stderr = run(server, out, "-n", "3")
    assert code == 0, stderr
    shortened = [r for r in server.requests if r.prompt.rstrip().endswith("Task 5:")]
    assert shortened  # retried with 4 demonstrations instead of 8
    server.inject_when(lambda r: True, too_long, times=1000)
    code, _, stderr = run(server, tmp_path / "run2", "-n", "3")
    assert code == 1 and "even with fewer demonstrations" in stderr


def test_garbage_and_truncated_replies_are_counted_not_fatal(
    tmp_path: Path,
    server: FakeOpenAIServer,
    run: Callable[..., tuple[int, str, str]],
    tasks: Callable[[Path], list[dict[str, object]]],
) -> None:
    server.inject_when(lambda r: r.prompt.rstrip().endswith("Task 9:"), Fault(text="@@@ ### ???"), times=2)
    server.inject_when(
        lambda r: r.prompt.rstrip().endswith("Task 9:"),
        Fault(
            text="Task 9: Write a limerick about tea for a quiet office.\nTask 10: Explain how tides",
            finish_reason="length",
        ),
        times=1,
    )
    server.inject_when(lambda r: r.prompt.rstrip().endswith("Task 9:"), Fault(empty_choices=True), times=1)
    out = tmp_path / "run"
    code, _, stderr = run(server, out, "-n", "5", "--concurrency", "1")
    assert code == 0, stderr
    rejected = [json.loads(line) for line in (out / "rejected.jsonl").read_text().splitlines()]
    problems = [r["reason"] for r in rejected if r["stage"] == "response"]
    assert problems.count("no_items") == 2 and problems.count("empty_response") == 1
    assert all("Explain how tides" not in t["instruction"] for t in tasks(out))  # type: ignore[operator]


def test_key_is_never_written(
    tmp_path: Path, server: FakeOpenAIServer, run: Callable[..., tuple[int, str, str]]
) -> None:
    out = tmp_path / "run"
    assert run(server, out, "-n", "3")[0] == 0
    server.inject_when(lambda r: True, Fault(status=401), times=1000)
    run(server, out, "-n", "6")
    for path in out.rglob("*"):
        if path.is_file():
            assert KEY not in path.read_text(encoding="utf-8", errors="replace"), path
    assert all(r.headers.get("authorization") == f"Bearer {KEY}" for r in server.requests[:3])


def test_alpaca_mode(
    tmp_path: Path,
    server: FakeOpenAIServer,
    run: Callable[..., tuple[int, str, str]],
    tasks: Callable[[Path], list[dict[str, object]]],
) -> None:
    out = tmp_path / "run"
    code, _, stderr = run(server, out, "-n", "15", "--mode", "alpaca")
    assert code == 0, stderr
    pool = tasks(out)
    assert len(pool) == 15 and all(len(t["instances"]) == 1 for t in pool)  # type: ignore[arg-type]
    # (Requests cancelled mid-send when the target is reached reach the server without a body.)
    assert all(r.prompt.count("###") >= 3 for r in server.requests if r.body)
    assert json.loads((out / "run.json").read_text())["usage"]["alpaca"]["requests"] >= 1


def test_chinese_mode(
    tmp_path: Path,
    server: FakeOpenAIServer,
    zh_seeds: Path,
    run: Callable[..., tuple[int, str, str]],
    tasks: Callable[[Path], list[dict[str, object]]],
) -> None:
    out = tmp_path / "run"
    code, _, stderr = run(server, out, "-n", "40", "--language", "zh", "--seeds", str(zh_seeds))
    assert code == 0, stderr
    pool = tasks(out)
    assert len(pool) == 40 and all(t["instances"] for t in pool)
    assert all("\u4e00" <= str(t["instruction"])[0] <= "\u9fff" for t in pool)
    assert any(t["is_classification"] for t in pool)
    assert all(
        r.prompt.rstrip().endswith(("任务9：", "是否为分类任务？")) or "任务：" in r.prompt
        for r in server.requests
        if r.body
    )
    rejected = (out / "rejected.jsonl").read_text(encoding="utf-8")
    assert "near_duplicate" in rejected  # Chinese near-duplicates are caught (rouge-score would score them 0)


def test_completions_api(
    tmp_path: Path,
    server: FakeOpenAIServer,
    run: Callable[..., tuple[int, str, str]],
    tasks: Callable[[Path], list[dict[str, object]]],
) -> None:
    out = tmp_path / "run"
    code, _, stderr = run(server, out, "-n", "6", "--api", "completions")
    assert code == 0, stderr
    assert len(tasks(out)) == 6
    assert {r.path for r in server.requests} == {"/v1/completions"}


def test_dry_run_calls_nothing_and_writes_nothing(
    tmp_path: Path, server: FakeOpenAIServer, run: Callable[..., tuple[int, str, str]]
) -> None:
    out = tmp_path / "run"
    code, stdout, _ = run(server, out, "-n", "1000", "--dry-run")
    assert code == 0
    for step in ("instructions", "classify", "instances_input_first", "instances_output_first"):
        assert f"===== prompt: {step} =====" in stdout
    assert "estimate for 1000 tasks" in stdout and "requests" in stdout
    assert server.requests == [] and not out.exists()
    code, stdout, _ = run(server, out, "-n", "1000", "--dry-run", "--classify", "rules")
    assert code == 0 and re.search(r"classify\s+0\s+0\s+0\n", stdout) and "classification by rules" in stdout


def _usage(out: Path) -> tuple[int, int, int]:
    steps = json.loads((out / "run.json").read_text())["usage"].values()
    return (sum(s["requests"] for s in steps), sum(s["prompt_tokens"] for s in steps),
            sum(s["completion_tokens"] for s in steps))  # fmt: skip


@pytest.mark.parametrize(("cap", "concurrency"), [(10_000, 2), (30_000, 8), (30_000, 32), (80_000, 16)])
def test_token_budget_is_a_hard_cap(
    tmp_path: Path,
    server: FakeOpenAIServer,
    cap: int,
    concurrency: int,
    run: Callable[..., tuple[int, str, str]],
    tasks: Callable[[Path], list[dict[str, object]]],
) -> None:
    """Issue 10, defect 3: --max-tokens-total 30000 stopped after 128,250 tokens."""
    out = tmp_path / "run"
    code, stdout, _ = run(server, out, "-n", "500", "--max-tokens-total", str(cap), "--concurrency", str(concurrency))
    assert code == 3 and "token budget of" in stdout
    requests, prompt, completion = _usage(out)
    assert requests == len(server.requests)  # every request that reached the server is counted
    assert prompt + completion <= cap
    assert prompt + completion >= cap * 0.8  # and stops near it, not far before
    run_json = json.loads((out / "run.json").read_text())
    assert run_json["status"] == "budget" and 0 < len(tasks(out)) < 500
    # Resuming with the same cap stops at once; a larger one continues from where it was.
    code, stdout, _ = run(server, out, "-n", "500", "--max-tokens-total", str(cap))
    assert code == 3 and sum(_usage(out)[1:]) <= cap


def test_cost_budget_is_a_hard_cap(
    tmp_path: Path, server: FakeOpenAIServer, run: Callable[..., tuple[int, str, str]]
) -> None:
    out = tmp_path / "run"
    prices = ["--price-input", "0.15", "--price-output", "0.60"]
    code, stdout, _ = run(server, out, "-n", "500", "--max-cost", "0.005", *prices, "--concurrency", "8")
    assert code == 3 and "cost budget of $0.0050" in stdout
    _, prompt, completion = _usage(out)
    assert (prompt * 0.15 + completion * 0.60) / 1e6 <= 0.005
    env = {"SELFINSTRUCT_PRICE_INPUT": "0.15", "SELFINSTRUCT_PRICE_OUTPUT": "0.60"}
    code, stdout, _ = run(server, tmp_path / "env", "-n", "5", "--max-cost", "1", env=env)
    assert code == 0 and "$" in stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max-cost", "5"], "--max-cost needs the model's prices"),
        (["--price-input", "0.15"], "give both --price-input and --price-output"),
        (["--max-cost", "-1"], "Invalid value for '--max-cost'"),
    ],
)
def test_cost_options_need_prices(
    tmp_path: Path, server: FakeOpenAIServer, args: list[str], message: str, run: Callable[..., tuple[int, str, str]]
) -> None:
    code, _, stderr = run(server, tmp_path / "run", "-n", "5", *args)
    assert code == 2 and message in stderr and len(stderr.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists() and server.requests == []


def test_saturation_stop(
    tmp_path: Path,
    fake_openai: StartServer,
    scripted: Responder,
    run: Callable[..., tuple[int, str, str]],
    tasks: Callable[[Path], list[dict[str, object]]],
) -> None:
    same = "Task 9: Write a haiku about autumn rain.\nTask 10: Write a haiku about autumn rain, please."
    with fake_openai(lambda r: same if r.prompt.rstrip().endswith("Task 9:") else scripted(r), api_key=KEY) as srv:
        out = tmp_path / "run"
        code, stdout, _ = run(srv, out, "-n", "50", "--saturation-window", "20", "--min-acceptance", "0.1")
    assert code == 4 and "run out of new tasks" in stdout and "filter:near_duplicate" in stdout
    assert json.loads((out / "run.json").read_text())["status"] == "saturated"
    assert len(tasks(out)) == 1


REFUSAL = "I'm sorry, I can't help with that request."


@pytest.mark.parametrize(
    ("reply", "reason"),
    [("", "response:empty_response"), (REFUSAL, "response:no_items"), ("@@@ ### ???", "response:no_items")],
)
@pytest.mark.parametrize("concurrency", [1, 32])
def test_a_useless_model_stops_the_run_quickly(
    tmp_path: Path,
    reply: str,
    reason: str,
    concurrency: int,
    fake_openai: StartServer,
    run: Callable[..., tuple[int, str, str]],
) -> None:
    """Issue 10, defect 4: a server answering every request uselessly ran 3,433 requests in 60 s, no stop."""
    with fake_openai(lambda r: reply, api_key=KEY) as srv:
        out = tmp_path / "run"
        code, stdout, _ = run(srv, out, "-n", "50", "--concurrency", str(concurrency))
        sent = len(srv.requests)
    assert code == 5, stdout
    assert (
        "the model is unusable" in stdout and f"20 responses in a row gave nothing usable (mostly {reason})" in stdout
    )
    shown = f"example reply: {' '.join(reply.split())!r}" if reply else "the replies were empty"
    assert shown in stdout
    assert sent <= 20 + 16  # the streak is counted in commit order; a quarter of the way, one request at a time
    assert json.loads((out / "run.json").read_text())["status"] == "unusable"


def test_refused_instances_stop_the_run(
    tmp_path: Path, fake_openai: StartServer, scripted: Responder, run: Callable[..., tuple[int, str, str]]
) -> None:
    """Instruction lists are fine but every instances reply is a refusal: nothing can ever be accepted."""

    def responder(request: Request) -> str:
        text = scripted(request).text
        return REFUSAL if text.startswith(("Example", "Class label")) else text

    with fake_openai(responder, api_key=KEY) as srv:
        code, stdout, _ = run(srv, tmp_path / "run", "-n", "50", "--max-unusable", "10")
        sent = len(srv.requests)
    assert code == 5 and "10 responses in a row" in stdout and "instances:" in stdout and REFUSAL in stdout
    assert sent <= 3 * 2 * 8 + 3


def test_null_choices_everywhere_is_an_endpoint_error(
    tmp_path: Path, scripted_server: StartServer, run: Callable[..., tuple[int, str, str]]
) -> None:
    with scripted_server(api_key=KEY) as srv:
        srv.inject_when(lambda r: True, Fault(null_choices=True), times=10_000)
        code, _, stderr = run(srv, tmp_path / "run", "-n", "50", "--max-retries", "2", "--concurrency", "32")
        sent = len(srv.requests)
    assert code == 1 and "malformed 200 response: JSON without choices" in stderr and "Traceback" not in stderr
    assert sent <= 3  # round 0 is one request, tried three times


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seeds", "missing.jsonl"], "missing.jsonl: file not found"),
        (["-n", "0"], "Invalid value for '-n'"),
        (["--concurrency", "0"], "Invalid value for '--concurrency'"),
        (["--temperature", "bogus=1"], "unknown step 'bogus'"),
        (["--temperature", "hot"], "'hot' is not a number"),
        (["--mode", "magic"], "'magic' is not one of"),
        (["--prompts", "no/such/dir"], "--prompts must be a directory"),
        (["--max-tokens", "classify=-5"], "--max-tokens classify=-5: give a whole number of at least 1"),
        (["--max-tokens", "1.5"], "give a whole number of at least 1"),
        (["--top-p", "2"], "--top-p 2: give a number above 0 and at most 1"),
        (["--temperature", "instances=-1"], "give a number from 0 to 2"),
        (["--temperature", "nan"], "give a number from 0 to 2"),
        (["--base-url", "localhost:8000/v1"], "localhost:8000/v1: not an http(s) URL"),
    ],
)
def test_bad_options_exit_2_and_write_nothing(
    tmp_path: Path, server: FakeOpenAIServer, args: list[str], message: str, generate_env: dict[str, str | None]
) -> None:
    out = tmp_path / "run"
    argv = ["generate", "--out", str(out), "--base-url", server.url, *args]
    result = CliRunner().invoke(cli, argv, env={**generate_env, "OPENAI_API_KEY": KEY})
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not out.exists() and server.requests == []


def test_custom_prompt_template_is_used_and_validated(
    tmp_path: Path, server: FakeOpenAIServer, run: Callable[..., tuple[int, str, str]]
) -> None:
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    (prompts / "instructions.txt").write_text(
        "Only medical tasks, please.\n{{demonstrations}}\nTask {{next_number}}:", encoding="utf-8"
    )
    out = tmp_path / "run"
    code, _, stderr = run(server, out, "-n", "3", "--prompts", str(prompts))
    assert code == 0, stderr
    assert any(r.prompt.startswith("Only medical tasks") for r in server.requests)
    (prompts / "instructions.txt").write_text("{{demonstrations}} {{colour}}", encoding="utf-8")
    code, _, stderr = run(server, tmp_path / "run2", "-n", "3", "--prompts", str(prompts))
    assert code == 2 and "unknown placeholder {{colour}}" in stderr


@pytest.fixture
def _cli(seeds: Path) -> Callable[..., list[str]]:
    def _cli(out: Path, url: str, n: int, concurrency: int) -> list[str]:
        return [sys.executable, "-m", "selfinstruct", "generate", "--seeds", str(seeds), "--out", str(out),
                "--base-url", url, "--model", "fake-model", "--seed", "7", "-n", str(n), "-q",
                "--concurrency", str(concurrency)]  # fmt: skip

    return _cli


@pytest.mark.parametrize("kill_after", [0.3, 0.8, 1.5])
def test_kill_9_then_resume_is_byte_identical(
    tmp_path: Path, kill_after: float, scripted_server: StartServer, _cli: Callable[..., list[str]]
) -> None:
    env = {**os.environ, "OPENAI_API_KEY": KEY}
    env.pop("OPENAI_BASE_URL", None)
    with scripted_server(api_key=KEY, latency=0.02) as srv:
        reference = tmp_path / "reference"
        subprocess.run(_cli(reference, srv.url, 30, 4), env=env, check=True, timeout=120)
        out = tmp_path / "killed"
        proc = subprocess.Popen(_cli(out, srv.url, 30, 4), env=env)
        time.sleep(kill_after)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        subprocess.run(_cli(out, srv.url, 30, 8), env=env, check=True, timeout=120)
    assert (out / "tasks.jsonl").read_bytes() == (reference / "tasks.jsonl").read_bytes()


def test_no_endpoint_without_the_local_extra_says_what_to_do(tmp_path: Path, seeds: Path) -> None:
    """A Python without the xllamacpp runtime: the run must say what to install or pass, and write nothing."""
    out = tmp_path / "run"
    code = (
        "import sys, importlib.util as u; real = u.find_spec\n"
        "u.find_spec = lambda name, *a: None if name.startswith('xllamacpp') else real(name, *a)\n"
        "from selfinstruct.cli.app import main; sys.argv[0] = 'selfinstruct'; main()"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SELFINSTRUCT_"))}
    result = subprocess.run(
        [sys.executable, "-c", code, "generate", "--seeds", str(seeds), "-n", "2", "--out", str(out)],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert 'pip install "selfinstruct[local]"' in result.stderr and "--base-url" in result.stderr
    assert "Traceback" not in result.stderr and not out.exists()


def test_resume_without_model_uses_the_served_model(
    tmp_path: Path,
    server: FakeOpenAIServer,
    seeds: Path,
    generate_env: dict[str, str | None],
    tasks: Callable[[Path], list[dict[str, object]]],
) -> None:
    """No --model on a --base-url: the served model is picked, recorded, and the same command resumes."""
    out = tmp_path / "run"
    argv = ["generate", "--seeds", str(seeds), "--out", str(out), "--base-url", server.url, "--seed", "7", "-q"]
    env = {**generate_env, "OPENAI_API_KEY": KEY}
    first = CliRunner().invoke(cli, [*argv, "-n", "3"], env=env)
    assert first.exit_code == 0, first.stderr
    assert json.loads((out / "run.json").read_text())["settings"]["model"] == "fake-model"
    again = CliRunner().invoke(cli, [*argv, "-n", "6"], env=env)
    assert again.exit_code == 0, again.stderr
    assert len(tasks(out)) == 6


def test_base_url_without_a_key_sends_a_placeholder(
    tmp_path: Path,
    scripted_server: StartServer,
    seeds: Path,
    generate_env: dict[str, str | None],
    tasks: Callable[[Path], list[dict[str, object]]],
) -> None:
    """vLLM, Ollama and llama.cpp servers want no key: a --base-url run without OPENAI_API_KEY must work, and a
    server that does want one gets a 401 message that says to set it."""
    argv = ["generate", "--seeds", str(seeds), "--base-url", "", "--model", "fake-model", "--seed", "7", "-q"]
    with scripted_server() as keyless:
        argv[4] = keyless.url
        result = CliRunner().invoke(cli, [*argv, "--out", str(tmp_path / "a"), "-n", "3"], env=generate_env)
        assert result.exit_code == 0, result.stderr
        assert len(tasks(tmp_path / "a")) == 3
        assert all(r.headers.get("authorization") == "Bearer no-key" for r in keyless.requests)
    with scripted_server(api_key=KEY) as keyed:
        argv[4] = keyed.url
        result = CliRunner().invoke(cli, [*argv, "--out", str(tmp_path / "b"), "-n", "3"], env=generate_env)
        assert result.exit_code == 1
        assert "authentication failed (401)" in result.stderr and "set OPENAI_API_KEY" in result.stderr
        assert "Traceback" not in result.stderr
