"""Export a task pool (a run directory or any task file) to the formats fine-tuning tools read.

One record per instance:
- alpaca: a JSON array of {"instruction", "input", "output"} (Stanford Alpaca's alpaca_data.json);
- sharegpt: JSONL {"conversations": [{"from": "human", ...}, {"from": "gpt", ...}]};
- openai-chat: JSONL {"messages": [{"role": "user", ...}, {"role": "assistant", ...}]};
- prompt-completion: JSONL {"prompt", "completion"} as in the paper's GPT-3 fine-tuning: the instruction and
  input are joined by one of several templates picked at random per instance, the completion starts with a
  space and ends with an end-of-text marker.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from selfinstruct.errors import InputError
from selfinstruct.records import atomic_writer, dumps
from selfinstruct.stats import dataset_language, read_run_dir
from selfinstruct.tasks import Instance, Task

FORMATS = ("alpaca", "sharegpt", "openai-chat", "prompt-completion")
END_OF_TEXT = "<|endoftext|>"

# (template with an input, template without) pairs; the prompt ends where the model starts answering.
TEMPLATES: dict[str, tuple[tuple[str, str], ...]] = {
    "en": (
        ("{instruction}\n\nInput: {input}\n\nOutput:", "{instruction}\n\nOutput:"),
        ("Task: {instruction}\nInput: {input}\nOutput:", "Task: {instruction}\nOutput:"),
        ("{instruction}\n\n{input}\n\nAnswer:", "{instruction}\n\nAnswer:"),
        ("Instruction: {instruction}\n\n{input}\n\nResponse:", "Instruction: {instruction}\n\nResponse:"),
    ),
    "zh": (
        ("{instruction}\n\n输入：{input}\n\n输出：", "{instruction}\n\n输出："),
        ("任务：{instruction}\n输入：{input}\n输出：", "任务：{instruction}\n输出："),
        ("{instruction}\n\n{input}\n\n回答：", "{instruction}\n\n回答："),
        ("指令：{instruction}\n\n{input}\n\n回复：", "指令：{instruction}\n\n回复："),
    ),
}


@dataclass
class ExportResult:
    written: int
    tasks: int  # pool tasks exported (with at least one instance)
    seeds: int  # seed tasks exported
    skipped: int  # tasks without instances: nothing to train on
    notes: list[str] = field(default_factory=list)


def join_prompt(instruction: str, inp: str) -> str:
    """Instruction and input as one user message: the input follows after a blank line."""
    return f"{instruction}\n\n{inp}" if inp.strip() else instruction


def _load(path: Path, include_seeds: bool, notes: list[str]) -> tuple[list[Task], list[Task], dict[str, Any]]:
    if not path.is_dir():
        from selfinstruct.seeds import load_tasks

        tasks = load_tasks(path)
        if include_seeds:
            notes.append(f"{path} is a task file, not a run directory: there are no seeds to include")
        return tasks, [], {}
    tasks, seeds, run, _ = read_run_dir(path, rejected=False)
    if include_seeds and not seeds:
        notes.append(f"{path} has no seeds.jsonl: no seeds included")
    return tasks, seeds if include_seeds else [], run


def _records(tasks: list[Task], fmt: str, k: int | None, rng: random.Random, language: str) -> Iterator[dict[str, Any]]:
    templates = TEMPLATES["zh" if language == "zh" else "en"]
    space = "" if language == "zh" else " "
    for task in tasks:
        instances: tuple[Instance, ...] = task.instances[:k] if k is not None else task.instances
        for inst in instances:
            if fmt == "alpaca":
                yield {"instruction": task.instruction, "input": inst.input, "output": inst.output}
            elif fmt == "sharegpt":
                prompt = join_prompt(task.instruction, inst.input)
                yield {"conversations": [{"from": "human", "value": prompt}, {"from": "gpt", "value": inst.output}]}
            elif fmt == "openai-chat":
                prompt = join_prompt(task.instruction, inst.input)
                yield {"messages": [{"role": "user", "content": prompt},
                                    {"role": "assistant", "content": inst.output}]}  # fmt: skip
            else:
                with_input, without = rng.choice(templates)
                has_input = bool(inst.input.strip())
                template = with_input if has_input else without
                prompt = template.format(instruction=task.instruction, input=inst.input.strip())
                yield {"prompt": prompt, "completion": f"{space}{inst.output}{END_OF_TEXT}"}


def export_data(
    path: Path,
    fmt: str,
    out: Path,
    *,
    instances_per_task: int | None = None,
    include_seeds: bool = False,
    seed: int = 0,
) -> ExportResult:
    """Export `path` to `out` in format `fmt`; everything is read and checked before `out` is written."""
    path, out = Path(path), Path(out)
    if fmt not in FORMATS:
        raise InputError(f"unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    if instances_per_task is not None and instances_per_task < 1:
        raise InputError("instances per task must be at least 1")
    inputs = [path / name for name in ("tasks.jsonl", "seeds.jsonl", "run.json")] if path.is_dir() else [path]
    if out.exists() and any(p.exists() and p.resolve() == out.resolve() for p in inputs):
        raise InputError("the output file is one of the input files; write the export somewhere else", path=out)
    if out.is_dir():
        raise InputError("is a directory; give a file path for the export", path=out)
    notes: list[str] = []
    tasks, seeds, run = _load(path, include_seeds, notes)
    language = dataset_language(run, [*seeds, *tasks])
    chosen = [t for t in [*seeds, *tasks] if t.instances]
    skipped = len(seeds) + len(tasks) - len(chosen)
    if skipped:
        notes.append(f"skipped {skipped:,} task(s) without instances")
    rng = random.Random(seed)
    written = 0
    with atomic_writer(out) as fh:
        records = _records(chosen, fmt, instances_per_task, rng, language)
        if fmt == "alpaca":
            fh.write("[")
            for written, record in enumerate(records, start=1):
                fh.write(("\n  " if written == 1 else ",\n  ") + json.dumps(record, ensure_ascii=False))
            fh.write("\n]\n" if written else "]\n")
        else:
            for record in records:
                fh.write(dumps(record) + "\n")
                written += 1
    seed_count = sum(1 for t in seeds if t.instances)
    return ExportResult(written=written, tasks=len(chosen) - seed_count, seeds=seed_count, skipped=skipped,
                        notes=notes)  # fmt: skip


def export(
    path: Path,
    fmt: str,
    out: Path,
    *,
    instances_per_task: int | None = None,
    include_seeds: bool = False,
    seed: int = 0,
) -> int:
    """Export `path` to `out` in format `fmt`; returns the number of records written."""
    return export_data(
        path, fmt, out, instances_per_task=instances_per_task, include_seeds=include_seeds, seed=seed
    ).written
