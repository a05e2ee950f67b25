"""`selfinstruct audit` end to end with the real embedded model as the judge: a smoke test of the whole path
(server, requests, parsing, journal, summary). A 135M model is no judge, so only the bookkeeping is checked."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e  # skipped without the embedded model's runtime or model (tests/conftest.py)


@pytest.mark.timeout(1500)
def test_audit_with_the_embedded_model(
    tmp_path: Path,
    seeds: Path,
    clean_env: dict[str, str],
    local_servers_gone: Callable[..., list[Any]],
    selfinstruct_cmd: list[str],
) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    lines = seeds.read_text(encoding="utf-8").splitlines()[:3]
    (run_dir / "tasks.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    # One request at a time with a long timeout: on 2 shared cores a 450-token judge prompt can take a minute.
    cmd = [*selfinstruct_cmd, "audit", str(run_dir), "--seed", "1", "-q", "--concurrency", "1", "--timeout", "600"]
    proc = subprocess.Popen(cmd, env=clean_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stdout, stderr = proc.communicate(timeout=1400)
    summary = json.loads((run_dir / "audit_summary.json").read_text(encoding="utf-8"))
    unusable = summary["judged"] == 0  # not one readable verdict: exit 5, "judge unusable"
    assert proc.returncode == (5 if unusable else 0), stderr
    assert "embedded model" in stderr
    assert "A 135M model is not a real judge" in stdout
    journal = [json.loads(line) for line in (run_dir / "audit.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(journal) == 3 and {r["status"] for r in journal} <= {"judged", "unreadable"}
    assert all(r["prompt_tokens"] > 0 for r in journal)
    assert summary["embedded_judge"] is True and "not a real judge" in summary["note"]
    assert summary["judged"] + summary["unreadable"] == 3 and summary["pending"] == 0
    assert local_servers_gone(proc.pid) == []
    # Resuming asks nothing: every instance is journaled (a seed task has one).
    again = subprocess.run(cmd, env=clean_env, capture_output=True, text=True, timeout=300)
    assert again.returncode == (5 if unusable else 0), again.stderr
    assert "this run: 0 instances asked" in again.stdout and "3 were already in" in again.stdout
