"""audit.jsonl: one line per judged instance, appended and fsync'd the moment its verdict arrives.

A line is either {"status": "judged", "answers": {...}, "score": 0-5 (halves allowed), "reason": ...} or
{"status": "unreadable", "why": ...}, with the task id, a hash of its instruction, the instance judged (its
index and a hash of its input and output), the judge model, the audit seed, the template hash, the attempts
and tokens spent, and the raw reply (cut to RAW_LIMIT characters). Re-running skips every instance with a
line, so nothing journaled is asked again; the hashes catch a journal that belongs to another pool.
Journals of earlier versions (one instance per task, 1-5 scores, no instance hash) stay readable. Reading
for `filter --min-score` never writes: a torn last line is ignored there, and cut off when the audit itself
reopens the file.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from selfinstruct.audit.questions import KEYS
from selfinstruct.audit.verdicts import SCORE_MAX, SCORE_MIN
from selfinstruct.errors import InputError, PoolError
from selfinstruct.io.pool import JsonlLog, Repair
from selfinstruct.io.records import is_count
from selfinstruct.tasks import Instance

RAW_LIMIT = 600
STATUSES = ("judged", "unreadable")
Key = tuple[str, int]  # (task id, instance index): what one journal line is about


def instruction_hash(instruction: str) -> str:
    """16 hex digits of SHA-256 of the stripped instruction (how load_tasks stores it)."""
    return hashlib.sha256(instruction.strip().encode("utf-8")).hexdigest()[:16]


def instance_hash(instance: Instance) -> str:
    """16 hex digits of SHA-256 of an instance's input and output: a score belongs to this text only."""
    text = json.dumps([instance.input, instance.output], ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def key_of(record: dict[str, Any]) -> Key:
    return (record["task_id"], record["instance"])


def line_problem(record: dict[str, Any]) -> str:
    """Why a journal line is not a valid audit entry ("" when it is)."""
    if not isinstance(record.get("task_id"), str) or not isinstance(record.get("instruction_sha256"), str):
        return 'no "task_id" and "instruction_sha256" strings'
    instance = record.get("instance")
    if not is_count(instance):
        return 'no "instance" index (a whole number from 0)'
    status = record.get("status")
    if status not in STATUSES:
        return f'"status" must be one of {", ".join(STATUSES)}'
    if status == "judged":
        score = record.get("score")
        answers = record.get("answers")
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not SCORE_MIN <= score <= SCORE_MAX:
            return f'a judged line needs a "score" from {SCORE_MIN:g} to {SCORE_MAX:g}'
        if not isinstance(answers, dict) or any(not isinstance(answers.get(q), bool) for q in KEYS):
            return 'a judged line needs "answers" with ' + ", ".join(KEYS) + " as true/false"
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
        self.entries: dict[Key, dict[str, Any]] = {}
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
            self.entries.setdefault(key_of(record), record)

    def check_tasks(self, instructions: dict[str, str], instances: dict[Key, str]) -> None:
        """Every journaled instance still in the pool must still have the instruction and text it was judged on
        (`instructions`: task id -> instruction hash, `instances`: key -> instance hash)."""
        for (task_id, k), record in self.entries.items():
            current = instructions.get(task_id)
            if current is not None and current != record["instruction_sha256"]:
                raise PoolError(
                    f"{self.path}: task {task_id!r} was judged with another instruction; this journal belongs to "
                    "another pool: pass a new --out"
                )
            text = instances.get((task_id, k))
            if text is not None and record.get("instance_sha256", text) != text:
                raise PoolError(
                    f"{self.path}: instance {k} of task {task_id!r} was judged with another input or output; this "
                    "journal belongs to another pool: pass a new --out"
                )

    def append(self, record: dict[str, Any]) -> None:
        record = {**record, **self.identity.to_dict()}
        self._log.append([record])
        self.entries.setdefault(key_of(record), record)

    def close(self) -> None:
        self._log.close()


def read_journal(path: Path) -> dict[Key, dict[str, Any]]:
    """The journal's entries by (task id, instance), without writing: a torn last line (a killed audit) is
    skipped."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError("no audit journal here; run `selfinstruct audit` first or pass --audit FILE",
                         path=path) from None  # fmt: skip
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=path) from None
    lines = raw.split(b"\n")
    entries: dict[Key, dict[str, Any]] = {}
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
        entries.setdefault(key_of(record), record)
    return entries
