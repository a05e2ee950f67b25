"""Alpaca's template (prompts/<language>/alpaca.txt), its placeholders, and how its prompt is filled."""

from __future__ import annotations

from collections.abc import Sequence

from selfinstruct.io.templates import Placeholders, PromptSet
from selfinstruct.methods.prompts import demonstration
from selfinstruct.tasks import Task

TEMPLATES: dict[str, Placeholders] = {
    "alpaca": (frozenset({"demonstrations", "count", "next_number"}), frozenset({"demonstrations"})),
}
_ALPACA_LABELS = {"en": ("Instruction:", "Input:", "Output:"), "zh": ("指令：", "输入：", "输出：")}


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
