"""Evol-Instruct's choice of parent and operation, and its elimination checks, without a server."""

from __future__ import annotations

from collections import Counter

import pytest

from selfinstruct.methods.evol_instruct.checks import (
    evolved_text,
    judged_equal,
    scaffolding,
    short_apology_or_stop_words,
)
from selfinstruct.methods.evol_instruct.lineage import OPERATIONS, Parent, choose, evolved_counts, parents
from selfinstruct.tasks import Instance, Task

SOURCES = [Task(f"seed_{i}", f"Source instruction number {i}.", (Instance("", "x"),)) for i in range(3)]


def test_the_choice_is_a_pure_function_of_seed_request_and_what_is_seen() -> None:
    found = parents(SOURCES, [])
    first = [choose(7, k, found, Counter(), 4) for k in range(50)]
    assert first == [choose(7, k, found, Counter(), 4) for k in range(50)]
    assert first != [choose(8, k, found, Counter(), 4) for k in range(50)]
    assert {e.operation for e in first} == set(OPERATIONS)  # all six, five in depth and one in breadth
    assert all(e.round == 1 and e.parent.round == 0 for e in first)


def test_the_least_evolved_go_first_and_no_evolution_passes_the_rounds() -> None:
    pool = [
        {"id": "machine_task_0", "instruction": "Evolved once.", "meta": {"parent": "seed_0", "round": 1}},
        {"id": "machine_task_1", "instruction": "Evolved twice.", "meta": {"parent": "machine_task_0", "round": 2}},
        {"id": "machine_task_2", "instruction": "Evolved once too.", "meta": {"parent": "seed_1", "round": 1}},
    ]
    found = parents(SOURCES, pool)
    assert [p.round for p in found] == [0, 0, 0, 1, 2, 1]
    children = evolved_counts(pool)
    assert children == Counter({("seed_0", True): 1, ("machine_task_0", False): 1, ("seed_1", True): 1})
    chosen = {choose(1, k, found, children, 2).parent.id for k in range(100)}
    assert chosen == {"seed_2", "machine_task_2"}  # no child yet, and below round 2 (machine_task_1 is at 2)
    assert {choose(1, k, found, children, 1).parent.id for k in range(100)} == {"seed_2"}


def test_a_source_and_a_task_of_the_same_id_are_told_apart() -> None:
    """--from an earlier pool: its machine_task_0 and the run's own machine_task_0 are different parents."""
    sources = [Task("machine_task_0", "An earlier pool's task.", ())]
    pool = [{"id": "machine_task_0", "instruction": "Evolved.", "meta": {"parent": "machine_task_0", "round": 1}}]
    found = parents(sources, pool)
    assert evolved_counts(pool) == Counter({("machine_task_0", True): 1})
    assert {choose(1, k, found, evolved_counts(pool), 4).parent for k in range(50)} == {found[1]}


def test_pool_records_without_a_round_are_not_parents() -> None:
    """A pool of another method given as --from is read as sources by the pipeline, never as evolutions here."""
    other = [{"id": "machine_task_0", "instruction": "From magpie.", "meta": {"method": "magpie"}}]
    assert parents([], other) == []
    assert parents(SOURCES[:1], other) == [Parent("seed_0", "Source instruction number 0.", 0)]


@pytest.mark.parametrize(
    ("reply", "text"),
    [
        ("#Rewritten Prompt#:\nWrite a poem about tides.", "Write a poem about tides."),
        ("**Rewritten Prompt:** Write a poem.", "Write a poem."),
        ("<think>hmm</think>\nCreated Prompt: List ten rivers.", "List ten rivers."),
        ("#改写指令#：写一首关于潮汐的诗。", "写一首关于潮汐的诗。"),
        ("Write a poem about the rewritten prompt.", "Write a poem about the rewritten prompt."),
    ],
)
def test_a_repeated_label_is_cut_off(reply: str, text: str) -> None:
    assert evolved_text(reply) == text


@pytest.mark.parametrize(
    ("instruction", "copies"),
    [
        ("Rewrite the given prompt to ask about tides.", True),
        ("Answer the #Rewritten Prompt# below.", True),
        ("请根据给定指令写一首诗。", True),
        ("Write a poem about tides, in under 50 words.", False),
        ("Explain how a prompt engineer writes prompts.", False),
    ],
)
def test_scaffolding_is_eliminated(instruction: str, copies: bool) -> None:
    rejection = scaffolding(instruction)
    assert (rejection is not None and rejection.reason == "copies_scaffolding") == copies


@pytest.mark.parametrize(
    ("reply", "equal"),
    [("Equal", True), ("equal.", True), ("Not Equal", False), ("Different", False), ("**Different**", False),
     ("相同", True), ("不同", False), ("They might be", None)],
)  # fmt: skip
def test_the_judge_verdict(reply: str, equal: bool | None) -> None:
    assert judged_equal(reply) is equal


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("Good question! Sorry, I cannot say.", "answer_apology"),
        ("It is what it is, and that is all.", "answer_empty_words"),
        ("...!?", "answer_empty_words"),
        ("Tides come from the moon's pull; sorry for the short answer.", "answer_apology"),
        ("Tides are caused by the gravitational pull of the moon and the sun on the oceans.", None),
        ("潮汐是由月球引力引起的。", None),
    ],
)
def test_answer_rules(answer: str, reason: str | None) -> None:
    problem = short_apology_or_stop_words(answer)
    assert (problem.reason if problem else None) == reason
