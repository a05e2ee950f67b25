"""Self-Instruct's templates (prompts/<language>/*.txt), their placeholders, and how its prompts are filled."""

from __future__ import annotations

from collections.abc import Sequence

from selfinstruct.io.templates import Placeholders, PromptSet
from selfinstruct.methods.prompts import demonstration

_LIST = (frozenset({"demonstrations", "next_number", "last_number", "count"}), frozenset({"demonstrations"}))
_ONE_TASK = (frozenset({"instruction"}), frozenset({"instruction"}))
TEMPLATES: dict[str, Placeholders] = {
    "instructions": _LIST,
    # --classification-only: the same list, asking for classification tasks (the original's clf prompt).
    "instructions_classification": _LIST,
    "classify": _ONE_TASK,
    "instances_input_first": _ONE_TASK,
    "instances_output_first": _ONE_TASK,
}
_TASK_LABEL = {"en": "Task {i}: {text}", "zh": "任务{i}：{text}"}


def task_label(language: str, number: int) -> str:
    """The list marker of task `number` ("Task 9:" / "任务9："), also used as a stop sequence."""
    return _TASK_LABEL[language].format(i=number, text="").rstrip()


def list_end_stop(language: str, number: int) -> str:
    """The stop that ends an instruction list before task `number`: its marker at a line start only, so that an
    instruction mentioning "Task 17:" is not cut."""
    return "\n" + task_label(language, number)


def render_instructions(
    prompts: PromptSet, language: str, demos: Sequence[str], count: int, *, classification_only: bool = False
) -> str:
    """The instruction-generation prompt: demos as a numbered task list, then room for `count` more."""
    block = "\n".join(_TASK_LABEL[language].format(i=i, text=demonstration(d)) for i, d in enumerate(demos, start=1))
    first = len(demos) + 1
    template = "instructions_classification" if classification_only else "instructions"
    return prompts[template].render(demonstrations=block, next_number=first, last_number=first + count - 1, count=count)
