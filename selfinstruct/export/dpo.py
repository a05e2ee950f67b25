"""dpo and dpo-text: the preference pairs of a `prefer` run in TRL's preference format, for DPOTrainer.

TRL's preference type has an explicit prompt: conversational, {"prompt": [{"role": "user", ...}], "chosen":
[{"role": "assistant", ...}], "rejected": [{"role": "assistant", ...}]} (TRL applies the model's chat template,
the prompt with the generation prompt, each answer as its continuation); or standard (plain text), {"prompt":
str, "chosen": str, "rejected": str}, where the prompt is one of the prompt-completion templates (picked per
pair from --seed) and each answer its continuation. The rows hold those three columns only, as TRL documents
them. The source is a respond run directory that `prefer` has judged (its preferences.jsonl), or that file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from selfinstruct.errors import EmptyExportError, InputError
from selfinstruct.export.format import ExportFormat, Record, RecordContext, join_prompt
from selfinstruct.export.prompt_completion import TEMPLATES
from selfinstruct.export.settings import ExportSettings
from selfinstruct.io.records import read_records

PREFERENCES = "preferences.jsonl"  # what `prefer` writes (pipeline.prefer.settings.PREFERENCES)


def preferences_file(source: Path) -> Path:
    path = source / PREFERENCES if source.is_dir() else source
    if not path.is_file():
        raise InputError(f"no {PREFERENCES} here; run `selfinstruct prefer {source}` first", path=source)
    return path


def read_pairs(settings: ExportSettings) -> list[dict[str, Any]]:
    """The pairs of the source, checked: each needs an instruction, and chosen and rejected answers."""
    s = settings
    for given, flag in ((s.min_score is not None, "--min-score"), (s.include_seeds, "--include-seeds"),
                        (s.instances_per_task is not None, "--instances-per-task")):  # fmt: skip
        if given:
            raise InputError(f"{flag} applies to a pool's instances; --format {s.fmt} exports the pairs of `prefer`")
    path = preferences_file(s.source)
    if s.out.exists() and s.out.resolve() == path.resolve():
        raise InputError("the output file is the input; write the export somewhere else", path=s.out)
    pairs: list[dict[str, Any]] = []
    for rec in read_records(path) if path.stat().st_size else []:  # an empty file: prefer made no pair
        data = rec.data
        ok = isinstance(data.get("instruction"), str) and all(
            isinstance(data.get(side), dict) and isinstance(data[side].get("output"), str)
            for side in ("chosen", "rejected")
        )
        if not ok:
            raise InputError('not a preference pair (needs "instruction", and "chosen" and "rejected" with an '
                             '"output"); is this what `prefer` wrote?', path=path, line=rec.line)  # fmt: skip
        pairs.append(data)
    if not pairs:
        raise EmptyExportError(f"{path}: nothing to export: prefer made no pair (prefer.json says why); nothing "
                               "was written")  # fmt: skip
    return pairs


def conversational_record(pair: dict[str, Any], ctx: RecordContext) -> Record:
    system = [{"role": "system", "content": ctx.settings.system}] if ctx.settings.system else []
    prompt = [*system, {"role": "user", "content": join_prompt(pair["instruction"], pair.get("input", ""))}]
    return {"prompt": prompt, "chosen": [{"role": "assistant", "content": pair["chosen"]["output"]}],
            "rejected": [{"role": "assistant", "content": pair["rejected"]["output"]}]}  # fmt: skip


def _text(pair: dict[str, Any], ctx: RecordContext) -> Record:
    zh = ctx.language == "zh"
    with_input, without = ctx.rng.choice(TEMPLATES["zh" if zh else "en"])
    inp = str(pair.get("input", "")).strip()
    prompt = (with_input if inp else without).format(instruction=pair["instruction"], input=inp)
    lead, eos = "" if zh else " ", ctx.settings.eos
    return {"prompt": prompt, "chosen": f"{lead}{pair['chosen']['output']}{eos}",
            "rejected": f"{lead}{pair['rejected']['output']}{eos}"}  # fmt: skip


def _notes(settings: ExportSettings) -> list[str]:
    return [f"TRL: DPOTrainer(..., train_dataset=load_dataset('json', data_files={str(settings.out)!r})['train'])"]


FORMAT = ExportFormat(
    "dpo",
    "{prompt, chosen, rejected} as conversations: TRL's preference format (DPOTrainer), from `prefer`'s pairs",
    None,
    system_turn=True,
    pairs=read_pairs,
    pair_record=conversational_record,
    notes=_notes,
)
TEXT_FORMAT = ExportFormat(
    "dpo-text",
    "{prompt, chosen, rejected} as plain text: TRL's standard preference format, from `prefer`'s pairs",
    None,
    takes_eos=True,
    pairs=read_pairs,
    pair_record=_text,
    notes=_notes,
)
