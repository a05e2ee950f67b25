"""`selfinstruct prefer` on the answers of a `respond` run, against the loopback fake server with scripted judges.

The scripted judge rates an answer by a pure function of its text (`quality`, 1-10), as JSON or labelled lines;
it garbles every verdict about task numbers ending in 5 when divided by 7 (unreadable, asked twice). In
pairwise mode it prefers the answer of higher quality whatever the order, except on task numbers with
remainder 3 mod 5, where it always names A (order-dependent). The judge "first-judge" always names A. So every
expected pair is computed here from the rules, independently of the code under test.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from selfinstruct.engine.journal import ResponseJournal
from tests.servers import (
    ANSWER_KEY,
    JUDGES,
    RESPOND_ENV,
    FakeOpenAIServer,
    StartServer,
    answer_or_judge,
    answered_by_question,
    garbled,
    journal_lines,
    order_dependent,
    quality,
    tolerant_lines,
)

PreferCli = Any
questions = answered_by_question
lines = journal_lines


def expected_score_pairs(run_dir: Path, rule: str, margin: float) -> list[tuple[Any, ...]]:
    """(task, instance, chosen model/sample, rejected model/sample) the rules give, from the scripted scores."""
    want = []
    for (task_id, instance), rs in questions(run_dir).items():
        if garbled(int(task_id.rsplit("_", 1)[1])) or len(rs) < 2:
            continue
        scored = [(quality(r["output"]), r) for r in rs]
        top = max(s for s, _ in scored)
        best = [r for s, r in scored if s == top]
        below = [(s, r) for s, r in scored if top - s >= margin]
        if len(best) != 1 or not below:
            continue
        if rule == "best-worst":
            below = [next((s, r) for s, r in below if s == min(x for x, _ in below))]
        want += [(task_id, instance, best[0]["model"], best[0]["sample"], r["model"], r["sample"]) for _, r in below]
    return want


def got_pairs(run_dir: Path) -> list[tuple[Any, ...]]:
    return [(p["task_id"], p["instance"], p["chosen"]["model"], p["chosen"]["sample"], p["rejected"]["model"],
             p["rejected"]["sample"]) for p in lines(run_dir / "preferences.jsonl")]  # fmt: skip


@pytest.mark.parametrize(("rule", "margin"), [("best-worst", "1"), ("best-each", "3")])
def test_score_mode_every_answer_judged_or_unreadable_and_pairs_as_the_rules_say(
    answers: Path, prefer_cli: PreferCli, rule: str, margin: str
) -> None:
    code, stdout, stderr = prefer_cli(answers, "--pairs", rule, "--margin", margin, "--concurrency", "8")
    assert code == 0, stderr
    answered = [r for rs in questions(answers).values() for r in rs]
    judgments = lines(answers / "judgments.jsonl")
    assert [(j["task_id"], j["instance"], j["model"], j["sample"]) for j in judgments] == [
        (r["task_id"], r["instance"], r["model"], r["sample"]) for r in answered
    ]  # every answered response, once, in the answers' order
    for j, r in zip(judgments, answered, strict=True):
        if garbled(int(j["task_id"].rsplit("_", 1)[1])):
            assert j["status"] == "unreadable" and j["attempts"] == 2 and "score" not in j
        else:
            assert (j["status"], j["score"]) == ("judged", quality(r["output"])) and j["reason"].startswith("Scripted")
    assert got_pairs(answers) == expected_score_pairs(answers, rule, float(margin)) != []
    summary = json.loads((answers / "prefer.json").read_text())
    assert summary["pairs"] == len(got_pairs(answers)) and summary["pairs_rule"] == rule
    assert summary["verdicts"]["judged"] + summary["verdicts"]["unreadable"] == len(answered)
    assert summary["verdicts"]["pending"] == 0
    prefs = lines(answers / "preferences.jsonl")
    assert all(p["chosen"]["score"] - p["rejected"]["score"] >= float(margin) for p in prefs)
    assert summary["length"]["longer_chosen"] == sum(len(p["chosen"]["output"]) > len(p["rejected"]["output"])
                                                     for p in prefs)  # fmt: skip
    assert set(summary["scores"]) == {"strong", "weak"} and f"{summary['pairs']} pairs from" in stdout


def test_pairwise_counts_order_dependent_verdicts_and_pairs_only_consistent_wins(
    answers: Path, prefer_cli: PreferCli
) -> None:
    code, stdout, stderr = prefer_cli(answers, "--mode", "pairwise", "--pairs", "best-each")
    assert code == 0, stderr
    qs = questions(answers)
    judgments = lines(answers / "judgments.jsonl")
    assert len(judgments) == sum(len(rs) * (len(rs) - 1) for rs in qs.values())  # every pair, both orders
    want, order_dependent_pairs = [], 0
    for (task_id, instance), rs in qs.items():
        if len(rs) < 2:
            continue
        if order_dependent(int(task_id.rsplit("_", 1)[1])):
            order_dependent_pairs += len(rs) * (len(rs) - 1) // 2  # never used: A in both orders
            continue
        wins = {(r["model"], r["sample"]): sum(quality(r["output"]) > quality(o["output"]) for o in rs) for r in rs}
        top = max(wins.values())
        best = [r for r in rs if wins[(r["model"], r["sample"])] == top]
        if len(best) == 1:
            want += [(task_id, instance, best[0]["model"], best[0]["sample"], r["model"], r["sample"])
                     for r in rs if quality(best[0]["output"]) > quality(r["output"])]  # fmt: skip
    assert got_pairs(answers) == want != []
    position = json.loads((answers / "prefer.json").read_text())["position"]
    assert position["order_dependent"] == order_dependent_pairs > 0 and position["biased"] is False
    assert position["consistent"] + position["tie"] + position["order_dependent"] == len(judgments) // 2
    assert "order-dependent" in stdout


def test_a_judge_that_always_prefers_the_first_position_is_detected_and_not_used(
    answers: Path, prefer_cli: PreferCli
) -> None:
    code, _, stderr = prefer_cli(answers, "--mode", "pairwise", judge="first-judge")
    assert code == 5 and "position-biased" in stderr
    summary = json.loads((answers / "prefer.json").read_text())
    assert summary["position"]["biased"] is True and summary["position"]["first_share"] == 1.0
    assert summary["pairs"] == 0 and (answers / "preferences.jsonl").read_text() == ""
    assert summary["dropped"]["position-biased judge"] == sum(len(rs) >= 2 for rs in questions(answers).values())


def test_budget_holds_and_a_rerun_asks_nothing_journaled(
    answers: Path, answers_server: FakeOpenAIServer, prefer_cli: PreferCli
) -> None:
    server = answers_server
    start = len(server.requests)
    code, _, stderr = prefer_cli(answers, "--max-tokens-total", "4000", "--concurrency", "4")
    assert code == 3 and "raise the cap" in stderr
    judgments = lines(answers / "judgments.jsonl")
    assert sum(j["prompt_tokens"] + j["completion_tokens"] for j in judgments) <= 4000
    mark = len(server.requests)
    code, _, stderr = prefer_cli(answers, "--max-tokens-total", "4000", "--concurrency", "4")
    assert code == 3 and lines(answers / "judgments.jsonl") == judgments  # replayed, nothing lost, no room
    assert len(server.requests) == mark
    code, _, stderr = prefer_cli(answers, "--concurrency", "4")
    assert code == 0, stderr
    before = {(r.prompt, r.body.get("seed")) for r in server.requests[start:mark]}
    assert not before & {(r.prompt, r.body.get("seed")) for r in server.requests[mark:]}
    assert json.loads((answers / "prefer.json").read_text())["verdicts"]["pending"] == 0
    code, _, stderr = prefer_cli(answers, "--rubric", "honesty")
    assert code == 2 and "rubric='overall', not 'honesty'" in stderr


def test_kill_9_then_resume_asks_nothing_journaled_again(answers: Path, fake_openai: StartServer) -> None:
    env = {k: v for k, v in os.environ.items() if k not in RESPOND_ENV} | {"OPENAI_API_KEY": ANSWER_KEY}
    with fake_openai(answer_or_judge, api_key=ANSWER_KEY, models=JUDGES, latency=0.05) as srv:
        argv = [sys.executable, "-m", "selfinstruct", "prefer", str(answers), "--judge-base-url", srv.url,
                "--judge-model", "judge", "-q", "--concurrency", "4"]  # fmt: skip
        proc = subprocess.Popen(argv, env=env, stderr=subprocess.DEVNULL)
        ledger = answers / "prefer_responses.jsonl"
        deadline = time.monotonic() + 30
        while (not ledger.exists() or ledger.stat().st_size < 3000) and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        journaled = {r["key"] for r in tolerant_lines(ledger) if "key" in r}
        mark = len(srv.requests)
        subprocess.run(argv, env=env, check=True, timeout=120)
        again = len(srv.requests) - mark
    total = len(lines(answers / "judgments.jsonl"))
    attempts = sum(j["attempts"] for j in lines(answers / "judgments.jsonl"))
    assert 0 < len(journaled) < attempts and again == attempts - len(journaled)  # only what was not journaled
    assert total == sum(len(rs) for rs in questions(answers).values())


def test_outputs_do_not_depend_on_concurrency(answers: Path, prefer_cli: PreferCli, tmp_path: Path) -> None:
    digests = set()
    for concurrency in ("1", "12"):
        copy = tmp_path / f"c{concurrency}"
        copy.mkdir()
        for name in ("answers.jsonl", "respond.json"):
            (copy / name).write_bytes((answers / name).read_bytes())
        assert prefer_cli(copy, "--mode", "pairwise", "--concurrency", concurrency)[0] == 0
        digests.add(tuple((copy / n).read_bytes() for n in ("judgments.jsonl", "preferences.jsonl")))
    assert len(digests) == 1


def test_a_capped_resume_after_a_kill_collects_and_charges_the_judge_batch(
    answers: Path, fake_openai: StartServer, fake_batches: Any, tmp_path: Path
) -> None:
    """Killed with its batch in flight, then resumed with a cap that lets it ask nothing new: the batch, finished
    since, was paid, so the resume journals the verdicts (and writes them) charged what the server served, not
    the lines' reservations; the full run after it gives the synchronous judgments and submits nothing twice."""
    batches = fake_batches(step_seconds=600)  # in flight until the test finishes it
    env = {k: v for k, v in os.environ.items() if k not in RESPOND_ENV}
    env |= {"OPENAI_API_KEY": ANSWER_KEY, "SELFINSTRUCT_BATCH_POLL": "0.02"}
    runs = {}
    for name in ("reference", "killed"):
        runs[name] = tmp_path / name
        runs[name].mkdir()
        for f in ("answers.jsonl", "respond.json"):
            (runs[name] / f).write_bytes((answers / f).read_bytes())
    with fake_openai(answer_or_judge, api_key=ANSWER_KEY, models=JUDGES, routes=batches) as srv:

        def argv(run_dir: Path, *extra: str) -> list[str]:
            return [sys.executable, "-m", "selfinstruct", "prefer", str(run_dir), "--judge-base-url", srv.url,
                    "--judge-model", "judge", "-q", *extra]  # fmt: skip

        subprocess.run(argv(runs["reference"]), env=env, check=True, timeout=120, stderr=subprocess.DEVNULL)
        srv.reset()
        out = runs["killed"]
        proc = subprocess.Popen(argv(out, "--batch"), env=env, stderr=subprocess.DEVNULL)
        ledger = out / "prefer_batches.jsonl"
        deadline = time.monotonic() + 60
        while not (ledger.exists() and '"batch"' in ledger.read_text()) and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert len(batches.created) == 1
        batches.finish(srv)  # a day later
        served = srv.served_tokens
        capped = subprocess.run(argv(out, "--batch", "--max-tokens-total", "1"), env=env, capture_output=True,
                                text=True, timeout=120)  # fmt: skip
        assert capped.returncode == 3, capped.stderr  # the garbled verdicts' second attempts do not fit
        assert "collected" in capped.stderr and "no request of this run took" in capped.stderr
        assert "this run: 0 asked, 0 tokens;" in capped.stdout  # the lines were the killed run's (not below zero)
        journal = ResponseJournal(out / "prefer_responses.jsonl")  # what the judge cost, read afresh
        spent = journal.spend.total()
        journal.close()
        assert journal.unanswered == {} and spent.prompt_tokens + spent.completion_tokens == served
        judged = json.loads((out / "prefer.json").read_text())["verdicts"]
        assert judged["judged"] > 0 and judged["pending"] > 0  # the first attempts' verdicts, from the journal
        batches.step_seconds = 0  # the second attempts go in a new batch
        subprocess.run(argv(out, "--batch"), env=env, check=True, timeout=120, stderr=subprocess.DEVNULL)
    assert set(batches.submissions.values()) == {1}, "a judge request was submitted twice"
    for name in ("judgments.jsonl", "preferences.jsonl"):
        assert (out / name).read_bytes() == (runs["reference"] / name).read_bytes()
