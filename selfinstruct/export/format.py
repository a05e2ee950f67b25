"""What an export format is: how one instance of a task (or one preference pair) becomes one record, and which
options it takes.

A format is an `ExportFormat` in its own module; `registry.FORMATS` lists the built-in ones. The writing
(reading the pool, --min-score, splits, shuffling, atomic files) is shared and lives in `write.py`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from selfinstruct.export.settings import ExportSettings
from selfinstruct.tasks import Instance, Task

Record = dict[str, Any]


@dataclass(frozen=True)
class RecordContext:
    """What a record builder may need besides the instance: the options, the prompt-template RNG (drawn from
    in pool order, so that a record does not depend on the split or shuffle) and the dataset's language."""

    settings: ExportSettings
    rng: random.Random
    language: str


@dataclass(frozen=True)
class ExportFormat:
    """One export format. `folder` formats write a dataset folder with `write_folder` instead of a file. A format
    of preference pairs has no `record` but `pairs` (they are read from the source) and `pair_record`."""

    name: str
    summary: str  # one line for --help and the docs: what it is and who reads it
    record: Callable[[Task, Instance, RecordContext], Record] | None
    system_turn: bool = False  # has a system turn (--system)
    takes_roles: bool = False  # --roles names its turns
    takes_eos: bool = False  # --eos is appended to its completions
    folder: bool = False
    default_validation_split: float = 0.0  # when --validation-split is not given
    # Checks before anything is read (a missing library, a target that is not ours), and the folder writer.
    prepare: Callable[[ExportSettings], None] | None = field(default=None, compare=False)
    write_folder: Callable[..., None] | None = field(default=None, compare=False)
    # Advice printed after a file export (which trainer wants what).
    notes: Callable[[ExportSettings], list[str]] = field(default=lambda _s: [], compare=False)
    # Preference pairs (`prefer`'s) instead of a pool's instances: how they are read, and one pair's record.
    pairs: Callable[[ExportSettings], list[dict[str, Any]]] | None = field(default=None, compare=False)
    pair_record: Callable[[dict[str, Any], RecordContext], Record] | None = field(default=None, compare=False)


def join_prompt(instruction: str, inp: str) -> str:
    """Instruction and input as one user message: the input follows after a blank line."""
    return f"{instruction}\n\n{inp}" if inp.strip() else instruction


def turns(settings: ExportSettings, prompt: str, answer: str) -> list[tuple[str, str]]:
    """(role, text) pairs in OpenAI's role names, with the system turn first when there is one."""
    system = [("system", settings.system)] if settings.system else []
    return [*system, ("user", prompt), ("assistant", answer)]


def messages(task: Task, inst: Instance, settings: ExportSettings) -> list[dict[str, str]]:
    """The conversation in OpenAI's message shape, as TRL's conversational format wants it."""
    prompt = join_prompt(task.instruction, inst.input)
    return [{"role": role, "content": text} for role, text in turns(settings, prompt, inst.output)]
