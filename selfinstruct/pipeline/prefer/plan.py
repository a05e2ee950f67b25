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
    """One judge request: a response rated on one aspect (`b` None), or response `a` shown first against `b`."""

    question: Question
    a: dict[str, Any]
    b: dict[str, Any] | None
    prompt: str
    seeds: tuple[int, ...]
    aspect: str | None = None  # the rubric of a rating (score mode)


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


def template_names(settings: PreferSettings) -> tuple[str, ...]:
    if settings.mode == "pairwise":
        return ("prefer_pairwise",)
    return tuple(f"prefer_{rubric}" for rubric in settings.rubrics)


def load_templates(settings: PreferSettings) -> PromptSet:
    declared = {name: TEMPLATES[name] for name in template_names(settings)}
    return load_prompts(settings.language, settings.prompts_dir, declared, known=KNOWN)


def template_sha256(settings: PreferSettings, prompts: PromptSet) -> str:
    """The hash a run is resumed with: one template's own, or of several, their prefixes in rubric order."""
    shas = [prompts[name].sha256 for name in template_names(settings)]
    return shas[0] if len(shas) == 1 else "".join(sha[:16] for sha in shas)


def _seeds(settings: PreferSettings, *coordinates: object) -> tuple[int, ...]:
    return tuple(derive_seed(settings.seed, STEP, *coordinates, attempt) for attempt in range(ATTEMPTS))


def plan_items(settings: PreferSettings, questions: Sequence[Question], prompts: PromptSet) -> list[Item]:
    """Every request, in the answers' order: score mode one per response and rubric; pairwise two per pair of
    responses of an instruction (each one first once)."""
    items = []
    several = len(settings.rubrics) > 1  # (one rubric keeps the seeds it had before there could be several)
    for q in questions:
        shown_input = q.input.strip() or _NO_INPUT[settings.language]
        if settings.mode == "score":
            for r in q.responses:
                for rubric in settings.rubrics:
                    prompt = prompts[f"prefer_{rubric}"].render(instruction=q.instruction, input=shown_input,
                                                                response=r["output"], scale=settings.scale)  # fmt: skip
                    where = (*q.key, *response_id(r), *((rubric,) if several else ()))
                    items.append(Item(q, r, None, prompt, _seeds(settings, *where), rubric))
            continue
        template = prompts["prefer_pairwise"]
        for i, first in enumerate(q.responses):
            for second in q.responses[i + 1 :]:
                for a, b in ((first, second), (second, first)):
                    prompt = template.render(instruction=q.instruction, input=shown_input, response_a=a["output"],
                                             response_b=b["output"])  # fmt: skip
                    items.append(Item(q, a, b, prompt, _seeds(settings, *q.key, *response_id(a), *response_id(b))))
    return items
