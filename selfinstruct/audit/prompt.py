"""The judge's template (prompts/<language>/audit.txt), its placeholders, and how its prompt is filled."""

from __future__ import annotations

from selfinstruct.io.templates import Placeholders, PromptSet
from selfinstruct.tasks import Instance

TEMPLATES: dict[str, Placeholders] = {
    "audit": (frozenset({"instruction", "input", "output"}), frozenset({"instruction", "input", "output"})),
}
_NO_INPUT = {"en": "(none)", "zh": "（无）"}


def render_audit(prompts: PromptSet, language: str, instruction: str, example: Instance) -> str:
    """The judge's prompt for one task and the one instance audited; an empty input is shown as "(none)"."""
    return prompts["audit"].render(
        instruction=instruction, input=example.input.strip() or _NO_INPUT[language], output=example.output.strip()
    )
