"""`respond --model-price MODEL=IN,OUT` (issue 24): each model's answers charged at its own prices, by --max-cost
too, and on resume from the journal (each line names its model); a journal written before lines named their
model still resumes paying nothing. Two fake servers, one model each, meter the tokens each model served."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from selfinstruct.cli.app import cli
from selfinstruct.engine.types import ModelPrices, Prices, StepUsage
from selfinstruct.pipeline.respond.output import UNRECORDED, spend_by_model
from tests.servers import ANSWER_KEY, RESPOND_ENV, FakeOpenAIServer, StartServer, answer_or_judge, make_answer_pool

OTHER_KEY = "sk-other-SECRET-6666"
STRONG, WEAK = 100.0, 1.0  # USD per 1M tokens, prompt and completion alike: a model's cost is its tokens x price


def _respond(source: Path, out: Path, *args: str) -> tuple[int, str, str]:
    argv = ["respond", str(source), "--out", str(out), "-q", "--seed", "5", *args]
    result = CliRunner().invoke(cli, argv, env={**RESPOND_ENV, "OTHER_KEY": OTHER_KEY})
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def servers(fake_openai: StartServer) -> tuple[FakeOpenAIServer, FakeOpenAIServer]:
    """ "weak" on the main server, "strong" on another: each one's served_tokens are one model's."""
    return (fake_openai(answer_or_judge, api_key=ANSWER_KEY, models=["weak"]),
            fake_openai(answer_or_judge, api_key=OTHER_KEY, models=["strong"]))  # fmt: skip


def _models(main: FakeOpenAIServer, other: FakeOpenAIServer) -> list[str]:
    """Both models, strong first; weak at the default prices, strong at its own."""
    return ["--base-url", main.url, "--model", "strong", "--model", "weak", "--model-base-url", f"strong={other.url}",
            "--model-api-key-env", "strong=OTHER_KEY", "--price-input", str(WEAK), "--price-output", str(WEAK),
            "--model-price", f"strong={STRONG},{STRONG}", "--max-tokens", "60"]  # fmt: skip


def _served_cost(main: FakeOpenAIServer, other: FakeOpenAIServer) -> float:
    return (other.served_tokens * STRONG + main.served_tokens * WEAK) / 1e6


def test_each_model_is_charged_at_its_own_price_by_the_cap_and_on_resume(
    tmp_path: Path, servers: tuple[FakeOpenAIServer, FakeOpenAIServer]
) -> None:
    main, other = servers
    make_answer_pool(tmp_path / "run" / "tasks.jsonl", 40)
    code, _, stderr = _respond(tmp_path / "run", tmp_path / "full", *_models(main, other), "--concurrency", "4")
    assert code == 0, stderr
    spend = json.loads((tmp_path / "full" / "respond.json").read_text(encoding="utf-8"))["spend"]
    assert spend["models"]["strong"]["prompt_tokens"] + spend["models"]["strong"]["completion_tokens"] == (
        other.served_tokens
    )
    assert spend["models"]["weak"]["cost"] == pytest.approx(main.served_tokens * WEAK / 1e6)
    assert spend["models"]["strong"]["cost"] == pytest.approx(other.served_tokens * STRONG / 1e6)
    full = _served_cost(main, other)
    assert spend["cost"] == pytest.approx(full)
    # Capped at a third, then resumed under two thirds: at the default (weak's) prices the strong answers would
    # look a hundred times cheaper, and both caps would be passed (the resume's opening spend is the journal's).
    main.reset()
    other.reset()
    out = tmp_path / "capped"
    for share in (1 / 3, 2 / 3):
        code, _, stderr = _respond(tmp_path / "run", out, *_models(main, other), "--max-cost", f"{full * share:.6f}")
        assert code == 3 and "raise the cap" in stderr
        assert 0 < _served_cost(main, other) <= full * share
        assert other.served_tokens > 0 and main.served_tokens > 0
    asked = len(main.requests) + len(other.requests)
    code, _, stderr = _respond(tmp_path / "run", out, *_models(main, other), "--max-cost", f"{full * 2:.6f}")
    assert code == 0, stderr
    state = json.loads((out / "respond.json").read_text(encoding="utf-8"))
    assert state["counts"]["pending"] == 0 and len(main.requests) + len(other.requests) > asked
    assert state["spend"]["cost"] == pytest.approx(_served_cost(main, other))  # the directory's, from the journal
    for name in ("answers.jsonl", "tasks.jsonl"):
        assert (out / name).read_bytes() == (tmp_path / "full" / name).read_bytes()


def test_a_journal_without_models_resumes_paying_nothing(
    tmp_path: Path, servers: tuple[FakeOpenAIServer, FakeOpenAIServer]
) -> None:
    """Lines journaled before lines named their model: replayed (keys are unchanged), and their spend priced at
    the highest prices known, so that a cap never counts less than was spent."""
    main, other = servers
    make_answer_pool(tmp_path / "run" / "tasks.jsonl", 20)
    out = tmp_path / "old"
    code, _, stderr = _respond(tmp_path / "run", out, *_models(main, other))
    assert code == 0, stderr
    ledger = out / "responses.jsonl"
    lines = [json.loads(line) for line in ledger.read_text(encoding="utf-8").splitlines()]
    assert {line.get("model") for line in lines} == {"strong", "weak"}
    old = [{k: v for k, v in line.items() if k != "model"} for line in lines]
    ledger.write_text("".join(json.dumps(line) + "\n" for line in old), encoding="utf-8")
    answers = (out / "answers.jsonl").read_bytes()
    asked = len(main.requests) + len(other.requests)
    tokens = main.served_tokens + other.served_tokens
    code, _, stderr = _respond(tmp_path / "run", out, *_models(main, other), "--max-cost", str(tokens * STRONG / 1e6))
    assert code == 0, stderr
    assert len(main.requests) + len(other.requests) == asked and (out / "answers.jsonl").read_bytes() == answers
    spend = json.loads((out / "respond.json").read_text(encoding="utf-8"))["spend"]
    assert list(spend["models"]) == ["(model not recorded)"]
    assert spend["cost"] == pytest.approx(tokens * STRONG / 1e6)  # the highest prices: never less than spent


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model-price", "strong=2,8", "--max-cost", "1"], "--model-price weak=IN,OUT"),
        (["--model-price", "nosuch=2,8"], "nosuch is not a --model"),
        (["--model-price", "strong=2"], "give MODEL=INPUT,OUTPUT"),
        (["--model-price", "strong=2,8", "--model-price", "strong=3,9"], "given twice"),
    ],
)
def test_bad_model_prices_exit_2_before_anything_is_written(
    tmp_path: Path, servers: tuple[FakeOpenAIServer, FakeOpenAIServer], args: list[str], message: str
) -> None:
    main, _ = servers
    make_answer_pool(tmp_path / "run" / "tasks.jsonl", 3)
    out = tmp_path / "out"
    code, _, stderr = _respond(tmp_path / "run", out, "--base-url", main.url, "--model", "strong", "--model", "weak",
                               *args)  # fmt: skip
    assert code == 2 and message in stderr and len(stderr.strip().splitlines()) == 1
    assert "Traceback" not in stderr and not out.exists() and main.requests == []


def test_the_dry_run_prices_each_model_apart(
    tmp_path: Path, servers: tuple[FakeOpenAIServer, FakeOpenAIServer]
) -> None:
    main, other = servers
    make_answer_pool(tmp_path / "run" / "tasks.jsonl", 10)
    code, stdout, stderr = _respond(tmp_path / "run", tmp_path / "out", *_models(main, other), "--dry-run")
    assert code == 0, stderr
    assert main.requests == other.requests == [] and not (tmp_path / "out").exists()
    lines = stdout.splitlines()
    total = next(line for line in lines if line.strip().startswith("cost "))
    strong = next(line for line in lines if line.strip().startswith("strong "))
    weak = next(line for line in lines if line.strip().startswith("weak "))
    assert "each model at its prices" in total and "at $100 / $100" in strong and "at $1 / $1" in weak

    def dollars(line: str) -> float:
        return float(line.split("$")[1].split()[0].replace(",", ""))

    assert dollars(total) == pytest.approx(dollars(strong) + dollars(weak), abs=2e-4)
    assert dollars(weak) == pytest.approx(dollars(strong) / 100, abs=1e-4)  # the same prompts at 1/100 the price


def test_each_models_spend_comes_by_name_whichever_answer_landed_first() -> None:
    """respond.json, stats and the card list the models' spend in one order, by name with charges that name no model
    last, not in the journal's order (which answer landed first varies from run to run)."""
    counts = {"weak": StepUsage(1, 10, 5), "": StepUsage(1, 3, 2), "strong": StepUsage(2, 20, 10)}
    spend = spend_by_model(counts, ModelPrices(Prices(1.0, 1.0)))
    assert list(spend["models"]) == ["strong", "weak", UNRECORDED]
    assert spend["tokens"] == 50
    assert spend_by_model(dict(reversed(counts.items())), ModelPrices(Prices(1.0, 1.0))) == spend
