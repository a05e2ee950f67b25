"""The audit's statistics and sampling: Wilson intervals, the summary's bookkeeping, the seeded sample."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from selfinstruct.audit import select
from selfinstruct.audit_render import render_table
from selfinstruct.audit_summary import summarize, wilson
from selfinstruct.tasks import Instance, Task


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [(0, 10, 0.0, 0.2775), (10, 10, 0.7225, 1.0), (54, 100, 0.4426, 0.6344), (184, 200, 0.8740, 0.9502)],
)
def test_wilson_known_values(k: int, n: int, low: float, high: float) -> None:
    assert wilson(k, n) == (pytest.approx(low, abs=1e-4), pytest.approx(high, abs=1e-4))


@given(st.integers(1, 5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_holds_the_share_and_stays_in_0_1(kn: tuple[int, int]) -> None:
    k, n = kn
    low, high = wilson(k, n)
    assert 0.0 <= low <= k / n <= high <= 1.0
    assert (low == 0.0) == (k == 0) and (high == 1.0) == (k == n)


def _entry(i: int, score: int | None) -> dict[str, object]:
    if score is None:
        return {"task_id": f"t{i}", "status": "unreadable", "why": "refusal"}
    answers = {"valid_instruction": score > 1, "appropriate_input": score > 2, "correct_output": score > 3}
    return {"task_id": f"t{i}", "status": "judged", "answers": answers, "score": score}


@given(st.lists(st.one_of(st.none(), st.integers(1, 5)), max_size=60), st.integers(0, 10))
def test_summary_adds_up_and_the_table_says_so(scores: list[int | None], pending: int) -> None:
    entries = [_entry(i, s) for i, s in enumerate(scores)]
    summary = summarize(entries, audited=len(entries) + pending, meta={"judge_model": "m", "seed": 1})
    assert summary["judged"] + summary["unreadable"] + summary["pending"] == summary["audited"]
    assert sum(summary["score"]["distribution"].values()) == summary["judged"]
    judged = [s for s in scores if s is not None]
    assert summary["questions"]["correct_output"]["yes"] == sum(1 for s in judged if s > 3)
    assert summary["questions"]["all_valid"]["yes"] == sum(1 for s in judged if s > 3)
    table = render_table(summary)
    assert f"= {summary['audited']:,} audited" in table and "92%" in table and "54%" in table


def _tasks(n: int) -> list[Task]:
    return [Task(f"t{i}", f"Task {i}.", tuple(Instance("", f"o{k}") for k in range(i % 4))) for i in range(n)]


@given(st.integers(1, 80), st.integers(1, 80), st.integers(0, 10**6))
def test_a_larger_sample_is_a_superset_with_the_same_instances(n: int, extra: int, seed: int) -> None:
    tasks = _tasks(n + extra)
    small = select(tasks[:n], max(1, n // 2), seed)
    large = select(tasks, max(1, n // 2) + extra, seed)
    assert {t.id for t, _ in small} <= {t.id for t, _ in large} or len(small) > len(large)
    picked = dict((t.id, k) for t, k in large)
    assert all(picked.get(t.id, k) == k for t, k in small)
    assert all(0 <= k < len(t.instances) for t, k in large)
    assert [t.id for t, _ in large] == [t.id for t in tasks if t.id in picked]  # pool order
