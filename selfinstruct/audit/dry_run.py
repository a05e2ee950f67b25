"""`audit --dry-run`: what the audit would ask and cost, without calling any model (nor starting the embedded
one); an estimate of the same kind as respond's and prefer's (engine.job_estimate), printed by the same renderer."""

from __future__ import annotations

import random

from selfinstruct.audit.journal import read_journal
from selfinstruct.audit.run import ATTEMPTS, EMBEDDED_NOTE, plan_audit
from selfinstruct.audit.settings import AuditSettings
from selfinstruct.engine.job_estimate import PROMPT_TOKENS, JobDryRun, embedded_name, estimate_job

COMPLETION_ESTIMATE = 60  # tokens of a JSON verdict with a one-sentence reason


def _target(settings: AuditSettings, audited: int, tasks: int) -> str:
    what = f"the {audited:,} instances of {tasks:,} audited tasks"
    if settings.local:
        name = embedded_name(settings.spending.local_model)
        return f"{what}, judged by the embedded llama.cpp server with {name} (no --judge-base-url, no OPENAI_API_KEY)"
    e = settings.endpoint
    return f"{what}, judged by {e.model or 'the served model'} at {e.where} ({e.api})"


def dry_run_audit(settings: AuditSettings) -> JobDryRun:
    """One rendered judge prompt, the requests (instances not judged yet), their tokens and cost, typical and
    worst case (an unreadable reply asked once more, every reply at max_tokens: what the budget reserves)."""
    plan = plan_audit(settings)
    journaled = set(read_journal(settings.journal)) if settings.journal.exists() else set()
    todo = [item for item in plan.items if item.key not in journaled]
    example = random.Random(settings.seed).choice(todo or plan.items).prompt
    note = EMBEDDED_NOTE.format(name=embedded_name(settings.spending.local_model)) if settings.local else ""
    return estimate_job(
        _target(settings, len(plan.items), plan.tasks),
        {"judge prompt (one instance)": example},
        [item.prompt for item in todo],
        len(plan.items),
        typical=COMPLETION_ESTIMATE,
        max_tokens=settings.params.max_tokens,
        prices=settings.spending.prices,
        assumptions=f"one request per instance (an unreadable reply is asked once more: up to {ATTEMPTS} each), "
        f"about {COMPLETION_ESTIMATE} completion tokens per verdict (at most {settings.params.max_tokens}), "
        f"{PROMPT_TOKENS}",
        note=note,
        attempts=ATTEMPTS,
    )
