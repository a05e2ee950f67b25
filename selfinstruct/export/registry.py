"""The export formats, by name. A new format is one module with a `FORMAT` and one line here."""

from __future__ import annotations

from selfinstruct.export import alpaca, dpo, openai_chat, prompt_completion, sharegpt
from selfinstruct.export.format import ExportFormat
from selfinstruct.export.hf import dpo as hf_dpo
from selfinstruct.export.hf import format as hf

FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        alpaca.FORMAT,
        sharegpt.FORMAT,
        openai_chat.FORMAT,
        prompt_completion.FORMAT,
        hf.FORMAT,
        dpo.FORMAT,
        dpo.TEXT_FORMAT,
        hf_dpo.FORMAT,
    )
}
