"""The embedded model's tokenizer (SmolLM2-135M-Instruct) as a transformers fast tokenizer, built from the
vocabulary and merges in its GGUF file, without torch.

transformers can load a tokenizer from a GGUF itself (`AutoTokenizer.from_pretrained(dir, gguf_file=...)`),
but from version 5 its GGUF reader imports torch, which CI does not install. The `gguf` package reads the
same metadata with numpy; the tokenizer is then GPT-2's byte-level BPE on that vocabulary, with the control
tokens (<|im_start|>, <|im_end|>, ...) as special tokens. benchmarks/trl_sft_check.py compares its ids with
transformers' own GGUF loader where torch is installed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

CONTROL = 3  # GGUF token type of control tokens


def gguf_tokenizer(path: Path) -> Any:
    """A `PreTrainedTokenizerFast` for the GGUF at `path` (a gpt2-style BPE vocabulary, as SmolLM2's)."""
    from gguf import GGUFReader
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    fields = GGUFReader(str(path)).fields
    kind = fields["tokenizer.ggml.model"].contents()
    if kind != "gpt2":
        raise ValueError(f"{path}: a {kind!r} tokenizer; only byte-level BPE (gpt2) is built here")
    tokens: list[str] = fields["tokenizer.ggml.tokens"].contents()
    merges = [tuple(m.split(" ", 1)) for m in fields["tokenizer.ggml.merges"].contents()]
    types: list[int] = fields["tokenizer.ggml.token_type"].contents()
    backend = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(tokens)}, merges=merges))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    control = [t for t, kind in zip(tokens, types, strict=True) if kind == CONTROL]
    backend.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in control])
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, eos_token=tokens[fields["tokenizer.ggml.eos_token_id"].contents()]
    )
    tokenizer.chat_template = fields["tokenizer.chat_template"].contents()  # the model's own (no markers)
    return tokenizer
