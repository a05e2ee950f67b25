"""Honest progress: what is in flight, retries and waits, tokens and cost; log lines without a terminal."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from selfinstruct.cli.app import cli
from selfinstruct.cli.progress import ProgressView, describe
from selfinstruct.engine.types import EndpointSettings, Prices
from selfinstruct.pipeline.generate import generate
from selfinstruct.pipeline.settings import GenerateSettings
from tests.servers import Fault, StartServer


def test_without_a_terminal_one_line_every_10_s() -> None:
    now = [0.0]
    out = io.StringIO()
    view = ProgressView(50, interactive=False, stream=out, clock=lambda: now[0])
    for second in range(35):
        now[0] = float(second)
        view(second, {"in_flight": 3, "requests": second, "tokens": 100 * second, "waiting": "429: waiting 30 s"})
    lines = out.getvalue().splitlines()
    assert len(lines) == 4  # at 0, 10, 20 and 30 s
    assert "generate: 30/50 tasks; 3 in flight, 429: waiting 30 s, 30 requests" in lines[-1]
    assert "3,000 tokens" in lines[-1]


def test_describe_shows_cost_when_priced() -> None:
    assert describe({"in_flight": 0, "cost": 0.0123}).endswith("$0.0123")
    assert "$" not in describe({"in_flight": 0})


def test_progress_reports_waits_retries_in_flight_and_cost(
    tmp_path: Path, scripted_server: StartServer, seeds: Path
) -> None:
    seen: list[dict[str, Any]] = []
    with scripted_server() as server:
        server.inject(Fault(status=429, retry_after=2.5))
        settings = GenerateSettings(
            seeds=seeds,
            out=tmp_path / "run",
            n=5,
            endpoint=EndpointSettings(base_url=server.url, api_key="k", model="fake-model", concurrency=1),
            seed=1,
            prices=Prices(0.15, 0.60),
        )
        report = generate(settings, progress=lambda size, postfix: seen.append(postfix))
    assert report.status == "complete"
    waits = [p["waiting"] for p in seen if "waiting" in p]
    assert waits and waits[0].startswith("429") and "waiting 2 s" in waits[0]  # shown while it waits
    assert any(p["in_flight"] == 1 for p in seen) or len(seen) >= 3
    assert seen[-1]["retries"] == 1 and seen[-1]["tokens"] > 0 and seen[-1]["cost"] > 0


def test_cli_without_a_terminal_logs_lines(tmp_path: Path, scripted_server: StartServer, seeds: Path) -> None:
    with scripted_server() as server:
        argv = ["generate", "--seeds", str(seeds), "--out", str(tmp_path / "run"), "--base-url", server.url]
        result = CliRunner().invoke(cli, [*argv, "--model", "fake-model", "-n", "3"], env={"OPENAI_API_KEY": None})
    assert result.exit_code == 0, result.stderr
    assert "generate: 0/3 tasks; 0 in flight" in result.stderr
    assert "this run:" in result.stdout and "run directory, all runs:" in result.stdout
