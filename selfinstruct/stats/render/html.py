"""The self-contained HTML report of `selfinstruct stats`: one file, its charts inlined as SVG (no external
script, style sheet, font or image), every section with an id (warnings, summary, run, rejected, evolution for
a pool with an Evol-Instruct lineage, lengths, similarity, pairs, verbs, sample)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from selfinstruct.errors import InputError
from selfinstruct.io.records import atomic_writer
from selfinstruct.stats.render import plot
from selfinstruct.stats.render.text import render_text
from selfinstruct.stats.report import SIM_BINS, Distribution, Stats

STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}"
    "table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.25em .6em;"
    "text-align:right;vertical-align:top}td:first-child,th:first-child{text-align:left}td.text{text-align:left;"
    "max-width:40em;white-space:pre-wrap;overflow-wrap:anywhere}th{text-align:left}svg{max-width:100%;height:auto}"
    ".warn{background:#fff4e5;border-left:4px solid #e6894a;padding:.5em 1em}"
    "pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f6f6f6;padding:.5em;max-height:20em;overflow:auto}"
)


def _e(value: Any) -> str:
    return html.escape(str(value))


def _table(headers: list[str], rows: list[list[Any]], text_cols: tuple[int, ...] = ()) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td class="text">{_e(c)}</td>' if k in text_cols else f"<td>{_e(c)}</td>"
                         for k, c in enumerate(row)) + "</tr>"
        for row in rows
    )  # fmt: skip
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fmt(value: float) -> str:
    return f"{value:,.1f}".removesuffix(".0")


def _section(ident: str, title: str, *body: str) -> str:
    return f'<section id="{ident}"><h2>{_e(title)}</h2>{"".join(body)}</section>'


def _length_table(lengths: dict[str, Distribution]) -> str:
    rows = [[name, f"{d.count:,}", _fmt(d.min), _fmt(d.median), _fmt(d.p90), _fmt(d.max), _fmt(d.mean)]
            for name, d in lengths.items()]  # fmt: skip
    return _table(["", "count", "min", "median", "p90", "max", "mean"], rows)


def _hist_table(counts: list[int], threshold: float | None = None) -> str:
    total = sum(counts) or 1
    rows = []
    for k, n in enumerate(counts):
        lo, hi = k / SIM_BINS, (k + 1) / SIM_BINS
        mark = " (threshold)" if threshold is not None and lo < threshold <= hi else ""
        rows.append([f"{lo:.1f}–{hi:.1f}{mark}", f"{n:,}", f"{n / total:.1%}"])
    return _table(["ROUGE-L", "tasks", "share"], rows)


def _summary(stats: Stats) -> str:
    rows = [
        ["tasks", f"{stats.tasks:,}"],
        ["instances", f"{stats.instances:,}"],
        ["instances per task", f"mean {stats.instances_per_task_mean:.2f}, max {stats.instances_per_task_max}"],
        ["classification tasks", f"{stats.classification:,} ({stats.classification_share:.1%}); "
                                 f"{stats.classification_unknown:,} unknown"],
        ["instances with empty input", f"{stats.empty_inputs:,} ({stats.empty_input_share:.1%})"],
        ["one-word outputs (non-classification)", f"{stats.one_word_outputs:,} of {stats.open_instances:,} "
                                                  f"({stats.one_word_share:.1%})"],
        ["exact duplicate instructions", f"{stats.exact_duplicates:,}"],
        ["tasks sharing an output with another", f"{stats.identical_outputs:,}"],
        ["language", stats.language],
    ]  # fmt: skip
    if stats.run is not None:
        rate = stats.run.acceptance_rate
        rows.append(["run status", stats.run.status or "unknown"])
        rows.append(["acceptance rate", "n/a" if rate is None else f"{rate:.1%}"])
        cut = "not recorded in run.json" if stats.truncated is None else f"{sum(stats.truncated.values()):,}"
        rows.append(["replies cut off at the token limit", cut])
    body = [_table(["", ""], rows)]
    if stats.identical_examples:
        body.append("<p>Outputs shared by several non-classification tasks:</p>")
        body.append(_table(["output", "tasks"], [[o, f"{n:,}"] for o, n in stats.identical_examples], (0,)))
    return _section("summary", "Summary", *body)


def _run(stats: Stats) -> list[str]:
    if stats.run is None:
        return []
    out = []
    if stats.run.usage:
        keys = ("requests", "prompt_tokens", "completion_tokens", "retries")
        models, costs = stats.run.models, stats.run.costs
        named = any(models.values())  # the model column when run.json names the models, cost when it has prices
        rows = [[step, *([models.get(step) or "–"] if named else []), *(f"{u.get(k, 0):,}" for k in keys),
                 f"{u['truncated']:,}" if "truncated" in u else "–",
                 *([f"${costs[step]:,.4f}" if step in costs else "–"] if costs else [])]
                for step, u in sorted(stats.run.usage.items())]  # fmt: skip
        headers = ["step", *(["model"] if named else []), "requests", "prompt tokens", "completion tokens", "retries"]
        headers += ["truncated", *(["cost"] if costs else [])]
        out.append(_section("run", "Usage", _table(headers, rows)))
    if stats.run.rejected_by_reason:
        body = [_table(["stage:reason", "count"], [[r, f"{n:,}"] for r, n in stats.run.rejected_by_reason.items()])]
        for reason, examples in stats.rejected_examples.items():
            body.append(f"<h3>{_e(reason)}</h3>")
            for ex in examples:
                parts = []
                if ex.instruction:
                    parts.append(f"<p><b>instruction:</b> {_e(ex.instruction)}</p>")
                if ex.detail:
                    parts.append(f"<p><b>why:</b> {_e(ex.detail)}</p>")
                if ex.raw:
                    parts.append(f"<details><summary>raw reply</summary><pre>{_e(ex.raw)}</pre></details>")
                body.append("<div>" + ("".join(parts) or "<p>(no text recorded)</p>") + "</div><hr>")
        out.append(_section("rejected", "Rejected candidates", *body))
    return out


def _evolution(stats: Stats) -> list[str]:
    """The evolution tree of a pool with lineage (stats/lineage.py): its depth, the tasks of each round and the
    operation mix, the figures a reader of an Evol-Instruct pool checks first (is it deep, is one operation
    crowding out the others)."""
    evo = stats.evolution
    if evo is None:
        return []
    tasks = sum(evo["tasks_per_round"].values()) or 1
    rounds = [[f"round {r}", f"{n:,}", f"{n / tasks:.1%}"] for r, n in evo["tasks_per_round"].items()]
    operations = [[op.removeprefix("evol_"), f"{n:,}", f"{n / tasks:.1%}"] for op, n in evo["operations"].items()]
    return [
        _section(
            "evolution",
            "Evolution tree (Evol-Instruct lineage)",
            f"<p>Depth {evo['depth']}: the deepest task was evolved {evo['depth']} time(s) from its source; "
            f"{evo['sources_evolved']:,} source instruction(s) evolved.</p>",
            "<h3>Tasks per round</h3>",
            _table(["round", "tasks", "share"], rounds),
            "<h3>Operations</h3>",
            _table(["operation", "tasks", "share"], operations),
        )
    ]


def _charts(stats: Stats, part: str) -> str:
    try:
        return plot.figure_svg(stats, part)
    except InputError as exc:
        return f"<p><em>No chart: {_e(exc.reason)}</em></p>"


def _pairs(stats: Stats) -> str:
    rows = [[f"{p.score:.3f}", f"{p.task_id}: {p.instruction}",
             f"{'seed' if p.other_is_seed else 'task'} {p.other_id}: {p.other}"] for p in stats.near_pairs]  # fmt: skip
    return _section(
        "pairs",
        "Closest pairs",
        f"<p>The tasks most similar to an earlier task or a seed. Exact duplicate instructions (case and spacing "
        f"aside): {stats.exact_duplicates:,}.</p>",
        _table(["ROUGE-L", "task", "most similar"], rows, (1, 2)) if rows else "<p>No pairs.</p>",
    )


def _verbs(stats: Stats) -> str:
    body = []
    if (v := stats.verbs) is not None:
        body.append(
            f"<p>{v.distinct_verbs:,} distinct verbs, {v.distinct_pairs:,} distinct verb–noun pairs; "
            f"{v.pair_share:.1%} of instructions have a pair ({_e(v.model)}).</p>"
        )
        rows = [[verb, f"{n:,}", ", ".join(f"{noun} ({c:,})" for noun, c in nouns)] for verb, n, nouns in v.top]
        body += [_charts(stats, "verbs"), _table(["verb", "pairs", "top nouns"], rows, (2,))]
    if stats.verbs_note:
        body.append(f"<p><em>{_e(stats.verbs_note)}</em></p>")
    return _section("verbs", "Verbs and their objects (the paper's Figure 2)", *body)


def _sample(stats: Stats) -> str:
    rows = []
    for task in stats.sample:
        kind = {True: "classification", False: "open", None: "unknown"}[task.is_classification]
        shown = "\n\n".join((f"input: {i['input']}\n" if i["input"].strip() else "") + f"output: {i['output']}"
                            for i in task.instances)  # fmt: skip
        rows.append([task.id, kind, task.instruction, shown])
    return _section(
        "sample",
        f"Sample for manual review ({len(stats.sample)} tasks, seed {stats.sample_seed})",
        _table(["id", "type", "instruction", "instances"], rows, (2, 3)) if rows else "<p>No tasks.</p>",
    )


def render_html(stats: Stats) -> str:
    """The whole page as a string."""
    warn = "".join(f"<li>{_e(w)}</li>" for w in stats.warnings)
    parts = [
        f"<h1>selfinstruct stats: {_e(stats.source)}</h1>",
        _section("warnings", "Warnings", f'<ul class="warn">{warn}</ul>' if warn else "<p>None.</p>"),
        _summary(stats),
        *_run(stats),
        *_evolution(stats),
    ]
    tokens = (
        [f"<h3>In tokens ({_e(stats.tokenizer)})</h3>", _length_table(stats.token_lengths)]
        if stats.token_lengths is not None
        else [f"<p><em>No lengths in tokens: {_e(stats.tokens_note)}</em></p>"]
    )
    parts.append(_section("lengths", "Lengths (the paper's Figure 4)",
                          f"<h3>In {_e(stats.length_unit)}; inputs: non-empty only</h3>", _length_table(stats.lengths),
                          *tokens, _charts(stats, "lengths")))  # fmt: skip
    ref = " or seed" if stats.similarity_reference else ""
    sim = [_charts(stats, "similarity"), f"<h3>To the most similar earlier task{ref}</h3>",
           _hist_table(stats.similarity_counts, stats.threshold)]  # fmt: skip
    if stats.seed_similarity_counts is not None:
        sim += ["<h3>To the most similar seed (the paper's Figure 3)</h3>", _hist_table(stats.seed_similarity_counts)]
    parts.append(_section("similarity", f"ROUGE-L similarity (filter threshold {stats.threshold:g})", *sim))
    parts += [_pairs(stats), _verbs(stats)]
    if stats.audit is not None:
        from selfinstruct.stats.render.audit import render_table

        table = f"<pre>{_e(render_table(stats.audit))}</pre>"
        parts.append(_section("audit", "Quality audit (the paper's Table 2, by an LLM judge)", table))
    parts.append(_sample(stats))
    parts.append(f"<details><summary>Text report</summary><pre>{_e(render_text(stats))}</pre></details>")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>selfinstruct stats: {_e(stats.source)}</title><style>{STYLE}</style></head>"
        f"<body>{''.join(parts)}</body></html>\n"
    )


def write_html(stats: Stats, path: Path | str) -> None:
    """Write the page atomically."""
    page = render_html(stats)
    with atomic_writer(path) as fh:
        fh.write(page)
