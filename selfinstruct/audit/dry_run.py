"""`audit --dry-run`: what the audit would ask and cost, without calling any model (nor starting the embedded
one)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from selfinstruct.audit.journal import read_journal
from selfinstruct.audit.run import EMBEDDED_NOTE, plan_audit
from selfinstruct.audit.settings import AuditSettings
from selfinstruct.engine.budget import typical_tokens

COMPLETION_ESTIMATE = 60  # tokens of a JSON verdict with a one-sentence reason


@dataclass(frozen=True)
class AuditDryRun:
    example: str  # one rendered judge prompt
    tasks: int  # audited tasks
    audited: int  # their instances
    journaled: int
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cost: float | None  # USD, when both prices are given
    assumptions: str
    note: str


def dry_run_audit(settings: AuditSettings) -> AuditDryRun:
    """What the audit would ask and cost, without calling any model (nor starting the embedded one)."""
    plan = plan_audit(settings)
    journaled = set(read_journal(settings.journal)) if settings.journal.exists() else set()
    todo = [item for item in plan.items if item.key not in journaled]
    prompt_tokens = round(sum(typical_tokens(item.prompt) for item in todo))
    completion_tokens = len(todo) * min(COMPLETION_ESTIMATE, settings.params.max_tokens)
    cost = (
        settings.spending.prices.cost(prompt_tokens, completion_tokens)
        if settings.spending.prices is not None
        else None
    )
    example = random.Random(settings.seed).choice(todo or plan.items).prompt
    name = settings.spending.local_model.name if settings.spending.local_model else "SmolLM2-135M"
    note = EMBEDDED_NOTE.format(name=name) if settings.local else ""
    return AuditDryRun(
        example=example,
        tasks=plan.tasks,
        audited=len(plan.items),
        journaled=len(plan.items) - len(todo),
        requests=len(todo),
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cost=cost,
        assumptions=f"one request per instance (a retry for each unreadable reply comes on top), about "
        f"{COMPLETION_ESTIMATE} completion tokens per verdict, prompts at 4.3 bytes per token (1 per CJK character)",
        note=note,
    )
