"""Editable prompt templates: plain text files with {{placeholders}}, one per pipeline step and mode.

`--prompts DIR` overrides any subset of the files (DIR/<language>/ or DIR itself); missing files fall back to
the bundled ones, so a user can steer just the instruction prompt to a domain.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from selfinstruct.errors import InputError
from selfinstruct.io.records import read_text
from selfinstruct.io.resources import bundled_dir
from selfinstruct.tasks import Instance, Task

# Each template: the placeholders it may use, and those it must use.
TEMPLATES: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "instructions": (
        frozenset({"demonstrations", "next_number", "last_number", "count"}),
        frozenset({"demonstrations"}),
    ),
    # --classification-only: the same list, asking for classification tasks (the original's clf prompt).
    "instructions_classification": (
        frozenset({"demonstrations", "next_number", "last_number", "count"}),
        frozenset({"demonstrations"}),
    ),
    "classify": (frozenset({"instruction"}), frozenset({"instruction"})),
    "instances_input_first": (frozenset({"instruction"}), frozenset({"instruction"})),
    "instances_output_first": (frozenset({"instruction"}), frozenset({"instruction"})),
    "alpaca": (frozenset({"demonstrations", "count", "next_number"}), frozenset({"demonstrations"})),
    "audit": (frozenset({"instruction", "input", "output"}), frozenset({"instruction", "input", "output"})),
}
_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


@dataclass(frozen=True)
class Template:
    name: str
    text: str
    path: Path

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def render(self, **values: object) -> str:
        def fill(match: re.Match[str]) -> str:
            return str(values[match.group(1)])

        return _PLACEHOLDER.sub(fill, self.text)


def _load(name: str, path: Path) -> Template:
    text = read_text(path)
    allowed, required = TEMPLATES[name]
    used = {m.group(1) for m in _PLACEHOLDER.finditer(text)}
    unknown = sorted(used - allowed)
    if unknown:
        raise InputError(
            f"unknown placeholder {{{{{unknown[0]}}}}}; {name}.txt may use "
            + ", ".join(f"{{{{{p}}}}}" for p in sorted(allowed)),
            path=path,
        )
    missing = sorted(required - used)
    if missing:
        raise InputError(f"the template must contain {{{{{missing[0]}}}}}", path=path)
    return Template(name, text, path)


@dataclass(frozen=True)
class PromptSet:
    templates: dict[str, Template]

    def __getitem__(self, name: str) -> Template:
        return self.templates[name]

    def fingerprint(self) -> dict[str, dict[str, str]]:
        return {n: {"path": str(t.path), "sha256": t.sha256} for n, t in sorted(self.templates.items())}


def load_prompts(language: str, override: Path | None = None) -> PromptSet:
    """The templates for a language, with a user's directory taking precedence file by file."""
    base = bundled_dir("prompts") / language
    user: Path | None = None
    if override is not None:
        if not override.is_dir():
            raise InputError("--prompts must be a directory of .txt templates", path=override)
        user = override / language if (override / language).is_dir() else override
        known = {f"{n}.txt" for n in TEMPLATES}
        strays = sorted(p.name for p in user.glob("*.txt") if p.name not in known)
        if strays and not any((user / k).exists() for k in known):
            raise InputError(
                f"no known template here (found {strays[0]}); expected one of {', '.join(sorted(known))}", path=user
            )
    templates = {}
    for name in TEMPLATES:
        path = user / f"{name}.txt" if user is not None and (user / f"{name}.txt").is_file() else base / f"{name}.txt"
        templates[name] = _load(name, path)
    return PromptSet(templates)


_TASK_LABEL = {"en": "Task {i}: {text}", "zh": "任务{i}：{text}"}
_ALPACA_LABELS = {"en": ("Instruction:", "Input:", "Output:"), "zh": ("指令：", "输入：", "输出：")}


def task_label(language: str, number: int) -> str:
    """The list marker of task `number` ("Task 9:" / "任务9："), also used as a stop sequence."""
    return _TASK_LABEL[language].format(i=number, text="").rstrip()


def list_end_stop(language: str, number: int) -> str:
    """The stop that ends an instruction list before task `number`: its marker at a line start only, so that an
    instruction mentioning "Task 17:" is not cut."""
    return "\n" + task_label(language, number)


def ends_open(prompt: str) -> bool:
    """Whether a prompt ends in an open line ("Task 9:", "4. Instruction:"): then the reply's first line is
    the answer to it, with a chat model as with a base model (prompts/README.md)."""
    return bool(prompt) and not prompt.endswith("\n")


_TRAILING_COLONS = ":："


def demonstration(instruction: str) -> str:
    """An instruction as a demonstration shows it, normalised as both original scripts do: whitespace runs
    (newlines too) collapsed to one space and a trailing colon stripped, so that a multi-line seed stays one
    line of the one-per-line list and "...the following email:" does not invite the model to add the email.
    The full-width colon is stripped too, for Chinese seeds."""
    return re.sub(r"\s+", " ", instruction).strip().rstrip(_TRAILING_COLONS).rstrip()


def render_instructions(
    prompts: PromptSet, language: str, demos: Sequence[str], count: int, *, classification_only: bool = False
) -> str:
    """The instruction-generation prompt: demos as a numbered task list, then room for `count` more."""
    block = "\n".join(_TASK_LABEL[language].format(i=i, text=demonstration(d)) for i, d in enumerate(demos, start=1))
    first = len(demos) + 1
    template = "instructions_classification" if classification_only else "instructions"
    return prompts[template].render(demonstrations=block, next_number=first, last_number=first + count - 1, count=count)


def render_alpaca(prompts: PromptSet, language: str, demos: Sequence[Task], count: int) -> str:
    """The Alpaca batch prompt: demos as ### separated instruction/input/output blocks."""
    ins, inp, out = _ALPACA_LABELS[language]
    parts = []
    for i, task in enumerate(demos, start=1):
        example = task.instances[0]
        parts.append(
            f"###\n{i}. {ins} {demonstration(task.instruction)}\n{i}. {inp}\n{example.input.strip() or '<noinput>'}\n"
            f"{i}. {out}\n{example.output.strip()}"
        )
    return prompts["alpaca"].render(demonstrations="\n".join(parts), count=count, next_number=len(demos) + 1)


_NO_INPUT = {"en": "(none)", "zh": "（无）"}


def render_audit(prompts: PromptSet, language: str, instruction: str, example: Instance) -> str:
    """The judge's prompt for one task and the one instance audited; an empty input is shown as "(none)"."""
    return prompts["audit"].render(
        instruction=instruction, input=example.input.strip() or _NO_INPUT[language], output=example.output.strip()
    )
