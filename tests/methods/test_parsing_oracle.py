"""Property tests against the original scripts' parsing rules (issue 21).

tests/methods/original_parsers.py re-expresses how Self-Instruct's prepare_for_finetuning.py and Alpaca's
generate_instruction.py read replies. For every reply the original reads, ours must read at least the same
instances; and replies whose content quotes label words ("Input:", "Output:", "Instruction:", "Class label:",
"输出：") must parse back to what was written.
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from selfinstruct.methods.alpaca.parsing import AlpacaItem, parse_alpaca_batch
from selfinstruct.methods.self_instruct.instance_parsing import parse_input_first
from selfinstruct.methods.self_instruct.output_first import parse_output_first
from selfinstruct.methods.self_instruct.parsing import normalize_whitespace
from selfinstruct.tasks import Instance
from tests.methods.original_parsers import (
    original_alpaca_items,
    original_classification_instances,
    original_generation_instances,
)
from tests.methods.strategies import VERBS, labels

# --------------------------------------------------------------------------------------------------------------
# The original scripts as an oracle (tests/methods/original_parsers.py): for every reply the original reads, ours reads
# at least the same instances. The content avoids only the words the original splits on anywhere in the text
# (Example, Input, Output, Class label, ###, numbered Alpaca labels), where the original cuts content short;
# the round-trip properties further down put exactly those words into content.

PLAIN = ["the", "river", "runs", "past", "old", "mill", "two", "cups", "of", "rice", "quick", "fox", "sells"]
PLAIN += ["blue", "shoes", "on", "Monday", "price", "is", "12", "dollars"]
PLAIN += ["café", "naïve", "x", "=", "3", "+", "4"]
NAMES = ["Sentence", "Paragraph", "Question", "List", "Email", "Dialogue", "Claim", "Review", "句子", "问题"]
plain = st.lists(st.sampled_from(PLAIN), min_size=1, max_size=8).map(" ".join)
plain_line = st.one_of(
    plain.map(lambda t: t[0].upper() + t[1:] + "."),
    plain.map(lambda t: f"- {t}"),
    st.builds(lambda n, t: f"{n}. {t}", st.integers(1, 9), plain),
    st.builds(lambda n, t: f"{n}: {t}", st.sampled_from(["Subject", "Total", "Time", "Answer", "答案"]), plain),
    plain.map(lambda t: f"    {t}"),
    st.sampled_from(["中文的内容也可以。", "价格是十二元。"]),
)
plain_text = st.lists(plain_line, min_size=1, max_size=4).map("\n".join)


def norm(instance: Instance) -> tuple[str, str]:
    return normalize_whitespace(instance.input), normalize_whitespace(instance.output)


@st.composite
def original_input_part(draw: st.DrawFn) -> str:
    """The input as the original's examples write it: none, under "Input:", under field names, or bare."""
    name, second = draw(st.sampled_from(NAMES)), draw(st.sampled_from(NAMES))
    shapes = [
        "",
        "Input: {a}\n",
        "Input:\n{a}\n",
        "{n}: {a}\n",
        "{n}: {l}\n{m}: {l2}\n",
        "{a}\n",
        "Input 2 - {n}: {l}\n",
    ]
    shape = draw(st.sampled_from(shapes))
    return shape.format(a=draw(plain_text), n=name, m=second, l=draw(plain), l2=draw(plain))


@st.composite
def original_generation_reply(draw: st.DrawFn) -> str:
    count = draw(st.integers(1, 5))
    headed = count > 1 or draw(st.booleans())
    parts = []
    for n in range(1, count + 1):
        header = draw(st.sampled_from(["Example {n}\n", "Example {n}.\n"])).format(n=n) if headed else ""
        sep = draw(st.sampled_from([" ", "\n"]))
        inp = draw(original_input_part())
        if inp.startswith("Input: ") and draw(st.booleans()):
            inp = inp.rstrip("\n") + " "  # the pair on one line (ours also drops a "|" or "→" between them)
        parts.append(f"{header}{inp}Output:{sep}{draw(plain_text)}")
    return draw(st.sampled_from(["\n", "\n\n"])).join(parts)


@settings(max_examples=200, deadline=None)
@given(original_generation_reply(), st.floats(0, 1))
def test_input_first_reads_at_least_what_the_original_reads(reply: str, share: float) -> None:
    ours = {norm(i) for i in parse_input_first(reply)}
    assert {norm(i) for i in original_generation_instances(reply)} <= ours
    cut = reply[: int(len(reply) * share)]
    ours_cut = {norm(i) for i in parse_input_first(cut, truncated=True)}
    assert {norm(i) for i in original_generation_instances(cut, truncated=True)} <= ours_cut


@st.composite
def original_classification_reply(draw: st.DrawFn) -> str:
    names = draw(st.lists(st.sampled_from(["Positive", "Negative", "Mixed", "Spam", "Not spam", "积极"]), min_size=1,
                          max_size=4, unique=True))  # fmt: skip
    shape = draw(st.sampled_from(["", "Input: {a}", "{n}: {a}", "{a}", "{n}:\n{a}", "{n}: {a}\nOutput: {a}"]))
    name = draw(st.sampled_from(NAMES))
    lines = []
    for label in names:
        lines.append(f"Class label: {label}")
        if shape:
            lines.append(shape.format(n=name, a=draw(plain_text)))
    return "\n".join(lines)


def without_input_label(instance: Instance) -> tuple[str, str]:
    """The original keeps an "Input:" under a class label in the input (its own template never writes one);
    its generation parser removes it, as ours does for both."""
    return normalize_whitespace(re.sub(r"^Input\s*\d*\s*:", "", instance.input)), normalize_whitespace(instance.output)


@settings(max_examples=200, deadline=None)
@given(original_classification_reply(), st.floats(0, 1))
def test_output_first_reads_at_least_what_the_original_reads(reply: str, share: float) -> None:
    ours = {norm(i) for i in parse_output_first(reply)}
    assert {without_input_label(i) for i in original_classification_instances(reply)} <= ours
    cut = reply[: int(len(reply) * share)]
    ours_cut = {norm(i) for i in parse_output_first(cut, truncated=True)}
    assert {without_input_label(i) for i in original_classification_instances(cut, truncated=True)} <= ours_cut


LABEL_LINES = ["Input: [3, 9, 2]", "Output: 5", "Instruction: finish the report by Friday", "Class label: Fruit",
               "输出：五", "Example 1 shows the idea.", "Note: keep it short."]  # fmt: skip
# A line ending in "4." before an "Input:" line is a label "4. Input:" to the original's pattern (its \s+ spans
# the line break), which then drops the whole task: such lines are left out where the oracle must read all.
unnumbered_line = plain_line.filter(lambda t: not re.search(r"\d\.$", t))
label_text = st.lists(st.one_of(unnumbered_line, st.sampled_from(LABEL_LINES)), min_size=1, max_size=4).map("\n".join)


instruction_text = st.builds(lambda v, w: f"{v} {w}.", st.sampled_from(VERBS), plain)


@st.composite
def original_alpaca_reply(draw: st.DrawFn) -> tuple[str, int, int]:
    """(a continuation of "{first}. Instruction:" in the original's layout, first, the number of tasks); fields
    may hold unnumbered labels, which the original leaves alone."""
    first, count = draw(st.integers(2, 30)), draw(st.integers(1, 5))
    blocks = []
    for n in range(first, first + count):
        sep = draw(st.sampled_from([" ", "\n"]))
        head = " " if n == first else f"###\n{n}. Instruction: "
        inp, out = draw(st.one_of(st.just("<noinput>"), label_text)), draw(label_text)
        blocks.append(f"{head}{draw(instruction_text)}\n{n}. Input:{sep}{inp}\n{n}. Output:{sep}{out}\n")
    return "".join(blocks) + draw(st.sampled_from(["", "###\n"])), first, count


def fields(items: list[tuple[str, str, str]]) -> set[tuple[str, ...]]:
    return {tuple(normalize_whitespace(f) for f in item) for item in items if item[0] and item[2]}


@settings(max_examples=200, deadline=None)
@given(original_alpaca_reply(), st.floats(0, 1))
def test_alpaca_reads_at_least_what_the_original_reads(case: tuple[str, int, int], share: float) -> None:
    reply, first, count = case

    def ours(text: str, truncated: bool) -> set[tuple[str, ...]]:
        items, _ = parse_alpaca_batch(text, continued=True, truncated=truncated)
        return fields([(i.instruction, i.input, i.output) for i in items])

    read = original_alpaca_items(reply, first_number=first)
    assert len(read) == count  # the oracle reads every task of these replies: the property is not vacuous
    assert fields(read) <= ours(reply, False)
    cut = reply[: int(len(reply) * share)]
    assert fields(original_alpaca_items(cut, first_number=first, truncated=True)) <= ours(cut, True)


# --------------------------------------------------------------------------------------------------------------
# Round trips with label words inside content: replies rendered from random tasks in the prompts' layouts, whose
# fields contain "Input:", "Output:", "Instruction:", "Class label:", "输出：" mid-line and, where the layout
# leaves no doubt, at the start of a line. Whole, a reply parses back to exactly what was written; cut at
# max_tokens, to a prefix of it.

MID = st.builds(lambda a, w, b: f"So {a} {w} {b}", plain,
                st.sampled_from(["Input:", "Output:", "Instruction:", "Class label:", "输出：", "###", "Example 2"]),
                plain)  # fmt: skip
mid_text = st.lists(st.one_of(plain_line, MID), min_size=1, max_size=3).map("\n".join)
LINE_START = ["Instruction: finish the report by Friday", "Class label: Fruit", "Note: keep it short.",
              "Example 1 shows the idea.", "Sentence: an aside"]  # fmt: skip
input_text = st.lists(st.one_of(plain_line, MID, st.sampled_from(LINE_START)), min_size=1, max_size=3).map("\n".join)
output_text = st.lists(st.one_of(plain_line, MID, st.sampled_from(LINE_START + LABEL_LINES)), min_size=1,
                       max_size=4).map("\n".join)  # fmt: skip


def same(parsed: list[Instance], written: list[Instance]) -> bool:
    return [norm(i) for i in parsed] == [norm(i) for i in written]


@st.composite
def labelled_input_first_reply(draw: st.DrawFn) -> tuple[str, list[Instance]]:
    """Our prompt's layout (a header per example), inputs under "Input:" or a field name, outputs with labels."""
    count = draw(st.integers(2, 5))
    name = draw(st.sampled_from(["Input", "Sentence", "句子", "Problem"]))
    written, parts = [], []
    for n in range(1, count + 1):
        inp = draw(st.one_of(st.just(""), input_text)) if name == "Input" else draw(input_text)
        out = draw(output_text)
        shown = inp or "Not applicable"
        written.append(Instance(inp if name == "Input" else f"{name}: {inp}", out))
        header = draw(st.sampled_from(["Example {n}", "**Example {n}**", "### Example {n}", "示例 {n}"]))
        parts.append(f"{header.format(n=n)}\n{name}: {shown}\nOutput: {out}")
    return draw(st.sampled_from(["\n", "\n\n", "\n\n---\n\n"])).join(parts), written


@settings(max_examples=200, deadline=None)
@given(labelled_input_first_reply(), st.floats(0, 1))
def test_input_first_keeps_label_words_in_content(case: tuple[str, list[Instance]], share: float) -> None:
    reply, written = case
    assert same(parse_input_first(reply), written)
    parsed = parse_input_first(reply[: int(len(reply) * share)], truncated=True)
    assert same(parsed, written[: len(parsed)])


@st.composite
def labelled_output_first_reply(draw: st.DrawFn) -> tuple[str, list[Instance]]:
    names = draw(labels)
    field_name = draw(st.sampled_from(["Input", "Sentence", "Email"]))
    written = [Instance(draw(mid_text), name) for name in names]
    reply = "\n".join(f"Class label: {i.output}\n{field_name}: {i.input}" for i in written)
    expected = [Instance(i.input if field_name == "Input" else f"{field_name}: {i.input}", i.output) for i in written]
    return reply, expected


@settings(max_examples=200, deadline=None)
@given(labelled_output_first_reply(), st.floats(0, 1))
def test_output_first_keeps_label_words_in_content(case: tuple[str, list[Instance]], share: float) -> None:
    reply, written = case
    assert same(parse_output_first(reply), written)
    parsed = parse_output_first(reply[: int(len(reply) * share)], truncated=True)
    assert same(parsed, written[: len(parsed)])


@st.composite
def labelled_alpaca_reply(draw: st.DrawFn) -> tuple[str, list[AlpacaItem], bool]:
    """Numbered labels (the prompt's layout) or unnumbered ones with "###": either way, fields may hold label
    lines of other fields (unnumbered ones, or where the field order leaves no doubt). Without numbers, an output
    holding "Instruction: ..." and then "Output: ..." reads as a new task: that layout has no way to tell."""
    numbered = draw(st.booleans())
    tasks = draw(st.lists(instruction_text, min_size=1, max_size=5, unique=True))
    late_lines = (
        LINE_START + LABEL_LINES if numbered else [t for t in LINE_START + LABEL_LINES if "Instruction" not in t]
    )
    late = st.lists(st.one_of(plain_line, MID, st.sampled_from(late_lines)), min_size=1, max_size=3)
    early = st.lists(st.one_of(plain_line, MID, st.sampled_from(["Instruction: finish it", "Input: [3, 9, 2]"])),
                     min_size=1, max_size=3)  # fmt: skip
    written = []
    for task in tasks:
        inp = "\n".join(draw(late if numbered else early)) if draw(st.booleans()) else ""
        written.append(AlpacaItem(task, inp, "\n".join(draw(late))))
    parts = []
    for n, item in enumerate(written, start=4):
        p = f"{n}. " if numbered else ""
        parts.append(f"###\n{p}Instruction: {item.instruction}\n{p}Input:\n{item.input or '<noinput>'}\n"
                     f"{p}Output:\n{item.output}")  # fmt: skip
    return "\n".join(parts) + "\n###", written, numbered


@settings(max_examples=200, deadline=None)
@given(labelled_alpaca_reply(), st.floats(0, 1))
def test_alpaca_keeps_label_words_in_content(case: tuple[str, list[AlpacaItem], bool], share: float) -> None:
    reply, written, _ = case
    items, malformed = parse_alpaca_batch(reply, continued=False, truncated=False)
    as_fields = fields([(i.instruction, i.input, i.output) for i in written])
    assert fields([(i.instruction, i.input, i.output) for i in items]) == as_fields and malformed == 0
    assert len(items) == len(written)
    cut, _ = parse_alpaca_batch(reply[: int(len(reply) * share)], continued=False, truncated=True)
    assert [(i.instruction, normalize_whitespace(i.output)) for i in cut] == [
        (i.instruction, normalize_whitespace(i.output)) for i in written[: len(cut)]
    ]
