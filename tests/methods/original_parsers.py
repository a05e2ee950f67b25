"""The original scripts' reply parsing, re-expressed as a test oracle (our own code, the same rules).

Self-Instruct's ``prepare_for_finetuning.py`` (yizhongw/self-instruct): ``parse_input_output``,
``parse_instances_for_generation_task``, ``parse_instances_for_classification_task`` and
``filter_invalid_instances``; stanford_alpaca's ``post_process_gpt3_response`` up to its instruction filters.
Each function returns what the original keeps of a reply, in order, before duplicates are merged; the property
tests check that our parsers read at least that from every reply the original reads.
"""

from __future__ import annotations

import re

from selfinstruct.tasks import Instance

_OUTPUT = re.compile(r"Output\s*\d*\s*:")
_INPUT = re.compile(r"Input\s*\d*\s*:")
_EXAMPLE = re.compile(r"Example\s?\d*\.?")


def _input_output(text: str) -> Instance:
    """``parse_input_output``: the text before the first ``Output:`` (anywhere) is the input, the text up to the
    next ``Output:`` the output, cut at an ``Input:``; a leading ``Input:`` is removed from the input."""
    if _OUTPUT.search(text):
        parts = _OUTPUT.split(text)
        inp, out = parts[0].strip(), parts[1].strip()
    else:
        inp, out = "", text.strip()
    if _INPUT.search(out):
        out = _INPUT.split(out)[0].strip()
    inp = re.sub(r"^Input\s*\d*\s*:", "", inp).strip()
    return Instance(inp, out)


def _valid(instances: list[Instance]) -> list[Instance]:
    """``filter_invalid_instances``: no input equal to its output, no empty output, no trailing colon."""
    return [
        i
        for i in instances
        if i.input != i.output and i.output and not i.input.strip().endswith(":") and not i.output.strip().endswith(":")
    ]


def original_generation_instances(reply: str, *, truncated: bool = False) -> list[Instance]:
    """``parse_instances_for_generation_task``: split on ``Example N`` anywhere, else one input/output pair."""
    raw = reply.strip()
    if _EXAMPLE.search(raw):
        texts = [t.strip() for t in _EXAMPLE.split(raw) if t.strip()]
        instances = [_input_output(t) for t in texts]
    elif _OUTPUT.search(raw):
        instances = [_input_output(raw)]
    else:
        return []
    if truncated:
        instances = instances[:-1]
    return _valid(instances)


def original_classification_instances(reply: str, *, truncated: bool = False) -> list[Instance]:
    """``parse_instances_for_classification_task``: after each ``Class label:`` (anywhere) the first line is
    the label and the rest the input."""
    if "Class label:" not in reply:
        return []
    instances = []
    for text in reply.split("Class label:")[1:]:
        fields = text.strip().split("\n", 1)
        label = fields[0].strip()
        instances.append(Instance(fields[1].strip() if len(fields) == 2 else "", label))
    if truncated:
        instances = instances[:-1]
    return _valid(instances)


def original_alpaca_items(reply: str, *, first_number: int, truncated: bool = False) -> list[tuple[str, str, str]]:
    """``post_process_gpt3_response`` without its instruction filters: the prompt ended in
    ``{first_number}. Instruction:``; blocks split on ``###`` anywhere, each split on labels with its own
    number, and exactly three of them."""
    blocks = re.split("###", f"{first_number}. Instruction:" + reply)
    items = []
    for idx, block in enumerate(blocks):
        if idx == len(blocks) - 1 and truncated:
            continue
        parts = re.split(rf"{idx + first_number}\.\s+(Instruction|Input|Output):", block)
        if len(parts) != 7:
            continue
        inp = parts[4].strip()
        items.append((parts[2].strip(), "" if inp.lower() == "<noinput>" else inp, parts[6].strip()))
    return items
