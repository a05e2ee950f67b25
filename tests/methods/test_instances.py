"""clean_instances: the Self-Instruct rules for the instances of one generated task."""

from __future__ import annotations

import random

import pytest

from selfinstruct.engine.types import Api
from selfinstruct.methods.self_instruct.instances import clean_instances, instances_from_reply
from selfinstruct.methods.self_instruct.params import default_params
from selfinstruct.tasks import Instance


def ins(inp: str, out: str) -> Instance:
    return Instance(input=inp, output=out)


def test_empty_list_is_no_instances_parsed() -> None:
    assert clean_instances([]) == ([], "no_instances_parsed")


def test_strips_both_fields() -> None:
    kept, reason = clean_instances([ins("  2 hours \n", "\n120 minutes  ")])
    assert reason is None
    assert kept == [ins("2 hours", "120 minutes")]


def test_input_equal_to_output_is_dropped() -> None:
    kept, reason = clean_instances([ins("hello", "hello"), ins("hi", "Hello!")])
    assert (kept, reason) == ([ins("hi", "Hello!")], None)


def test_input_equal_to_output_after_stripping_is_dropped() -> None:
    assert clean_instances([ins(" same ", "same")]) == ([], "no_valid_instances")


def test_empty_output_is_dropped() -> None:
    kept, reason = clean_instances([ins("a question", "   "), ins("", "A poem.")])
    assert (kept, reason) == ([ins("", "A poem.")], None)


@pytest.mark.parametrize(
    "instance",
    [
        ins("Translate the following:", "Bonjour"),
        ins("Hello", "Here is the translation:"),
        ins("下面这句话：", "好的"),
        ins("天气", "答案如下："),
        ins("", "Steps:  "),
    ],
)
def test_trailing_colon_in_input_or_output_is_dropped(instance: Instance) -> None:
    assert clean_instances([instance]) == ([], "no_valid_instances")


def test_colon_inside_text_is_fine() -> None:
    kept, _ = clean_instances([ins("Time: 3:45 p.m.", "15:45 is the 24-hour time.")])
    assert len(kept) == 1


def test_all_invalid_gives_no_valid_instances() -> None:
    assert clean_instances([ins("x", ""), ins("y", "y")]) == ([], "no_valid_instances")


def test_conflicting_outputs_drop_every_instance_of_the_task() -> None:
    instances = [ins("2024", "Leap year"), ins("1900", "Not a leap year"), ins("2024", "Not a leap year")]
    assert clean_instances(instances) == ([], "conflicting_outputs")


def test_conflict_is_detected_after_stripping() -> None:
    assert clean_instances([ins("2024 ", "Leap year"), ins("2024", " Common year")]) == ([], "conflicting_outputs")


def test_several_outputs_for_empty_input_are_not_a_conflict() -> None:
    instances = [ins("", "Haiku one"), ins("Not relevant", "x"), ins("", "Haiku two")]
    kept, reason = clean_instances(instances)
    assert reason is None
    assert kept == instances


def test_invalid_instance_does_not_cause_a_conflict() -> None:
    # The second output is dropped for its trailing colon before conflicts are checked.
    kept, reason = clean_instances([ins("apple", "Fruit"), ins("apple", "It is a:")])
    assert (kept, reason) == ([ins("apple", "Fruit")], None)


def test_exact_duplicates_are_removed_keeping_the_first() -> None:
    instances = [ins("b", "B"), ins("a", "A"), ins("b", "B"), ins(" a", "A ")]
    assert clean_instances(instances) == ([ins("b", "B"), ins("a", "A")], None)


def test_case_matters_for_duplicates_and_conflicts() -> None:
    kept, reason = clean_instances([ins("Paris", "Capital"), ins("paris", "capital")])
    assert reason is None
    assert len(kept) == 2


def test_keeps_at_most_max_instances_in_order() -> None:
    instances = [ins(f"in {n}", f"out {n}") for n in range(8)]
    kept, reason = clean_instances(instances)
    assert reason is None
    assert kept == instances[:5]
    kept, _ = clean_instances(instances, max_instances=2)
    assert kept == instances[:2]


def test_limit_applies_after_deduplication() -> None:
    instances = [ins("a", "A"), ins("a", "A"), ins("b", "B"), ins("c", "C")]
    kept, _ = clean_instances(instances, max_instances=3)
    assert kept == [ins("a", "A"), ins("b", "B"), ins("c", "C")]


def test_max_instances_must_be_positive() -> None:
    with pytest.raises(ValueError):
        clean_instances([ins("a", "A")], max_instances=0)


def test_accepts_any_sequence_and_does_not_mutate() -> None:
    source = (ins(" a ", "A"), ins("a", "A"))
    kept, _ = clean_instances(source)
    assert kept == [ins("a", "A")]
    assert source == (ins(" a ", "A"), ins("a", "A"))


def test_reply_cut_at_max_tokens_loses_its_last_instance() -> None:
    text = "Example 1\nInput: 2 hours\nOutput: 120 minutes\nExample 2\nInput: 3 hours\nOutput: 18"
    outcome = instances_from_reply(text, output_first=False, truncated=True)
    assert outcome.instances == [ins("2 hours", "120 minutes")]
    assert outcome.reason is None and outcome.dropped_truncated
    assert len(instances_from_reply(text, output_first=False, truncated=False).instances) == 2


def test_reply_cut_inside_its_only_instance_is_rejected_as_truncated() -> None:
    outcome = instances_from_reply("Class label: Spam\nInput: Win a fr", output_first=True, truncated=True)
    assert (outcome.instances, outcome.reason) == ([], "truncated")
    assert "cut at max_tokens" in outcome.detail


def test_more_than_max_instances_gives_a_seeded_random_choice_in_written_order() -> None:
    many = [ins(f"input {i}", f"label {i}") for i in range(9)]
    choices = {tuple(clean_instances(many, rng=random.Random(seed))[0]) for seed in range(20)}
    assert len(choices) > 1  # not always the first five
    for choice in choices:
        assert len(choice) == 5 and list(choice) == sorted(choice, key=many.index)
    again = clean_instances(many, rng=random.Random(3))
    assert again == clean_instances(many, rng=random.Random(3))
    assert clean_instances(many)[0] == many[:5]  # without an rng: the first five
    assert clean_instances(many[:4], rng=random.Random(3))[0] == many[:4]


@pytest.mark.parametrize("api", ["chat", "completions"])
@pytest.mark.parametrize("local", [False, True])
def test_instances_use_the_papers_presence_penalty(api: Api, local: bool) -> None:
    assert default_params(api, local=local)["instances"].presence_penalty == 1.5


def test_contradictory_label_only_instances_are_dropped() -> None:
    """Issue 21 (5): two labels for the one empty input contradict each other; the task has no instance."""
    outcome = instances_from_reply("Class label: Fruit\nClass label: Vegetable", output_first=True, truncated=False)
    assert (outcome.instances, outcome.reason) == ([], "conflicting_outputs")
    assert outcome.parsed == 2


def test_label_only_instances_that_agree_or_have_inputs_are_kept() -> None:
    assert instances_from_reply("Class label: Montreal", output_first=True, truncated=False).instances == [
        ins("", "Montreal")
    ]
    twice = instances_from_reply("Class label: Yes\n\nClass label: Yes", output_first=True, truncated=False)
    assert twice.instances == [ins("", "Yes")]
    mixed = [ins("", "Fruit"), ins("carrot", "Vegetable"), ins("", "Vegetable")]
    assert clean_instances(mixed, classification=True) == ([ins("carrot", "Vegetable")], None)


def test_several_outputs_for_an_empty_input_stay_fine_for_generation_tasks() -> None:
    outcome = instances_from_reply("Output: Haiku one.\n\nOutput: Haiku two.", output_first=False, truncated=False)
    assert outcome.instances == [ins("", "Haiku one."), ins("", "Haiku two.")]
