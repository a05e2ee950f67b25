"""Property tests for the reply parsers over generated replies (issue 11).

Replies are built from known instructions and instances in the shapes models use (echoed demonstrations,
an input under a task, chatter, closing notes, reasoning blocks), then parsed whole and cut at every kind
of point. Whole, the parser must give back exactly what was written; cut at max_tokens, it may lose items
but must never return one that is not complete.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from selfinstruct.methods.alpaca.parsing import AlpacaItem, parse_alpaca_batch
from selfinstruct.methods.self_instruct.instance_parsing import parse_input_first
from selfinstruct.methods.self_instruct.output_first import parse_output_first
from selfinstruct.methods.self_instruct.parsing import parse_instruction_list
from selfinstruct.tasks import Instance
from tests.methods.strategies import VERBS, labels

WORDS = [
    "a",
    "short",
    "poem",
    "about",
    "the",
    "sea",
    "three",
    "tips",
    "for",
    "new",
    "gardeners",
    "why",
    "rain",
    "falls",
    "recipe",
    "bread",
    "city",
    "river",
    "quiet",
]
WORDS += ["letter", "to", "friend", "list", "of", "birds"]

words = st.lists(st.sampled_from(WORDS), min_size=2, max_size=9).map(" ".join)
instruction = st.builds(lambda v, w: f"{v} {w}.", st.sampled_from(VERBS), words)
instructions = st.lists(instruction, min_size=1, max_size=8, unique=True)
STYLES = ["Task {n}: {t}", "{n}. {t}", "**Task {n}:** {t}", "{n}) {t}"]
THINK = "<think>\nThe user wants new tasks. Task 9: maybe something about cats.\n</think>\n"


@st.composite
def instruction_reply(draw: st.DrawFn) -> tuple[str, list[str], list[str], int]:
    """(reply, the new instructions in it, the echoed demonstrations, the first number asked for)."""
    demos = draw(st.lists(instruction, min_size=2, max_size=8, unique=True))
    new = [t for t in draw(instructions) if t not in demos] or ["Write a riddle about the moon."]
    style = draw(st.sampled_from(STYLES))
    first = len(demos) + 1
    lines: list[str] = []
    if draw(st.booleans()):
        lines.append(THINK)
    if draw(st.booleans()):
        lines.append("Sure! Here are the new tasks:")
    echo = draw(st.booleans())
    if echo:
        lines += [style.format(n=i, t=t) for i, t in enumerate(demos, start=1)]
    for i, task in enumerate(new, start=first):
        lines.append(style.format(n=i, t=task))
        extra = draw(st.sampled_from(["", "Input: {w}", "Output: {w}", "Note: {w}", "Input:\n1. {w}\n2. {w}"]))
        if extra:
            lines.append(extra.format(w=draw(words)))
    if draw(st.booleans()):
        lines += ["", "I hope these tasks are useful."]
    return "\n".join(lines), new, demos if echo else [], first


@settings(max_examples=300, deadline=None)
@given(instruction_reply())
def test_instruction_list_gives_back_exactly_the_new_tasks(case: tuple[str, list[str], list[str], int]) -> None:
    reply, new, echoed, first = case
    parsed = parse_instruction_list(reply, continued=False, truncated=False, first_number=first)
    assert parsed.items == new
    assert parsed.echoed == len(echoed)


@settings(max_examples=300, deadline=None)
@given(instruction_reply(), st.floats(0, 1))
def test_instruction_list_cut_anywhere_returns_only_complete_tasks(
    case: tuple[str, list[str], list[str], int], share: float
) -> None:
    reply, new, echoed, first = case
    cut = reply[: int(len(reply) * share)]
    parsed = parse_instruction_list(cut, continued=False, truncated=True, first_number=first)
    assert set(parsed.items) <= set(new) | set(echoed)


text_line = words.map(lambda w: w[0].upper() + w[1:] + ".")
field = st.lists(text_line, min_size=1, max_size=3).map("\n".join)
instances = st.lists(st.builds(Instance, st.one_of(st.just(""), field), field), min_size=1, max_size=5, unique=True)


@st.composite
def input_first_reply(draw: st.DrawFn) -> tuple[str, list[Instance]]:
    written = draw(instances)
    parts = [THINK] if draw(st.booleans()) else []
    for i, instance in enumerate(written, start=1):
        parts.append(f"Example {i}\nInput: {instance.input or 'Not applicable'}\nOutput: {instance.output}")
    if draw(st.booleans()):
        parts.append("\nI hope these examples help!")
    return "\n".join(parts), written


@settings(max_examples=300, deadline=None)
@given(input_first_reply(), st.floats(0, 1))
def test_input_first_whole_and_cut(case: tuple[str, list[Instance]], share: float) -> None:
    reply, written = case
    assert parse_input_first(reply) == written
    parsed = parse_input_first(reply[: int(len(reply) * share)], truncated=True)
    assert parsed == written[: len(parsed)]


@st.composite
def output_first_reply(draw: st.DrawFn) -> tuple[str, list[Instance]]:
    names = draw(labels)
    with_input = draw(st.booleans())
    field_name = draw(st.sampled_from(["Input", "Sentence", "Review"]))
    written = [Instance(draw(field) if with_input else "", name) for name in names]
    parts = [THINK] if draw(st.booleans()) else []
    for instance in written:
        parts.append(f"Class label: {instance.output}")
        if instance.input:
            parts.append(f"{field_name}: {instance.input}")
    expected = written
    if field_name != "Input":
        expected = [Instance(f"{field_name}: {i.input}" if i.input else "", i.output) for i in written]
    return "\n".join(parts), expected


@settings(max_examples=300, deadline=None)
@given(output_first_reply(), st.floats(0, 1))
def test_output_first_whole_and_cut(case: tuple[str, list[Instance]], share: float) -> None:
    reply, written = case
    assert parse_output_first(reply) == written
    parsed = parse_output_first(reply[: int(len(reply) * share)], truncated=True)
    assert parsed == written[: len(parsed)]


@st.composite
def alpaca_reply(draw: st.DrawFn) -> tuple[str, list[AlpacaItem]]:
    tasks = draw(st.lists(instruction, min_size=1, max_size=6, unique=True))
    written = [AlpacaItem(t, draw(st.one_of(st.just(""), field)), draw(field)) for t in tasks]
    parts = [THINK] if draw(st.booleans()) else []
    for i, item in enumerate(written, start=4):
        parts.append(f"###\n{i}. Instruction: {item.instruction}\n{i}. Input:\n{item.input or '<noinput>'}\n"
                     f"{i}. Output:\n{item.output}")  # fmt: skip
    return "\n".join(parts), written


@settings(max_examples=300, deadline=None)
@given(alpaca_reply(), st.floats(0, 1))
def test_alpaca_batch_whole_and_cut(case: tuple[str, list[AlpacaItem]], share: float) -> None:
    reply, written = case
    assert parse_alpaca_batch(reply, continued=False, truncated=False)[0] == written
    parsed, _ = parse_alpaca_batch(reply[: int(len(reply) * share)], continued=False, truncated=True)
    assert parsed == written[: len(parsed)]


@settings(max_examples=200, deadline=None)
@given(instructions, st.sampled_from(["Task {n}: {t}", "{n}. {t}"]), st.booleans(), st.floats(0, 1))
def test_continued_base_model_list_whole_and_cut(new: list[str], style: str, inputs: bool, share: float) -> None:
    """A base model continues "Task 9:" directly, then numbers its next tasks itself."""
    lines = [" " + new[0]] + [style.format(n=n, t=t) for n, t in enumerate(new[1:], start=10)]
    if inputs:
        lines = [f"{line}\nInput: {' '.join(WORDS[:4])}" for line in lines]
    reply = "\n".join(lines)
    assert parse_instruction_list(reply, continued=True, truncated=False, first_number=9).items == new
    cut = parse_instruction_list(reply[: int(len(reply) * share)], continued=True, truncated=True, first_number=9)
    assert cut.items == new[: len(cut.items)]
