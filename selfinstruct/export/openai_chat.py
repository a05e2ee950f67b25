"""openai-chat: {"messages": [{"role": "user", ...}, {"role": "assistant", ...}]}: TRL's conversational format.

For assistant-only loss, TRL takes our chat template with {% generation %} markers (chat_template.py).
"""

from __future__ import annotations

from selfinstruct.export.format import ExportFormat, Record, RecordContext, messages
from selfinstruct.export.settings import ExportSettings
from selfinstruct.tasks import Instance, Task


def _record(task: Task, inst: Instance, ctx: RecordContext) -> Record:
    return {"messages": messages(task, inst, ctx.settings)}


def _notes(settings: ExportSettings) -> list[str]:
    from selfinstruct.export.chat_template import CHAT_TEMPLATE_PATH

    notes = [f"TRL with assistant_only_loss=True: SFTConfig(chat_template_path={str(CHAT_TEMPLATE_PATH)!r})"]
    if settings.as_array:
        notes.append("OpenAI's fine-tuning API takes JSONL only: use a .jsonl name to upload this file there")
    return notes


FORMAT = ExportFormat(
    "openai-chat",
    "{messages: [{role, content}]}, TRL's conversational format and OpenAI's fine-tuning files",
    _record,
    system_turn=True,
    notes=_notes,
)
