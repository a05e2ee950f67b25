"""A resumed `audit` replays what the judge was paid for before it reserves anything: a verdict reached the ledger
(audit_responses.jsonl) but not audit.jsonl when the run was killed between the two, or a batch finished after the
run that asked for it was gone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from selfinstruct.engine.journal import ResponseJournal
from tests.servers import FakeOpenAIServer, journal_lines, keys_of, make_pool


def test_a_resume_under_a_cap_that_fits_nothing_replays_every_paid_reply(
    tmp_path: Path, server: FakeOpenAIServer, run_audit: Callable[..., tuple[int, str, str]]
) -> None:
    """Every reply is in the ledger, two thirds of the verdicts are not in audit.jsonl (cut off, as a kill between
    the two leaves them), and the cap is what was spent plus one token: replaying costs nothing, so every verdict
    is written again from the ledger, nothing is sent and the audit finishes (exit 0). It reserved each instance's
    worst case before looking in the ledger, and stopped at the cap (exit 3) with the paid verdicts unwritten."""
    pool = tmp_path / "pool.jsonl"
    total = len(keys_of(make_pool(pool, 12)))
    code, _, stderr = run_audit(server, pool, "--concurrency", "4")
    assert code == 0, stderr
    journal = tmp_path / "pool.audit.jsonl"
    full = sorted((r["task_id"], r["instance"], r["status"]) for r in journal_lines(journal))
    lines = journal.read_text(encoding="utf-8").splitlines(keepends=True)
    journal.write_text("".join(lines[: len(lines) // 3]), encoding="utf-8")
    assert 0 < len(journal_lines(journal)) < total
    ledger = ResponseJournal(tmp_path / "pool.audit_responses.jsonl")
    spent = ledger.spend.total().total_tokens
    ledger.close()
    server.reset()
    code, stdout, stderr = run_audit(server, pool, "--max-tokens-total", str(spent + 1))
    assert code == 0, stderr
    assert server.requests == []  # all replayed from the ledger
    assert sorted((r["task_id"], r["instance"], r["status"]) for r in journal_lines(journal)) == full
    replayed = total - len(lines) // 3
    assert f"this run: 0 instances asked, 0 tokens; {len(lines) // 3} were already in" in stdout
    assert f"{replayed} replayed from the judge's paid replies" in stdout
