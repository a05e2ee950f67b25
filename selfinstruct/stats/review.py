"""What a researcher reads before trusting a pool: the closest pairs, exact duplicates, rejected candidates per
reason, a seeded sample, and sanity checks on shares the Self-Instruct paper reports."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from selfinstruct.stats.report import NearPair, RejectedExample, SampleTask, Stats
from selfinstruct.stats.similarity import Similarities
from selfinstruct.tasks import Task
from selfinstruct.text import word_count

NEAR_PAIRS = 10
EXAMPLES_PER_REASON = 3
SHOWN_CHARS = 2000  # of a rejected reply: enough to see what went wrong
CLASSIFICATION_RANGE = (0.10, 0.60)
ONE_WORD_LIMIT = 0.20  # of the outputs of open-ended tasks
EMPTY_INPUT_LIMIT = 0.80
IDENTICAL_EXAMPLES = 5


def _key(text: str) -> str:
    return " ".join(text.casefold().split())


def near_pairs(
    tasks: Sequence[Task], seeds: Sequence[Task], sims: Similarities, top: int = NEAR_PAIRS
) -> list[NearPair]:
    """The `top` tasks closest to an earlier task or a seed, with that partner, most similar first."""
    ranked = sorted(
        (k for k, (s, j) in enumerate(zip(sims.scores, sims.partners, strict=True)) if s is not None and j >= 0),
        key=lambda k: (-(sims.scores[k] or 0.0), k),
    )
    out = []
    for k in ranked[:top]:
        j = sims.partners[k]
        other = seeds[j] if j < len(seeds) else tasks[j - len(seeds)]
        task = tasks[k]
        out.append(
            NearPair(sims.scores[k] or 0.0, task.id, task.instruction, other.id, other.instruction, j < len(seeds))
        )
    return out


def exact_duplicates(tasks: Sequence[Task], seeds: Sequence[Task]) -> int:
    """Tasks whose instruction, ignoring case and spacing, is a seed's or an earlier task's."""
    seen = {_key(s.instruction) for s in seeds}
    dupes = 0
    for task in tasks:
        key = _key(task.instruction)
        dupes += key in seen
        seen.add(key)
    return dupes


def rejected_examples(
    rejected: Sequence[dict[str, Any]], seed: int, per_reason: int = EXAMPLES_PER_REASON
) -> dict[str, list[RejectedExample]]:
    """A seeded pick of `per_reason` rejection records per "stage:reason", with the raw reply when recorded."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in rejected:
        groups[f"{record.get('stage', '?')}:{record.get('reason', '?')}"].append(record)
    rng = random.Random(seed)
    out = {}
    for reason, records in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        picked = sorted(rng.sample(range(len(records)), min(per_reason, len(records))))
        out[reason] = [_example(records[k]) for k in picked]
    return out


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _example(record: dict[str, Any]) -> RejectedExample:
    raw = record.get("raw")
    raw_text = _text(raw)[:SHOWN_CHARS] if raw is not None else None
    return RejectedExample(_text(record.get("instruction"))[:SHOWN_CHARS], _text(record.get("detail"))[:SHOWN_CHARS],
                           raw_text)  # fmt: skip


def sample_tasks(tasks: Sequence[Task], n: int, seed: int) -> list[SampleTask]:
    """n tasks drawn with `seed` (in pool order), for reading by hand; the same seed draws the same tasks."""
    picked = sorted(random.Random(seed).sample(range(len(tasks)), min(n, len(tasks)))) if n > 0 else []
    return [SampleTask(tasks[k].id, tasks[k].instruction, tasks[k].is_classification,
                       [i.to_dict() for i in tasks[k].instances]) for k in picked]  # fmt: skip


def check_outputs(stats: Stats, tasks: Sequence[Task]) -> None:
    """One-word outputs of open-ended tasks, and outputs that several tasks share word for word."""
    open_outputs = [i.output for t in tasks if t.is_classification is not True for i in t.instances]
    stats.open_instances = len(open_outputs)
    stats.one_word_outputs = sum(1 for o in open_outputs if word_count(o) < 2)
    owners: dict[str, set[int]] = defaultdict(set)
    shown: dict[str, str] = {}
    for k, task in enumerate(tasks):
        if task.is_classification is True:
            continue  # labels repeat by design
        for instance in task.instances:
            if word_count(instance.output) >= 2:
                key = _key(instance.output)
                owners[key].add(k)
                shown.setdefault(key, instance.output)
    shared = {key: len(ks) for key, ks in owners.items() if len(ks) > 1}
    stats.identical_outputs = len(set().union(*(owners[key] for key in shared))) if shared else 0
    common = Counter(shared).most_common(IDENTICAL_EXAMPLES)
    stats.identical_examples = [(shown[key][:SHOWN_CHARS], n) for key, n in common]


def sanity_warnings(stats: Stats) -> list[str]:
    """Plain sentences for the shares that look wrong for an instruction-tuning pool."""
    out: list[str] = []
    if not stats.tasks:
        return out
    lo, hi = CLASSIFICATION_RANGE
    known = stats.tasks - stats.classification_unknown
    if known and not lo <= stats.classification / known <= hi:
        out.append(f"classification tasks are {stats.classification / known:.0%} of the tasks with a known type, "
                   f"outside {lo:.0%}-{hi:.0%} (the Self-Instruct pool: 22%)")  # fmt: skip
    if stats.open_instances and stats.one_word_share > ONE_WORD_LIMIT:
        out.append(f"{stats.one_word_share:.0%} of the outputs of non-classification tasks are one word or empty "
                   f"({stats.one_word_outputs:,} of {stats.open_instances:,})")  # fmt: skip
    if stats.instances and stats.empty_input_share > EMPTY_INPUT_LIMIT:
        out.append(f"{stats.empty_input_share:.0%} of the instances have an empty input "
                   f"(the Self-Instruct pool: 44%)")  # fmt: skip
    if stats.identical_outputs:
        out.append(f"{stats.identical_outputs:,} non-classification tasks share an output word for word with another "
                   "task")  # fmt: skip
    if stats.exact_duplicates:
        out.append(f"{stats.exact_duplicates:,} tasks repeat an earlier instruction or a seed exactly")
    if stats.truncated and (cut := sum(stats.truncated.values())):
        out.append(f"{cut:,} replies were cut off at the token limit (raise max_tokens if this is common)")
    return out
