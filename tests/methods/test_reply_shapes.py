"""Reply shapes of issue 21: what the original scripts read is never read worse.

Inputs under field names ("Sentence:", "句子："), chat markdown, label lines inside outputs and Alpaca fields,
``Class label:`` replies with other label-like lines, and what servers add at the end of a reply.
"""

from __future__ import annotations

from selfinstruct.methods.alpaca.parsing import AlpacaItem, parse_alpaca_batch
from selfinstruct.methods.self_instruct.instance_parsing import parse_input_first
from selfinstruct.methods.self_instruct.output_first import parse_output_first
from selfinstruct.tasks import Instance

TEENAGER = """Example 1
Sentence: hey can u send me the file by tmrw
Output: Could you please send me the file by tomorrow?
Example 2
Sentence: idk if i can make it to practice
Output: I'm not sure whether I can make it to practice.
Example 3
Sentence: that movie was lowkey fire ngl
Output: Honestly, that movie was quite good."""


def test_input_first_keeps_inputs_under_a_field_name_as_the_original_does() -> None:
    assert parse_input_first(TEENAGER) == [
        Instance("Sentence: hey can u send me the file by tmrw", "Could you please send me the file by tomorrow?"),
        Instance("Sentence: idk if i can make it to practice", "I'm not sure whether I can make it to practice."),
        Instance("Sentence: that movie was lowkey fire ngl", "Honestly, that movie was quite good."),
    ]


def test_input_first_chinese_field_name() -> None:
    text = "示例 1\n句子：明天前能把文件发我吗\n输出：请问明天之前能把文件发给我吗？\n"
    text += "示例 2\n句子：我不去了\n输出：抱歉，我去不了了。"
    assert parse_input_first(text) == [
        Instance("句子：明天前能把文件发我吗", "请问明天之前能把文件发给我吗？"),
        Instance("句子：我不去了", "抱歉，我去不了了。"),
    ]


def test_input_first_chat_markdown_with_titles_bold_field_names_and_rules() -> None:
    text = """Sure! Here are a few examples:

**Example 1: Casual request**
**Sentence:** hey can u send me the file by tmrw
**Output:** Could you please send me the file by tomorrow?

---

### Example 2 – Slang
- **Sentence**: that movie was lowkey fire ngl
- **Output**: Honestly, that movie was quite good.

I hope these examples help!"""
    assert parse_input_first(text) == [
        Instance("Sentence: hey can u send me the file by tmrw", "Could you please send me the file by tomorrow?"),
        Instance("Sentence: that movie was lowkey fire ngl", "Honestly, that movie was quite good."),
    ]


def test_input_first_input_of_several_fields_like_the_originals_template() -> None:
    text = """Example 1
Paragraph: In 2010 the town had 1,200 people; in 2020 it had 1,500.
Question: By how many people did the town grow?
Output:
1500 - 1200 = 300.
So the town grew by 300 people.
Example 2
Input 2 - List: [9.99, 10, -5]
Output: [-5, 9.99, 10]"""
    assert parse_input_first(text) == [
        Instance(
            "Paragraph: In 2010 the town had 1,200 people; in 2020 it had 1,500.\n"
            "Question: By how many people did the town grow?",
            "1500 - 1200 = 300.\nSo the town grew by 300 people.",
        ),
        Instance("Input 2 - List: [9.99, 10, -5]", "[-5, 9.99, 10]"),
    ]


def test_input_first_output_and_input_lines_inside_an_output_are_text() -> None:
    """Each example has a header, so a second Output: line is not an extra instance with an empty input, and a
    sample run's Input: line does not cut the program."""
    text = """Example 1
Input: echo $((2 + 3))
Output: The shell evaluates the arithmetic and prints the result:
Output: 5
Example 2
Input: Write a function that returns the largest number in a list.
Output:
def largest(xs):
    return max(xs)

Example usage:
Input: [3, 9, 2]
Output: 9"""
    assert parse_input_first(text) == [
        Instance("echo $((2 + 3))", "The shell evaluates the arithmetic and prints the result:\nOutput: 5"),
        Instance(
            "Write a function that returns the largest number in a list.",
            "def largest(xs):\n    return max(xs)\n\nExample usage:\nInput: [3, 9, 2]\nOutput: 9",
        ),
    ]


def test_input_first_labels_in_code_are_code_without_headers_too() -> None:
    text = (
        "Input: Print the sum of 2 and 3.\nOutput:\n```python\nprint(2 + 3)\n# Output: 5\n```\n"
        "Input: Print hello.\nOutput:\n```python\nprint('hello')\n    Output: hello\n```"
    )
    assert parse_input_first(text) == [
        Instance("Print the sum of 2 and 3.", "print(2 + 3)\n# Output: 5"),
        Instance("Print hello.", "print('hello')\n    Output: hello"),
    ]


def test_input_first_pairs_under_a_field_name_without_headers() -> None:
    text = "Sentence: r u coming\nOutput: Are you coming?\n\nSentence: thx a lot\nOutput: Thank you very much."
    assert parse_input_first(text) == [
        Instance("Sentence: r u coming", "Are you coming?"),
        Instance("Sentence: thx a lot", "Thank you very much."),
    ]


def test_input_first_commentary_before_an_input_label_is_not_input() -> None:
    text = "Example 1\nHere is a formal one:\nInput: pls fix asap\nOutput: Please fix this as soon as possible.\n"
    text += "Example 2\nThis one is about food.\n\nInput: food was meh\nOutput: The food was mediocre."
    assert parse_input_first(text) == [
        Instance("pls fix asap", "Please fix this as soon as possible."),
        Instance("food was meh", "The food was mediocre."),
    ]


def test_alpaca_unnumbered_label_lines_inside_fields_are_text() -> None:
    text = """###
4. Instruction: Summarize the email in one sentence.
4. Input:
Hi team,
Instruction: finish the report by Friday
Thanks, Ana
4. Output:
Ana asks the team to finish the report by Friday.
###
5. Instruction: What does the shell command print?
5. Input:
echo $((2 + 3))
5. Output:
It prints the sum of the two numbers.
Output: 5
###
6. Instruction: Write a Python function that returns the largest number in a list.
6. Input:
<noinput>
6. Output:
def largest(xs):
    return max(xs)
Input: [3, 9, 2]
Output: 9
###"""
    assert parse_alpaca_batch(text, continued=False, truncated=False) == (
        [
            AlpacaItem("Summarize the email in one sentence.", "Hi team,\nInstruction: finish the report by Friday\n"
                       "Thanks, Ana", "Ana asks the team to finish the report by Friday."),
            AlpacaItem("What does the shell command print?", "echo $((2 + 3))",
                       "It prints the sum of the two numbers.\nOutput: 5"),
            AlpacaItem("Write a Python function that returns the largest number in a list.", "",
                       "def largest(xs):\n    return max(xs)\nInput: [3, 9, 2]\nOutput: 9"),
        ],
        0,
    )  # fmt: skip


def test_alpaca_labels_of_another_number_are_text() -> None:
    text = (
        " Explain the two steps of the build.\n4. Input: <noinput>\n4. Output:\n"
        "1. Input: the sources are read.\n2. Output: the binary is written.\n###\n"
        "5. 指令：把句子改成疑问句。\n5. 输入：他说：\n输出：很好\n5. 输出：他说“输出：很好”吗？"
    )
    assert parse_alpaca_batch(text, continued=True, truncated=False) == (
        [
            AlpacaItem("Explain the two steps of the build.", "",
                       "1. Input: the sources are read.\n2. Output: the binary is written."),
            AlpacaItem("把句子改成疑问句。", "他说：\n输出：很好", "他说“输出：很好”吗？"),
        ],
        0,
    )  # fmt: skip


def test_alpaca_chat_layout_numbering_only_the_instruction() -> None:
    text = (
        "**4. Instruction:** Name a prime number.\n**Input:** <noinput>\n**Output:** 7\n\n"
        "**5. Instruction:** Reverse the word.\n**Input:** stressed\n**Output:** desserts"
    )
    assert parse_alpaca_batch(text, continued=False, truncated=False) == (
        [AlpacaItem("Name a prime number.", "", "7"), AlpacaItem("Reverse the word.", "stressed", "desserts")],
        0,
    )


def test_alpaca_unnumbered_layout_keeps_a_later_label_of_an_earlier_field_as_text() -> None:
    text = (
        "###\nInstruction: Describe the program.\nInput: for x in xs: print(x)\n"
        "Output: It prints each item.\nInput: [1, 2]\nInstruction: run it\n###\n"
        "Instruction: Name a color.\nInput: <noinput>\nOutput: Blue\n###"
    )
    assert parse_alpaca_batch(text, continued=False, truncated=False) == (
        [
            AlpacaItem("Describe the program.", "for x in xs: print(x)", "It prints each item.\nInput: [1, 2]\n"
                       "Instruction: run it"),
            AlpacaItem("Name a color.", "", "Blue"),
        ],
        0,
    )  # fmt: skip


def test_output_first_category_line_inside_an_input_is_text_when_the_reply_writes_class_label() -> None:
    text = (
        "Class label: Grocery\nProduct: Apple\nCategory: Fruit\nClass label: Hardware\nProduct: Hammer\nCategory: Tools"
    )
    assert parse_output_first(text) == [
        Instance("Product: Apple\nCategory: Fruit", "Grocery"),
        Instance("Product: Hammer\nCategory: Tools", "Hardware"),
    ]


def test_examples_numbered_as_a_list_and_bold_field_names_under_labels() -> None:
    text = "1. Input: hey\n   Output: Hello.\n2. Input: thx\n   Output: Thank you."
    assert parse_input_first(text) == [Instance("hey", "Hello."), Instance("thx", "Thank you.")]
    text = "1. Class label: Positive\n   **Sentence:** I love it.\n2. Class label: Negative\n   **Sentence:** Awful."
    assert parse_output_first(text) == [
        Instance("Sentence: I love it.", "Positive"),
        Instance("Sentence: Awful.", "Negative"),
    ]


def test_alpaca_stop_sequence_returned_by_the_server_is_not_output() -> None:
    text = " Say hi to a friend.\n19. Input: <noinput>\n19. Output:\nHi, Sam!\nHow are you?\n20."
    assert parse_alpaca_batch(text, continued=True, truncated=False) == (
        [AlpacaItem("Say hi to a friend.", "", "Hi, Sam!\nHow are you?")],
        0,
    )
    text = " Add the numbers.\n19. Input: 18 + 2\n19. Output:\n20"
    assert parse_alpaca_batch(text, continued=True, truncated=False)[0][0].output == "20"


def test_input_first_remark_or_task_read_back_before_a_named_input_is_not_input() -> None:
    text = "Rewrite the sentence below for a teenager audience.\n\nSentence: hey\nOutput: Hi."
    assert parse_input_first(text) == [Instance("Sentence: hey", "Hi.")]
    text = "Example 1\nA casual one.\n\nSentence: yo\nOutput: Hello.\n"
    text += "Example 2\nDialogue:\n- Agent: hi\n\n- Customer: ok\nOutput: Satisfied"
    assert parse_input_first(text) == [
        Instance("Sentence: yo", "Hello."),
        Instance("Dialogue:\n- Agent: hi\n\n- Customer: ok", "Satisfied"),
    ]


def test_input_first_cut_right_at_a_header_drops_the_example_above_as_the_original_does() -> None:
    """ "Example 1 shows the idea." cut after "Example 1" looks like a header; the output above may go on."""
    text = "Example 1\nInput: a loop\nOutput: It repeats code.\nExample 1"
    assert parse_input_first(text, truncated=True) == []
    assert parse_input_first(text + "\nInput: x\nOutput: y", truncated=True) == [Instance("a loop", "It repeats code.")]


def test_input_first_pairs_on_one_line_split_where_the_original_splits() -> None:
    text = "Input: 2 hours → Output: 120 minutes\nInput: 3 hours → Output: 180 minutes"
    assert parse_input_first(text) == [Instance("2 hours", "120 minutes"), Instance("3 hours", "180 minutes")]
    text = (
        "Example 1\n**Input:** hey **Output:** Hello\nExample 2\nInput: yo | Output: Hi\n示例 3\n输入：你好 输出：Hello"
    )
    assert parse_input_first(text) == [Instance("hey", "Hello"), Instance("yo", "Hi"), Instance("你好", "Hello")]


def test_alpaca_unnumbered_tasks_after_a_single_separator_and_task_titles() -> None:
    """An unnumbered "Instruction:" after an output opens a task when its Output: follows, else it is text."""
    text = (
        "###\nInstruction: Summarize the note.\nInput: Lunch moved to 1 pm.\nOutput: Lunch is at 1 pm.\n"
        "Instruction: bring the slides\n\n**Task 5**\nInstruction: Name a planet.\nInput: <noinput>\nOutput: Mars\n\n"
        "### Task 6\nInstruction: Double the number.\nInput: 21\nOutput: 42"
    )
    assert parse_alpaca_batch(text, continued=False, truncated=False) == (
        [
            AlpacaItem(
                "Summarize the note.", "Lunch moved to 1 pm.", "Lunch is at 1 pm.\nInstruction: bring the slides"
            ),
            AlpacaItem("Name a planet.", "", "Mars"),
            AlpacaItem("Double the number.", "21", "42"),
        ],
        0,
    )


def test_alpaca_unnumbered_tasks_each_after_a_separator_keep_label_lines_in_outputs() -> None:
    text = (
        "###\nInstruction: Explain the shell session.\nInput: <noinput>\nOutput:\nYou type a command:\n"
        "Instruction: ls\nOutput: a.txt b.txt\n###\nInstruction: Name a color.\nInput: <noinput>\nOutput: Blue"
    )
    assert parse_alpaca_batch(text, continued=False, truncated=False) == (
        [
            AlpacaItem("Explain the shell session.", "", "You type a command:\nInstruction: ls\nOutput: a.txt b.txt"),
            AlpacaItem("Name a color.", "", "Blue"),
        ],
        0,
    )


def test_output_first_output_field_of_an_input_is_kept_and_a_repeated_label_is_not() -> None:
    """The original keeps everything under a class label; an "Output:" line that only repeats a label is not
    input (small models add one)."""
    text = (
        "Class label: Correct\nProgram: print(2 + 2)\nOutput: 4\n"
        "Class label: Incorrect\nProgram: print(3 * 3)\nOutput: 6\n"
        "Class label: Correct\nInput: print(1)\nOutput: Correct (it prints 1)"
    )
    assert parse_output_first(text) == [
        Instance("Program: print(2 + 2)\nOutput: 4", "Correct"),
        Instance("Program: print(3 * 3)\nOutput: 6", "Incorrect"),
        Instance("print(1)", "Correct"),
    ]


def test_input_first_bare_example_headers_and_an_examples_heading() -> None:
    text = "Examples:\n\n**Example:**\nSentence: r u ok\nOutput: Are you okay?\n\n"
    text += "**Example:**\nSentence: gtg\nOutput: I have to go."
    assert parse_input_first(text) == [
        Instance("Sentence: r u ok", "Are you okay?"),
        Instance("Sentence: gtg", "I have to go."),
    ]
    text = "Example 1\nInput: Explain lists.\nOutput: A list holds items.\nExample:\nxs = [1, 2]\n"
    text += "Example 2\nInput: a\nOutput: b"
    assert parse_input_first(text)[0] == Instance("Explain lists.", "A list holds items.\nExample:\nxs = [1, 2]")


def test_input_first_an_output_repeated_until_max_tokens_ends_the_reply_there() -> None:
    """A small model loops on its answer ("Output: X" again and again until the token limit): the example is
    complete before the loop, so the cut at max_tokens costs nothing; a different second answer is still text."""
    loop = "Example 1\nInput: Ben, Alex and Sam went home.\nOutput: Ben, Alex, and Sam\n"
    loop += "Output: Ben, Alex, and Sam\n" * 6 + "Output: Ben, Al"
    assert parse_input_first(loop, truncated=True) == [Instance("Ben, Alex and Sam went home.", "Ben, Alex, and Sam")]
    other = "Example 1\nInput: 2 + 3\nOutput: 5\nOutput: 6 is wrong"
    assert parse_input_first(other) == [Instance("2 + 3", "5\nOutput: 6 is wrong")]
    no_input = "Example 1\nOutput: Fold the towel.\nOutput: Fold the towel.\nOutput: Fold the"
    assert parse_input_first(no_input, truncated=True) == [Instance("", "Fold the towel.")]
