"""`prefer --dry-run`: the judge prompts `prefer` would send and what they would cost, without a request,
without starting the embedded model and without writing a file."""

from __future__ import annotations

from selfinstruct.engine.job_estimate import PROMPT_TOKENS, JobDryRun, embedded_name, estimate_job
from selfinstruct.engine.journal import journaled_keys, response_key
from selfinstruct.pipeline.prefer.plan import ATTEMPTS, group, load_templates, plan_items, template_sha256
from selfinstruct.pipeline.prefer.run import check_resume, run_identity
from selfinstruct.pipeline.prefer.settings import LEDGER, STEP, PreferSettings
from selfinstruct.pipeline.respond.output import read_answers

COMPLETION_ESTIMATE = 60  # tokens of a JSON verdict with a one-sentence reason (as the audit's)


def _target(settings: PreferSettings) -> str:
    if settings.local:
        name = embedded_name(settings.spending.local_model)
        return f"the embedded llama.cpp server with {name} as the judge (no --judge-base-url and no OPENAI_API_KEY)"
    e = settings.endpoint
    return f"{e.where} ({e.api}): judge {e.model or 'the served model'}"


def dry_run_prefer(settings: PreferSettings) -> JobDryRun:
    """One rendered judge prompt per template in use (each rubric, or the pairwise one), the requests, their
    tokens and cost; verdicts already journaled in the run directory are left out."""
    questions = group(read_answers(settings.run_dir))
    prompts = load_templates(settings)
    items = plan_items(settings, questions, prompts)
    model, api, params = settings.endpoint.model, settings.endpoint.api, settings.params
    named = bool(model) and not settings.local
    if named:  # judged before with other settings: refused now, as the run itself would refuse it
        check_resume(settings, run_identity(settings, model, template_sha256(settings, prompts)))
    journaled = journaled_keys(settings.path(LEDGER)) if named else frozenset()
    to_send = [i.prompt for i in items if response_key(STEP, model, api, i.prompt, params, i.seeds[0]) not in journaled]
    shown: dict[str, str] = {}
    for item in items:
        shown.setdefault(f"prefer_{item.aspect}" if item.aspect else "prefer_pairwise", item.prompt)
    responses = sum(len(q.responses) for q in questions)
    what = (f"{responses:,} answers x {len(settings.rubrics)} rubric(s)" if settings.mode == "score"
            else f"every two answers of {len(questions):,} instructions, in both orders")  # fmt: skip
    return estimate_job(
        _target(settings),
        shown,
        to_send,
        len(items),
        typical=COMPLETION_ESTIMATE,
        max_tokens=params.max_tokens,
        prices=settings.spending.prices,
        assumptions=f"{what}, one request each (an unreadable verdict is asked once more: up to {ATTEMPTS} "
        f"each); about {COMPLETION_ESTIMATE} completion tokens per verdict (at most {params.max_tokens}), "
        f"{PROMPT_TOKENS}"
        + ("" if named else "; verdicts already journaled are counted once the served judge is known"),
        note=("the judge is the embedded model: a smoke test, not a judge" if settings.local else ""),
        attempts=ATTEMPTS,
    )
