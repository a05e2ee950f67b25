"""Describe a task pool or run directory as the Self-Instruct paper does: counts (and a run's usage, acceptance
and rejections), lengths (Figure 4), ROUGE-L to the most similar earlier instruction (Figure 3) and root
verb + direct-object noun diversity (Figure 2, with spaCy when installed).

This module is the entry point: `compute_stats` reads (stats_read), computes (stats_lengths, stats_similarity,
stats_verbs) and returns a `Stats` (stats_report) that stats_text, stats_plot and stats_html render.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from selfinstruct import stats_verbs
from selfinstruct.seeds import load_tasks
from selfinstruct.stats_lengths import distribution
from selfinstruct.stats_read import read_run_dir
from selfinstruct.stats_report import INSTALL_HINT, SIM_BINS, Distribution, RunInfo, Stats, VerbStats
from selfinstruct.stats_similarity import max_similarities, similarity_bin
from selfinstruct.stats_text import render_text
from selfinstruct.tasks import Task
from selfinstruct.text import detect_language, word_count

__all__ = [
    "INSTALL_HINT",
    "SIM_BINS",
    "Distribution",
    "RunInfo",
    "Stats",
    "VerbStats",
    "compute_stats",
    "dataset_language",
    "read_run_dir",
    "render_text",
]


def _run_info(run: dict[str, Any], rejected: list[dict[str, Any]], accepted: int) -> RunInfo:
    raw = run.get("usage")
    raw = raw if isinstance(raw, dict) else {}
    usage = {str(step): {k: int(v) for k, v in nums.items() if isinstance(v, (int, float))}
             for step, nums in raw.items() if isinstance(nums, dict)}  # fmt: skip
    failed = sum(1 for r in rejected if r.get("stage") == "response")
    reasons = Counter(f"{r.get('stage', '?')}:{r.get('reason', '?')}" for r in rejected)
    status = run.get("status")
    return RunInfo(status if isinstance(status, str) else None, usage, accepted, len(rejected) - failed, failed,
                   dict(reasons.most_common()))  # fmt: skip


def dataset_language(run: dict[str, Any], tasks: Sequence[Task]) -> str:
    """run.json's language setting, else the language detected on most instructions."""
    settings = run.get("settings")
    if isinstance(settings, dict) and settings.get("language") in ("en", "zh"):
        return str(settings["language"])
    votes = Counter(detect_language(t.instruction) for t in tasks)
    return "zh" if votes["zh"] > votes["en"] else "en"


def compute_stats(path: Path, *, parse_verbs: bool = True, progress: Callable[[int], object] | None = None) -> Stats:
    """Statistics of a run directory or a task file. Bad input raises InputError before anything is computed.

    `progress(n)` is called after each batch of n instructions the verb parser has done."""
    path, clock = Path(path), [time.perf_counter()]
    run: dict[str, Any] = {}
    seeds: list[Task] = []
    run_info = None
    if path.is_dir():
        tasks, seeds, run, rejected = read_run_dir(path)
        run_info = _run_info(run, rejected, len(tasks))
    else:
        tasks = load_tasks(path)
    language = dataset_language(run, tasks)
    count: Callable[[str], float] = word_count if language == "zh" else lambda s: float(len(s.split()))
    instances = [i for t in tasks for i in t.instances]
    instructions = [t.instruction for t in tasks]
    clock.append(time.perf_counter())
    scores, exact = max_similarities(instructions, [s.instruction for s in seeds])
    clock.append(time.perf_counter())
    stats = Stats(
        source=str(path),
        kind="run" if path.is_dir() else "file",
        language=language,
        tasks=len(tasks),
        instances=len(instances),
        instances_per_task_max=max((len(t.instances) for t in tasks), default=0),
        classification=sum(1 for t in tasks if t.is_classification),
        classification_unknown=sum(1 for t in tasks if t.is_classification is None),
        empty_inputs=sum(1 for i in instances if not i.input.strip()),
        length_unit="words (1.5 Chinese characters = 1 word)" if language == "zh" else "words",
        lengths={
            "instruction": distribution(count(t) for t in instructions),
            "input": distribution(count(i.input) for i in instances if i.input.strip()),
            "output": distribution(count(i.output) for i in instances),
        },
        similarity_reference=len(seeds),
        similarity_counts=[0] * SIM_BINS,
        similarity_exact=exact,
        run=run_info,
    )
    for score in scores:
        if score is not None:
            stats.similarity_counts[similarity_bin(score)] += 1
    if language == "zh":
        stats.prefixes = stats_verbs.leading_prefixes(instructions)
        stats.verbs_note = (
            "Chinese instructions: no dependency parser is used, so verb–noun pairs are not computed; "
            "shown instead: the most common leading 2-character prefixes (after 请)"
        )
    elif not parse_verbs:
        stats.verbs_note = "verb–noun diversity not computed (parsing turned off)"
    elif (nlp := stats_verbs.load_parser()) is None:
        stats.verbs_note = f"verb–noun diversity needs spaCy and its English model: {INSTALL_HINT}"
    else:
        stats.verbs = stats_verbs.verb_stats(instructions, nlp, progress)
    clock.append(time.perf_counter())
    steps = ("read", "similarity", "verbs")
    stats.seconds = {step: b - a for step, a, b in zip(steps, clock[:-1], clock[1:], strict=True)}
    return stats
