"""Magpie's pre-query templates and the shared answer step's rules, without a server."""

from __future__ import annotations

import pytest

from selfinstruct.errors import InputError
from selfinstruct.methods.answer import answer_problem
from selfinstruct.methods.magpie.templates import CUSTOM, cut_at_turn_end, pre_query


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("meta-llama/Meta-Llama-3.1-70B-Instruct", "llama3"),
        ("llama3.1:8b", "llama3"),
        ("Qwen/Qwen2.5-72B-Instruct", "chatml"),
        ("qwen2.5:7b", "chatml"),
        ("smollm2-135m-instruct", "chatml"),
        ("SmolLM2-1.7B-Instruct-Q4_K_M.gguf", "chatml"),
        ("google/gemma-2-27b-it", "gemma"),
        ("mistralai/Mistral-7B-Instruct-v0.3", "mistral"),
    ],
)
def test_the_family_is_known_by_the_model_name(model: str, family: str) -> None:
    template = pre_query(model, None)
    assert template.family == family and template.stops
    rendered = template.render("Be brief.")
    assert "{system}" not in rendered
    assert ("Be brief." in rendered) == (family in ("llama3", "chatml"))  # Gemma and Mistral have no system turn


def test_an_unknown_model_needs_the_template() -> None:
    with pytest.raises(InputError, match=r"cannot tell the chat template of model 'phi-3-mini'.*--pre-query-template"):
        pre_query("phi-3-mini", None)


def test_a_given_template_is_unescaped_and_takes_its_family_stops() -> None:
    chatml = pre_query("phi-3-mini", r"<|im_start|>user\n")
    assert chatml.render("ignored") == "<|im_start|>user\n" and chatml.family == "chatml"
    assert "<|im_end|>" in chatml.stops
    custom = pre_query("qwen2.5", "<|user|>\\n")  # a given template wins over the name
    assert custom.family == CUSTOM and custom.stops == () and custom.render("") == "<|user|>\n"
    assert pre_query("x", r"a\\nb").template == "a\\nb"  # an escaped backslash stays one backslash
    with pytest.raises(InputError, match="is empty"):
        pre_query("x", " \\n ")


@pytest.mark.parametrize(
    ("reply", "query"),
    [
        ("How do I bake bread?<|im_end|>\n<|im_start|>assistant\nSure", "How do I bake bread?"),
        ("Plan a trip.<|eot_id|><|start_header_id|>assistant", "Plan a trip."),
        ("Explain tides.<end_of_turn>\n<start_of_turn>model", "Explain tides."),
        ("Write a poem. [/INST] Roses", "Write a poem. "),
        ("def f(x):\n    return x\nWhat does it do?", "def f(x):\n    return x\nWhat does it do?"),
    ],
)
def test_a_query_ends_at_the_first_turn_marker(reply: str, query: str) -> None:
    assert cut_at_turn_end(reply, ()) == query


@pytest.mark.parametrize(
    ("text", "finish", "reason"),
    [
        ("", "stop", "answer_empty"),
        ("  \n", "stop", "answer_empty"),
        ("The first half of an ans", "length", "answer_truncated"),
        ("I'm sorry, but I can't help with that.", "stop", "answer_refused"),
        ("As an AI language model, I cannot", "stop", "answer_refused"),
        ("抱歉，我无法回答。", "stop", "answer_refused"),
        ("Bake it at 220 C for 30 minutes.", "stop", None),
        ("Sorry-looking words later: I'm sorry you asked.", "stop", None),
    ],
)
def test_what_answer_is_never_written(text: str, finish: str, reason: str | None) -> None:
    problem = answer_problem(text, finish)
    assert (problem.reason if problem else None) == reason
