"""`--min-score`: which instances the audit vouches for (AlpaGasus-style selection, per instance).

AlpaGasus (Chen et al. 2023) had ChatGPT rate every (instruction, input, response) triplet of Alpaca's 52k
from 0 to 5 and trained on the 9k rated 4.5 or more. The audit scores each instance on that scale; here an
instance is kept only when its own score reaches the threshold. An instance nobody judged (a task outside
the audited sample, an instance added after the audit, the instances an older one-per-task audit never
showed the judge) or whose verdict was unreadable is dropped: nothing vouches for it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from selfinstruct.audit.journal import Key, instance_hash, instruction_hash, read_journal
from selfinstruct.errors import InputError
from selfinstruct.tasks import Task

NOT_JUDGED = "not_judged"
UNREADABLE = "unreadable"
REASON_TEXT = {NOT_JUDGED: "never judged by the audit", UNREADABLE: "the judge's reply could not be read"}


def audit_scores(path: Path | str) -> dict[Key, float]:
    """(task id, instance index) -> the judge's score, for every instance judged (unreadable ones have none)."""
    return {key: float(e["score"]) for key, e in read_journal(Path(path)).items() if e["status"] == "judged"}


def below(min_score: float) -> str:
    return f"score_below_{min_score:g}"


@dataclass(frozen=True)
class ScoreSelection:
    """Per task in the order given, per instance: None when kept, else why it is dropped
    ("score_below_X", "unreadable", "not_judged")."""

    drops: list[tuple[str | None, ...]]

    def kept_instances(self, index: int) -> list[int]:
        """The indices of the kept instances of the index-th task."""
        return [k for k, d in enumerate(self.drops[index]) if d is None]

    @property
    def kept(self) -> int:
        """Instances kept."""
        return sum(1 for task in self.drops for d in task if d is None)

    @property
    def dropped(self) -> Counter[str]:
        """Instances dropped, by reason."""
        return Counter(d for task in self.drops for d in task if d is not None)

    def task_reason(self, index: int) -> str | None:
        """Why the index-th task loses every instance (None when one is kept): the most telling reason."""
        reasons = self.drops[index]
        if not reasons or any(d is None for d in reasons):
            return None
        return next((d for d in reasons if d not in (UNREADABLE, NOT_JUDGED)), None) or (
            UNREADABLE if UNREADABLE in reasons else NOT_JUDGED
        )


def keep_min_score(tasks: Sequence[Task], journal: Path | str, min_score: float) -> ScoreSelection:
    """Which instances of `tasks` the audit scored at least `min_score`.

    A journal line whose instruction (or instance text) differs from the task's is an InputError: that audit
    is of another pool.
    """
    path = Path(journal)
    entries = read_journal(path)
    low = below(min_score)
    drops: list[tuple[str | None, ...]] = []
    for task in tasks:
        sha = instruction_hash(task.instruction)
        row: list[str | None] = []
        for k, instance in enumerate(task.instances):
            entry = entries.get((task.id, k))
            if entry is None:
                row.append(NOT_JUDGED)
                continue
            if entry["instruction_sha256"] != sha or entry.get("instance_sha256", instance_hash(instance)) != (
                instance_hash(instance)
            ):
                raise InputError(
                    f"instance {k} of task {task.id!r} was audited with another instruction, input or output; this "
                    "audit is of another pool (pass --audit FILE for this input)",
                    path=path,
                )
            if entry["status"] != "judged":
                row.append(UNREADABLE)
            elif entry["score"] < min_score:
                row.append(low)
            else:
                row.append(None)
        drops.append(tuple(row))
    return ScoreSelection(drops)


def describe_drops(dropped: Counter[str]) -> str:
    """`score_below_4.5 8, not_judged 2 (never judged by the audit)`."""
    return ", ".join(
        f"{reason} {count:,}" + (f" ({REASON_TEXT[reason]})" if reason in REASON_TEXT else "")
        for reason, count in sorted(dropped.items())
    )
