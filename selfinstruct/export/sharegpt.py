"""sharegpt: {"conversations": [{"from": "human", ...}, {"from": "gpt", ...}]}, LLaMA-Factory's default tags.

With --roles openai the turns are "user"/"assistant". Not for TRL: its assistant-only loss refuses
`conversations` as not conversational (openai-chat or hf are for TRL).
"""

from __future__ import annotations

from selfinstruct.export.format import ExportFormat, Record, RecordContext, join_prompt, turns
from selfinstruct.export.settings import ExportSettings
from selfinstruct.tasks import Instance, Task

ROLES = {"sharegpt": ("human", "gpt"), "openai": ("user", "assistant")}
TRL_NOTE = (
    "sharegpt suits LLaMA-Factory; for TRL export --format openai-chat or hf instead (TRL's assistant-only loss "
    "refuses `conversations` as not conversational)"
)


def _record(task: Task, inst: Instance, ctx: RecordContext) -> Record:
    user, assistant = ROLES[ctx.settings.roles]
    names = {"system": "system", "user": user, "assistant": assistant}
    conversation = turns(ctx.settings, join_prompt(task.instruction, inst.input), inst.output)
    return {"conversations": [{"from": names[role], "value": text} for role, text in conversation]}


def _notes(_settings: ExportSettings) -> list[str]:
    return [TRL_NOTE]


FORMAT = ExportFormat(
    "sharegpt",
    "{conversations: [{from, value}]}, LLaMA-Factory's ShareGPT tags (human/gpt, or user/assistant with --roles)",
    _record,
    system_turn=True,
    takes_roles=True,
    notes=_notes,
)
