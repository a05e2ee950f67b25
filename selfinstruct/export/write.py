"""Export a task pool (a run directory or any task file) in one of the formats trainers read (registry.py).

One record per instance; `--out x.json` writes a JSON array, `x.jsonl` one record per line, and a folder
format (hf) a dataset folder. A validation split holds out whole tasks, so that no instruction is in both
splits. Everything is read and checked before anything is written, and files are renamed into place together.
"""

from __future__ import annotations

import contextlib
import dataclasses
import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from selfinstruct.errors import EmptyExportError, InputError
from selfinstruct.export.format import ExportFormat, RecordContext
from selfinstruct.export.options import resolve_export_settings
from selfinstruct.export.registry import FORMATS
from selfinstruct.export.result import ExportResult, Output
from selfinstruct.export.settings import ExportSettings
from selfinstruct.io.records import atomic_writer, dumps
from selfinstruct.stats.compute import dataset_language, read_run_dir
from selfinstruct.tasks import Instance, Task


def _load(path: Path, include_seeds: bool, notes: list[str]) -> tuple[list[Task], list[Task], dict[str, Any]]:
    if not path.is_dir():
        from selfinstruct.io.seeds import load_tasks

        tasks = load_tasks(path)
        if include_seeds:
            notes.append(f"{path} is a task file, not a run directory: there are no seeds to include")
        return tasks, [], {}
    tasks, seeds, run, _ = read_run_dir(path, rejected=False)
    if include_seeds and not seeds:
        notes.append(f"{path} has no seeds.jsonl: no seeds included")
    return tasks, seeds if include_seeds else [], run


def _instances(task: Task, s: ExportSettings) -> tuple[Instance, ...]:
    return task.instances[: s.instances_per_task] if s.instances_per_task is not None else task.instances


def _split(groups: list[list[dict[str, Any]]], s: ExportSettings) -> dict[str, list[list[dict[str, Any]]]]:
    """Whole tasks to the validation split, picked at random from --seed; the rest, in order, to train."""
    if not s.validation_split:
        return {"all": groups}
    held = max(1, round(s.validation_split * len(groups)))
    if held >= len(groups):
        raise InputError(
            f"--validation-split {s.validation_split} of {len(groups)} task(s) with instances leaves nothing to "
            "train on; lower it or export more tasks"
        )
    picked = set(random.Random(f"validation:{s.seed}").sample(range(len(groups)), held))
    return {
        "train": [g for k, g in enumerate(groups) if k not in picked],
        "validation": [g for k, g in enumerate(groups) if k in picked],
    }


def _check_paths(s: ExportSettings) -> None:
    """Refuse to write over an input: everything is checked before anything is written."""
    source = s.source
    inputs = [source / name for name in ("tasks.jsonl", "seeds.jsonl", "run.json")] if source.is_dir() else [source]
    inputs = [p.resolve() for p in inputs if p.exists()]
    targets = [s.out] if s.validation_out is None else [s.out, s.validation_out]
    for target in targets:
        if target.exists() and target.resolve() in inputs:
            raise InputError("the output file is one of the input files; write the export somewhere else", path=target)
        if target.is_dir() and not s.folder:
            raise InputError("is a directory; give a .json or .jsonl file for the export", path=target)
    if s.folder:
        out = s.out.resolve()
        if any(out == p or out in p.parents for p in [*inputs, source.resolve()]):
            raise InputError("the dataset folder would hold the input; write the export somewhere else", path=s.out)


def _write_records(fh: IO[str], rows: list[dict[str, Any]], as_array: bool) -> None:
    if as_array:
        fh.write("[\n" + ",\n".join("  " + dumps(r) for r in rows) + ("\n]\n" if rows else "]\n"))
    else:
        fh.writelines(dumps(r) + "\n" for r in rows)


def export_data(settings: ExportSettings, *, notice: Callable[[str], object] = lambda _: None) -> ExportResult:
    """Export settings.source as settings.out; everything is read and checked before anything is written.
    `notice` hears about slow steps before they start (the hf card's statistics)."""
    s = settings
    _check_paths(s)
    form: ExportFormat = FORMATS[s.fmt]
    if form.prepare is not None:
        form.prepare(s)
    notes: list[str] = []
    if form.pairs is not None:
        return _export_pairs(s, form, notes)
    tasks, seeds, run = _load(s.source, s.include_seeds, notes)
    score_drops: Counter[str] = Counter()
    score_kept = 0
    if s.min_score is not None:
        from selfinstruct.audit.scores import keep_min_score
        from selfinstruct.audit.settings import default_journal

        journal = s.audit or default_journal(s.source)
        selection = keep_min_score(tasks, journal, s.min_score)
        score_drops, score_kept = selection.dropped, selection.kept
        kept = [(t, selection.kept_instances(i)) for i, t in enumerate(tasks)]
        # Only the instances the audit vouches for; a task left with none goes (it is not "without instances").
        tasks = [dataclasses.replace(t, instances=tuple(t.instances[k] for k in ks)) for t, ks in kept if ks]
    language = dataset_language(run, [*seeds, *tasks])
    chosen = [t for t in [*seeds, *tasks] if t.instances]
    skipped = len(seeds) + len(tasks) - len(chosen)
    if not chosen:
        total = len(seeds) + len(tasks)
        have = f"none of its {total:,} tasks has an instance" if total else "it holds no tasks"
        if score_drops:
            have = f"the audit scored none of its instances at least {s.min_score:g} ({_drops(score_drops)})"
        raise EmptyExportError(f"{s.source}: nothing to export: {have}; nothing was written")
    if skipped:
        notes.append(f"skipped {skipped:,} task(s) without instances")
    # The template choice, in pool order: the same whatever the split or shuffle.
    ctx = RecordContext(s, random.Random(s.seed), language)
    record = form.record
    assert record is not None  # a format without one has `pairs` (checked by test_export's registry test)
    groups = [[record(task, inst, ctx) for inst in _instances(task, s)] for task in chosen]
    result = ExportResult(written=0, tasks=len(chosen) - sum(1 for t in seeds if t.instances),
                          seeds=sum(1 for t in seeds if t.instances), skipped=skipped, notes=notes,
                          score_kept=score_kept, score_drops=score_drops)  # fmt: skip
    return _write_groups(s, form, groups, run, language, result, notice)


def _export_pairs(s: ExportSettings, form: ExportFormat, notes: list[str]) -> ExportResult:
    """A format of preference pairs: the pairs of each instruction are one group (a validation split holds out
    whole instructions); the pair's answers are never a pool's instances."""
    assert form.pairs is not None and form.pair_record is not None
    pairs = form.pairs(s)
    language = dataset_language({}, [Task(str(k), p["instruction"]) for k, p in enumerate(pairs)])
    ctx = RecordContext(s, random.Random(s.seed), language)
    by_task: dict[Any, list[dict[str, Any]]] = {}
    for pair in pairs:
        by_task.setdefault(pair.get("task_id"), []).append(form.pair_record(pair, ctx))
    result = ExportResult(written=0, tasks=len(by_task), seeds=0, skipped=0, notes=notes)
    return _write_groups(s, form, list(by_task.values()), {}, language, result, lambda _: None)


def _write_groups(s: ExportSettings, form: ExportFormat, groups: list[list[dict[str, Any]]], run: dict[str, Any],
                  language: str, result: ExportResult, notice: Callable[[str], object]) -> ExportResult:  # fmt: skip
    """Split, shuffle and write the records (grouped by task), as a file or the format's folder."""
    notes = result.notes
    splits = _split(groups, s)
    if form.folder and "all" in splits:
        splits = {"train": splits["all"]}  # a dataset folder always has a train split
    rows = {name: [r for g in gs for r in g] for name, gs in splits.items()}
    if s.shuffle:
        for name, split_rows in rows.items():
            random.Random(f"shuffle:{name}:{s.seed}").shuffle(split_rows)
    result.written = sum(len(r) for r in rows.values())
    if form.write_folder is not None:
        result.outputs = [Output(n, s.out, len(r), len(splits[n])) for n, r in rows.items()]
        form.write_folder(s, rows, run, language, result, notice)
        return result
    targets = {name: s.validation_file if name == "validation" else s.out for name in rows}
    with contextlib.ExitStack() as stack:  # all files are renamed into place only once all are written
        for name, split_rows in rows.items():
            _write_records(stack.enter_context(atomic_writer(targets[name])), split_rows, s.as_array)
    result.outputs = [Output(n, targets[n], len(r), len(splits[n])) for n, r in rows.items()]
    notes.extend(form.notes(s))
    return result


def _drops(drops: Counter[str]) -> str:
    from selfinstruct.audit.scores import describe_drops

    return describe_drops(drops)


def score_summary(result: ExportResult, min_score: float) -> str:
    """`kept 40 of 50 pool instances (of 30 tasks) the audit scored at least 4.5 (dropped: score_below_4.5 8,
    not_judged 2 (never judged by the audit))`: per instance, as the audit scores them."""
    dropped = sum(result.score_drops.values())
    tail = f" (dropped: {_drops(result.score_drops)})" if dropped else ""
    return (
        f"kept {result.score_kept:,} of {result.score_kept + dropped:,} pool instances (of {result.tasks:,} tasks) "
        f"the audit scored at least {min_score:g}{tail}"
    )


def export(path: Path | str, fmt: str, out: Path | str, **options: Any) -> int:
    """Export `path` to `out` in format `fmt` (options as resolve_export_settings takes them); the record count."""
    return export_data(resolve_export_settings(path, fmt, out, **options)).written
