"""The parser for replies to ``alpaca.txt``: batches of tasks, each an instruction, an input and an output.

The original (stanford_alpaca's ``post_process_gpt3_response``) splits a reply on ``###`` and each block only on
``N. Instruction:``/``N. Input:``/``N. Output:`` with the block's own number, so a field may contain lines
such as "Instruction: finish the report by Friday", a program's "Input: [3, 9, 2]" or a shell answer
"Output: 5". This parser keeps that rule: a label the reply writes with numbers counts only with the block's
number and in the order instruction, input, output; any other label line is text of the field it is in.
Then ours: unnumbered labels (for replies that number no label of that kind), Chinese labels, bold and
headings, chat greetings and closing notes, blocks without ``###``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from selfinstruct.engine.reasoning import strip_reasoning
from selfinstruct.methods.self_instruct.parsing import (
    _CLOSE,
    _COLON,
    _FENCE,
    _INSTANCE_NOTE,
    _ITEM_TITLE,
    _LEAD,
    _SCAN,
    _at,
    _clean_instruction,
    _fence_pairs,
    _field_text,
    _is_chatter,
    _lines,
    _na,
    _unwrap_fence,
)

_LABEL = re.compile(
    _LEAD + r"(?:(?P<num>\d{1,3})\s*[.)．、]" + _CLOSE + r")?(?P<field>instruction|input|output|指令|输入|输出)"
    r"(?:\s*\d+)?" + _CLOSE + _COLON + _CLOSE,
    re.IGNORECASE,
)
_FIELDS = {"指令": "instruction", "输入": "input", "输出": "output"}
_SEPARATOR = re.compile(r"^\s*#{3,}\s*$")


@dataclass(frozen=True)
class AlpacaItem:
    instruction: str
    input: str
    output: str


@dataclass
class _Block:
    fields: dict[str, list[str]] = field(default_factory=dict)
    number: int | None = None


_Label = tuple[str, int | None, int]  # field, its number or None, where the text starts


def _label(line: str) -> _Label | None:
    """(field, its number or None, where the text starts) when ``line`` starts with an Alpaca label."""
    m = _at(_LABEL, line)
    if not m:
        return None
    name = m.group("field").lower()
    return _FIELDS.get(name, name), int(m.group("num")) if m.group("num") else None, m.end()


def _opens_task(lines: list[str], labels: list[_Label | None]) -> list[bool]:
    """For each line, whether an unnumbered ``Instruction:`` there may open a task after an output. In a reply
    that puts "###" before its tasks, only after one; otherwise when an ``Output:`` label follows it before the
    next "###" or ``Instruction:`` label (a quoted "Instruction: finish the report" has none)."""
    ahead = [False] * len(lines)
    for i in range(len(lines) - 2, -1, -1):
        nxt = labels[i + 1]
        boundary = _SEPARATOR.match(lines[i + 1]) or (nxt is not None and nxt[0] == "instruction")
        ahead[i] = (nxt is not None and nxt[0] == "output") or (not boundary and ahead[i + 1])
    after_separator = [False] * len(lines)
    previous = ""
    for i, line in enumerate(lines):
        after_separator[i] = bool(_SEPARATOR.match(previous))
        if line.strip() and not _ITEM_TITLE.match(line[:_SCAN]):
            previous = line
    separated = [
        i for i, lab in enumerate(labels) if lab is not None and lab[0] == "instruction" and after_separator[i]
    ]
    return [False] * len(lines) if len(separated) >= 2 else ahead


def _starts_field(name: str, number: int | None, block: _Block | None, numbered: set[str], opens: bool) -> bool:
    """Whether a label line opens a field (or a new block) rather than being text of the current field;
    ``opens``: see _opens_task."""
    if number is None and name in numbered:
        return False  # the reply numbers this label; an unnumbered one is text, as in the original
    if block is None:
        return True
    if name == "instruction":
        if number is not None:
            return number != block.number or "output" in block.fields or "instruction" not in block.fields
        return "instruction" not in block.fields or ("output" in block.fields and opens)
    if number is not None and block.number is not None and number != block.number:
        return False
    if name == "input":
        return not ({"input", "output"} & block.fields.keys())
    return "output" not in block.fields


def parse_alpaca_batch(text: str, *, continued: bool, truncated: bool) -> tuple[list[AlpacaItem], int]:
    """Tasks from a response to ``alpaca.txt``; returns (items, number of malformed blocks).

    Blocks are split on "###" lines and on the instruction labels that open a block (see the module's rule).
    With ``continued`` the text before the first label is the first instruction, but only when an Input/Output
    label follows it before any new block: a chat model's greeting before "###" is not an instruction. A
    block missing its instruction or output is malformed; with ``truncated`` the block the response ends in
    is dropped without counting.
    """
    lines = _unwrap_fence(_lines(strip_reasoning(text)))
    labels = [_label(line) for line in lines]
    numbered = {lab[0] for lab in labels if lab is not None and lab[1] is not None}
    if continued and numbered:
        numbered.add("instruction")  # the prompt's own "N. Instruction:" opened the first block
    opens = _opens_task(lines, labels)
    fences = _fence_pairs(lines)
    items: list[AlpacaItem] = []
    malformed = 0
    block: _Block | None = None
    current = ""
    pending: list[str] | None = [] if continued else None
    prev_blank = False
    code_until = -1

    def close(done: _Block | None) -> None:
        nonlocal malformed
        if done is None:
            return
        instruction = _clean_instruction(done.fields.get("instruction", []))
        output = _field_text(done.fields.get("output", []))
        if instruction and output:
            items.append(AlpacaItem(instruction, _na(_field_text(done.fields.get("input", []))), output))
        else:
            malformed += 1

    for i, line in enumerate(lines):
        blank = not line.strip()
        lab = labels[i]
        if block is not None and current and (i <= code_until or i in fences):
            code_until = max(code_until, fences.get(i, -1))
            block.fields[current].append(line)  # code in a field: its label lines are code
        elif _FENCE.match(line):
            pass  # a fence around several blocks, or a stray one
        elif _SEPARATOR.match(line):
            close(block)
            block, current, pending = None, "", None
        elif lab is not None and _starts_field(lab[0], lab[1], block, numbered, opens[i]):
            name, number, end = lab
            if pending is not None:
                first = next((p for p in pending if p.strip()), "")
                if name != "instruction" and first and not _is_chatter(first):
                    block = _Block({"instruction": pending})
                pending = None
            if block is None or name == "instruction" or name in block.fields:
                close(block)
                block = _Block()
            block.fields[name] = [line[end:]]
            block.number = block.number if number is None else number
            current = name
        elif pending is not None:
            pending.append(line)
        elif block is not None and current:
            if prev_blank and _INSTANCE_NOTE.match(line):
                close(block)
                block = None
                break
            block.fields[current].append(line)
        prev_blank = blank
    first_pending = next((p for p in pending or [] if p.strip()), "")
    if pending is not None and first_pending and not _is_chatter(first_pending):
        block = _Block({"instruction": pending})  # a continuation that never reached its Input label
    if block is not None and not truncated:
        close(_without_stop_echo(block, current))
    return items, malformed


def _without_stop_echo(block: _Block, current: str) -> _Block:
    """The last block without a trailing "20." line: the start of the next task's label, which a server that
    returns the stop sequence it stopped at ("20.") leaves at the end of the reply."""
    parts = block.fields.get(current, [])
    body = [i for i, line in enumerate(parts) if line.strip()]
    if block.number is not None and len(body) > 1 and re.fullmatch(rf"\s*{block.number + 1}\s*\.?\s*", parts[body[-1]]):
        block.fields[current] = parts[: body[-1]]
    return block
