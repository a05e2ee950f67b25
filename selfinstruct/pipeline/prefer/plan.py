"""What `prefer` asks the judge: every answered response rated on its own (score mode), or every two answers
of an instruction compared in both orders (pairwise), each request with its own seed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from selfinstruct.audit.prompt import TEMPLATES as AUDIT_TEMPLATES
from selfinstruct.engine.seeding import derive_seed
from selfinstruct.io.templates import Placeholders, PromptSet, load_prompts
from selfinstruct.methods.registry import TEMPLATE_NAMES
from selfinstruct.pipeline.prefer.settings import RUBRICS, STEP, PreferSettings
from selfinstruct.pipeline.respond.output import ANSWERED
from selfinstruct.pipeline.respond.plan import TEMPLATES as RESPOND_TEMPLATES

_RATE = frozenset({"instruction", "input", "response", "scale"})
_PAIR = frozenset({"instruction", "input", "response_a", "response_b"})
TEMPLATES: dict[str, Placeholders] = {
    **{f"prefer_{rubric}": (_RATE, _RATE - {"scale"}) for rubric in RUBRICS},
    "prefer_pairwise": (_PAIR, _PAIR),
}
KNOWN = (*TEMPLATE_NAMES, *AUDIT_TEMPLATES, *RESPOND_TEMPLATES, *TEMPLATES)
_NO_INPUT = {"en": "(none)", "zh": "（无）"}
ATTEMPTS = 2  # an unreadable verdict is asked once more, with another seed

QuestionKey = tuple[str, Any]  # (task id, instance index or None)
ResponseId = tuple[str, int]  # (model, sample)


@dataclass(frozen=True)
class Question:
    """One instruction with its input, and its answered responses in the answers' order."""

    key: QuestionKey
    instruction: str
    input: str
    responses: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class Item:
    """One judge request: a response rated (`b` None), or response `a` shown first against `b`."""

    question: Question
    a: dict[str, Any]
    b: dict[str, Any] | None
    prompt: str
    seeds: tuple[int, ...]


def response_id(record: dict[str, Any]) -> ResponseId:
    return (str(record["model"]), int(record["sample"]))


def group(answers: Sequence[dict[str, Any]]) -> list[Question]:
    """The answered responses of each instruction-and-input, in the order of the answers file."""
    found: dict[QuestionKey, list[dict[str, Any]]] = {}
    first: dict[QuestionKey, dict[str, Any]] = {}
    for r in answers:
        key = (r["task_id"], r.get("instance"))
        first.setdefault(key, r)
        found.setdefault(key, [])
        if r["status"] == ANSWERED:
            found[key].append(r)
    return [Question(k, str(first[k]["instruction"]), str(first[k].get("input", "")), tuple(v))
            for k, v in found.items()]  # fmt: skip


def template_name(settings: PreferSettings) -> str:
    return "prefer_pairwise" if settings.mode == "pairwise" else f"prefer_{settings.rubric}"


def load_templates(settings: PreferSettings) -> PromptSet:
    name = template_name(settings)
    return load_prompts(settings.language, settings.prompts_dir, {name: TEMPLATES[name]}, known=KNOWN)


def _seeds(settings: PreferSettings, *coordinates: object) -> tuple[int, ...]:
    return tuple(derive_seed(settings.seed, STEP, *coordinates, attempt) for attempt in range(ATTEMPTS))


def plan_items(settings: PreferSettings, questions: Sequence[Question], prompts: PromptSet) -> list[Item]:
    """Every request, in the answers' order: score mode one per response; pairwise two per pair of responses
    of an instruction (each one first once)."""
    template = prompts[template_name(settings)]
    items = []
    for q in questions:
        shown_input = q.input.strip() or _NO_INPUT[settings.language]
        if settings.mode == "score":
            for r in q.responses:
                prompt = template.render(instruction=q.instruction, input=shown_input, response=r["output"],
                                         scale=settings.scale)  # fmt: skip
                items.append(Item(q, r, None, prompt, _seeds(settings, *q.key, *response_id(r))))
            continue
        for i, first in enumerate(q.responses):
            for second in q.responses[i + 1 :]:
                for a, b in ((first, second), (second, first)):
                    prompt = template.render(instruction=q.instruction, input=shown_input, response_a=a["output"],
                                             response_b=b["output"])  # fmt: skip
                    items.append(Item(q, a, b, prompt, _seeds(settings, *q.key, *response_id(a), *response_id(b))))
    return items
