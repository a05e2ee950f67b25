"""The audit's statistics and sampling: Wilson intervals, the summary's bookkeeping, the seeded sample."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from selfinstruct.audit.run import select
from selfinstruct.audit.summary import summarize, wilson
from selfinstruct.stats.render.audit import render_table
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


def _entry(i: int, score: float | None) -> dict[str, object]:
    if score is None:
        return {"task_id": f"t{i}", "status": "unreadable", "why": "refusal"}
    answers = {"valid_instruction": score > 1, "appropriate_input": score > 2, "correct_output": score > 3}
    return {"task_id": f"t{i}", "status": "judged", "answers": answers, "score": score}


scores_or_none = st.one_of(st.none(), st.integers(0, 10).map(lambda k: k / 2), st.floats(0, 5))


@given(st.lists(st.tuples(scores_or_none, st.booleans(), st.booleans()), max_size=60))
def test_summary_adds_up_and_the_table_says_so(rows: list[tuple[float | None, bool, bool]]) -> None:
    """(score, pending, the table's instance) per instance: the table counts its instances, the scores all."""
    entries = [None if pending else _entry(i, s) for i, (s, pending, _) in enumerate(rows)]
    primary = [first for _, _, first in rows]
    summary = summarize(entries, primary, meta={"judge_model": "m", "seed": 1})
    assert summary["judged"] + summary["unreadable"] + summary["pending"] == summary["audited"] == sum(primary)
    instances = summary["instances"]
    assert instances["judged"] + instances["unreadable"] + instances["pending"] == instances["audited"] == len(rows)
    assert sum(summary["score"]["distribution"].values()) == instances["judged"]
    table = [s for (s, pending, first) in rows if first and not pending and s is not None]
    assert summary["questions"]["correct_output"]["yes"] == sum(1 for s in table if s > 3)
    assert summary["questions"]["all_valid"]["yes"] == sum(1 for s in table if s > 3)
    scored = [s for (s, pending, _) in rows if not pending and s is not None]
    assert summary["score"]["distribution"]["4.5"] == sum(1 for s in scored if 4.5 <= s < 5)
    text = render_table(summary)
    assert f"= {summary['audited']:,} audited" in text and "92%" in text and "54%" in text
    assert f"= {len(rows):,}\n" in text and f"(sum {len(scored):,})" in text


def test_a_version_1_summary_still_renders() -> None:
    """Summaries written before per-instance scores (1-5, one instance per task) still show in stats/cards."""
    old = summarize([_entry(0, 4), _entry(1, 2)], [True, True])
    del old["instances"]
    old.update(version=1, score={"mean": 3.0, "distribution": {"1": 0, "2": 1, "3": 0, "4": 1, "5": 0}})
    text = render_table(old)
    assert "= 2 audited" in text and "score of the judged tasks: mean 3.00 of 5; 2: 1  4: 1  (sum 2)" in text


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
