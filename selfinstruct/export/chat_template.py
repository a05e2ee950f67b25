"""The chat template for training on our conversational exports with assistant-only loss (TRL, transformers).

TRL's `assistant_only_loss=True` and transformers' `apply_chat_template(..., return_assistant_tokens_mask=True)`
find the assistant's tokens through `{% generation %}` / `{% endgeneration %}` markers in the chat template;
most models' own templates have none (TRL patches a few known ones), and then the mask is all zeros. This one
is ChatML (the format of SmolLM2, Qwen and others) with the markers around each reply and its `<|im_end|>`.
Pass its path as TRL's `SFTConfig(chat_template_path=...)`, or its text as `tokenizer.chat_template`.
"""

from __future__ import annotations

from pathlib import Path

CHAT_TEMPLATE_PATH = Path(__file__).resolve().parent / "templates" / "chatml_assistant_mask.jinja"
FOLDER_NAME = "chat_template.jinja"  # the copy an hf export puts in its dataset folder


def chat_template() -> str:
    """The template's text (Jinja), as `tokenizer.chat_template` takes it."""
    return CHAT_TEMPLATE_PATH.read_text(encoding="utf-8")
