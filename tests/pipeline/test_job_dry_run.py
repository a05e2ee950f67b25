"""`respond --dry-run` and `prefer --dry-run`: one rendered prompt per template, the requests, their tokens and
cost at the prices, from the plan alone: no request reaches the server, nothing is written (respond does not
even create its run directory), and what the journal already holds is left out."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import selfinstruct
from selfinstruct.engine.budget import typical_tokens
from selfinstruct.engine.types import Prices
from tests.servers import (
    ANSWER_KEY,
    ANSWER_MODELS,
    FakeOpenAIServer,
    StartServer,
    answer_or_judge,
    answered_by_question,
    make_answer_pool,
    questions_of,
)

PRICES = ("--price-input", "2.5", "--price-output", "10")


def figures(stdout: str) -> dict[str, int]:
    """The estimate's table: requests, prompt tokens, completion tokens (about, and at most)."""
    out = {k: int(re.search(rf"  {k} +([\d,]+)", stdout)[1].replace(",", "")) for k in  # type: ignore[index]
           ("requests", "prompt tokens", "completion tokens")}  # fmt: skip
    out["at most"] = int(re.search(r"at most ([\d,]+)\)", stdout)[1].replace(",", ""))  # type: ignore[index]
    return out


def tree(path: Path) -> dict[str, str]:
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(path.rglob("*"))
            if p.is_file()}  # fmt: skip


def test_respond_dry_run_renders_counts_and_prices_without_a_request_or_a_directory(
    tmp_path: Path, fake_openai: StartServer, respond_cli: Any
) -> None:
    server: FakeOpenAIServer = fake_openai(answer_or_judge, api_key=ANSWER_KEY, models=ANSWER_MODELS)
    tasks = make_answer_pool(tmp_path / "run" / "tasks.jsonl", 12)
    out = tmp_path / "answers"
    code, stdout, stderr = respond_cli(server, tmp_path / "run", out, "--model", "strong", "--model", "weak",
                                       "--samples", "2", "--max-tokens", "200", "--dry-run", *PRICES)  # fmt: skip
    assert code == 0, stderr
    assert not out.exists() and server.requests == []
    qs = questions_of(tasks)
    prompts = [
        f"Do task #{tid.rsplit('_', 1)[1]}.\n\n{inp}" if inp else f"Do task #{tid.rsplit('_', 1)[1]}."
        for tid, _, inp in qs
    ]  # fmt: skip  (prompts/en/respond.txt and respond_noinput.txt)
    assert "===== chat prompt, an instruction without an input =====\nDo task #0.\n" in stdout
    assert "===== chat prompt, an instruction with an input =====\nDo task #1.\n\ninput 1.0\n" in stdout
    got = figures(stdout)
    per_prompt = 2 * 2  # models x samples
    assert got["requests"] == len(qs) * per_prompt and f"({len(qs) * per_prompt} responses, 0 already" in stdout
    assert got["prompt tokens"] == round(sum(typical_tokens(p) for p in prompts for _ in range(per_prompt)))
    assert got["completion tokens"] == got["requests"] * 200 == got["at most"]  # 250 typical, capped at 200
    cost = Prices(2.5, 10).cost(got["prompt tokens"], got["completion tokens"])
    assert f"${cost:,.4f}" in stdout and "strong, weak" in stdout


def test_respond_dry_run_leaves_out_what_is_journaled_and_changes_nothing(
    tmp_path: Path, fake_openai: StartServer, respond_cli: Any
) -> None:
    server: FakeOpenAIServer = fake_openai(answer_or_judge, api_key=ANSWER_KEY, models=ANSWER_MODELS)
    make_answer_pool(tmp_path / "run" / "tasks.jsonl", 12)
    out = tmp_path / "answers"
    args = ("--model", "strong", "--model", "weak", "--seed", "4", "--max-tokens", "40")
    assert respond_cli(server, tmp_path / "run", out, *args, "--max-tokens-total", "500")[0] == 3  # part done
    before, asked = tree(out), len(server.requests)
    code, stdout, stderr = respond_cli(server, tmp_path / "run", out, *args, "--dry-run")
    assert code == 0, stderr
    assert tree(out) == before and len(server.requests) == asked
    answered = len((out / "answers.jsonl").read_text().splitlines())
    planned = len(questions_of(make_answer_pool(tmp_path / "copy.jsonl", 12))) * 2
    assert 0 < answered < planned and figures(stdout)["requests"] == planned - answered
    assert f"({planned} responses, {answered} already in the journal)" in stdout
    other_seed = (*args[:4], "--seed", "5", *args[6:])
    code, _, stderr = respond_cli(server, tmp_path / "run", out, *other_seed, "--dry-run")
    assert code == 2 and "seed=4" in stderr  # as the run itself refuses to resume with other settings
    assert tree(out) == before and len(server.requests) == asked


def test_respond_dry_run_of_the_embedded_model_starts_nothing(tmp_path: Path, respond_cli: Any) -> None:
    from click.testing import CliRunner

    from selfinstruct.cli.app import cli

    make_answer_pool(tmp_path / "run" / "tasks.jsonl", 3)
    env = {"OPENAI_API_KEY": None, "OPENAI_BASE_URL": None, "SELFINSTRUCT_MODEL": None}
    result = CliRunner().invoke(cli, ["respond", str(tmp_path / "run"), "--out", str(tmp_path / "a"), "--dry-run"],
                                env=env)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "the embedded llama.cpp server" in result.stdout and "NOTE: the answers are the embedded" in result.stdout
    assert not (tmp_path / "a").exists()


def test_prefer_dry_run_per_rubric_and_pairwise_asks_and_writes_nothing(
    answers: Path, answers_server: FakeOpenAIServer, prefer_cli: Any
) -> None:
    before, asked = tree(answers), len(answers_server.requests)
    code, stdout, stderr = prefer_cli(answers, "--rubric", "all", "--dry-run", *PRICES)
    assert code == 0, stderr
    responses = [r for rs in answered_by_question(answers).values() for r in rs]
    got = figures(stdout)
    assert got["requests"] == 4 * len(responses) and got["completion tokens"] == 60 * got["requests"]
    assert got["at most"] == 2 * 256 * got["requests"]  # both attempts at the judge's max_tokens
    for rubric in ("helpfulness", "honesty", "instruction_following", "truthfulness"):
        assert f"===== prefer_{rubric} =====\nYou are rating one response" in stdout
    assert "judge judge" in stdout and "$" in stdout
    code, stdout, stderr = prefer_cli(answers, "--mode", "pairwise", "--dry-run")
    assert code == 0, stderr
    pairs = sum(len(rs) * (len(rs) - 1) for rs in answered_by_question(answers).values())
    assert figures(stdout)["requests"] == pairs and "===== prefer_pairwise =====" in stdout
    assert "cost: give --price-input" in stdout
    assert tree(answers) == before and len(answers_server.requests) == asked


def test_prefer_dry_run_after_judging_has_nothing_left_to_ask(answers: Path, prefer_cli: Any) -> None:
    assert prefer_cli(answers, "--concurrency", "8")[0] == 0
    code, stdout, _ = prefer_cli(answers, "--dry-run")
    responses = sum(len(rs) for rs in answered_by_question(answers).values())
    assert code == 0 and figures(stdout)["requests"] == 0
    assert f"({responses} verdicts, {responses} already in the journal)" in stdout
    code, _, stderr = prefer_cli(answers, "--rubric", "all", "--dry-run")
    assert code == 2 and "rubric='overall'" in stderr  # as the run itself refuses to resume with other settings


def test_the_library_returns_the_estimate(answers: Path, answers_server: FakeOpenAIServer) -> None:
    options = selfinstruct.PreferOptions(run_dir=answers, judge_base_url=answers_server.url, api_key=ANSWER_KEY,
                                         judge_model="judge", rubric=("helpfulness", "honesty"))  # fmt: skip
    plan = selfinstruct.estimate_prefer(options)
    responses = sum(len(rs) for rs in answered_by_question(answers).values())
    assert (plan.requests, plan.journaled, plan.cost) == (2 * responses, 0, None)
    assert set(plan.prompts) == {"prefer_helpfulness", "prefer_honesty"}
