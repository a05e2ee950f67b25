"""`stats` and the dataset card on a run whose steps went to different models (issue 23): requests, tokens and
cost per step and model, from what run.json records (each step's model and the prices it was charged at)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from selfinstruct.cli.app import cli
from selfinstruct.export.hf.card import CardInput, render_card
from selfinstruct.export.hf.provenance import gather
from selfinstruct.stats.compute import compute_stats
from selfinstruct.stats.render.html import render_html
from selfinstruct.stats.render.text import render_text
from tests.servers import Responder, StartServer

KEY = "sk-test-usage"


@pytest.fixture(scope="module")
def routed(tmp_path_factory: pytest.TempPathFactory, module_fake_openai: StartServer, scripted: Responder,
           seeds: Path) -> Path:  # fmt: skip
    """A real run directory: instances by `strong-model` on a second server, priced apart from the main model."""
    out = tmp_path_factory.mktemp("usage") / "run"
    with module_fake_openai(scripted, api_key=KEY) as main, module_fake_openai(scripted) as strong:
        argv = ["generate", "--seeds", str(seeds), "--out", str(out), "--model", "fake-model", "--seed", "7", "-q",
                "--base-url", main.url, "-n", "6", "--step-base-url", f"instances={strong.url}",
                "--step-model", "instances=strong-model", "--price-input", "0.5", "--price-output", "1.5",
                "--model-price", "strong-model=10,30"]  # fmt: skip
        result = CliRunner().invoke(cli, argv, env={"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": None})
    assert result.exit_code == 0, result.stderr
    return out


def _expected(out: Path) -> dict[str, tuple[str, float]]:
    usage = json.loads((out / "run.json").read_text(encoding="utf-8"))["usage"]
    prices = {"instructions": (0.5, 1.5), "classify": (0.5, 1.5), "instances": (10.0, 30.0)}
    models = {"instructions": "fake-model", "classify": "fake-model", "instances": "strong-model"}
    return {s: (models[s], (u["prompt_tokens"] * prices[s][0] + u["completion_tokens"] * prices[s][1]) / 1e6)
            for s, u in usage.items()}  # fmt: skip


def test_stats_lists_usage_and_cost_per_step_and_model(routed: Path) -> None:
    s = compute_stats(routed, parse_verbs=False)
    assert s.run is not None
    expected = _expected(routed)
    assert s.run.models == {step: model for step, (model, _) in expected.items()}
    assert s.run.costs == pytest.approx({step: cost for step, (_, cost) in expected.items()})
    lines = {line.split()[0]: line.split() for line in render_text(s).splitlines() if line.startswith("  ")}
    for step, (model, cost) in expected.items():
        assert lines[step][1] == model and lines[step][-1] == f"${cost:,.4f}"
    assert json.loads(json.dumps(s.to_dict()))["run"]["models"]["instances"] == "strong-model"
    page = render_html(s)
    assert "<th>model</th>" in page and "<th>cost</th>" in page and "strong-model" in page
    assert f"${expected['instances'][1]:,.4f}" in page


def test_the_card_lists_usage_and_cost_per_step_and_model(routed: Path) -> None:
    run = json.loads((routed / "run.json").read_text(encoding="utf-8"))
    card = CardInput("routed", "en", [], 0, 0, None, "", False, 0, 0.0)
    text = render_card(gather(routed, run), card, "routed_hf")
    assert "Requests and tokens by step and model, cost at each model's prices" in text
    for step, (model, cost) in _expected(routed).items():
        assert f"| {step} | {model} |" in text and f"${cost:,.4f} |" in text


def test_a_run_json_without_step_models_or_prices_shows_its_one_model(tmp_path: Path) -> None:
    """Runs made before issue 23 recorded one model and no prices: every step is that model's, no cost column."""
    out = tmp_path / "run"
    out.mkdir()
    (out / "tasks.jsonl").write_text(json.dumps({"instruction": "Name a colour.", "instances": []}) + "\n")
    usage = {"instructions": {"requests": 2, "prompt_tokens": 100, "completion_tokens": 50}}
    run = {"status": "complete", "settings": {"language": "en", "model": "old-model"}, "usage": usage}
    (out / "run.json").write_text(json.dumps(run), encoding="utf-8")
    s = compute_stats(out, parse_verbs=False)
    assert s.run is not None and s.run.models == {"instructions": "old-model"} and s.run.costs == {}
    assert "cost" not in next(line for line in render_text(s).splitlines() if "requests" in line and "step" in line)
