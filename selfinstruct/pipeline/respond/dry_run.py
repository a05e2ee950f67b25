"""`respond --dry-run`: the prompts `respond` would send and what they would cost, without a request, without
starting the embedded model and without writing (not even the run directory)."""

from __future__ import annotations

from selfinstruct.engine.job_estimate import PROMPT_TOKENS, JobDryRun, by_model, embedded_name, estimate_job
from selfinstruct.engine.journal import journaled_keys, response_key
from selfinstruct.pipeline.respond.plan import load_templates, plan_items, questions, read_source, template_sha256
from selfinstruct.pipeline.respond.run import EMBEDDED_NOTE, check_resume
from selfinstruct.pipeline.respond.settings import STEP, RespondSettings, identity

# Tokens of a typical answer: GPT-4's answers to Alpaca's instructions (Alpaca-GPT4) run about this long.
COMPLETION_ESTIMATE = 250
_TEMPLATE = {True: "with an input", False: "without an input"}


def _target(settings: RespondSettings) -> str:
    if settings.local:
        name = embedded_name(settings.spending.local_model)
        return f"the embedded llama.cpp server with {name} (no --base-url and no OPENAI_API_KEY)"
    own = settings.model_endpoints  # (--model-base-url: a model on its own endpoint)
    models = ", ".join((m or "the served model") + (f" at {own[m].where}" if m in own else "") for m in settings.models)
    return f"{settings.endpoint.where} ({settings.endpoint.api}): {models}"


def dry_run_respond(settings: RespondSettings) -> JobDryRun:
    """One rendered prompt per template in use (an instruction with an input, and without), the requests of
    every model and sample, their tokens and cost (with --model-price, each model's at its prices); replies
    already journaled in --out are left out."""
    tasks = read_source(settings)
    prompts = load_templates(settings)
    qs = questions(tasks, prompts, settings.prompt_format)
    items = plan_items(settings, qs, settings.models)
    params, api = settings.params, settings.endpoint.api
    named = all(settings.models) and not settings.local
    if named:  # answered before with other settings: refused now, as the run itself would refuse it
        check_resume(settings, identity(settings, settings.models, template_sha256(prompts)))
    journaled = journaled_keys(settings.ledger) if named else frozenset()
    system = f"{params.system}\n" if params.system else ""  # the system message goes with every request
    per_model: dict[str, list[str]] = {m: [] for m in settings.models}
    for i in items:
        if response_key(STEP, i.model, api, i.question.prompt, params, i.seed) not in journaled:
            per_model[i.model].append(system + i.question.prompt)
    to_send = [prompt for prompts in per_model.values() for prompt in prompts]
    shown: dict[str, str] = {}
    for q in qs:
        label = f"{settings.prompt_format} prompt, an instruction {_TEMPLATE[bool(q.input)]}"
        shown.setdefault(label, (f"[system] {params.system}\n[user] " if params.system else "") + q.prompt)
    whole = estimate_job(
        _target(settings),
        shown,
        to_send,
        len(items),
        typical=COMPLETION_ESTIMATE,
        max_tokens=params.max_tokens,
        prices=settings.spending.prices,
        assumptions=f"{len(qs):,} instructions and inputs x {len(settings.models)} model(s) x {settings.samples} "
        f"sample(s), one request each; about {COMPLETION_ESTIMATE} completion tokens per answer (at most "
        f"--max-tokens {params.max_tokens}), {PROMPT_TOKENS}"
        + ("" if named else "; replies already journaled are counted once the served model is known"),
        note=EMBEDDED_NOTE.format(name=embedded_name(settings.spending.local_model)) if settings.local else "",
    )
    if not settings.spending.model_prices:
        return whole
    planned = {m: len(items) // len(settings.models) for m in settings.models}
    return by_model(whole, per_model, planned, typical=COMPLETION_ESTIMATE, max_tokens=params.max_tokens,
                    pricing=settings.spending.pricing)  # fmt: skip
