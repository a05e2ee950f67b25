"""Reading what `selfinstruct stats` describes: a run directory (pool, seeds, run.json, rejections) or a task file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from selfinstruct.errors import InputError
from selfinstruct.io.records import read_records, read_text
from selfinstruct.io.seeds import load_tasks
from selfinstruct.tasks import Task

_RUN_FILES = ("tasks.jsonl", "seeds.jsonl", "run.json", "rejected.jsonl")


def read_run_dir(
    directory: Path, *, rejected: bool = True
) -> tuple[list[Task], list[Task], dict[str, Any], list[dict[str, Any]]]:
    """A run directory's pool, seeds, run.json and (when asked) rejected records; missing or empty files: none."""
    if not (directory / "tasks.jsonl").exists() and not (directory / "run.json").exists():
        raise InputError("not a run directory (no tasks.jsonl or run.json); pass a run directory or a task file",
                         path=directory)  # fmt: skip
    texts = {name: read_text(directory / name) if (directory / name).exists() else "" for name in _RUN_FILES}
    try:
        run = json.loads(texts["run.json"]) if texts["run.json"].strip() else {}
    except json.JSONDecodeError as exc:
        raise InputError(f"broken JSON ({exc.msg}); restore run.json", path=directory / "run.json",
                         line=exc.lineno) from None  # fmt: skip
    except RecursionError:
        raise InputError("JSON nested too deeply; restore run.json", path=directory / "run.json") from None
    if not isinstance(run, dict):
        raise InputError("expected a JSON object; restore run.json", path=directory / "run.json")
    tasks, seeds = (load_tasks(directory / n) if texts[n].strip() else [] for n in ("tasks.jsonl", "seeds.jsonl"))
    dropped = read_records(directory / "rejected.jsonl") if rejected and texts["rejected.jsonl"].strip() else []
    return tasks, seeds, run, [r.data for r in dropped]
