"""What `respond` asks: one request per (instruction with its input, model, sample), in the source's order,
each with its own seed; and which replies are answers.

A source task with instances gives one prompt per instance (its input); one without gives one prompt, with no
input. A reply cut off at max_tokens, empty or refusing is never an answer: it is kept with the reason only.
"""

from __future__ import annotations

from dataclasses import dataclass

from selfinstruct.audit.prompt import TEMPLATES as AUDIT_TEMPLATES
from selfinstruct.engine.seeding import derive_seed
from selfinstruct.engine.types import Completion
from selfinstruct.errors import InputError
from selfinstruct.io.seeds import load_tasks
from selfinstruct.io.templates import Placeholders, PromptSet, load_prompts
from selfinstruct.methods.answer import why_not_an_answer as answer_rule
from selfinstruct.methods.registry import TEMPLATE_NAMES
from selfinstruct.pipeline.respond.settings import STEP, RespondSettings
from selfinstruct.tasks import Task

_BOTH = frozenset({"instruction", "input"})
_ONE = frozenset({"instruction"})
TEMPLATES: dict[str, Placeholders] = {
    "respond": (_BOTH, _BOTH),
    "respond_noinput": (_ONE, _ONE),
    "respond_alpaca": (_BOTH, _BOTH),
    "respond_alpaca_noinput": (_ONE, _ONE),
}
_BY_FORMAT = {"chat": ("respond", "respond_noinput"), "alpaca": ("respond_alpaca", "respond_alpaca_noinput")}
KNOWN = (*TEMPLATE_NAMES, *AUDIT_TEMPLATES, *TEMPLATES)


@dataclass(frozen=True)
class Question:
    """One instruction with its input, as the models are asked it."""

    task: Task
    instance: int | None  # the source instance whose input is used; None for a task without instances
    input: str
    prompt: str


@dataclass(frozen=True)
class Item:
    """One request: a question, a model, a sample, and its seed."""

    question: Question
    model: str
    sample: int
    seed: int

    @property
    def key(self) -> tuple[str, int, str, int]:
        return (self.question.task.id, self.question.instance or 0, self.model, self.sample)


def load_templates(settings: RespondSettings) -> PromptSet:
    names = _BY_FORMAT[settings.prompt_format]
    declared = {name: TEMPLATES[name] for name in names}
    return load_prompts(settings.language, settings.prompts_dir, declared, known=KNOWN)


def template_sha256(prompts: PromptSet) -> str:
    """One hash of the templates in use: a run is resumed only with the same ones."""
    return "".join(t.sha256[:16] for _, t in sorted(prompts.templates.items()))


def questions(tasks: list[Task], prompts: PromptSet, prompt_format: str) -> list[Question]:
    with_input, without = (prompts[name] for name in _BY_FORMAT[prompt_format])
    out = []
    for task in tasks:
        inputs: list[tuple[int | None, str]] = [(k, i.input.strip()) for k, i in enumerate(task.instances)]
        for k, text in inputs or [(None, "")]:
            prompt = (
                with_input.render(instruction=task.instruction, input=text)
                if text
                else without.render(instruction=task.instruction)
            )
            out.append(Question(task, k, text, prompt))
    return out


def plan_items(settings: RespondSettings, qs: list[Question], models: tuple[str, ...]) -> list[Item]:
    """Every request, in the source's order, then the models' order, then the samples'."""
    return [
        Item(q, model, s, derive_seed(settings.seed, STEP, q.task.id, q.instance, model, s))
        for q in qs
        for model in models
        for s in range(settings.samples)
    ]


def read_source(settings: RespondSettings) -> list[Task]:
    tasks = load_tasks(settings.tasks_file)
    if not tasks:
        raise InputError("no instruction to answer in this file", path=settings.tasks_file)
    return tasks


def why_not_an_answer(reply: Completion) -> str | None:
    """None when the reply is an answer; else why not (methods.answer's one rule, shared with the answer step of
    generate's methods)."""
    return answer_rule(reply.text, reply.finish_reason)
