"""One rule for counts read from outside (a reply's usage, run.json, the journals): a whole number >= 0, not a
bool (`records.is_count`); a journal line that breaks it is damaged (issue 21, item 4)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from selfinstruct.audit.journal import line_problem
from selfinstruct.engine.journal import ResponseJournal
from selfinstruct.engine.raw_reply import usage_counts
from selfinstruct.errors import PoolError
from selfinstruct.io.records import is_count
from selfinstruct.pipeline.runstate import read_run


@pytest.mark.parametrize("value", [0, 1, 10**12])
def test_counts(value: Any) -> None:
    assert is_count(value)
    assert usage_counts({"prompt_tokens": value, "completion_tokens": value}) == (value, value)


@pytest.mark.parametrize("value", [-1, True, False, 1.0, 1.5, "3", None, [1], float("nan")])
def test_not_counts_anywhere(tmp_path: Path, value: Any) -> None:
    assert not is_count(value)
    assert usage_counts({"prompt_tokens": value, "completion_tokens": 1}) is None
    assert line_problem({"task_id": "t", "instruction_sha256": "h", "instance": value, "status": "pending"})
    run = tmp_path / "run.json"
    run.write_text(json.dumps({"usage": {"instances": {"requests": value}}}))
    with pytest.raises(PoolError, match="whole numbers"):
        read_run(run)


def test_a_journal_line_with_a_negative_count_is_damaged_and_its_charge_stays_open(tmp_path: Path) -> None:
    """Before, the line was read and its reply replayed; now it is skipped like any damaged line: the reply is
    asked again on resume, and the attempt's `sent` line, left open, keeps charging its reservation."""
    path = tmp_path / "responses.jsonl"
    sent = {"sent": "c1", "step": "instances", "prompt_tokens": 300, "completion_tokens": 350}
    reply = {"key": "k1", "step": "instances", "text": "t", "finish_reason": "stop", "charge": "c1"}
    lines = [sent, reply | {"prompt_tokens": -5, "completion_tokens": 9}]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    journal = ResponseJournal(path)
    try:
        assert journal.skipped == 1 and journal.get("k1") is None and len(journal) == 0
        assert journal.unanswered == {"c1": ("instances", 300, 350, "")}  # (no model named)
        stats = journal.spend.step("instances")
        assert (stats.prompt_tokens, stats.completion_tokens, stats.unanswered) == (300, 350, 1)
        assert path.read_text().count("\n") == 2  # nothing rewritten: the line is only passed over
    finally:
        journal.close()
