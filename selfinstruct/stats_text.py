"""The plain-text report of `selfinstruct stats`."""

from __future__ import annotations

import unicodedata

from selfinstruct.stats_report import SIM_BINS, Stats


def _num(value: float) -> str:
    return f"{value:,.1f}".removesuffix(".0")


def _pad(text: str, width: int) -> str:
    """Left-align in terminal columns: Chinese characters take two."""
    used = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(0, width - used)


def render_text(stats: Stats) -> str:
    """A readable, aligned plain-text report."""
    kind = "run directory" if stats.kind == "run" else "task file"
    unknown = f" ({stats.classification_unknown:,} unknown)" if stats.classification_unknown else ""
    rows = [
        ("tasks", f"{stats.tasks:,}"),
        ("instances", f"{stats.instances:,}"),
        ("instances per task", f"mean {stats.instances_per_task_mean:.2f}, max {stats.instances_per_task_max}"),
        ("classification tasks", f"{stats.classification:,} ({stats.classification_share:.1%}){unknown}"),
        ("instances with empty input", f"{stats.empty_inputs:,} ({stats.empty_input_share:.1%})"),
    ]
    lines = [f"{stats.source} ({kind}, language {stats.language})", "", "tasks"]
    lines += [f"  {label:<28} {value}" for label, value in rows]
    if (r := stats.run) is not None:
        rate = "n/a" if r.acceptance_rate is None else f"{r.acceptance_rate:.1%}"
        lines += ["", f"run (status: {r.status or 'unknown'})"]
        lines.append(f"  {'acceptance rate':<28} {rate} ({r.accepted:,} accepted, {r.rejected_candidates:,} rejected)")
        if r.usage:
            lines.append(f"  {'step':<14} {'requests':>9} {'prompt tok':>12} {'completion tok':>15} {'retries':>8}")
            lines += [f"  {step:<14} {u.get('requests', 0):>9,} {u.get('prompt_tokens', 0):>12,} "
                      f"{u.get('completion_tokens', 0):>15,} {u.get('retries', 0):>8,}"
                      for step, u in sorted(r.usage.items())]  # fmt: skip
        if r.rejected_by_reason:
            lines.append("  rejected (stage:reason; response: failed requests, not candidates)")
            lines += [f"    {reason:<36} {n:>8,}" for reason, n in r.rejected_by_reason.items()]
    lines += ["", f"lengths ({stats.length_unit}; input: non-empty inputs only)"]
    lines.append(f"  {'':<12} {'count':>8} {'min':>7} {'median':>7} {'p90':>7} {'max':>8}")
    lines += [f"  {name:<12} {d.count:>8,} {_num(d.min):>7} {_num(d.median):>7} {_num(d.p90):>7} {_num(d.max):>8}"
              for name, d in stats.lengths.items()]  # fmt: skip
    compared, peak = sum(stats.similarity_counts), max(stats.similarity_counts, default=0) or 1
    ref = f" or {stats.similarity_reference:,} seeds" if stats.similarity_reference else ""
    lines += ["", f"ROUGE-L to the most similar earlier instruction{ref} ({compared:,} tasks)"]
    lines += [f"  {k / SIM_BINS:.1f}-{(k + 1) / SIM_BINS:.1f} {n:>8,} {n / (compared or 1):>6.1%} "
              + "#" * round(30 * n / peak) for k, n in enumerate(stats.similarity_counts)]  # fmt: skip
    lines.append("")
    if (v := stats.verbs) is not None:
        lines.append(f"verbs ({v.model})")
        lines.append(f"  {'distinct root verbs':<28} {v.distinct_verbs:,}")
        lines.append(f"  {'distinct verb-noun pairs':<28} {v.distinct_pairs:,}")
        lines.append(f"  {'with a verb-noun pair':<28} {v.with_pair:,} of {v.parsed:,} ({v.pair_share:.1%})")
        lines += [f"    {_pad(verb, 14)} {n:>7,}  " + ", ".join(f"{noun} {c:,}" for noun, c in nouns)
                  for verb, n, nouns in v.top]  # fmt: skip
    if stats.prefixes:
        lines.append("leading prefixes")
        lines += [f"    {_pad(prefix, 14)} {n:>7,}" for prefix, n in stats.prefixes]
    if stats.verbs_note:
        lines.append(f"note: {stats.verbs_note}")
    return "\n".join(line.rstrip() for line in lines).rstrip() + "\n"
