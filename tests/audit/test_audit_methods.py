"""`audit` on the pools of the methods that answer their own instructions (Magpie, Evol-Instruct): one instance per
task, an empty input, judged as any other task."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from selfinstruct.cli.app import cli
from tests.servers import FakeOpenAIServer, Request, Responder, StartServer

KEY = "sk-test-audit-methods"
VERDICT = {"valid_instruction": "yes", "appropriate_input": "yes", "correct_output": "yes", "score": 4,
           "reason": "a fine answer"}  # fmt: skip


@pytest.mark.parametrize(
    "method", [["--method", "magpie", "--api", "completions", "--model", "Qwen2.5-7B"], ["--method", "evol-instruct"]]
)
def test_every_task_of_the_pool_is_judged(
    tmp_path: Path,
    fake_openai: StartServer,
    scripted: Responder,
    run_audit: Callable[..., tuple[int, str, str]],
    method: list[str],
) -> None:
    out = tmp_path / "run"
    generator = fake_openai(scripted, api_key=KEY)
    argv = ["generate", "--out", str(out), "--base-url", generator.url, "--seed", "7", "-n", "6", "-q", *method]
    result = CliRunner().invoke(cli, argv, env={"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": None})
    assert result.exit_code == 0, result.stderr

    def judge(request: Request) -> str:
        assert "(none)" in request.prompt  # the empty input, as the audit template shows it
        return json.dumps(VERDICT)

    judge_server: FakeOpenAIServer = fake_openai(judge, api_key=KEY)
    code, _, stderr = run_audit(judge_server, out)
    assert code == 0, stderr
    summary = json.loads((out / "audit_summary.json").read_text())
    assert summary["audited"] == summary["judged"] == 6
