"""Parsers for raw model responses, and the prompt templates they are paired with.

The fixtures are written to look like what real models return: chat models with greetings, bold markers,
headings, code fences and closing notes; base models that continue the prompt mid-list and run past it.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from selfinstruct.engine.reasoning import strip_reasoning
from selfinstruct.methods.alpaca.parsing import AlpacaItem, parse_alpaca_batch
from selfinstruct.methods.self_instruct.instance_parsing import parse_input_first
from selfinstruct.methods.self_instruct.output_first import parse_output_first
from selfinstruct.methods.self_instruct.parsing import (
    ParsedList,
    normalize_whitespace,
    parse_instruction_list,
    parse_yes_no,
)
from selfinstruct.tasks import Instance

ROOT = Path(__file__).resolve().parents[2]
PROMPTS = ROOT / "prompts"
PLACEHOLDER_RE = re.compile(r"\{\{(\w+)\}\}")


def items(text: str, *, continued: bool = False, truncated: bool = False) -> list[str]:
    return parse_instruction_list(text, continued=continued, truncated=truncated).items


# --------------------------------------------------------------------------------------------------------------
# parse_instruction_list

CHAT_BOLD_TASKS = """Sure! Here are 8 new tasks:

**Task 9:** Write a short poem about learning Python as an adult.

**Task 10:** Explain the difference between TCP and UDP to a new developer.

**Task 11:** Classify the given animal as a mammal, bird, or reptile.

**Task 12:** Suggest three names for a bakery that specializes in gluten-free bread.

These tasks cover creative writing, explanation, classification and brainstorming."""


def test_chat_answer_with_chatter_bold_blank_lines_and_note() -> None:
    parsed = parse_instruction_list(CHAT_BOLD_TASKS, continued=True, truncated=False)
    assert parsed == ParsedList(
        items=[
            "Write a short poem about learning Python as an adult.",
            "Explain the difference between TCP and UDP to a new developer.",
            "Classify the given animal as a mammal, bird, or reptile.",
            "Suggest three names for a bakery that specializes in gluten-free bread.",
        ],
        dropped_truncated=False,
        ignored_lines=2,
    )


def test_base_model_continuation_starts_mid_list() -> None:
    text = (
        " Draft a packing list for a weekend camping trip in autumn.\n"
        "Task 10: What are the main differences between a violin and a viola?\n"
        "Task 11: Rewrite the paragraph below for a ten-year-old reader.\n"
        "Task 12: Given a list of cities, sort them from north to south.\n"
    )
    assert items(text, continued=True) == [
        "Draft a packing list for a weekend camping trip in autumn.",
        "What are the main differences between a violin and a viola?",
        "Rewrite the paragraph below for a ten-year-old reader.",
        "Given a list of cities, sort them from north to south.",
    ]


def test_base_model_truncated_drops_only_the_cut_item() -> None:
    text = " Name three famous bridges in Europe.\nTask 10: Describe how a bill becomes law.\nTask 11: Compose a lett"
    parsed = parse_instruction_list(text, continued=True, truncated=True)
    assert parsed.items == ["Name three famous bridges in Europe.", "Describe how a bill becomes law."]
    assert parsed.dropped_truncated is True


def test_truncated_right_after_an_empty_marker_loses_no_instruction() -> None:
    text = "Task 9: Invent a board game for two players.\nTask 10: Summarize the article below.\nTask 11:"
    parsed = parse_instruction_list(text, continued=False, truncated=True)
    assert parsed.items == ["Invent a board game for two players.", "Summarize the article below."]
    assert parsed.dropped_truncated is False


def test_truncated_while_in_trailing_notes_keeps_the_whole_list() -> None:
    text = "1. Plan a vegetarian menu for a dinner party.\n2. Explain what inflation is.\n\nI hope these tasks are"
    parsed = parse_instruction_list(text, continued=False, truncated=True)
    assert parsed.items == ["Plan a vegetarian menu for a dinner party.", "Explain what inflation is."]
    assert parsed.dropped_truncated is False


def test_not_truncated_keeps_last_item() -> None:
    text = "Task 9: Give an example of a palindrome sentence.\nTask 10: List the planets in order"
    assert items(text, truncated=False)[-1] == "List the planets in order"


def test_numbered_markdown_list_with_headings_restarts_and_fence() -> None:
    text = """Here are some new tasks, grouped by type:

```
## Writing
1. Write a thank-you message to a bus driver who returned a lost wallet.
2. Compose a short story that begins with the line "The elevator stopped between floors."

## Coding
1. Write a SQL query that counts orders per customer.
2) Explain what a race condition is, with a small example in Go.
```

Let me know if you want more!"""
    parsed = parse_instruction_list(text, continued=False, truncated=False)
    assert parsed.items == [
        "Write a thank-you message to a bus driver who returned a lost wallet.",
        'Compose a short story that begins with the line "The elevator stopped between floors."',
        "Write a SQL query that counts orders per customer.",
        "Explain what a race condition is, with a small example in Go.",
    ]
    assert parsed.ignored_lines == 4


def test_various_task_marker_styles() -> None:
    text = (
        "Task 9: One.\n"
        "**Task 10:** Two.\n"
        "**Task 11**: Three.\n"
        "### Task 12: Four.\n"
        "- Task 13: Five.\n"
        "Task 14 - Six.\n"
        "TASK 15. Seven.\n"
        "Task #16: Eight.\n"
        "1. **Task 17:** Nine.\n"
        "Task 18 Ten.\n"
    )
    assert items(text) == ["One.", "Two.", "Three.", "Four.", "Five.", "Six.", "Seven.", "Eight.", "Nine.", "Ten."]


def test_various_number_marker_styles() -> None:
    text = "1. One.\n2) Two.\n**3.** Three.\n(4) Four.\n5、Five.\n6: Six.\n7．Seven."
    assert items(text) == ["One.", "Two.", "Three.", "Four.", "Five.", "Six.", "Seven."]


def test_dash_and_bullet_lists() -> None:
    text = (
        "New tasks:\n- Write a riddle about time.\n* Describe a sunrise in three sentences.\n"
        "• Name two uses of vinegar."
    )
    assert items(text) == [
        "Write a riddle about time.",
        "Describe a sunrise in three sentences.",
        "Name two uses of vinegar.",
    ]


def test_bullets_inside_a_task_item_are_continuation_text() -> None:
    text = "Task 9: Plan a picnic menu that includes\n- a main dish\n- a dessert\nTask 10: Define entropy."
    assert items(text) == ["Plan a picnic menu that includes - a main dish - a dessert", "Define entropy."]


def test_continuation_lines_join_with_a_space_and_whitespace_collapses() -> None:
    text = "Task 9:   Explain how   vaccines\n   train the\timmune system.\nTask 10: Next."
    assert items(text)[0] == "Explain how vaccines train the immune system."


def test_case_is_never_changed() -> None:
    text = (
        "1. write a python script that renames files.\n2. Compare iOS and Android for a first-time buyer.\n"
        "3. Use NumPy."
    )
    assert items(text) == [
        "write a python script that renames files.",
        "Compare iOS and Android for a first-time buyer.",
        "Use NumPy.",
    ]


def test_surrounding_quotes_and_bold_are_stripped() -> None:
    text = '1. "Write a haiku about snow."\n2. **Summarize the text below.**\n3. “Name a color.”\n4. "A" or "B"?'
    assert items(text) == ["Write a haiku about snow.", "Summarize the text below.", "Name a color.", '"A" or "B"?']


def test_bold_title_before_the_instruction_is_removed() -> None:
    text = "1. **Recipe scaling**: Double the recipe below for eight guests.\n2. **Rewrite:** the sentence in French."
    assert items(text) == ["Double the recipe below for eight guests.", "Rewrite: the sentence in French."]


def test_marker_alone_on_its_line_takes_the_next_line() -> None:
    text = "**Task 9:**\n\nWrite a limerick about a forgetful robot.\n\n**Task 10:**\nList three facts about owls."
    assert items(text) == ["Write a limerick about a forgetful robot.", "List three facts about owls."]


def test_empty_items_are_dropped() -> None:
    text = "Task 9:\nTask 10: Describe a busy market.\nTask 11: ...\nTask 12:   \n"
    assert items(text) == ["Describe a busy market."]


def test_an_output_line_under_a_task_is_skipped_not_the_end_of_the_list() -> None:
    text = "Task 9: Convert 5 miles to kilometers.\nOutput: 8.05 km\nTask 10: Name the largest moon of Saturn."
    parsed = parse_instruction_list(text, continued=False, truncated=False)
    assert parsed.items == ["Convert 5 miles to kilometers.", "Name the largest moon of Saturn."]
    assert parsed.ignored_lines == 1


def test_an_input_under_each_task_keeps_every_task() -> None:
    text = (
        "Task 9: Summarize the paragraph below in one sentence.\nInput: The city council met on Tuesday to\n"
        "discuss the new bike lanes.\nTask 10: Translate the sentence into French.\nInput: I would like a coffee.\n"
        "Task 11: Fix the grammar of the sentence.\n**Input:** She don't like apples.\n\n"
        "Note: every task above has an input.\nTask 12: Explain what a haiku is."
    )
    parsed = parse_instruction_list(text, continued=False, truncated=False, first_number=9)
    assert parsed.items == [
        "Summarize the paragraph below in one sentence.",
        "Translate the sentence into French.",
        "Fix the grammar of the sentence.",
        "Explain what a haiku is.",
    ]


def test_numbered_lists_inside_an_input_section_are_not_tasks() -> None:
    text = "9. Sort the items by price.\nInput:\n1. Apples $3\n2. Pears $2\n10. Name a prime number above 50."
    assert items(text) == ["Sort the items by price.", "Name a prime number above 50."]


def test_in_a_bullet_list_a_section_line_still_ends_the_list() -> None:
    text = "- Sort the fruit below by colour.\nInput:\n- banana\n- cherry"
    assert items(text) == ["Sort the fruit below by colour."]


def test_answers_section_after_the_list_is_not_parsed() -> None:
    text = "1. Write a tweet about recycling.\n2. Define photosynthesis.\n\nAnswers:\n1. Recycle today!\n2. A process."
    assert items(text) == ["Write a tweet about recycling.", "Define photosynthesis."]


def test_trailing_note_directly_after_last_item_is_not_joined() -> None:
    text = "Task 9: Give tips for a job interview.\nThese tasks are varied and self-contained."
    parsed = parse_instruction_list(text, continued=False, truncated=False)
    assert parsed.items == ["Give tips for a job interview."]
    assert parsed.ignored_lines == 1


def test_paragraph_after_a_blank_line_is_ignored_not_joined() -> None:
    text = "1. Write a fable about patience.\n\nSome of these could also be adapted for children.\n2. Name a river."
    parsed = parse_instruction_list(text, continued=False, truncated=False)
    assert parsed.items == ["Write a fable about patience.", "Name a river."]
    assert parsed.ignored_lines == 1


def test_crlf_line_endings() -> None:
    text = "Task 9: Explain recursion.\r\nTask 10: Write a toast\r\nfor a retirement party.\r\n"
    assert items(text) == ["Explain recursion.", "Write a toast for a retirement party."]


def test_chinese_answer_with_full_width_colons() -> None:
    text = (
        "好的，以下是8个新任务：\n\n任务9：为一家宠物医院写一句宣传语。\n任务10：解释什么是\n区块链技术。\n"
        "任务 11: 比较 Python 和 Java 的异同。\n\n希望这些任务对你有帮助！"
    )
    parsed = parse_instruction_list(text, continued=True, truncated=False)
    assert parsed.items == ["为一家宠物医院写一句宣传语。", "解释什么是区块链技术。", "比较 Python 和 Java 的异同。"]
    assert parsed.ignored_lines == 2


def test_chinese_base_model_continuation_and_numbering() -> None:
    text = "写一段关于秋天的描写。\n任务10：列出三种节约用水的方法。\n任务11：把下面的句子翻译成英文。"
    assert items(text, continued=True) == [
        "写一段关于秋天的描写。",
        "列出三种节约用水的方法。",
        "把下面的句子翻译成英文。",
    ]
    assert items("1、写一首诗。\n2、解释成语。\n（3）推荐一本书。") == ["写一首诗。", "解释成语。", "推荐一本书。"]


def test_chinese_and_english_markers_mixed() -> None:
    text = "Task 9: Write a haiku.\n任务10：写一首诗。\n**任务11：** 解释光合作用。"
    assert items(text) == ["Write a haiku.", "写一首诗。", "解释光合作用。"]


def test_numbers_inside_text_do_not_start_items() -> None:
    text = "1. Explain why 0.1 + 0.2 is not exactly 0.3 in floating point.\n2. Convert 3.5 hours\n1.5 liters etc."
    assert items(text) == [
        "Explain why 0.1 + 0.2 is not exactly 0.3 in floating point.",
        "Convert 3.5 hours 1.5 liters etc.",
    ]


def test_continued_chat_model_repeating_the_marker() -> None:
    text = "Task 9: Describe a lighthouse keeper's morning.\nTask 10: Estimate how many piano tuners work in Paris."
    assert items(text, continued=True) == [
        "Describe a lighthouse keeper's morning.",
        "Estimate how many piano tuners work in Paris.",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\n  ",
        "asdf qwer zxcv\nlorem ipsum dolor",
        "I'm sorry, but I can't help with that request.",
        "```\n```",
    ],
)
def test_garbage_gives_no_items(text: str) -> None:
    parsed = parse_instruction_list(text, continued=False, truncated=False)
    assert parsed.items == []
    assert parsed.dropped_truncated is False


def test_refusal_in_continued_mode_is_not_an_instruction() -> None:
    parsed = parse_instruction_list("Sorry, I cannot continue this list.", continued=True, truncated=False)
    assert parsed.items == []
    assert parsed.ignored_lines == 1


def test_continued_chinese_instruction_that_starts_like_an_intro_is_kept() -> None:
    text = "下面是一段对话，请概括双方的主要分歧。\n任务10：以下是一组数字，请找出其中的规律。"
    assert items(text, continued=True) == [
        "下面是一段对话，请概括双方的主要分歧。",
        "以下是一组数字，请找出其中的规律。",
    ]
    assert items("以下是8个新任务：\n任务9：写一首诗。", continued=True) == ["写一首诗。"]


def test_continued_chatter_ending_with_colon_is_ignored() -> None:
    text = "I came up with eight more tasks for the list:\n\n1. Draw up a budget for a student.\n2. Explain tides."
    assert items(text, continued=True) == ["Draw up a budget for a student.", "Explain tides."]


def test_normalize_whitespace() -> None:
    assert normalize_whitespace("  Write\ta  poem \n about   NASA\u3000now ") == "Write a poem about NASA now"
    assert normalize_whitespace("iPhone") == "iPhone"
    assert normalize_whitespace("") == ""


# --------------------------------------------------------------------------------------------------------------
# parse_yes_no


@pytest.mark.parametrize(
    "text",
    ["Yes", " yes.", "**Yes**", "Yes, because the labels are fixed.", "YES", "yes\n\nThe task has a fixed label set.",
     "Is it classification? Yes", "Answer: Yes", "是", "是的", "是。", "**是**", "“是”", "答案：是",
     "是否为分类任务？是", "It is a classification task.", "y", "True", "I think yes.", "这是一个分类任务。"],
)  # fmt: skip
def test_yes(text: str) -> None:
    assert parse_yes_no(text) is True


@pytest.mark.parametrize(
    "text",
    ["No", "no.", "**No**", "No, the output is free text.", "Nope", "否", "不是", "不是分类任务。", "不",
     "否。这个任务需要生成文本。", "Is it classification? No", "It is not a classification task.", "n", "False",
     "非分类任务", "这不是一个分类任务。", "This is not a classification task."],
)  # fmt: skip
def test_no(text: str) -> None:
    assert parse_yes_no(text) is False


@pytest.mark.parametrize(
    "text", ["", "   ", "Maybe", "Not sure", "It depends on the labels.", "N/A", "yes or no", "Yes/No", "是或否"]
)
def test_cannot_tell(text: str) -> None:
    assert parse_yes_no(text) is None


# --------------------------------------------------------------------------------------------------------------
# parse_input_first


def test_input_first_plain_continuation() -> None:
    text = """Example 1
Input: The meeting moved to Thursday.
Output: The meeting has been moved to Thursday.
Example 2
Input: we should of left earlier
Output: We should have left earlier.
"""
    assert parse_input_first(text) == [
        Instance("The meeting moved to Thursday.", "The meeting has been moved to Thursday."),
        Instance("we should of left earlier", "We should have left earlier."),
    ]


@pytest.mark.parametrize(
    "na", ["Not applicable", "not applicable.", "None", "N/A", "<noinput>", "无", "", "(none)", "无输入"]
)
def test_input_first_no_input_markers_become_empty(na: str) -> None:
    text = f"Example 1\nInput: {na}\nOutput: Drink water, sleep well, move daily."
    assert parse_input_first(text) == [Instance("", "Drink water, sleep well, move daily.")]


def test_input_first_output_only_blocks() -> None:
    text = "Example 1\nOutput: Roses bloom in June.\nExample 2\nOutput: Frost paints the glass."
    assert parse_input_first(text) == [Instance("", "Roses bloom in June."), Instance("", "Frost paints the glass.")]


def test_input_first_chat_style_with_bold_chatter_and_note() -> None:
    text = """Sure! Here are three examples for this task:

**Example 1**
**Input:** 45 minutes
**Output:** 0.75 hours

**Example 2:**
**Input:** 90 minutes
**Output:** 1.5 hours

### Example 3
- **Input**: 10 minutes
- **Output**: about 0.17 hours

I hope these examples help!"""
    assert parse_input_first(text) == [
        Instance("45 minutes", "0.75 hours"),
        Instance("90 minutes", "1.5 hours"),
        Instance("10 minutes", "about 0.17 hours"),
    ]


def test_input_first_multiline_fields_keep_line_breaks() -> None:
    text = """Example 1
Input:
Dear team,
The office will be closed on Monday.
Output:
Subject: Office closed Monday

Hi all,
Just a reminder that the office is closed on Monday.
Example 2
Input: Not applicable
Output: 1. First point
2. Second point

"""
    assert parse_input_first(text) == [
        Instance(
            "Dear team,\nThe office will be closed on Monday.",
            "Subject: Office closed Monday\n\nHi all,\nJust a reminder that the office is closed on Monday.",
        ),
        Instance("", "1. First point\n2. Second point"),
    ]


def test_input_first_code_output_keeps_indentation_and_unwraps_fence() -> None:
    text = "Example 1\nInput: [3, 1, 2]\nOutput:\n```python\ndef f(xs):\n    return sorted(xs)\n```\n"
    assert parse_input_first(text) == [Instance("[3, 1, 2]", "def f(xs):\n    return sorted(xs)")]


def test_input_first_stops_at_next_task() -> None:
    text = """Example 1
Input: cat
Output: cats

Task: Give the opposite of the word.
Example 1
Input: hot
Output: cold"""
    assert parse_input_first(text) == [Instance("cat", "cats")]


def test_input_first_echoed_task_is_skipped() -> None:
    text = "Task: Pluralize the noun.\nExample 1\nInput: mouse\nOutput: mice"
    assert parse_input_first(text) == [Instance("mouse", "mice")]


def test_input_first_cut_example_without_output_is_skipped() -> None:
    text = "Example 1\nInput: 2 + 2\nOutput: 4\nExample 2\nInput: 7 × 6"
    assert parse_input_first(text) == [Instance("2 + 2", "4")]


def test_input_first_pairs_without_example_headers() -> None:
    """Issue 21 (2): this test once expected the last line to be an instance of its own with an empty input."""
    text = "Input: red\nOutput: rouge\nInput: blue\nOutput: bleu\n\nOutput: vert"
    assert parse_input_first(text) == [Instance("red", "rouge"), Instance("blue", "bleu\n\nOutput: vert")]
    assert parse_input_first("Output: Roses bloom.\n\nOutput: Frost paints.") == [
        Instance("", "Roses bloom."),
        Instance("", "Frost paints."),
    ]  # outputs of a task without input, one after another


def test_input_first_chinese() -> None:
    text = (
        "示例 1\n输入：无\n输出：1. 早睡早起\n2. 多喝水\n示例2：\n"
        "输入：今天天气很好。\n输出：今天的天气非常好。\n\n任务：下一个任务"
    )
    assert parse_input_first(text) == [
        Instance("", "1. 早睡早起\n2. 多喝水"),
        Instance("今天天气很好。", "今天的天气非常好。"),
    ]


def test_input_first_letter_paragraphs_are_not_closing_notes() -> None:
    text = "Example 1\nInput: Not applicable\nOutput: Dear Ana,\n\nI hope you are well.\n\nThese days I cook a lot.\n"
    assert parse_input_first(text) == [Instance("", "Dear Ana,\n\nI hope you are well.\n\nThese days I cook a lot.")]


def test_input_first_example_word_inside_an_output_is_text() -> None:
    text = "Example 1\nInput: Explain a loop.\nOutput: A loop repeats code.\nExample 2 shows a for loop."
    assert parse_input_first(text) == [Instance("Explain a loop.", "A loop repeats code.\nExample 2 shows a for loop.")]


def test_input_first_crlf_and_whole_response_fence() -> None:
    text = "```\r\nExample 1\r\nInput: 5\r\nOutput: 25\r\n```"
    assert parse_input_first(text) == [Instance("5", "25")]


@pytest.mark.parametrize("text", ["", "I cannot help with that.", "Here you go:\n\nSome text without labels."])
def test_input_first_garbage(text: str) -> None:
    assert parse_input_first(text) == []


# --------------------------------------------------------------------------------------------------------------
# parse_output_first


def test_output_first_plain() -> None:
    text = (
        "Class label: Positive\nInput: The battery lasts all week.\n"
        "Class label: Negative\nInput: It broke on day two.\n"
    )
    assert parse_output_first(text) == [
        Instance("The battery lasts all week.", "Positive"),
        Instance("It broke on day two.", "Negative"),
    ]


def test_output_first_chat_style() -> None:
    text = """Here are examples for each label:

**Class label:** Spam
**Input:** Congratulations! You won a free cruise. Reply with your card number.

**Class label:** Not spam
**Input:** Hi Ana, the slides for tomorrow are attached.

These examples cover both labels."""
    assert parse_output_first(text) == [
        Instance("Congratulations! You won a free cruise. Reply with your card number.", "Spam"),
        Instance("Hi Ana, the slides for tomorrow are attached.", "Not spam"),
    ]


def test_output_first_multiline_input_label_cleanup_and_stop_at_task() -> None:
    text = """Class label: Yes.
Input: for i in range(3)
    print(i)
Class label: "No"
Input: x = 1

Task: Another task
Class label: A
Input: b"""
    assert parse_output_first(text) == [Instance("for i in range(3)\n    print(i)", "Yes"), Instance("x = 1", "No")]


def test_output_first_two_inputs_under_one_label_and_missing_input() -> None:
    text = "Label: Even\nInput: 4\nInput: 10\nLabel: Odd\nLabel: Prime\nInput: 7"
    assert parse_output_first(text) == [Instance("4", "Even"), Instance("10", "Even"), Instance("7", "Prime")]


def test_output_first_chinese() -> None:
    text = (
        "类别标签：积极\n输入：这家店的服务太贴心了。\n类别标签：消极\n输入：等了一个小时还没上菜。\n\n任务：判断天气"
    )
    assert parse_output_first(text) == [
        Instance("这家店的服务太贴心了。", "积极"),
        Instance("等了一个小时还没上菜。", "消极"),
    ]


def test_output_first_with_example_headers_and_label_on_next_line() -> None:
    text = (
        "Example 1\nClass label:\nFact\nInput: Water boils at 100 °C at sea level.\n"
        "Example 2\nClass label: Opinion\nInput: Tea beats coffee."
    )
    assert parse_output_first(text) == [
        Instance("Water boils at 100 °C at sea level.", "Fact"),
        Instance("Tea beats coffee.", "Opinion"),
    ]


@pytest.mark.parametrize("text", ["", "No labels here.", "Input: an input with no label", "Class label:"])
def test_output_first_garbage(text: str) -> None:
    assert parse_output_first(text) == []


# --------------------------------------------------------------------------------------------------------------
# parse_alpaca_batch

ALPACA_CONTINUATION = """ Suggest a name for a cozy reading café.
4. Input:
<noinput>
4. Output:
The Dog-Eared Page
###
5. Instruction: Sort the numbers from smallest to largest.
5. Input:
42, 7, 19, 3
5. Output:
3, 7, 19, 42
###
6. Instruction: Rewrite the sentence in the passive voice.
6. Input:
The committee approved the budget.
6. Output:
The budget was approved by the committee.
###
7. Instruction: Give two tips for"""


def test_alpaca_continuation_and_truncation() -> None:
    parsed, malformed = parse_alpaca_batch(ALPACA_CONTINUATION, continued=True, truncated=True)
    assert parsed == [
        AlpacaItem("Suggest a name for a cozy reading café.", "", "The Dog-Eared Page"),
        AlpacaItem("Sort the numbers from smallest to largest.", "42, 7, 19, 3", "3, 7, 19, 42"),
        AlpacaItem("Rewrite the sentence in the passive voice.", "The committee approved the budget.",
                   "The budget was approved by the committee."),
    ]  # fmt: skip
    assert malformed == 0


def test_alpaca_incomplete_last_block_is_malformed_when_not_truncated() -> None:
    parsed, malformed = parse_alpaca_batch(ALPACA_CONTINUATION, continued=True, truncated=False)
    assert len(parsed) == 3
    assert malformed == 1


def test_alpaca_chat_style_with_bold_chatter_and_note() -> None:
    text = """Sure! Here are the remaining tasks:

###
**4. Instruction:** Name three renewable energy sources.
**4. Input:** <noinput>
**4. Output:** Solar, wind and hydroelectric power.
###
**5. Instruction:** Translate the phrase into Spanish.
**5. Input:** Good morning, everyone.
**5. Output:** Buenos días a todos.
###

I hope these tasks are useful for your dataset!"""
    assert parse_alpaca_batch(text, continued=False, truncated=False) == (
        [
            AlpacaItem("Name three renewable energy sources.", "", "Solar, wind and hydroelectric power."),
            AlpacaItem("Translate the phrase into Spanish.", "Good morning, everyone.", "Buenos días a todos."),
        ],
        0,
    )


def test_alpaca_output_paragraphs_that_sound_like_notes_are_kept() -> None:
    text = (
        "4. Instruction: Write a short note inviting a neighbor to dinner.\n4. Input: <noinput>\n4. Output:\n"
        "Hi Tom,\n\nI hope you are well. Would you join us for dinner on Friday?\n\nLet me know by Thursday.\n"
        "###\n5. Instruction: List two citrus fruits.\n5. Input: <noinput>\n5. Output: Lemon and lime."
    )
    parsed, malformed = parse_alpaca_batch(text, continued=False, truncated=False)
    assert [item.output for item in parsed] == [
        "Hi Tom,\n\nI hope you are well. Would you join us for dinner on Friday?\n\nLet me know by Thursday.",
        "Lemon and lime.",
    ]
    assert malformed == 0


def test_alpaca_chat_greeting_in_continued_mode_is_not_an_instruction() -> None:
    text = (
        "Certainly! Here are 17 more tasks.\n###\n4. Instruction: Define osmosis.\n4. Input: <noinput>\n"
        "4. Output: Water moving across a membrane."
    )
    assert parse_alpaca_batch(text, continued=True, truncated=False) == (
        [AlpacaItem("Define osmosis.", "", "Water moving across a membrane.")],
        0,
    )


def test_alpaca_without_separators_and_multiline_output() -> None:
    text = """4. Instruction: Write a two-line poem about tea.
4. Input: <noinput>
4. Output:
Steam curls from the cup,
quiet morning, warming hands.

5. Instruction: What is 15% of 80?
5. Input:
5. Output: 12"""
    assert parse_alpaca_batch(text, continued=False, truncated=False) == (
        [
            AlpacaItem(
                "Write a two-line poem about tea.", "", "Steam curls from the cup,\nquiet morning, warming hands."
            ),
            AlpacaItem("What is 15% of 80?", "", "12"),
        ],
        0,
    )


def test_alpaca_missing_output_and_missing_instruction_are_malformed() -> None:
    text = """###
4. Instruction: List three fruits.
4. Input: <noinput>
###
5. Input: abc
5. Output: cba
###
6. Instruction: Reverse the word.
6. Input: stressed
6. Output: desserts
###"""
    assert parse_alpaca_batch(text, continued=False, truncated=False) == (
        [AlpacaItem("Reverse the word.", "stressed", "desserts")],
        2,
    )


def test_alpaca_chinese() -> None:
    text = (
        " 用一句话介绍长城。\n4. 输入：\n<noinput>\n4. 输出：\n长城是中国古代修建的军事防御工程。\n###\n"
        "5. 指令：把下面的句子改成疑问句。\n5. 输入：他明天去北京。\n5. 输出：他明天去北京吗？\n###\n6. 指令：写一句"
    )
    assert parse_alpaca_batch(text, continued=True, truncated=True) == (
        [
            AlpacaItem("用一句话介绍长城。", "", "长城是中国古代修建的军事防御工程。"),
            AlpacaItem("把下面的句子改成疑问句。", "他明天去北京。", "他明天去北京吗？"),
        ],
        0,
    )


def test_alpaca_crlf_and_unnumbered_labels() -> None:
    text = "###\r\nInstruction: Name a prime number.\r\nInput: <noinput>\r\nOutput: 7\r\n###\r\n"
    assert parse_alpaca_batch(text, continued=False, truncated=False) == (
        [AlpacaItem("Name a prime number.", "", "7")],
        0,
    )


def test_alpaca_truncation_does_not_drop_a_block_closed_by_separator() -> None:
    text = "4. Instruction: Say hi.\n4. Input: <noinput>\n4. Output: Hi!\n###\n"
    assert parse_alpaca_batch(text, continued=False, truncated=True) == ([AlpacaItem("Say hi.", "", "Hi!")], 0)


@pytest.mark.parametrize("continued", [False, True])
@pytest.mark.parametrize("text", ["", "Sorry, I can't do that.", "###\n###", "random words\nwith no labels"])
def test_alpaca_garbage(text: str, continued: bool) -> None:
    parsed, _ = parse_alpaca_batch(text, continued=continued, truncated=False)
    assert parsed == []


# --------------------------------------------------------------------------------------------------------------
# Degenerate output


@pytest.mark.timeout(20)
def test_degenerate_output_is_parsed_quickly() -> None:
    """Runs of spaces or markup must not make the marker patterns backtrack for minutes."""
    samples = [
        " " * 20000 + "x",
        "Task" + " " * 20000 + "x",
        "**" + " " * 10000 + "**" + " " * 10000 + "x",
        "Example 1" + " :" * 5000 + "x",
        "Input:" + " " * 20000 + "x\nOutput:" + " " * 20000,
        "\n".join(["Task 9: Write a haiku."] * 5000),
        "*" * 20000,
        "Input: " + "a | " * 20000,  # issue 21: pairs on one line are split at "Output:" anywhere
        "Input:" + " " * 20000 + "Output" + " " * 20000,
        "Sentence: a\nOutput: b\n" * 5000,
    ]
    start = time.monotonic()
    for text in samples:
        parse_instruction_list(text, continued=True, truncated=True)
        parse_input_first(text)
        parse_output_first(text)
        parse_alpaca_batch(text, continued=True, truncated=False)
        parse_yes_no(text)
    assert time.monotonic() - start < 5


# --------------------------------------------------------------------------------------------------------------
# Templates

PLACEHOLDERS = {
    "instructions.txt": {"demonstrations", "next_number", "last_number", "count"},
    "instructions_classification.txt": {"demonstrations", "next_number", "last_number", "count"},
    "classify.txt": {"instruction"},
    "instances_input_first.txt": {"instruction"},
    "instances_output_first.txt": {"instruction"},
    "alpaca.txt": {"demonstrations", "count", "next_number"},
}
ENDINGS = {
    "en": {
        "instructions.txt": "\nTask 9:",
        "instructions_classification.txt": "\nTask 9:",
        "classify.txt": "\nTask: Sort a list.\nIs it classification?",
        "instances_input_first.txt": "\n\nTask: Sort a list.\n",
        "instances_output_first.txt": "\n\nTask: Sort a list.\n",
        "alpaca.txt": "\n###\n4. Instruction:",
    },
    "zh": {
        "instructions.txt": "\n任务9：",
        "instructions_classification.txt": "\n任务9：",
        "classify.txt": "\n任务：Sort a list.\n是否为分类任务？",
        "instances_input_first.txt": "\n\n任务：Sort a list.\n",
        "instances_output_first.txt": "\n\n任务：Sort a list.\n",
        "alpaca.txt": "\n###\n4. 指令：",
    },
}
VALUES = {
    "instruction": "Sort a list.",
    "next_number": "9",
    "last_number": "16",
    "count": "8",
}


def demonstrations(lang: str, name: str) -> str:
    if name == "alpaca.txt":
        ins, inp, out = ("Instruction:", "Input:", "Output:") if lang == "en" else ("指令：", "输入：", "输出：")
        blocks = [f"###\n{n}. {ins} Seed task {n}.\n{n}. {inp}\n<noinput>\n{n}. {out}\nAnswer {n}." for n in (1, 2, 3)]
        return "\n".join(blocks)
    marker = "Task {n}: " if lang == "en" else "任务{n}："
    return "\n".join(marker.format(n=n) + f"Seed instruction {n}." for n in range(1, 9))


def render(lang: str, name: str) -> str:
    template = (PROMPTS / lang / name).read_text(encoding="utf-8")
    values = dict(VALUES, demonstrations=demonstrations(lang, name))
    if name == "alpaca.txt":
        values.update(count="20", next_number="4")
    return PLACEHOLDER_RE.sub(lambda m: values[m.group(1)], template)


TEMPLATES = [(lang, name) for lang in ("en", "zh") for name in PLACEHOLDERS]


@pytest.mark.parametrize(("lang", "name"), TEMPLATES)
def test_template_uses_exactly_the_documented_placeholders(lang: str, name: str) -> None:
    template = (PROMPTS / lang / name).read_text(encoding="utf-8")
    assert set(PLACEHOLDER_RE.findall(template)) == PLACEHOLDERS[name]


@pytest.mark.parametrize(("lang", "name"), TEMPLATES)
def test_rendered_template_is_filled_and_ends_with_the_open_line(lang: str, name: str) -> None:
    rendered = render(lang, name)
    assert "{{" not in rendered and "}}" not in rendered
    assert rendered.endswith(ENDINGS[lang][name])
    assert "\r" not in rendered


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_templates_do_not_copy_seed_instructions(lang: str) -> None:
    seed_file = ROOT / "seeds" / ("seed_tasks.jsonl" if lang == "en" else "zh/seed_tasks.jsonl")
    seeds = [json.loads(line)["instruction"] for line in seed_file.read_text(encoding="utf-8").splitlines() if line]
    text = "".join((PROMPTS / lang / name).read_text(encoding="utf-8") for name in PLACEHOLDERS)
    assert not [s for s in seeds if s in text]


def few_shot_blocks(lang: str, name: str) -> list[str]:
    """The few-shot tasks of a template, each without its "Task:" line, minus the final open task."""
    template = (PROMPTS / lang / name).read_text(encoding="utf-8")
    marker = "Task: " if lang == "en" else "任务："
    blocks = template.split("\n\n" + marker)[1:-1]
    return [block.split("\n", 1)[1] for block in blocks]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_classify_examples_are_balanced_and_parse(lang: str) -> None:
    answers = [parse_yes_no(block) for block in few_shot_blocks(lang, "classify.txt")]
    assert len(answers) == 12
    assert answers.count(True) == 6 and answers.count(False) == 6


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_input_first_examples_parse_with_and_without_input(lang: str) -> None:
    parsed = [parse_input_first(block) for block in few_shot_blocks(lang, "instances_input_first.txt")]
    assert len(parsed) == 6
    assert all(parsed)
    assert any(all(i.input == "" for i in task) for task in parsed)
    assert any(all(i.input for i in task) for task in parsed)
    assert any("\n" in i.input for task in parsed for i in task)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_output_first_examples_parse_with_one_input_per_label(lang: str) -> None:
    parsed = [parse_output_first(block) for block in few_shot_blocks(lang, "instances_output_first.txt")]
    assert len(parsed) == 5
    for task in parsed:
        labels = [i.output for i in task]
        assert len(labels) >= 2 and len(set(labels)) == len(labels)
        assert all(i.input for i in task)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_rendered_alpaca_prompt_parses_back_to_its_demonstrations(lang: str) -> None:
    parsed, malformed = parse_alpaca_batch(render(lang, "alpaca.txt"), continued=False, truncated=True)
    assert parsed == [AlpacaItem(f"Seed task {n}.", "", f"Answer {n}.") for n in (1, 2, 3)]
    assert malformed == 0


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_rendered_instruction_prompt_parses_back_to_its_demonstrations(lang: str) -> None:
    parsed = parse_instruction_list(render(lang, "instructions.txt"), continued=False, truncated=False)
    assert parsed.items == [f"Seed instruction {n}." for n in range(1, 9)]


def test_output_first_ignores_output_lines_small_models_add() -> None:
    text = (
        "Class label: Positive\nInput: Loved it, would buy again.\nOutput: Positive\n"
        "Class label: Negative\nInput: Broke in a day."
    )
    assert parse_output_first(text) == [
        Instance("Loved it, would buy again.", "Positive"),
        Instance("Broke in a day.", "Negative"),
    ]


# --------------------------------------------------------------------------------------------------------------
# replies cut at max_tokens (finish_reason "length")


def test_input_first_truncated_drops_the_instance_the_reply_ends_in() -> None:
    text = "Example 1\nInput: What is 2 + 2?\nOutput: 4\nExample 2\nInput: What short\nOutput: can you giv"
    assert parse_input_first(text, truncated=True) == [Instance("What is 2 + 2?", "4")]
    assert parse_input_first(text)[-1] == Instance("What short", "can you giv")


def test_input_first_truncated_in_the_next_header_drops_the_output_it_joined() -> None:
    text = "Example 1\nInput: Not applicable\nOutput: A haiku.\n\nExample 2\nOutput: Another one.\n\nExample"
    assert parse_input_first(text, truncated=True) == [Instance("", "A haiku.")]


def test_input_first_truncated_in_an_input_without_output_keeps_the_complete_ones() -> None:
    text = "Example 1\nInput: red\nOutput: rouge\nExample 2\nInput: bl"
    assert parse_input_first(text, truncated=True) == [Instance("red", "rouge")]


def test_input_first_truncated_in_a_closing_note_keeps_everything() -> None:
    text = "Example 1\nInput: red\nOutput: rouge\n\nI hope these examples help with your"
    assert parse_input_first(text, truncated=True) == [Instance("red", "rouge")]


def test_output_first_truncated_drops_the_last_pair() -> None:
    text = "Class label: Positive\nInput: Great phone.\nClass label: Negative\nInput: The screen cra"
    assert parse_output_first(text, truncated=True) == [Instance("Great phone.", "Positive")]


def test_output_first_truncated_after_the_next_task_keeps_everything() -> None:
    text = "Class label: Yes\nInput: 2024\nClass label: No\nInput: 1900\n\nTask: Say whether the num"
    assert len(parse_output_first(text, truncated=True)) == 2


# --------------------------------------------------------------------------------------------------------------
# classification instances the original keeps: label only, inputs under labels of their own


def test_output_first_label_only_instances_have_an_empty_input() -> None:
    assert parse_output_first("Class label: Montreal") == [Instance("", "Montreal")]
    text = "Class label: Montreal\nClass label: Toronto\n\nClass label: Vancouver"
    assert [i.output for i in parse_output_first(text)] == ["Montreal", "Toronto", "Vancouver"]


def test_output_first_inputs_under_other_field_names_are_kept_as_written() -> None:
    text = (
        "Class label: Positive\nSentence: The hotel staff were wonderful.\n"
        "Class label: Negative\nSentence: The room smelled of smoke.\nIt was also noisy.\n"
        "Class label: Correct\nProblem: 2 + 2\nProposed answer: 4"
    )
    assert parse_output_first(text) == [
        Instance("Sentence: The hotel staff were wonderful.", "Positive"),
        Instance("Sentence: The room smelled of smoke.\nIt was also noisy.", "Negative"),
        Instance("Problem: 2 + 2\nProposed answer: 4", "Correct"),
    ]


def test_output_first_label_without_input_among_labelled_ones_is_dropped() -> None:
    text = "Class label: Yes\nInput: 2024\nClass label: No\n\nClass label: Maybe\nInput: 2100"
    assert parse_output_first(text) == [Instance("2024", "Yes"), Instance("2100", "Maybe")]


def test_output_first_commentary_before_the_input_and_explanations_after_it_are_not_input() -> None:
    text = (
        "Class label: Spam\nThis one tries to sell something.\nInput: Buy cheap watches now!\n"
        "Explanation: it advertises.\nIt also shouts.\nClass label: Not spam\nInput: Lunch at noon?"
    )
    assert parse_output_first(text) == [
        Instance("Buy cheap watches now!", "Spam"),
        Instance("Lunch at noon?", "Not spam"),
    ]


# --------------------------------------------------------------------------------------------------------------
# following the task numbers the prompt asked for; reasoning blocks


def test_echoed_demonstrations_are_skipped_and_the_new_tasks_kept() -> None:
    demos = [f"Task {i}: Demo task number {i} about something." for i in range(1, 9)]
    new = ["Task 9: Write a limerick about a cat.", "Task 10: Explain how a bicycle gear works."]
    parsed = parse_instruction_list("\n".join(demos + new), continued=False, truncated=False, first_number=9)
    assert parsed.items == ["Write a limerick about a cat.", "Explain how a bicycle gear works."]
    assert parsed.echoed == 8


def test_a_reply_renumbered_from_one_is_kept() -> None:
    text = "1. Write a limerick about a cat.\n2. Explain how a bicycle gear works."
    assert parse_instruction_list(text, continued=False, truncated=False, first_number=9).items == [
        "Write a limerick about a cat.",
        "Explain how a bicycle gear works.",
    ]


def test_unnumbered_and_continued_items_are_kept_with_numbering() -> None:
    text = " Write a limerick about a cat.\nTask 10: Name a bird.\nTask 3: Echo of a demo."
    assert parse_instruction_list(text, continued=True, truncated=False, first_number=9).items == [
        "Write a limerick about a cat.",
        "Name a bird.",
    ]
    bullets = "- Write a limerick about a cat.\n- Name a bird."
    assert len(parse_instruction_list(bullets, continued=False, truncated=False, first_number=9).items) == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<think>\nTask 9: a thought\n</think>\nTask 9: Write a poem.", "\nTask 9: Write a poem."),
        ("<THINKING>x</THINKING>Yes", "Yes"),
        ("the model's hidden reasoning</think>\nNo", "\nNo"),
        ("Task 9: Write a poem.\n<think>still thinking when the tokens ran o", "Task 9: Write a poem.\n"),
        ("a <think>b</think> c <reasoning>d</reasoning> e", "a  c  e"),
        ("no tags at all < > here", "no tags at all < > here"),
    ],
)
def test_strip_reasoning(text: str, expected: str) -> None:
    assert strip_reasoning(text) == expected


def test_every_parser_ignores_reasoning_blocks() -> None:
    think = "<think>Class label: Wrong\nInput: Wrong\nExample 1\nOutput: Wrong\nYes</think>\n"
    assert parse_yes_no(think + "No") is False
    assert parse_output_first(think + "Class label: Right\nInput: x") == [Instance("x", "Right")]
    assert parse_input_first(think + "Example 1\nInput: x\nOutput: y") == [Instance("x", "y")]
    batch = think + "1. Instruction: Name a colour.\n1. Input:\n<noinput>\n1. Output:\nBlue"
    assert parse_alpaca_batch(batch, continued=False, truncated=False)[0] == [AlpacaItem("Name a colour.", "", "Blue")]


def test_degenerate_reasoning_tags_are_stripped_quickly() -> None:
    text = "<think>" * 20000 + "x" * 1000
    start = time.perf_counter()
    assert strip_reasoning(text) == ""
    assert strip_reasoning("</think>" * 20000 + "<think>a</think>" * 5000) == ""
    assert time.perf_counter() - start < 1.0
