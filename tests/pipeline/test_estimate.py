"""`generate --dry-run` against a real run on the fake endpoint: the estimate must land within 25%."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from selfinstruct.cli.app import cli
from tests.servers import StartServer, bpe_like_count

PRICES = ["--price-input", "0.15", "--price-output", "0.60"]


def _number(pattern: str, text: str) -> float:
    match = re.search(pattern, text)
    assert match, (pattern, text)
    return float(match.group(1).replace(",", ""))


@pytest.mark.parametrize(
    "args",
    [["-n", "50"], ["-n", "150", "--concurrency", "16"], ["-n", "60", "--language", "zh", "--seeds", "{zh_seeds}"]],
)
def test_dry_run_estimate_within_25_percent_of_a_real_run(
    tmp_path: Path, args: list[str], scripted_server: StartServer, seeds: Path, zh_seeds: Path
) -> None:
    # The fake counts tokens like a BPE pre-tokenizer (words, numbers, punctuation, CJK characters), not as
    # whitespace words, so that its usage resembles a real endpoint's.
    with scripted_server(count_tokens=bpe_like_count) as server:
        argv = ["generate", "--seeds", str(seeds), "--out", str(tmp_path / "run"), "--base-url", server.url]
        argv += ["--model", "fake-model", "--seed", "3", "-q", *PRICES, *(a.format(zh_seeds=zh_seeds) for a in args)]
        env = {"OPENAI_API_KEY": None, "OPENAI_BASE_URL": None}
        plan = CliRunner().invoke(cli, [*argv, "--dry-run"], env=env)
        assert plan.exit_code == 0 and server.requests == []
        real = CliRunner().invoke(cli, argv, env=env)
        assert real.exit_code == 0, real.stderr
    usage = json.loads((tmp_path / "run" / "run.json").read_text())["usage"].values()
    prompt = sum(s["prompt_tokens"] for s in usage)
    completion = sum(s["completion_tokens"] for s in usage)
    estimated_tokens = _number(r"tokens: ([\d,]+) \(about\)", plan.stdout)
    estimated_cost = _number(r"cost: \$([\d.]+) \(about\)", plan.stdout)
    assert abs(estimated_tokens / (prompt + completion) - 1) <= 0.25, (estimated_tokens, prompt + completion)
    real_cost = (prompt * 0.15 + completion * 0.60) / 1e6
    assert abs(estimated_cost / real_cost - 1) <= 0.25, (estimated_cost, real_cost)
    assert re.search(r"total\s+[\d,]+\s+[\d,]+\s+[\d,]+", plan.stdout)  # prompt and completion apart


def test_dry_run_without_prices_says_how_to_get_dollars(tmp_path: Path, seeds: Path) -> None:
    argv = ["generate", "--seeds", str(seeds), "--out", str(tmp_path / "run"), "--base-url", "http://127.0.0.1:9/v1"]
    result = CliRunner().invoke(cli, [*argv, "-n", "100", "--dry-run"], env={"OPENAI_API_KEY": None})
    assert result.exit_code == 0 and "give --price-input and --price-output" in result.stdout
