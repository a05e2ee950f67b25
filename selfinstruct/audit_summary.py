"""The audit's figures beside the Self-Instruct paper's, with 95% Wilson intervals for the sample size.

The paper (Wang et al. 2022, Table 2) had experts check 200 random generated tasks, one instance each. Our
shares are over the tasks the judge answered readably; unreadable and not-yet-judged tasks are counted
apart, so that audited = judged + unreadable + pending always holds.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from selfinstruct.judge_parsing import QUESTIONS
from selfinstruct.records import atomic_writer

SUMMARY_VERSION = 1
PAPER: dict[str, float] = {
    "valid_instruction": 0.92,
    "appropriate_input": 0.79,
    "correct_output": 0.58,
    "all_valid": 0.54,
}
ROWS: tuple[str, ...] = (*QUESTIONS, "all_valid")
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


def summarize(entries: Iterable[dict[str, Any]], *, audited: int, meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """The summary of the journal entries of the audited tasks (format documented in the README)."""
    judged = [e for e in entries if e["status"] in ("judged", "unreadable")]
    readable = [e for e in judged if e["status"] == "judged"]
    unreadable = Counter(str(e.get("why") or "unreadable") for e in judged if e["status"] == "unreadable")
    n = len(readable)
    questions: dict[str, dict[str, Any]] = {}
    for row in ROWS:
        yes = sum(1 for e in readable if (all(e["answers"][q] for q in QUESTIONS) if row == "all_valid"
                                          else e["answers"][row]))  # fmt: skip
        low, high = wilson(yes, n)
        questions[row] = {
            "yes": yes,
            "of": n,
            "share": round(yes / n, 4) if n else None,
            "ci95": [round(low, 4), round(high, 4)],
            "paper": PAPER[row],
        }
    scores = Counter(int(e["score"]) for e in readable)
    mean = sum(s * c for s, c in scores.items()) / n if n else None
    return {
        "version": SUMMARY_VERSION,
        **(meta or {}),
        "audited": audited,
        "judged": n,
        "unreadable": sum(unreadable.values()),
        "pending": audited - len(judged),
        "unreadable_reasons": dict(unreadable.most_common()),
        "questions": questions,
        "score": {
            "mean": round(mean, 3) if mean is not None else None,
            "distribution": {str(s): scores.get(s, 0) for s in range(1, 6)},
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
    from selfinstruct.audit_settings import default_journal, summary_path

    path = summary_path(default_journal(source))
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    needed = ("questions", "score", "audited", "judged", "unreadable", "pending")
    if (
        not isinstance(summary, dict)
        or summary.get("version") != SUMMARY_VERSION
        or any(k not in summary for k in needed)
    ):
        return None
    return summary
