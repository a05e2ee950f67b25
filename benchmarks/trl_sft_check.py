"""Recipe (not CI: it needs torch): TRL's own SFT data preparation on our exports, with assistant-only loss.

Builds TRL's SFTTrainer on the embedded model (SmolLM2-135M-Instruct, loaded from its GGUF by transformers)
with `assistant_only_loss=True` and our chat template, lets TRL tokenize the openai-chat and hf exports, and
checks that the assistant mask TRL computed covers exactly each reply and its <|im_end|>. It also shows what
TRL does with the sharegpt export and with the model's own template, trains a few steps, and compares the
ids of transformers' GGUF tokenizer with those of tests/servers/gguf_tokenizer.py (what CI uses without torch).

    python3 -m venv /work/trlvenv
    /work/trlvenv/bin/pip install torch==2.13.0 && /work/trlvenv/bin/pip install trl gguf
    selfinstruct export seeds/seed_tasks.jsonl --format openai-chat --out /tmp/trlcheck/chat.jsonl \\
        --system "Answer concisely."
    selfinstruct export seeds/seed_tasks.jsonl --format hf --out /tmp/trlcheck/seeds_hf
    selfinstruct export seeds/seed_tasks.jsonl --format sharegpt --roles openai --out /tmp/trlcheck/sharegpt.jsonl
    PYTHONPATH=. /work/trlvenv/bin/python benchmarks/trl_sft_check.py --gguf PATH/TO/SmolLM2-135M-Instruct.Q4_1.gguf \\
        --chat /tmp/trlcheck/chat.jsonl --hf /tmp/trlcheck/seeds_hf --sharegpt /tmp/trlcheck/sharegpt.jsonl
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

TEMPLATE = (
    Path(__file__).resolve().parent.parent / "selfinstruct" / "export" / "templates" / "chatml_assistant_mask.jinja"
)


def _trainer(model: Any, tokenizer: Any, dataset: Any, out: str, **config: Any) -> Any:
    from trl import SFTConfig, SFTTrainer

    args = SFTConfig(output_dir=out, report_to=[], max_length=1024, per_device_train_batch_size=4,
                     logging_steps=1, save_strategy="no", use_cpu=True, bf16=False, **config)  # fmt: skip
    return SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)


def _check_masks(prepared: Any, source: Any, tokenizer: Any) -> dict[str, Any]:
    """Rows whose trained-on tokens (TRL's `labels` other than -100, built from the assistant mask) decode to
    exactly the assistant reply + <|im_end|>, and the token counts."""
    exact = 0
    trained = total = 0
    for row, original in zip(prepared, source, strict=True):
        picked = [label for label in row["labels"] if label != -100]
        reply = original["messages"][-1]["content"]
        exact += tokenizer.decode(picked) == reply + "<|im_end|>"
        trained += len(picked)
        total += len(row["input_ids"])
    return {"rows": len(prepared), "labels_exact": exact, "trained_tokens": trained, "tokens": total,
            "columns": sorted(prepared.column_names)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gguf", required=True, type=Path)
    parser.add_argument("--chat", required=True, type=Path, help="openai-chat export (.jsonl)")
    parser.add_argument("--hf", required=True, type=Path, help="hf export folder")
    parser.add_argument("--sharegpt", required=True, type=Path, help="sharegpt export (.jsonl)")
    parser.add_argument("--steps", type=int, default=2, help="training steps on the openai-chat export")
    a = parser.parse_args()

    import datasets
    import transformers
    import trl
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tests.servers.gguf_tokenizer import gguf_tokenizer

    report: dict[str, Any] = {"trl": trl.__version__, "transformers": transformers.__version__}
    tokenizer = AutoTokenizer.from_pretrained(str(a.gguf.parent), gguf_file=a.gguf.name)
    # transformers loads a GGUF as a quantized (untrainable) model; its weights, dequantized, go into a plain one.
    loaded = AutoModelForCausalLM.from_pretrained(str(a.gguf.parent), gguf_file=a.gguf.name)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config)
    missing, unexpected = model.load_state_dict(loaded.state_dict(), strict=False)
    report["weights"] = {"missing": len(missing), "unexpected": len(unexpected)}
    chat = datasets.load_dataset("json", data_files=str(a.chat), split="train")
    hf = datasets.load_dataset(str(a.hf))["train"].select_columns(["messages"])
    template = TEMPLATE.read_text(encoding="utf-8")

    # CI's torch-free tokenizer against transformers' own GGUF loader, on every rendered record.
    ours = gguf_tokenizer(a.gguf)
    texts = [tokenizer.apply_chat_template(r["messages"], chat_template=template, tokenize=False) for r in chat]
    same = sum(tokenizer(t, add_special_tokens=False)["input_ids"] == ours(t, add_special_tokens=False)["input_ids"]
               for t in texts)  # fmt: skip
    report["ci_tokenizer_identical_ids"] = f"{same}/{len(texts)}"

    with tempfile.TemporaryDirectory() as out:
        for name, dataset in (("openai-chat", chat), ("hf", hf)):
            start = time.perf_counter()
            trainer = _trainer(
                model, tokenizer, dataset, out, assistant_only_loss=True, chat_template_path=str(TEMPLATE)
            )
            report[name] = _check_masks(trainer.train_dataset, dataset, tokenizer)
            report[name]["prepare_seconds"] = round(time.perf_counter() - start, 1)
        sharegpt = datasets.load_dataset("json", data_files=str(a.sharegpt), split="train")
        for name, dataset, config in (
            ("sharegpt --roles openai, assistant_only_loss", sharegpt, {"chat_template_path": str(TEMPLATE)}),
            ("openai-chat with the model's own template", chat, {}),
        ):
            fresh = AutoTokenizer.from_pretrained(str(a.gguf.parent), gguf_file=a.gguf.name)  # the model's template
            try:
                trainer = _trainer(model, fresh, dataset, out, assistant_only_loss=True, **config)
                trained = sum(sum(label != -100 for label in r["labels"]) for r in trainer.train_dataset)
                report[name] = {"accepted": True, "rows": len(trainer.train_dataset), "trained_tokens": trained}
            except Exception as exc:  # what TRL says is the result here
                report[name] = {"accepted": False, "error": f"{type(exc).__name__}: {str(exc)[:200]}"}
        trainer = _trainer(model, tokenizer, chat, out, assistant_only_loss=True, chat_template_path=str(TEMPLATE),
                           max_steps=a.steps)  # fmt: skip
        start = time.perf_counter()
        result = trainer.train()
        losses = [round(h["loss"], 3) for h in trainer.state.log_history if "loss" in h]
        report["train"] = {"steps": result.global_step, "losses": losses,
                           "seconds": round(time.perf_counter() - start, 1)}  # fmt: skip
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
