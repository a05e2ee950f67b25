"""What an audit changes downstream: `export --min-score` keeps only the instances scored at least X, and
`stats` and the hf dataset card show the audit's table."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from selfinstruct.audit.scores import audit_scores
from selfinstruct.cli.app import cli
from tests.servers import FakeOpenAIServer, make_pool


def _export(source: Path, out: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["export", str(source), "--format", "alpaca", "--out", str(out), *args])
    return result.exit_code, result.stdout, result.stderr


def test_export_min_score_keeps_exactly_the_instances_scored_at_least_x(
    tmp_path: Path, server: FakeOpenAIServer, run_audit: Callable[..., tuple[int, str, str]]
) -> None:
    """Issue 21 #9: each exported record is an instance the audit itself scored at least X (4.5 included)."""
    run_dir = tmp_path / "run"
    tasks = make_pool(run_dir / "tasks.jsonl", 60)
    assert run_audit(server, run_dir)[0] == 0
    scores = audit_scores(run_dir / "audit.jsonl")
    total = sum(len(t["instances"]) for t in tasks)
    for x in (1, 4.5, 5):
        out = tmp_path / f"best_{x}.json"
        code, stdout, stderr = _export(run_dir, out, "--min-score", str(x))
        want = [(t, inst) for t in tasks for k, inst in enumerate(t["instances"]) if scores.get((t["id"], k), -1) >= x]
        if not want:
            assert code == 1 and "scored none of its instances at least" in stderr and not out.exists()
            continue
        assert code == 0, stderr
        records = json.loads(out.read_text(encoding="utf-8"))
        assert records == [{"instruction": t["instruction"], **inst} for t, inst in want]
        assert f"kept {len(want)} of {total} pool instances" in stdout and f"at least {x:g}" in stdout
        assert 0 < len(want) < total


def test_export_min_score_needs_an_audit_and_a_sane_value(
    tmp_path: Path,
    server: FakeOpenAIServer,
) -> None:
    run_dir = tmp_path / "run"
    make_pool(run_dir / "tasks.jsonl", 5)
    code, _, stderr = _export(run_dir, tmp_path / "x.json", "--min-score", "4")
    assert code == 2 and "audit.jsonl" in stderr and stderr.count("\n") == 1
    code, _, stderr = _export(run_dir, tmp_path / "x.json", "--audit", str(run_dir / "audit.jsonl"))
    assert code == 2 and "pass --min-score too" in stderr
    code, _, stderr = _export(run_dir, tmp_path / "x.json", "--min-score", "7")
    assert code == 2
    code, _, stderr = _export(run_dir, tmp_path / "x.json", "--min-score", "-0.5")
    assert code == 2
    assert not (tmp_path / "x.json").exists()


def test_stats_and_the_dataset_card_show_the_audit_table(
    tmp_path: Path, server: FakeOpenAIServer, run_audit: Callable[..., tuple[int, str, str]]
) -> None:
    run_dir = tmp_path / "run"
    make_pool(run_dir / "tasks.jsonl", 40)
    result = CliRunner().invoke(cli, ["stats", str(run_dir), "--no-verbs"])
    assert result.exit_code == 0 and "audit (selfinstruct audit)" not in result.stdout  # no audit yet
    assert run_audit(server, run_dir)[0] == 0
    summary = json.loads((run_dir / "audit_summary.json").read_text(encoding="utf-8"))
    result = CliRunner().invoke(
        cli, ["stats", str(run_dir), "--no-verbs", "--json", "--html", str(tmp_path / "s.html")]
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["audit"]["judged"] == summary["judged"] and report["audit"]["questions"] == summary["questions"]
    page = (tmp_path / "s.html").read_text(encoding="utf-8")
    assert 'id="audit"' in page and "valid instruction" in page.lower()
    text = CliRunner().invoke(cli, ["stats", str(run_dir), "--no-verbs"]).stdout
    table = text.split("audit (selfinstruct audit)", 1)[1]
    assert "92%" in table and f"= {summary['audited']} audited" in table
    exported = CliRunner().invoke(cli, ["export", str(run_dir), "--format", "hf", "--out", str(tmp_path / "ds")])
    assert exported.exit_code == 0, exported.stderr
    card = (tmp_path / "ds" / "README.md").read_text(encoding="utf-8")
    assert "## Quality audit" in card and f"= {summary['audited']} audited" in card
