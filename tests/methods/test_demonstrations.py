"""Demonstrations are normalised the way the original scripts do before they go into a list prompt."""

from __future__ import annotations

from pathlib import Path

import pytest

from selfinstruct.io.seeds import load_tasks
from selfinstruct.io.templates import load_prompts
from selfinstruct.methods.alpaca.parsing import parse_alpaca_batch
from selfinstruct.methods.alpaca.prompts import TEMPLATES as ALPACA_TEMPLATES
from selfinstruct.methods.alpaca.prompts import render_alpaca
from selfinstruct.methods.prompts import demonstration
from selfinstruct.methods.self_instruct.parsing import parse_instruction_list
from selfinstruct.methods.self_instruct.prompts import TEMPLATES as SI_TEMPLATES
from selfinstruct.methods.self_instruct.prompts import render_instructions
from selfinstruct.tasks import Instance, Task


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (
            "Question: in which year did Yao Ming retire?\nAnswer:",
            "Question: in which year did Yao Ming retire? Answer",
        ),
        ("Summarize this email into a single sentence:", "Summarize this email into a single sentence"),
        ("Write a recipe.  You may add\tmore ingredients.", "Write a recipe. You may add more ingredients."),
        ("\n给定一组数，找出所有可能的子集。\n\n", "给定一组数，找出所有可能的子集。"),
        ("为以下电子邮件生成适当的主题：", "为以下电子邮件生成适当的主题"),
        ("Time: 3:45 is fine", "Time: 3:45 is fine"),
    ],
)
def test_demonstration(raw: str, shown: str) -> None:
    assert demonstration(raw) == shown


def _demo_lines(prompt: str, first: int, count: int) -> list[str]:
    lines = prompt.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(("Task 1: ", "任务1：")))
    return lines[start : start + count]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_original_seed_is_one_line_of_the_list_prompt(
    lang: str, original_seeds: Path, zh_original_seeds: Path
) -> None:
    """The 175 original seeds include multi-line ones ("...?\\nAnswer:") and Chinese ones with blank lines."""
    seeds = load_tasks(original_seeds if lang == "en" else zh_original_seeds)
    demos = [t.instruction for t in seeds]
    assert any("\n" in d for d in demos)
    prompt = render_instructions(load_prompts(lang, None, SI_TEMPLATES), lang, demos, 8)
    lines = _demo_lines(prompt, 1, len(demos))
    marker = "Task {i}: " if lang == "en" else "任务{i}："
    assert [line.startswith(marker.format(i=i)) for i, line in enumerate(lines, start=1)] == [True] * len(demos)
    assert all(line.strip() and not line.endswith((":", "：")) for line in lines)
    block = "\n".join(lines)
    parsed = parse_instruction_list(block, continued=False, truncated=False).items
    assert parsed == [demonstration(d) for d in demos]


def test_alpaca_demonstrations_are_normalised_too() -> None:
    task = Task(
        "t",
        "Summarize this email\ninto a single sentence:",
        (Instance("Hi team, lunch is at noon.", "Lunch at noon."),),
    )
    prompt = render_alpaca(load_prompts("en", None, ALPACA_TEMPLATES), "en", [task], 20)
    assert "1. Instruction: Summarize this email into a single sentence\n1. Input:" in prompt
    parsed, _ = parse_alpaca_batch(prompt.split("Tasks 1 to 20:\n", 1)[1], continued=False, truncated=False)
    assert parsed[0].instruction == "Summarize this email into a single sentence"
