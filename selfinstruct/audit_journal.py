"""audit.jsonl: one line per audited task, appended and fsync'd the moment its verdict arrives.

A line is either {"status": "judged", "answers": {...}, "score": 1-5, "reason": ...} or
{"status": "unreadable", "why": ...}, with the task id, a hash of its instruction, the instance judged, the
judge model, the audit seed, the template hash, the attempts and tokens spent, and the raw reply (cut to
RAW_LIMIT characters). Re-running skips every task with a line, so nothing journaled is asked again; the
hash catches a journal that belongs to another pool. Reading for `filter --min-score` never writes: a torn
last line is ignored there, and cut off when the audit itself reopens the file.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from selfinstruct.errors import InputError, PoolError
from selfinstruct.judge_parsing import QUESTIONS
from selfinstruct.pool import JsonlLog, Repair

RAW_LIMIT = 600
STATUSES = ("judged", "unreadable")


def instruction_hash(instruction: str) -> str:
    """16 hex digits of SHA-256 of the stripped instruction (how load_tasks stores it)."""
    return hashlib.sha256(instruction.strip().encode("utf-8")).hexdigest()[:16]


def line_problem(record: dict[str, Any]) -> str:
    """Why a journal line is not a valid audit entry ("" when it is)."""
    if not isinstance(record.get("task_id"), str) or not isinstance(record.get("instruction_sha256"), str):
        return 'no "task_id" and "instruction_sha256" strings'
    status = record.get("status")
    if status not in STATUSES:
        return f'"status" must be one of {", ".join(STATUSES)}'
    if status == "judged":
        score = record.get("score")
        answers = record.get("answers")
        if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
            return 'a judged line needs a "score" from 1 to 5'
        if not isinstance(answers, dict) or any(not isinstance(answers.get(q), bool) for q in QUESTIONS):
            return 'a judged line needs "answers" with ' + ", ".join(QUESTIONS) + " as true/false"
    return ""


_FIX = "is this an audit journal? fix or delete that line, or use another --out"


@dataclass(frozen=True)
class JudgeIdentity:
    """What makes two audits comparable: a journal is only resumed by the same judge, seed and template."""

    judge_model: str
    seed: int
    template_sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {"judge_model": self.judge_model, "seed": self.seed, "template_sha256": self.template_sha256}


class AuditJournal:
    """The open journal of one audit (holds the writer lock until closed)."""

    def __init__(self, path: Path, identity: JudgeIdentity) -> None:
        self.path = path
        self.identity = identity
        self._log = JsonlLog(path)
        self.repair: Repair | None = self._log.repair
        self.entries: dict[str, dict[str, Any]] = {}
        try:
            self._check(identity)
        except BaseException:
            self._log.close()
            raise

    def _check(self, identity: JudgeIdentity) -> None:
        """Every line well-formed and judged by this judge, seed and template (else the journal is another audit)."""
        path = self.path
        for number, record in enumerate(self._log.records, start=1):
            problem = line_problem(record)
            if problem:
                raise PoolError(f"{path}:{number}: {problem}; {_FIX}")
            for key, value in identity.to_dict().items():
                if record.get(key) != value:
                    raise PoolError(
                        f"{path}:{number}: judged with {key}={json.dumps(record.get(key), ensure_ascii=False)}, "
                        f"not {json.dumps(value, ensure_ascii=False)}; resume with the same --judge-model, --seed "
                        "and template, or write a new audit with --out"
                    )
            self.entries.setdefault(record["task_id"], record)

    def check_tasks(self, hashes: dict[str, str]) -> None:
        """Every journaled task that is still in the pool must still have the instruction it was judged on."""
        for task_id, record in self.entries.items():
            current = hashes.get(task_id)
            if current is not None and current != record["instruction_sha256"]:
                raise PoolError(
                    f"{self.path}: task {task_id!r} was judged with another instruction; this journal belongs to "
                    "another pool: pass a new --out"
                )

    def append(self, record: dict[str, Any]) -> None:
        record = {**record, **self.identity.to_dict()}
        self._log.append([record])
        self.entries.setdefault(record["task_id"], record)

    def close(self) -> None:
        self._log.close()


def read_journal(path: Path) -> dict[str, dict[str, Any]]:
    """The journal's entries by task id, without writing: a torn last line (a killed audit) is skipped."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError("no audit journal here; run `selfinstruct audit` first or pass --audit FILE",
                         path=path) from None  # fmt: skip
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=path) from None
    lines = raw.split(b"\n")
    entries: dict[str, dict[str, Any]] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            if number == len(lines):  # the unterminated last line of a killed writer
                break
            raise InputError("corrupt audit line (not valid JSON); fix or delete it", path=path, line=number) from None
        if not isinstance(record, dict):
            raise InputError("expected a JSON object per audit line", path=path, line=number)
        problem = line_problem(record)
        if problem:
            raise InputError(f"{problem}; {_FIX}", path=path, line=number)
        entries.setdefault(record["task_id"], record)
    return entries


def audit_scores(path: Path | str) -> dict[str, int]:
    """Task id -> the judge's 1-5 score, for every task judged in the journal (unreadable ones have none)."""
    return {tid: int(e["score"]) for tid, e in read_journal(Path(path)).items() if e["status"] == "judged"}


@dataclass(frozen=True)
class ScoreSelection:
    """Per item in the order given: None when kept, else why it is dropped ("score_below_X", "unreadable",
    "not_audited")."""

    drops: list[str | None]

    @property
    def keep(self) -> list[bool]:
        return [d is None for d in self.drops]

    @property
    def kept(self) -> int:
        return sum(1 for d in self.drops if d is None)

    @property
    def dropped(self) -> Counter[str]:
        return Counter(d for d in self.drops if d is not None)


def keep_min_score(items: Sequence[tuple[str, str]], journal: Path | str, min_score: float) -> ScoreSelection:
    """Which (task id, instruction) items the audit scored at least `min_score` (AlpaGasus-style).

    A task without a score (unreadable, or not in the audited sample) is dropped: nothing vouches for it.
    A journal line whose instruction differs from the item's is an InputError: that audit is of another pool.
    """
    path = Path(journal)
    entries = read_journal(path)
    drops: list[str | None] = []
    below = f"score_below_{min_score:g}"
    for task_id, instruction in items:
        entry = entries.get(task_id)
        if entry is not None and entry["instruction_sha256"] != instruction_hash(instruction):
            raise InputError(
                f"task {task_id!r} was audited with another instruction; this audit is of another pool "
                "(pass --audit FILE for this input)",
                path=path,
            )
        if entry is None:
            drops.append("not_audited")
        elif entry["status"] != "judged":
            drops.append("unreadable")
        elif entry["score"] < min_score:
            drops.append(below)
        else:
            drops.append(None)
    return ScoreSelection(drops)
