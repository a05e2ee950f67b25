"""`selfinstruct respond` against the loopback fake server with scripted answering models.

The scripted models answer each prompt as a pure function of (model, task number, input, seed), so every
expectation is computed here: task numbers ending in 7 are refused, in 8 cut off at max_tokens, in 9 answered
with nothing (for the model "weak" only: "strong" answers everything).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from selfinstruct.cli.app import cli
from selfinstruct.engine.journal import ResponseJournal
from selfinstruct.engine.seeding import derive_seed
from tests.servers import (
    ANSWER_KEY,
    ANSWER_MODELS,
    RESPOND_ENV,
    FakeOpenAIServer,
    StartServer,
    answer_or_judge,
    fate,
    journal_lines,
    make_answer_pool,
    questions_of,
    recorded_batches,
    tolerant_lines,
)

MODELS = ANSWER_MODELS
RespondCli = Any


@pytest.fixture
def server(fake_openai: StartServer) -> FakeOpenAIServer:
    """The scripted answering models on a fresh fake server (each test counts its requests)."""
    return fake_openai(answer_or_judge, api_key=ANSWER_KEY, models=MODELS)


def test_every_response_answered_or_counted_with_its_reason(
    tmp_path: Path, server: FakeOpenAIServer, respond_cli: RespondCli
) -> None:
    tasks = make_answer_pool(tmp_path / "run" / "tasks.jsonl", 60)
    out = tmp_path / "answers"
    code, stdout, stderr = respond_cli(server, tmp_path / "run", out, "--model", "strong", "--model", "weak",
                               "--samples", "2", "--concurrency", "8", "--seed", "3")  # fmt: skip
    assert code == 0, stderr
    records = journal_lines(out / "answers.jsonl")
    qs = questions_of(tasks)
    # Every (question, model, sample) exactly once, in the source's order, then the models', then the samples'.
    assert [(r["task_id"], r["instance"], r["model"], r["sample"]) for r in records] == [
        (tid, k, m, s) for tid, k, _ in qs for m in MODELS for s in range(2)
    ]
    assert len(server.requests) == len(records) == len(qs) * 4
    source = {t["id"]: t for t in tasks}
    for r, (tid, _, inp) in zip(records[::4], qs, strict=True):
        assert (r["instruction"], r["input"]) == (source[tid]["instruction"], inp)  # instruction and input kept
    for r in records:
        number = int(r["task_id"].rsplit("_", 1)[1])
        assert r["seed"] == derive_seed(3, "respond", r["task_id"], r["instance"], r["model"], r["sample"])
        assert r["params"] == {"temperature": 0.7, "top_p": 1.0, "max_tokens": 1024}
        kind = fate(r["model"], number)
        if kind == "answer":
            assert r["status"] == "answered" and r["output"].startswith(f"{r['model']} answers task {number} (")
        else:  # never written as an answer: counted with its reason
            assert r["status"] == "dropped" and r["why"] == kind and "output" not in r
    state = json.loads((out / "respond.json").read_text())
    counts = state["counts"]
    dropped = [r for r in records if r["status"] == "dropped"]
    assert counts["answered"] + counts["dropped"] == counts["planned"] == len(records) and counts["pending"] == 0
    want: dict[str, int] = {}
    for tid, _, _ in qs:
        kind = fate("weak", int(tid.rsplit("_", 1)[1]))
        if kind != "answer":
            want[kind] = want.get(kind, 0) + 2  # two samples
    assert counts["dropped_reasons"] == want and len(dropped) == sum(want.values()) > 0
    assert counts["models"]["strong"] == {"answered": len(qs) * 2}
    assert state["models"] == MODELS and state["seed"] == 3 and state["samples"] == 2
    assert f"{len(dropped)} dropped (empty {want['empty']}, refusal {want['refusal']}" in stdout
    # The SFT pool: every question answered by the first model, its first sample; the old outputs replaced.
    sft = journal_lines(out / "tasks.jsonl")
    assert [t["id"] for t in sft] == [t["id"] for t in tasks]
    first = {(r["task_id"], r["instance"]): r for r in records if r["model"] == "strong" and r["sample"] == 0}
    for t, orig in zip(sft, tasks, strict=True):
        ks: list[int | None] = list(range(len(orig["instances"]))) or [None]
        assert t["instances"] == [{"input": first[(t["id"], k)]["input"], "output": first[(t["id"], k)]["output"]}
                                  for k in ks]  # fmt: skip
        assert [a["model"] for a in t["answered_by"]] == ["strong"] * len(ks)


def test_seeded_output_is_byte_identical_at_any_concurrency(
    tmp_path: Path, server: FakeOpenAIServer, respond_cli: RespondCli
) -> None:
    make_answer_pool(tmp_path / "run" / "tasks.jsonl", 40)
    digests = set()
    for concurrency in ("1", "16"):
        out = tmp_path / f"c{concurrency}"
        code, _, stderr = respond_cli(server, tmp_path / "run", out, "--model", "weak", "--model", "strong",
                              "--concurrency", concurrency, "--seed", "7")  # fmt: skip
        assert code == 0, stderr
        digests.add(tuple(hashlib.sha256((out / n).read_bytes()).hexdigest() for n in ("answers.jsonl", "tasks.jsonl")))
    assert len(digests) == 1
    # The first --model answers tasks.jsonl: "weak" here, except where it gave no answer and "strong" did.
    sft = {t["id"]: t for t in journal_lines(tmp_path / "c1" / "tasks.jsonl")}
    seed = derive_seed(7, "respond", "machine_task_7", 0, "strong", 0)
    assert sft["machine_task_7"]["answered_by"] == [{"model": "strong", "sample": 0, "seed": seed}]
    assert sft["machine_task_4"]["answered_by"][0]["model"] == "weak"


def test_a_rerun_asks_nothing_and_other_settings_are_refused(
    tmp_path: Path, server: FakeOpenAIServer, respond_cli: RespondCli
) -> None:
    make_answer_pool(tmp_path / "run" / "tasks.jsonl", 10)
    out = tmp_path / "out"
    assert respond_cli(server, tmp_path / "run", out, "--model", "strong")[0] == 0
    before = (out / "answers.jsonl").read_bytes()
    asked = len(server.requests)
    code, stdout, _ = respond_cli(server, tmp_path / "run", out, "--model", "strong")
    assert code == 0 and len(server.requests) == asked and (out / "answers.jsonl").read_bytes() == before
    assert "this run: 0 asked" in stdout and "13 were already in the journal" in stdout
    code, _, stderr = respond_cli(server, tmp_path / "run", out, "--model", "strong", "--seed", "1")
    assert code == 2 and "answered with seed=0, not 1" in stderr and len(server.requests) == asked


def test_system_prompt_is_sent_as_a_system_message_and_recorded(
    tmp_path: Path, server: FakeOpenAIServer, respond_cli: RespondCli
) -> None:
    make_answer_pool(tmp_path / "run" / "tasks.jsonl", 3)
    out = tmp_path / "orca"
    system = "You are a helpful assistant. Explain your answer step by step."
    assert respond_cli(server, tmp_path / "run", out, "--model", "strong", "--system", system)[0] == 0
    for request in server.requests:
        assert request.body["messages"][0] == {"role": "system", "content": system}
        assert request.body["messages"][1]["role"] == "user"
    assert all(r["params"]["system"] == system for r in journal_lines(out / "answers.jsonl"))


def test_alpaca_prompt_format_over_completions(
    tmp_path: Path, server: FakeOpenAIServer, respond_cli: RespondCli
) -> None:
    make_answer_pool(tmp_path / "run" / "tasks.jsonl", 3)
    out = tmp_path / "alpaca"
    assert respond_cli(server, tmp_path / "run", out, "--model", "strong", "--api", "completions",
               "--prompt-format", "alpaca")[0] == 0  # fmt: skip
    prompts = sorted((r.body["prompt"] for r in server.requests), key=lambda p: p.split("task #")[1])  # by task
    assert prompts[0].startswith("Below is an instruction that describes a task. Write a response")
    assert prompts[0].endswith("### Instruction:\nDo task #0.\n\n### Response:\n")
    assert prompts[1].endswith("### Instruction:\nDo task #1.\n\n### Input:\ninput 1.0\n\n### Response:\n")


def test_budget_holds_and_a_larger_cap_finishes(
    tmp_path: Path, server: FakeOpenAIServer, respond_cli: RespondCli
) -> None:
    make_answer_pool(tmp_path / "run" / "tasks.jsonl", 30)
    out = tmp_path / "capped"
    args = ("--model", "strong", "--max-tokens", "50", "--concurrency", "4")
    code, _, stderr = respond_cli(server, tmp_path / "run", out, *args, "--max-tokens-total", "400")
    assert code == 3 and "raise the cap" in stderr
    state = json.loads((out / "respond.json").read_text())
    assert state["counts"]["answered"] > 0 and state["counts"]["pending"] > 0
    used = sum(
        int(r.get("prompt_tokens", 0)) + int(r.get("completion_tokens", 0))
        for r in journal_lines(out / "answers.jsonl")
    )
    assert used <= 400
    asked = len(server.requests)
    code, _, stderr = respond_cli(server, tmp_path / "run", out, *args, "--max-tokens-total", "100000")
    assert code == 0, stderr
    assert len(server.requests) - asked == state["counts"]["pending"]  # only what was not asked
    assert json.loads((out / "respond.json").read_text())["counts"]["pending"] == 0


def test_an_unusable_model_exits_5_and_bad_input_exits_2(
    tmp_path: Path, server: FakeOpenAIServer, respond_cli: RespondCli
) -> None:
    pool = tmp_path / "run" / "tasks.jsonl"
    pool.parent.mkdir()
    pool.write_text("".join(json.dumps({"instruction": f"Do task #{n}."}) + "\n" for n in (7, 17)))
    code, _, stderr = respond_cli(server, pool, tmp_path / "out", "--model", "weak")
    assert code == 5 and "none of its 2 replies was an answer" in stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"instruction": 3}\n')
    code, _, stderr = respond_cli(server, bad, tmp_path / "out2", "--model", "strong")
    assert code == 2 and "bad.jsonl:1" in stderr and not (tmp_path / "out2").exists()
    code, _, stderr = respond_cli(server, pool, tmp_path / "out3", "--model", "strong", "--model", "strong")
    assert code == 2 and "twice" in stderr and not (tmp_path / "out3").exists()


def _cli(pool: Path, out: Path, url: str, concurrency: int) -> list[str]:
    return [sys.executable, "-m", "selfinstruct", "respond", str(pool), "--out", str(out), "--base-url", url,
            "--model", "strong", "--model", "weak", "-q", "--concurrency", str(concurrency), "--seed", "5"]  # fmt: skip


def test_kill_9_then_resume_asks_nothing_journaled_again(tmp_path: Path, fake_openai: StartServer) -> None:
    env = {k: v for k, v in os.environ.items() if k not in RESPOND_ENV} | {"OPENAI_API_KEY": ANSWER_KEY}
    with fake_openai(answer_or_judge, api_key=ANSWER_KEY, models=MODELS, latency=0.05) as srv:
        make_answer_pool(tmp_path / "run" / "tasks.jsonl", 100)
        subprocess.run(_cli(tmp_path / "run", tmp_path / "reference", srv.url, 4), env=env, check=True, timeout=120)
        out = tmp_path / "killed"
        proc = subprocess.Popen(_cli(tmp_path / "run", out, srv.url, 4), env=env, stderr=subprocess.DEVNULL)
        ledger = out / "responses.jsonl"
        deadline = time.monotonic() + 30
        while (not ledger.exists() or ledger.stat().st_size < 2000) and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        journaled = {r["key"] for r in tolerant_lines(ledger) if "key" in r}
        planned = 2 * len(questions_of(journal_lines(tmp_path / "run" / "tasks.jsonl")))
        assert 0 < len(journaled) < planned, "kill the run mid-way"
        mark = len(srv.requests)
        subprocess.run(_cli(tmp_path / "run", out, srv.url, 8), env=env, check=True, timeout=120)
        again = [(r.body["model"], r.prompt, r.body["seed"]) for r in srv.requests[mark:]]
    assert again and len(again) == planned - len(journaled)  # only what the journal does not hold
    for name in ("answers.jsonl", "tasks.jsonl"):
        assert (out / name).read_bytes() == (tmp_path / "reference" / name).read_bytes()


def test_batch_gives_the_synchronous_answers_for_every_model(
    tmp_path: Path, fake_openai: StartServer, fake_batches: Any
) -> None:
    batches = fake_batches(fail_rate=0.05)
    env = {**RESPOND_ENV, "SELFINSTRUCT_BATCH_POLL": "0.02"}
    with fake_openai(answer_or_judge, api_key=ANSWER_KEY, models=MODELS, routes=batches) as srv:
        make_answer_pool(tmp_path / "run" / "tasks.jsonl", 30)
        argv = ["respond", str(tmp_path / "run"), "--base-url", srv.url, "--model", "strong", "--model", "weak", "-q"]
        assert CliRunner().invoke(cli, [*argv, "--out", str(tmp_path / "sync")], env=env).exit_code == 0
        srv.reset()
        result = CliRunner().invoke(cli, [*argv, "--out", str(tmp_path / "batch"), "--batch"], env=env)
    assert result.exit_code == 0, result.stderr
    assert all(r.outcome == "batch" for r in srv.requests)
    for name in ("answers.jsonl", "tasks.jsonl"):
        assert (tmp_path / "batch" / name).read_bytes() == (tmp_path / "sync" / name).read_bytes()
    assert len(list((tmp_path / "batch").glob("batches-*.jsonl"))) == 2  # one batch ledger per model


def _batches_recorded(out: Path) -> int:
    """Batches the run's ledgers (one per model) have recorded as created."""
    return recorded_batches(*out.glob("batches-*.jsonl"))


def test_a_capped_resume_after_a_kill_collects_and_charges_the_batches_paid_for(
    tmp_path: Path, fake_openai: StartServer, fake_batches: Any
) -> None:
    """Killed with a batch per model in flight, then resumed with a cap that lets it ask nothing: the batches,
    finished since, were paid, so the resume journals their replies (and writes them as answers) charged what the
    server served, not their reservations; a full run after it replays them all and sends nothing."""
    batches = fake_batches(step_seconds=600)  # in flight until the test finishes them
    env = {k: v for k, v in os.environ.items() if k not in RESPOND_ENV}
    env |= {"OPENAI_API_KEY": ANSWER_KEY, "SELFINSTRUCT_BATCH_POLL": "0.02"}
    with fake_openai(answer_or_judge, api_key=ANSWER_KEY, models=MODELS, routes=batches) as srv:
        make_answer_pool(tmp_path / "run" / "tasks.jsonl", 20)
        subprocess.run(_cli(tmp_path / "run", tmp_path / "reference", srv.url, 4), env=env, check=True, timeout=120)
        srv.reset()
        out = tmp_path / "killed"
        cmd = [*_cli(tmp_path / "run", out, srv.url, 4), "--batch"]
        proc = subprocess.Popen(cmd, env=env, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while _batches_recorded(out) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert _batches_recorded(out) == 2 and len(batches.created) == 2, "kill with a batch per model in flight"
        batches.finish(srv)  # a day later
        served = srv.served_tokens
        capped = subprocess.run([*cmd, "--max-tokens-total", "1"], env=env, capture_output=True, text=True,
                                timeout=120)  # fmt: skip
        assert capped.returncode == 0, capped.stderr
        assert "collected" in capped.stderr and "no request of this run took" in capped.stderr
        assert "this run: 0 asked, 0 tokens;" in capped.stdout  # the killed run's lines (not below zero)
        ledger = ResponseJournal(out / "responses.jsonl")  # what the run directory spent, read afresh
        spent = ledger.spend.total()
        ledger.close()
        assert ledger.unanswered == {} and spent.unanswered == 0
        assert spent.prompt_tokens + spent.completion_tokens == served  # what the server served, nothing reserved
        state = json.loads((out / "respond.json").read_text())
        assert state["counts"]["pending"] == 0
        mark = len(srv.requests)
        full = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        assert full.returncode == 0, full.stderr
        assert len(srv.requests) == mark  # everything replayed from the journal
    assert len(batches.created) == 2 and set(batches.submissions.values()) == {1}, "a request was submitted twice"
    for name in ("answers.jsonl", "tasks.jsonl"):
        assert (out / name).read_bytes() == (tmp_path / "reference" / name).read_bytes()


def test_a_resume_whose_requests_take_an_earlier_runs_batch_lines_counts_nothing_as_its_own(
    tmp_path: Path, fake_openai: StartServer, fake_batches: Any
) -> None:
    """Killed with a batch per model in flight, resumed while they still run: the resume's requests wait for the
    killed run's lines (nothing is submitted again), and when the batches finish they take their replies. Those
    were the killed run's: the resume's own spend is nothing, its summary says 0 tokens (it said a negative
    number: each line's reservation taken out of counts that never held it), and respond.json's spend, from the
    journal, is what the server served."""
    batches = fake_batches(step_seconds=600)
    env = {k: v for k, v in os.environ.items() if k not in RESPOND_ENV}
    env |= {"OPENAI_API_KEY": ANSWER_KEY, "SELFINSTRUCT_BATCH_POLL": "0.02"}
    with fake_openai(answer_or_judge, api_key=ANSWER_KEY, models=MODELS, routes=batches) as srv:
        make_answer_pool(tmp_path / "run" / "tasks.jsonl", 20)
        out = tmp_path / "killed"
        cmd = [*_cli(tmp_path / "run", out, srv.url, 4), "--batch"]
        proc = subprocess.Popen(cmd, env=env, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while _batches_recorded(out) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert len(batches.created) == 2, "kill with a batch per model in flight"
        polled = sum(batches.retrieved.values())
        resume = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        # The sweep asks each batch once; polls beyond that are the requests waiting for the killed run's lines.
        while sum(batches.retrieved.values()) < polled + 6 and time.monotonic() < deadline:
            time.sleep(0.02)
        batches.finish(srv)
        stdout, stderr = resume.communicate(timeout=120)
        served = srv.served_tokens
    assert resume.returncode == 0, stderr
    assert len(batches.created) == 2 and set(batches.submissions.values()) == {1}
    assert ", 0 tokens;" in stdout, stdout
    spend = json.loads((out / "respond.json").read_text())["spend"]
    assert spend["tokens"] == served
