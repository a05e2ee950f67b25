"""Recipe (not CI: it needs torch): TRL's own DPO data preparation on our `export --format dpo` / `dpo-text` files.

Builds TRL's DPOTrainer on the embedded model (SmolLM2-135M-Instruct, loaded from its GGUF by transformers, as
trl_sft_check.py does), lets TRL prepare each export (chat template for the conversational one, then
tokenizing), and checks that in every row TRL's prompt ids decode to the rendered prompt and its chosen and
rejected ids to exactly each answer and its end of turn; then trains a step.

    selfinstruct export ANSWERS_DIR --format dpo --out /tmp/dpocheck/dpo.jsonl --system "Answer concisely."
    selfinstruct export ANSWERS_DIR --format dpo-text --out /tmp/dpocheck/dpo_text.jsonl
    PYTHONPATH=. /work/trlvenv/bin/python benchmarks/trl_dpo_check.py --gguf PATH/TO/SmolLM2-135M-Instruct.Q4_1.gguf \\
        --dpo /tmp/dpocheck/dpo.jsonl --text /tmp/dpocheck/dpo_text.jsonl
"""

from __future__ import annotations

import argparse
import copy
import json
import tempfile
import time
from pathlib import Path
from typing import Any


def _model(gguf: Path) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config)
    model.load_state_dict(loaded.state_dict(), strict=False)
    return model, tokenizer


def _check(prepared: Any, source: Any, tokenizer: Any, conversational: bool) -> dict[str, Any]:
    """Rows whose chosen and rejected ids (TRL 1.16: prompt_ids, chosen_ids, rejected_ids) decode to exactly each
    answer (conversational: and its <|im_end|>, the newline after it and nothing else), and one decoded row."""
    exact = 0
    example: dict[str, str] = {}
    for row, original in zip(prepared, source, strict=True):
        sides = []
        for side in ("chosen", "rejected"):
            decoded = tokenizer.decode(row[f"{side}_ids"])
            if conversational:
                sides.append(decoded == original[side][0]["content"] + "<|im_end|>\n")
            else:
                sides.append(decoded.removesuffix(tokenizer.eos_token or "") == original[side])
            example.setdefault(side, decoded)
        example.setdefault("prompt", tokenizer.decode(row["prompt_ids"]))
        exact += all(sides)
    return {"rows": len(prepared), "answers_exact": exact, "columns": sorted(prepared.column_names),
            "first_row_decoded": example}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gguf", required=True, type=Path)
    parser.add_argument("--dpo", required=True, type=Path, help="export --format dpo (.jsonl)")
    parser.add_argument("--text", required=True, type=Path, help="export --format dpo-text (.jsonl)")
    a = parser.parse_args()

    import datasets
    import transformers
    import trl
    from trl import DPOConfig, DPOTrainer

    report: dict[str, Any] = {"trl": trl.__version__, "transformers": transformers.__version__}
    model, tokenizer = _model(a.gguf)
    with tempfile.TemporaryDirectory() as out:
        for name, path, conversational in (("dpo", a.dpo, True), ("dpo-text", a.text, False)):
            dataset = datasets.load_dataset("json", data_files=str(path), split="train")
            args = DPOConfig(output_dir=out, report_to=[], max_length=1024, per_device_train_batch_size=2,
                             logging_steps=1, save_strategy="no", use_cpu=True, bf16=False, max_steps=1)  # fmt: skip
            start = time.perf_counter()
            try:
                trainer = DPOTrainer(model=model, ref_model=copy.deepcopy(model), args=args, train_dataset=dataset,
                                     processing_class=tokenizer)  # fmt: skip
            except Exception as exc:  # what TRL says is the result here
                report[name] = {"accepted": False, "error": f"{type(exc).__name__}: {str(exc)[:300]}"}
                continue
            report[name] = _check(trainer.train_dataset, dataset, tokenizer, conversational)
            report[name]["prepare_seconds"] = round(time.perf_counter() - start, 1)
            result = trainer.train()
            losses = [round(h["loss"], 3) for h in trainer.state.log_history if "loss" in h]
            report[name]["train"] = {"steps": result.global_step, "losses": losses}
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
