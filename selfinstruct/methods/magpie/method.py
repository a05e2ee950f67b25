"""Magpie (Xu et al., 2024): no seeds, no demonstrations. An aligned chat model is given only its pre-query
template (its chat template up to where the user's words go) as a raw completion prompt, and writes what a
user would ask; the query goes through the filters, then the same model answers it through chat."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from selfinstruct.engine.budget import typical_tokens
from selfinstruct.engine.types import Api, StepParams
from selfinstruct.errors import InputError
from selfinstruct.io.templates import Placeholders, PromptSet
from selfinstruct.methods.answer import ANSWER_STEP, answer, answer_params
from selfinstruct.methods.base import (
    PASS_FILTERS,
    USABLE_INSTANCES,
    Candidate,
    Estimate,
    JobResult,
    MethodSettings,
    Run,
    ServedTemplate,
    completion_cap,
)
from selfinstruct.methods.magpie.templates import PreQuery, cut_at_turn_end, pre_query, served_pre_query
from selfinstruct.methods.options import MethodOption
from selfinstruct.tasks import Task

QUERY_STEP = "query"
PRE_QUERY_TEMPLATE = MethodOption[str | None](
    "pre_query_template",
    str,
    None,
    "the model's chat template up to the user's words, sent as the query prompt (e.g. '<|im_start|>user\\n'). "
    "Default: the template of the model's family (Llama 3, Qwen/ChatML, SmolLM2, Gemma, Mistral), known by its "
    "name.",
    metavar="TEXT",
    recorded=False,  # setup records the template it decides (method_facts), whichever way it was found
)
SYSTEM_TEMPLATE = "magpie_system"
QUERY_TOKENS = 40.0  # what the dry run assumes of a query: a question of a few lines
ANSWER_TOKENS = 350.0  # and of an answer, before its step's max_tokens caps it


class Magpie:
    name = "magpie"
    summary = (
        "Magpie (Xu et al., 2024): no seeds; the model completes its own chat template up to the user turn "
        "into a query (needs --api completions), which passes the filters and is then answered through chat"
    )
    generating_step = QUERY_STEP
    completes = True  # the answer comes after the filters, for the queries that can still matter
    demos = 0
    machine_demos = 0
    new_per_request = 1
    uses_seeds = False
    classifies_seeds = False
    options: tuple[MethodOption[Any], ...] = (PRE_QUERY_TEMPLATE,)
    prompt_templates: Mapping[str, Placeholders] = {SYSTEM_TEMPLATE: (frozenset(), frozenset())}

    def default_params(self, api: Api, *, local: bool) -> dict[str, StepParams]:
        """Magpie samples queries at temperature 1, top_p 1; the embedded model a little cooler, as its
        self-instruct steps."""
        query = (
            StepParams(temperature=0.9, top_p=0.95, max_tokens=128)
            if local
            else StepParams(temperature=1.0, top_p=1.0, max_tokens=512)
        )
        return {QUERY_STEP: query} | answer_params(local=local)

    def templates(self, settings: MethodSettings) -> list[str]:
        return [SYSTEM_TEMPLATE]

    def check_seeds(
        self, seeds: Sequence[Task], settings: MethodSettings, path: Path, *, decided: bool = False
    ) -> None:
        return None  # it reads none

    def describe(self, settings: MethodSettings) -> list[str]:
        return ["magpie queries from the pre-query template, answers through chat"]

    def demos_from_candidates(self, settings: MethodSettings) -> bool:
        return False  # it shows no demonstrations

    def check_settings(self, settings: MethodSettings) -> None:
        if settings.classification_only:
            raise InputError("--classification-only works with --method self-instruct")
        if settings.endpoint.api != "completions":
            raise InputError(
                "--method magpie needs --api completions: its query is a raw completion of the model's chat "
                "template, which a chat API cannot send"
            )

    async def setup(self, settings: MethodSettings, model: str, served: ServedTemplate) -> dict[str, Any]:
        """The pre-query template: --pre-query-template, else the one the server renders with the model's own
        chat template, else the model's family by its name (for --local-model, by the GGUF file's name)."""
        given = PRE_QUERY_TEMPLATE.value(settings)
        if given is None:
            found = await served_pre_query(served)
            if found is not None:
                return found.to_facts() | {"template_source": "server"}
        name = settings.local_model.name if settings.local_model is not None else model
        source = "option" if given is not None else "family"
        return pre_query(name, given).to_facts() | {"template_source": source}

    # -- the requests --------------------------------------------------------------------------------------

    def query_prompt(self, prompts: PromptSet, facts: Mapping[str, Any]) -> tuple[str, PreQuery]:
        template = PreQuery.from_facts(dict(facts))
        return template.render(prompts[SYSTEM_TEMPLATE].text), template

    async def propose(self, run: Run, request: int) -> JobResult:
        prompt, template = self.query_prompt(run.prompts, run.facts)
        params = run.params(QUERY_STEP, template.stops)
        completion = await run.generate(QUERY_STEP, request, lambda _shorten: prompt, params)
        query = cut_at_turn_end(completion.text, template.stops).strip()  # as written: a query may hold code
        if not query:
            return JobResult(request, [], "empty_response", f"finish_reason={completion.finish_reason}",
                             completion.text)  # fmt: skip
        if completion.finish_reason == "length" and len(query) == len(completion.text.strip()):
            return JobResult(request, [], "no_items", "the query was cut at max_tokens", completion.text)
        cand = Candidate(0, query, raw=completion.text, meta={"method": self.name, "template": template.family})
        return JobResult(request, [run.precheck(cand, request)])

    async def complete(self, run: Run, request: int, cand: Candidate) -> None:
        await answer(run, request, cand)

    # -- the dry run ---------------------------------------------------------------------------------------

    def estimate(
        self,
        settings: MethodSettings,
        seeds: Sequence[Task],
        sample: Sequence[Task],
        prompts: PromptSet,
        rng: random.Random,
        n: int,
        facts: Mapping[str, Any],
    ) -> Estimate:
        prompt, _ = self.query_prompt(prompts, facts)
        reaching = math.ceil(n / USABLE_INSTANCES)  # queries that get an answer
        queries = math.ceil(reaching / PASS_FILTERS)
        p = settings.params
        return Estimate(
            requests={QUERY_STEP: queries, ANSWER_STEP: reaching},
            prompt_each={QUERY_STEP: float(typical_tokens(prompt)), ANSWER_STEP: QUERY_TOKENS},
            completion_each={
                QUERY_STEP: completion_cap(p, QUERY_STEP, QUERY_TOKENS),
                ANSWER_STEP: completion_cap(p, ANSWER_STEP, ANSWER_TOKENS),
            },
            shown={QUERY_STEP: prompt, ANSWER_STEP: "(each query alone, as the user turn of a chat request)"},
            assumptions=(
                f"one query per request, {PASS_FILTERS:.0%} pass the filters, {USABLE_INSTANCES:.0%} of those "
                f"answered usably; queries of about {QUERY_TOKENS:.0f} tokens, answers of about "
                f"{ANSWER_TOKENS:.0f}"
            ),
        )


METHOD = Magpie()
