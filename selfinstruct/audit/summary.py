"""The audit's figures beside the Self-Instruct paper's, with 95% Wilson intervals for the sample size.

The paper (Wang et al. 2022, Table 2) had experts check 200 random generated tasks, one instance each: the
table counts the seeded instance of each audited task, its shares over the tasks the judge answered
readably; unreadable and not-yet-judged tasks are counted apart, so that audited = judged + unreadable +
pending always holds. The scores (AlpaGasus's 0-5, halves allowed) are over every instance judged, as
`--min-score` uses them, with the same bookkeeping under "instances".
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from selfinstruct.audit.questions import ALL_VALID, ALL_VALID_PAPER, KEYS, QUESTIONS
from selfinstruct.io.records import atomic_writer

SUMMARY_VERSION = 2
READABLE_VERSIONS = (1, 2)  # version 1: one instance per task, scores 1-5 (no "instances")
PAPER: dict[str, float] = {**{q.key: q.paper for q in QUESTIONS}, ALL_VALID: ALL_VALID_PAPER}
ROWS: tuple[str, ...] = (*KEYS, ALL_VALID)
_Z95 = 1.959963984540054


def wilson(successes: int, n: int, z: float = _Z95) -> tuple[float, float]:
    """The Wilson score interval of a binomial share: sound at 0% and 100% and for small n, unlike p ± z·se."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    # Exact ends at 0 and n: the bound is 0 (or 1) in exact arithmetic, rounding leaves 1e-18.
    return (0.0 if successes == 0 else max(0.0, centre - half), 1.0 if successes == n else min(1.0, centre + half))


def _counts(entries: Sequence[dict[str, Any] | None]) -> tuple[list[dict[str, Any]], Counter[str], int]:
    """The readable verdicts, the unreadable ones by reason, and how many are pending (None)."""
    readable = [e for e in entries if e is not None and e["status"] == "judged"]
    failed = [e for e in entries if e is not None and e["status"] != "judged"]
    unreadable = Counter(str(e.get("why") or "unreadable") for e in failed)
    return readable, unreadable, sum(1 for e in entries if e is None)


def half_step(score: float) -> str:
    """The distribution's bin of a score: its half-point step, rounded down (4.7 -> "4.5")."""
    return f"{math.floor(score * 2) / 2:g}"


SCORE_BINS = tuple(f"{k / 2:g}" for k in range(11))  # "0", "0.5", ..., "5"


def summarize(
    entries: Sequence[dict[str, Any] | None], primary: Sequence[bool], *, meta: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The summary (format documented in the README) of the journal entries of the audited instances, None
    for one not judged yet; `primary` marks the instance per task that the paper's table counts."""
    table = [e for e, first in zip(entries, primary, strict=True) if first]
    readable, unreadable, pending = _counts(table)
    n = len(readable)
    questions: dict[str, dict[str, Any]] = {}
    for row in ROWS:
        yes = sum(1 for e in readable if (all(e["answers"][q] for q in KEYS) if row == ALL_VALID
                                          else e["answers"][row]))  # fmt: skip
        low, high = wilson(yes, n)
        questions[row] = {
            "yes": yes,
            "of": n,
            "share": round(yes / n, 4) if n else None,
            "ci95": [round(low, 4), round(high, 4)],
            "paper": PAPER[row],
        }
    scored, instance_unreadable, instance_pending = _counts(entries)
    scores = Counter(half_step(float(e["score"])) for e in scored)
    mean = sum(float(e["score"]) for e in scored) / len(scored) if scored else None
    return {
        "version": SUMMARY_VERSION,
        **(meta or {}),
        "audited": len(table),
        "judged": n,
        "unreadable": sum(unreadable.values()),
        "pending": pending,
        "unreadable_reasons": dict(unreadable.most_common()),
        "questions": questions,
        "instances": {
            "audited": len(entries),
            "judged": len(scored),
            "unreadable": sum(instance_unreadable.values()),
            "pending": instance_pending,
        },
        "score": {
            "mean": round(mean, 3) if mean is not None else None,
            "distribution": {b: scores.get(b, 0) for b in SCORE_BINS},
        },
        "paper": {"tasks": 200, "source": "Wang et al. 2022, Self-Instruct, Table 2 (expert evaluation)"},
        "updated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def write_summary(path: Path, summary: dict[str, Any]) -> None:
    with atomic_writer(path) as fh:
        json.dump(summary, fh, ensure_ascii=False, indent=2)
        fh.write("\n")


def find_summary(source: Path) -> dict[str, Any] | None:
    """The summary the last `audit` of `source` wrote (for stats and the dataset card), or None when there is
    none or it is not one this version can read."""
    from selfinstruct.audit.settings import default_journal, summary_path

    path = summary_path(default_journal(source))
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    needed = ("questions", "score", "audited", "judged", "unreadable", "pending")
    if (
        not isinstance(summary, dict)
        or summary.get("version") not in READABLE_VERSIONS
        or any(k not in summary for k in needed)
    ):
        return None
    return summary
