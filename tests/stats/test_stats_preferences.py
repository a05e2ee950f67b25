"""`stats` on a respond run judged by prefer: responses per model, score distributions, order agreement, and the
length of chosen against rejected answers (the share of pairs the longer answer won)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from selfinstruct.cli.app import cli
from selfinstruct.text import word_count
from tests.servers import journal_lines as lines


def stats(path: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["stats", str(path), "--no-verbs", "--sample", "0", *args])
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_a_respond_run_shows_responses_per_model(answers: Path) -> None:
    got = json.loads(stats(answers, "--json"))["preferences"]
    state = json.loads((answers / "respond.json").read_text())
    assert got["responses"] == state["counts"] and got["models"] == ["strong", "weak"] and "prefer" not in got
    text = stats(answers)
    assert "answers (selfinstruct respond)" in text and "  weak: answered " in text and "refusal" in text


def test_a_respond_run_shows_what_each_model_spent(answers: Path) -> None:
    """respond.json's spend per model (from the journal): here each response's tokens, as answers.jsonl has them
    (the fake never fails, so no attempt is charged twice)."""
    spend = json.loads(stats(answers, "--json"))["preferences"]["spend"]
    records = lines(answers / "answers.jsonl")
    for model in ("strong", "weak"):
        tokens = sum(r["prompt_tokens"] + r["completion_tokens"] for r in records if r["model"] == model)
        assert spend["models"][model]["prompt_tokens"] + spend["models"][model]["completion_tokens"] == tokens
        assert spend["models"][model]["cost"] is None  # no prices given
    strong = spend["models"]["strong"]
    assert f"  spent: strong {strong['prompt_tokens'] + strong['completion_tokens']:,} tokens; weak" in stats(answers)


def test_a_judged_run_shows_scores_agreement_and_length_bias(answers: Path, prefer_cli: Any) -> None:
    assert prefer_cli(answers, "--mode", "pairwise", "--pairs", "best-each")[0] == 0
    got = json.loads(stats(answers, "--json"))["preferences"]["prefer"]
    summary = json.loads((answers / "prefer.json").read_text())
    pairs = lines(answers / "preferences.jsonl")
    assert got["pairs"] == len(pairs) == summary["pairs"] and got["position"] == summary["position"]
    longer = sum(len(p["chosen"]["output"]) > len(p["rejected"]["output"]) for p in pairs)
    assert got["length"]["longer_chosen"] == longer and got["length"]["of"] == len(pairs)
    mean = sum(word_count(p["chosen"]["output"]) for p in pairs) / len(pairs)
    assert abs(got["lengths"]["chosen"]["mean"] - mean) < 1e-9
    text = stats(answers)
    assert "preferences (selfinstruct prefer: pairwise, judge judge)" in text
    assert f"the longer answer won {longer} of {len(pairs)} pairs" in text and "order-dependent" in text
