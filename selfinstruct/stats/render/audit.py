"""The audit summary as the paper's table (plain text), from the audit_summary.json dict alone, so that
`stats` and the dataset card can print the same table."""

from __future__ import annotations

from typing import Any

from selfinstruct.audit.questions import ALL_VALID, ALL_VALID_LABEL, QUESTIONS

LABELS = {**{q.key: q.label for q in QUESTIONS}, ALL_VALID: ALL_VALID_LABEL}


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def render_table(summary: dict[str, Any]) -> str:
    """The table and its footnotes; every count in it adds up (to the audited tasks, or their instances).
    Reads version 1 summaries too (one instance per task, no "instances")."""
    lines: list[str] = []
    who = summary.get("judge_model") or "the judge"
    sample = summary.get("sample")
    what = f"a seeded sample of {summary['audited']:,}" if sample else f"{summary['audited']:,}"
    pool = summary.get("pool_tasks")
    of_pool = f" of {pool:,} tasks" if pool is not None else " tasks"
    lines.append(f"Audit of {what}{of_pool} by {who}, seed {summary.get('seed', 0)}; the table counts one "
                 "instance per task, as the paper did")  # fmt: skip
    width = max(len(v) for v in LABELS.values())
    lines.append(f"  {'':<{width}}  {'ours':>15}  {'95% CI':>16}  {'paper':>5}")
    for row, label in LABELS.items():
        q = summary["questions"][row]
        low, high = q["ci95"]
        ours = f"{q['yes']:,}/{q['of']:,} {_pct(q['share']):>6}"
        ci = f"[{low:.1%}, {high:.1%}]" if q["of"] else "-"
        lines.append(f"  {label:<{width}}  {ours:>15}  {ci:>16}  {q['paper']:>5.0%}")
    reasons = summary.get("unreadable_reasons") or {}
    why = f" ({', '.join(f'{k}: {v}' for k, v in reasons.items())})" if reasons else ""
    lines.append(
        f"judged {summary['judged']:,} + unreadable {summary['unreadable']:,}{why} + pending "
        f"{summary['pending']:,} = {summary['audited']:,} audited"
    )
    instances = summary.get("instances")
    if instances:
        lines.append(
            f"instances (every one of the audited tasks, each judged on its own): judged {instances['judged']:,} + "
            f"unreadable {instances['unreadable']:,} + pending {instances['pending']:,} = {instances['audited']:,}"
        )
    score = summary["score"]
    dist = score["distribution"]
    mean = "-" if score["mean"] is None else f"{score['mean']:.2f}"
    shown = [b for b, count in dist.items() if count] or list(dist)[-1:]
    lines.append(
        f"score of the judged {'instances' if instances else 'tasks'}: mean {mean} of 5; "
        + "  ".join(f"{b}: {dist[b]:,}" for b in shown)
        + f"  (sum {sum(dist.values()):,})"
    )
    skipped = summary.get("skipped_no_instance")
    if skipped:
        lines.append(f"not audited: {skipped:,} tasks without an instance")
    lines.append("paper: 200 tasks checked by experts (Wang et al. 2022, Self-Instruct, Table 2)")
    if summary.get("note"):
        lines.append(f"NOTE: {summary['note']}")
    return "\n".join(lines) + "\n"
