"""`export --format hf-dpo`: `prefer`'s pairs as a Hugging Face dataset folder, in TRL's conversational preference
format, with a card that says how the pairs were made.

    folder/
      README.md                                  the Hub's YAML header + the card: models, judge, rubric, margin,
                                                 the judge's position and length bias, pairs dropped and why
      data/train-00000-of-00001.parquet          prompt, chosen, rejected (lists of {role, content})
      data/validation-00000-of-00001.parquet

The card's facts come from the respond run's respond.json and prefer.json; the folder is built beside the
target and renamed into place, as the hf export's.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from selfinstruct.engine.budget import usd
from selfinstruct.export.dpo import conversational_record, read_pairs
from selfinstruct.export.format import ExportFormat
from selfinstruct.export.hf.card import MARKER, md_table, size_category, yaml_quote
from selfinstruct.export.hf.dataset import DATA_FILE, check_target, require_pyarrow
from selfinstruct.export.result import ExportResult
from selfinstruct.export.settings import ExportSettings
from selfinstruct.io.records import atomic_writer, umask

VALIDATION_SPLIT = 0.05


def _json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _write_parquet(rows: list[dict[str, Any]], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    turns = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
    schema = pa.schema([("prompt", turns), ("chosen", turns), ("rejected", turns)])
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)


def _rubric(rubric: Any) -> str:
    if isinstance(rubric, list):
        return ", ".join(map(str, rubric)) + " (each rated on its own; an answer ranked by their mean)"
    return str(rubric) if rubric else "–"


def _aspects(prefer: dict[str, Any]) -> str:
    """Several aspects rated: each one's mean score per answering model, and the answers left unranked."""
    aspects: dict[str, dict[str, Any]] = prefer.get("aspects") or {}
    if not aspects:
        return ""
    models = list(dict.fromkeys(m for figures in aspects.values() for m in figures))
    rows = [(aspect, *(_mean(figures.get(m)) for m in models)) for aspect, figures in aspects.items()]
    ranking = prefer.get("ranking") or {}
    unranked = ", ".join(f"{why}: {n}" for why, n in (ranking.get("unranked_reasons") or {}).items())
    return ("\n## Scores per aspect\n\nThe judge's mean score per aspect and answering model (unreadable verdicts "
            "in brackets); an answer is ranked by the mean of its aspects, and only when every aspect was read.\n\n"
            + md_table(("aspect", *(f"`{m}`" for m in models)), rows)
            + f"\nAnswers ranked: {ranking.get('ranked', '–')}; not ranked: {ranking.get('unranked', '–')}"
            + (f" ({unranked})" if unranked else "") + ".\n")  # fmt: skip


def _mean(figures: dict[str, Any] | None) -> str:
    if not figures:
        return "–"
    mean = "–" if figures.get("mean") is None else f"{figures['mean']:g}"
    return mean + (f" ({figures['unreadable']} unreadable)" if figures.get("unreadable") else "")


def _spend(spend: Any) -> str:
    """Each answering model's tokens and cost (at its own prices) as respond.json records them."""
    if not isinstance(spend, dict) or not spend.get("models"):
        return "not recorded"
    return "; ".join(f"`{model}` {s['prompt_tokens'] + s['completion_tokens']:,} tokens"
                     + (f", {usd(s['cost'])}" if s.get("cost") is not None else "")
                     for model, s in spend["models"].items())  # fmt: skip


def render_card(name: str, language: str, splits: dict[str, int], respond: dict[str, Any],
                prefer: dict[str, Any], settings: ExportSettings) -> str:  # fmt: skip
    """The README.md: the YAML header the Hub reads, then the models, the judge, the rules and the biases."""
    rows = sum(splits.values())
    files = "".join(f"  - split: {s}\n    path: {DATA_FILE.format(split=s)}\n" for s in splits)
    header = (f"---\npretty_name: {yaml_quote(name)}\nlanguage:\n- {language}\nlicense: unknown\n"
              f"size_categories:\n- {size_category(rows)}\ntask_categories:\n- text-generation\n"
              "tags:\n- synthetic\n- dpo\n- preference\n- self-instruct\n"
              f"configs:\n- config_name: default\n  data_files:\n{files}---\n")  # fmt: skip
    params = respond.get("params", {})
    facts = [
        ("answering models", ", ".join(f"`{m}`" for m in respond.get("models", [])) or "not recorded"),
        ("answers per model", respond.get("samples", "not recorded")),
        ("sampling", f"temperature {params.get('temperature')}, top_p {params.get('top_p')}, max_tokens "
         f"{params.get('max_tokens')}" if params else "not recorded"),
        ("system prompt of the answers", params.get("system") or "none"),
        ("cost of the answers per model", _spend(respond.get("spend"))),
        ("judge", f"`{prefer.get('judge_model')}`" if prefer.get("judge_model") else "not recorded"),
        ("mode", prefer.get("mode", "not recorded")),
        ("rubric", _rubric(prefer.get("rubric"))),
        ("scale", prefer.get("scale") or "–"),
        ("pairs rule", prefer.get("pairs_rule", "not recorded")),
        ("margin", prefer.get("margin") if prefer.get("margin") is not None else "–"),
    ]  # fmt: skip
    position = prefer.get("position") or {}
    length = prefer.get("length") or {}
    verdicts = prefer.get("verdicts") or {}
    bias = [
        ("verdicts judged / unreadable", f"{verdicts.get('judged', '–')} / {verdicts.get('unreadable', '–')}"),
        ("pairs compared in both orders", position.get("pairs_compared", "–")),
        ("consistent / ties / order-dependent",
         f"{position.get('consistent', '–')} / {position.get('tie', '–')} / {position.get('order_dependent', '–')}"
         if position else "–"),
        ("first position named (share of decided verdicts)", position.get("first_share", "–") if position else "–"),
        ("position-biased judge (verdicts not used)", position.get("biased", "–") if position else "–"),
        ("pairs whose chosen answer is the longer", f"{length.get('longer_chosen', '–')} of {length.get('of', '–')}"),
    ]  # fmt: skip
    dropped = list((prefer.get("dropped") or {}).items())
    body = [
        f"# {name}\n\n{MARKER}\n\nPreference pairs for DPO, made with `selfinstruct respond` (the answers) and "
        "`selfinstruct prefer` (the judge), in TRL's conversational preference format: `prompt` (a system turn "
        "when given, then the user's instruction and input), `chosen` and `rejected` (one assistant turn each).\n\n",
        "## How the pairs were made\n\n", md_table(("what", "value"), facts),
        "\n## The judge's biases\n\n", md_table(("measure", "value"), bias),
        _aspects(prefer),
        "\n## Instructions without a pair\n\n",
        md_table(("reason", "instructions"), dropped) if dropped else "None.\n",
        "\n## Splits\n\n", md_table(("split", "pairs"), list(splits.items())),
        f"\nExport: `--seed {settings.seed}`, `--validation-split {settings.validation_split:g}` (whole "
        f"instructions held out){', shuffled' if settings.shuffle else ''}.\n\n",
        "```python\nfrom datasets import load_dataset\nfrom trl import DPOConfig, DPOTrainer\n\n"
        f'dataset = load_dataset("{name}")\n'
        'DPOTrainer(model=model, args=DPOConfig(output_dir="out"), processing_class=tokenizer,\n'
        '           train_dataset=dataset["train"], eval_dataset=dataset.get("validation"))\n```\n',
    ]  # fmt: skip
    return header + "".join(body)


def write_dpo_folder(
    settings: ExportSettings, rows: dict[str, list[dict[str, Any]]], run: dict[str, Any], language: str,
    result: ExportResult, notice: Callable[[str], object] = lambda _: None,
) -> None:  # fmt: skip
    """Write the folder for `rows` (split -> pairs in TRL's conversational preference format) with its card."""
    out = settings.out
    check_target(out)
    source = settings.source if settings.source.is_dir() else settings.source.parent
    card = render_card(out.resolve().name, language, {s: len(r) for s, r in rows.items()},
                       _json(source / "respond.json"), _json(source / "prefer.json"), settings)  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    old: Path | None = None
    try:
        os.chmod(tmp, 0o777 & ~umask())
        for split, split_rows in rows.items():
            _write_parquet(split_rows, tmp / DATA_FILE.format(split=split))
        with atomic_writer(tmp / "README.md") as fh:
            fh.write(card)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
            os.replace(out, old / out.name)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not out.exists() and (old / out.name).exists():
            os.replace(old / out.name, out)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _prepare(settings: ExportSettings) -> None:
    require_pyarrow()
    check_target(settings.out)


FORMAT = ExportFormat(
    "hf-dpo",
    "prefer's pairs as a Hugging Face dataset folder (TRL's conversational preference format) with a card",
    None,
    system_turn=True,
    folder=True,
    default_validation_split=VALIDATION_SPLIT,
    prepare=_prepare,
    write_folder=write_dpo_folder,
    pairs=read_pairs,
    pair_record=conversational_record,
)
