"""The judge's yes/no questions: the Self-Instruct paper's three (Table 2), in the order reports show them.

A question is its key in the journal and the summary, the label reports print, the names a judge may give
it (JSON keys or `Label:` lines, English and Chinese, compared lower-cased with spaces and dashes as
underscores) and the share of yes the paper's experts gave on 200 tasks. A new question is one entry here
plus a line asking it in the audit prompt templates (prompts/en/audit.txt, prompts/zh/audit.txt).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Question:
    key: str
    label: str
    aliases: tuple[str, ...]
    paper: float  # share answered yes in the Self-Instruct paper's expert evaluation (Table 2)


QUESTIONS: tuple[Question, ...] = (
    Question("valid_instruction", "valid instruction", ("valid_instruction", "instruction_valid", "valid_task",
             "instruction", "有效指令", "指令有效", "指令是否有效", "指令"), 0.92),
    Question("appropriate_input", "appropriate input", ("appropriate_input", "input_appropriate", "valid_input",
             "input", "输入恰当", "输入是否恰当", "输入合适", "输入"), 0.79),
    Question("correct_output", "correct and acceptable output", ("correct_output", "output_correct",
             "acceptable_output", "valid_output", "output", "输出正确", "输出是否正确", "输出"), 0.58),
)  # fmt: skip
KEYS: tuple[str, ...] = tuple(q.key for q in QUESTIONS)

# The row that counts instances with every answer yes.
ALL_VALID = "all_valid"
ALL_VALID_LABEL = "all fields valid"
ALL_VALID_PAPER = 0.54
