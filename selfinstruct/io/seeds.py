"""Load and validate seed task files.

Accepted shapes, per record, in JSONL or a JSON array:
- Self-Instruct: {"id", "name", "instruction", "instances": [{"input", "output"}], "is_classification"}
- Alpaca: {"instruction", "input", "output"} (one instance)
- either without ``name``/``is_classification``/``id`` (classification is then unknown; ids are generated)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from selfinstruct.errors import ClassificationSeedsError, InputError
from selfinstruct.io.records import Record, read_records
from selfinstruct.tasks import Instance, Task

_KNOWN = {"id", "name", "instruction", "instances", "is_classification", "input", "output"}


def _instances(data: dict[str, Any], path: Path, line: int) -> tuple[Instance, ...]:
    if "instances" in data:
        raw = data["instances"]
        if not isinstance(raw, list):
            raise InputError(
                '"instances" must be a list of {"input": ..., "output": ...} objects', path=path, line=line
            )
        out = []
        for k, inst in enumerate(raw):
            if not isinstance(inst, dict):
                raise InputError(
                    f'"instances"[{k}] must be an object with "input" and "output" strings',
                    path=path,
                    line=line,
                )
            inp = inst.get("input", "")
            outp = inst.get("output")
            if not isinstance(inp, str) or not isinstance(outp, str):
                bad = "input" if not isinstance(inp, str) else "output"
                raise InputError(f'"instances"[{k}].{bad} must be a string (use "" for no input)', path=path, line=line)
            out.append(Instance(inp, outp))
        return tuple(out)
    if "output" in data:
        inp = data.get("input", "")
        outp = data["output"]
        if not isinstance(inp, str) or not isinstance(outp, str):
            bad = "input" if not isinstance(inp, str) else "output"
            raise InputError(f'"{bad}" must be a string (use "" for no input)', path=path, line=line)
        return (Instance(inp, outp),)
    return ()


def task_from_record(record: Record, path: Path, index: int) -> Task:
    """Validate one record into a Task; the error names the line and the field to fix."""
    data, line = record.data, record.line
    instruction = data.get("instruction")
    if instruction is None:
        raise InputError('missing "instruction"; every task needs an "instruction" string', path=path, line=line)
    if not isinstance(instruction, str):
        raise InputError('"instruction" must be a string', path=path, line=line)
    if not instruction.strip():
        raise InputError('"instruction" is empty; write the task instruction there', path=path, line=line)
    raw_id = data.get("id", f"seed_task_{index}")
    if isinstance(raw_id, bool) or not isinstance(raw_id, (str, int)):
        raise InputError('"id" must be a string or an integer', path=path, line=line)
    name = data.get("name")
    if name is not None and not isinstance(name, str):
        raise InputError('"name" must be a string', path=path, line=line)
    is_cls = data.get("is_classification")
    if is_cls is not None and not isinstance(is_cls, bool):
        raise InputError('"is_classification" must be true, false or null', path=path, line=line)
    extra = {k: v for k, v in data.items() if k not in _KNOWN}
    return Task(
        id=str(raw_id),
        instruction=instruction.strip(),
        instances=_instances(data, path, line),
        is_classification=is_cls,
        name=name,
        extra=extra,
    )


def load_tasks(path: Path | str) -> list[Task]:
    """Every record of a seed/pool/Alpaca file as a Task; duplicate ids are an InputError."""
    path = Path(path)
    tasks: list[Task] = []
    seen: dict[str, int] = {}
    for index, record in enumerate(read_records(path)):
        task = task_from_record(record, path, index)
        if task.id in seen:
            raise InputError(
                f'duplicate id "{task.id}" (first on line {seen[task.id]}); ids must be unique',
                path=path,
                line=record.line,
            )
        seen[task.id] = record.line
        tasks.append(task)
    return tasks


@dataclass(frozen=True)
class SeedSummary:
    path: str
    tasks: int
    instances: int
    classification: int
    unknown_classification: int
    without_input: int

    def lines(self) -> list[str]:
        return [
            f"{self.path}: {self.tasks} tasks, {self.instances} instances",
            f"  classification: {self.classification}, unknown: {self.unknown_classification}",
            f"  tasks without input: {self.without_input}",
        ]


def summarize(path: Path | str, tasks: Sequence[Task]) -> SeedSummary:
    return SeedSummary(
        path=str(path),
        tasks=len(tasks),
        instances=sum(len(t.instances) for t in tasks),
        classification=sum(1 for t in tasks if t.is_classification),
        unknown_classification=sum(1 for t in tasks if t.is_classification is None),
        without_input=sum(1 for t in tasks if t.instances and all(not i.input.strip() for i in t.instances)),
    )


def validate_seeds(path: Path | str) -> SeedSummary:
    """Load a seed file and summarise it (the `validate` command)."""
    return summarize(path, load_tasks(path))


def demonstration_seeds(seeds: Sequence[Task], *, classification_only: bool) -> list[Task]:
    """The seeds an instruction prompt may show. With ``classification_only`` (the original's
    --use_clf_seed_tasks_only) only classification seeds, so that the model writes classification tasks;
    the near-duplicate filter still compares against every seed."""
    return [t for t in seeds if t.is_classification] if classification_only else list(seeds)


def check_classification_seeds(seeds: Sequence[Task], *, needed: int, path: Path, decided: bool = False) -> None:
    """Enough classification seeds for --classification-only. Before a run classifies the seeds that lack
    ``is_classification`` (``decided`` False) those count as possible; afterwards only the real ones do."""
    known = sum(1 for t in seeds if t.is_classification)
    possible = known if decided else known + sum(1 for t in seeds if t.is_classification is None)
    if possible < needed:
        raise ClassificationSeedsError(
            f"has {known} classification tasks (is_classification true); --classification-only needs at least "
            f"{needed} to show as demonstrations",
            path=path,
        )
