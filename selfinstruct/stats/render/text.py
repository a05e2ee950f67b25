"""The plain-text report of `selfinstruct stats`."""

from __future__ import annotations

import unicodedata
from typing import Any

from selfinstruct.engine.budget import usd
from selfinstruct.stats.report import SIM_BINS, Distribution, Stats

SHOWN = 300  # characters of a rejected reply or a sampled text in the terminal


def _num(value: float) -> str:
    return f"{value:,.1f}".removesuffix(".0")


def _pad(text: str, width: int) -> str:
    """Left-align in terminal columns: Chinese characters take two."""
    used = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(0, width - used)


def _one_line(text: str, limit: int = SHOWN) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _lengths(title: str, lengths: dict[str, Distribution]) -> list[str]:
    lines = ["", title, f"  {'':<12} {'count':>8} {'min':>7} {'median':>7} {'p90':>7} {'max':>8}"]
    lines += [f"  {name:<12} {d.count:>8,} {_num(d.min):>7} {_num(d.median):>7} {_num(d.p90):>7} {_num(d.max):>8}"
              for name, d in lengths.items()]  # fmt: skip
    return lines


def _histogram(counts: list[int], threshold: float | None = None) -> list[str]:
    total, peak = sum(counts) or 1, max(counts, default=0) or 1
    lines = []
    for k, n in enumerate(counts):
        lo, hi = k / SIM_BINS, (k + 1) / SIM_BINS
        mark = f"  <- threshold {threshold:g}" if threshold is not None and lo < threshold <= hi else ""
        lines.append(f"  {lo:.1f}-{hi:.1f} {n:>8,} {n / total:>6.1%} " + "#" * round(30 * n / peak) + mark)
    return lines


def _summary(stats: Stats) -> list[str]:
    unknown = f" ({stats.classification_unknown:,} unknown)" if stats.classification_unknown else ""
    rows = [
        ("tasks", f"{stats.tasks:,}"),
        ("instances", f"{stats.instances:,}"),
        ("instances per task", f"mean {stats.instances_per_task_mean:.2f}, max {stats.instances_per_task_max}"),
        ("classification tasks", f"{stats.classification:,} ({stats.classification_share:.1%}){unknown}"),
        ("instances with empty input", f"{stats.empty_inputs:,} ({stats.empty_input_share:.1%})"),
        ("one-word outputs", f"{stats.one_word_outputs:,} of {stats.open_instances:,} non-classification "
                             f"({stats.one_word_share:.1%})"),
        ("exact duplicates", f"{stats.exact_duplicates:,}"),
        ("tasks sharing an output", f"{stats.identical_outputs:,}"),
    ]  # fmt: skip
    return ["tasks", *(f"  {label:<28} {value}" for label, value in rows)]


def _run(stats: Stats) -> list[str]:
    if (r := stats.run) is None:
        return []
    rate = "n/a" if r.acceptance_rate is None else f"{r.acceptance_rate:.1%}"
    lines = ["", f"run (status: {r.status or 'unknown'})"]
    lines.append(f"  {'acceptance rate':<28} {rate} ({r.accepted:,} accepted, {r.rejected_candidates:,} rejected)")
    if stats.truncated is not None:
        lines.append(f"  {'replies cut off (max_tokens)':<28} {sum(stats.truncated.values()):,}")
    else:
        lines.append(f"  {'replies cut off (max_tokens)':<28} not recorded in run.json")
    if r.usage:
        # The model column when run.json names the models (issue 23), the cost column when it has prices.
        width = max(len("model"), *(len(m) for m in r.models.values())) if any(r.models.values()) else 0

        def model(name: str) -> str:
            return f"{name or '-':<{width}} " if width else ""

        cost = f" {'cost':>10}" if r.costs else ""
        lines.append(f"  {'step':<14} {model('model')}{'requests':>9} {'prompt tok':>12} {'completion tok':>15} "
                     f"{'retries':>8} {'truncated':>10}{cost}")  # fmt: skip
        lines += [f"  {step:<14} {model(r.models.get(step, ''))}{u.get('requests', 0):>9,} "
                  f"{u.get('prompt_tokens', 0):>12,} {u.get('completion_tokens', 0):>15,} {u.get('retries', 0):>8,} "
                  f"{u.get('truncated', '-'):>10}" + (f" {_usd(r.costs.get(step)):>10}" if r.costs else "")
                  for step, u in sorted(r.usage.items())]  # fmt: skip
    if r.rejected_by_reason:
        lines.append("  rejected (stage:reason; response: failed requests, not candidates)")
        lines += [f"    {reason:<36} {n:>8,}" for reason, n in r.rejected_by_reason.items()]
    if stats.rejected_examples:
        lines += ["", "rejected examples (a few per reason)"]
        for reason, examples in stats.rejected_examples.items():
            lines.append(f"  {reason}")
            for ex in examples:
                shown = [("instruction", ex.instruction), ("why", ex.detail), ("reply", ex.raw or "")]
                shown = [(label, text) for label, text in shown if text.strip()] or [("(no text recorded)", "")]
                lines += [f"    {'-' if k == 0 else ' '} {label}: {_one_line(text)}"
                          for k, (label, text) in enumerate(shown)]  # fmt: skip
    return lines


def _contamination(stats: Stats) -> list[str]:
    if not stats.contamination:
        return []
    lines = ["", "decontamination (per benchmark: checked, removed as contaminated)"]
    for b in stats.contamination:
        lines.append(f"  {b['name']}: {b['items']:,} items, {b['checked']:,} checked, {b['removed']:,} removed "
                     f"(n={b['n']}, threshold {b['threshold']:g}, min span {b['min_span']})")  # fmt: skip
    return lines


def _similarity(stats: Stats) -> list[str]:
    compared = sum(stats.similarity_counts)
    ref = f" or {stats.similarity_reference:,} seeds" if stats.similarity_reference else ""
    lines = ["", f"ROUGE-L to the most similar earlier instruction{ref} ({compared:,} tasks)"]
    lines += _histogram(stats.similarity_counts, stats.threshold)
    if stats.seed_similarity_counts is not None:
        lines += ["", f"ROUGE-L to the most similar seed (the paper's Figure 3; {sum(stats.seed_similarity_counts):,} "
                      "tasks)"]  # fmt: skip
        lines += _histogram(stats.seed_similarity_counts)
    if stats.near_pairs:
        lines += ["", f"closest pairs (exact duplicates: {stats.exact_duplicates:,})"]
        for p in stats.near_pairs:
            kind = "seed" if p.other_is_seed else "task"
            lines.append(f"  {p.score:.3f}  {p.task_id}: {_one_line(p.instruction, 150)}")
            lines.append(f"         {kind} {p.other_id}: {_one_line(p.other, 150)}")
    return lines


def _verbs(stats: Stats) -> list[str]:
    lines = [""]
    if (v := stats.verbs) is not None:
        lines.append(f"verbs ({v.model})")
        lines.append(f"  {'distinct root verbs':<28} {v.distinct_verbs:,}")
        lines.append(f"  {'distinct verb-noun pairs':<28} {v.distinct_pairs:,}")
        lines.append(f"  {'with a verb-noun pair':<28} {v.with_pair:,} of {v.parsed:,} ({v.pair_share:.1%})")
        lines += [f"    {_pad(verb, 14)} {n:>7,}  " + ", ".join(f"{noun} {c:,}" for noun, c in nouns)
                  for verb, n, nouns in v.top]  # fmt: skip
    if stats.verbs_note:
        lines.append(f"note: {stats.verbs_note}")
    return lines


def _sample(stats: Stats) -> list[str]:
    if not stats.sample:
        return []
    lines = ["", f"sample for review ({len(stats.sample)} tasks, seed {stats.sample_seed})"]
    for task in stats.sample:
        kind = {True: "classification", False: "open", None: "type unknown"}[task.is_classification]
        lines.append(f"  {task.id} ({kind}): {_one_line(task.instruction, 200)}")
        for inst in task.instances[:2]:
            if inst["input"].strip():
                lines.append(f"      input:  {_one_line(inst['input'], 200)}")
            lines.append(f"      output: {_one_line(inst['output'], 200)}")
    return lines


def _audit(stats: Stats) -> list[str]:
    """The last `selfinstruct audit` of this source: the paper's table, ours beside it."""
    if stats.audit is None:
        return []
    from selfinstruct.stats.render.audit import render_table

    return ["", "audit (selfinstruct audit)", *(f"  {line}" for line in render_table(stats.audit).splitlines())]


def _aspects(judged: dict[str, Any]) -> list[str]:
    """Several aspects rated: each one's mean per model (and its unreadable verdicts), and the answers left
    unranked because an aspect is missing."""
    lines = []
    for aspect, models in (judged.get("aspects") or {}).items():
        cells = [f"{m} {f['mean']:g}" if f["mean"] is not None else f"{m} -" for m, f in models.items()]
        unreadable = sum(f["unreadable"] for f in models.values())
        lines.append(f"    {aspect}: mean " + ", ".join(cells) + (f"; {unreadable:,} unreadable" if unreadable else ""))
    ranking = judged.get("ranking") or {}
    if ranking.get("unranked"):
        why = ", ".join(f"{k} {n:,}" for k, n in ranking["unranked_reasons"].items())
        lines.append(f"  answers ranked {ranking['ranked']:,}, not ranked {ranking['unranked']:,} ({why})")
    return lines


def _spend(spend: dict[str, Any] | None) -> list[str]:
    """What each model's answers cost the run directory (tokens, and USD at its prices when known)."""
    if not spend or not spend.get("models"):
        return []
    parts = [f"{model} {s['prompt_tokens'] + s['completion_tokens']:,} tokens"
             + (f" ({usd(s['cost'])})" if s.get("cost") is not None else "")
             for model, s in spend["models"].items()]  # fmt: skip
    total = f", {usd(spend['cost'])} in all" if spend.get("cost") is not None else ""
    return [f"  spent: {'; '.join(parts)}{total}"]


def _preferences(stats: Stats) -> list[str]:
    """A respond run: responses per model; and when prefer judged it, scores, pairs, order agreement, lengths."""
    p = stats.preferences
    if p is None:
        return []
    lines = ["", "answers (selfinstruct respond)"]
    for model, tally in p["responses"].get("models", {}).items():
        lines.append(f"  {model}: " + ", ".join(f"{k} {n:,}" for k, n in tally.items()))
    lines += _spend(p.get("spend"))
    judged = p.get("prefer")
    if judged is None:
        return lines
    v = judged["verdicts"] or {}
    lines += ["", f"preferences (selfinstruct prefer: {judged['mode']}, judge {judged['judge_model']})",
              f"  verdicts {v.get('judged', 0):,} judged, {v.get('unreadable', 0):,} unreadable, "
              f"{v.get('pending', 0):,} pending"]  # fmt: skip
    for model, scores in (judged["scores"] or {}).items():
        spread = " ".join(f"{k}:{n}" for k, n in scores["distribution"].items())
        lines.append(f"  {model}: mean score {scores['mean']:g} over {scores['judged']:,} ({spread})")
    lines += _aspects(judged)
    position = judged["position"] or {}
    if position:
        lines.append(f"  both orders agree on {position.get('order_agreement') or 0:.0%} of compared pairs "
                     f"({position.get('order_dependent', 0):,} order-dependent); first position named "
                     f"{position.get('first', 0):,} times, second {position.get('second', 0):,}")  # fmt: skip
    dropped = ", ".join(f"{why} {n:,}" for why, n in (judged["dropped"] or {}).items())
    lines.append(f"  pairs {judged['pairs']:,}" + (f"; no pair: {dropped}" if dropped else ""))
    length = judged["length"] or {}
    chosen, rejected = judged["lengths"]["chosen"], judged["lengths"]["rejected"]
    if length.get("of"):
        lines.append(f"  length: chosen mean {chosen['mean']:.1f} words, rejected {rejected['mean']:.1f}; the "
                     f"longer answer won {length['longer_chosen']:,} of {length['of']:,} pairs "
                     f"({length['share']:.0%})")  # fmt: skip
    return lines


def _evolution(stats: Stats) -> list[str]:
    evo = stats.evolution
    if evo is None:
        return []
    rounds = ", ".join(f"round {r}: {n:,}" for r, n in evo["tasks_per_round"].items())
    operations = ", ".join(f"{op.removeprefix('evol_')} {n:,}" for op, n in evo["operations"].items())
    return ["", "evolution (Evol-Instruct lineage)", f"  {'depth':<28} {evo['depth']} ({rounds})",
            f"  {'operations':<28} {operations}", f"  {'sources evolved':<28} {evo['sources_evolved']:,}"]  # fmt: skip


def render_text(stats: Stats) -> str:
    """A readable, aligned plain-text report."""
    kind = "run directory" if stats.kind == "run" else "task file"
    lines = [f"{stats.source} ({kind}, language {stats.language})", ""]
    if stats.warnings:
        lines += ["warnings", *(f"  ! {w}" for w in stats.warnings), ""]
    lines += _summary(stats) + _run(stats) + _evolution(stats) + _contamination(stats)
    lines += _lengths(f"lengths ({stats.length_unit}; input: non-empty inputs only)", stats.lengths)
    if stats.token_lengths is not None:
        lines += _lengths(f"lengths in tokens ({stats.tokenizer})", stats.token_lengths)
    else:
        lines += ["", f"note: {stats.tokens_note}"]
    lines += _similarity(stats) + _verbs(stats) + _audit(stats) + _preferences(stats) + _sample(stats)
    return "\n".join(line.rstrip() for line in lines).rstrip() + "\n"


def _usd(cost: float | None) -> str:
    return "-" if cost is None else f"${cost:,.4f}"
