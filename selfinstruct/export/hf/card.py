"""The README.md dataset card of an hf export: the YAML header the Hugging Face Hub reads (and that
`datasets.load_dataset` uses to find the splits) and a body that says how the data was made.

Rendering only: the facts come from selfinstruct.export.hf.provenance and the export itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from selfinstruct.export.hf.provenance import Provenance
from selfinstruct.methods.registry import METHODS

MARKER = "<!-- written by `selfinstruct export --format hf`; edit freely -->"
SIZE_CATEGORIES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
                   (10_000_000, "1M<n<10M"))  # fmt: skip
MODES = {name: method.summary for name, method in METHODS.items()}


@dataclass
class SplitInfo:
    name: str
    rows: int
    tasks: int
    path: str  # relative to the folder


@dataclass
class CardInput:
    """What the export adds to the provenance: its splits and options."""

    pretty_name: str
    language: str
    splits: list[SplitInfo]
    seeds_included: int
    skipped: int
    instances_per_task: int | None
    system: str
    shuffle: bool
    seed: int
    validation_split: float


def size_category(rows: int) -> str:
    return next((name for limit, name in SIZE_CATEGORIES if rows < limit), "n>10M")


def yaml_quote(text: str) -> str:
    """A YAML double-quoted scalar (JSON's escapes are a subset of YAML's)."""
    return json.dumps(text, ensure_ascii=False)


def creators(card: CardInput) -> str:
    """The Hub's *_creators list: the seed tasks (`--include-seeds`) were written by people, the rest by a model;
    `expert-generated` is the Hub vocabulary's word for text written by people who know the task."""
    return ("- expert-generated\n" if card.seeds_included else "") + "- machine-generated\n"


def yaml_header(card: CardInput) -> str:
    rows = sum(s.rows for s in card.splits)
    splits = "".join(f"  - split: {s.name}\n    path: {s.path}\n" for s in card.splits)
    return (
        "---\n"
        f"pretty_name: {yaml_quote(card.pretty_name)}\n"
        f"annotations_creators:\n{creators(card)}"
        f"language_creators:\n{creators(card)}"
        f"language:\n- {card.language}\n"
        "# Fill in the license you may release this data under (the generator model's terms of use apply).\n"
        "license: unknown\n"
        "multilinguality:\n- monolingual\n"
        f"size_categories:\n- {size_category(rows)}\n"
        "source_datasets:\n- original\n"
        "task_categories:\n- text-generation\n"
        "tags:\n- synthetic\n- self-instruct\n"
        "configs:\n- config_name: default\n  data_files:\n" + splits + "---\n"
    )


def _cell(value: Any) -> str:
    text = "–" if value is None or value == "" else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def md_table(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _made(p: Provenance) -> str:
    if p.kind != "run":
        return f"Exported from the task file `{p.source}` with {p.tool}; how its tasks were made was not recorded.\n"
    out = [f"Exported with {p.tool} from the run directory `{p.source}` (run status: "
           f"`{p.status or 'not recorded'}`).\n\n"]  # fmt: skip
    facts = [
        ("generator model", f"`{p.model}`" if p.model else None),
        ("API", p.api),
        ("endpoint", p.endpoint_kind),
        ("mode", f"`{p.mode}`: {MODES.get(p.mode, '')}" if p.mode else None),
        ("seed tasks", f"{p.seeds_count} (sha256 of the run's seeds.jsonl: `{p.seeds_sha256}`)"
         if p.seeds_sha256 else p.seeds_count),
        ("random seed of the run", p.generation_seed),
        ("target size", p.target),
        ("last updated", p.updated_at),
    ]  # fmt: skip
    out.append(md_table(("what", "value"), [(k, v if v is not None else "not recorded") for k, v in facts]))
    if p.settings:
        out.append("\nSettings (ROUGE-L `threshold`: a candidate more similar than this to any kept or seed "
                   "instruction is rejected):\n\n")  # fmt: skip
        settings = [(k, json.dumps(v, ensure_ascii=False)) for k, v in p.settings.items()]
        out.append(md_table(("setting", "value"), settings))
    if p.params:
        out.append("\nSampling per step:\n\n")
        params = [(step, v.get("temperature"), v.get("top_p"), v.get("max_tokens")) for step, v in p.params.items()]
        out.append(md_table(("step", "temperature", "top_p", "max_tokens"), params))
    if p.prompts:
        out.append("\nPrompt templates (sha256 of each template file):\n\n")
        out.append(md_table(("template", "sha256"), [(k, f"`{v}`") for k, v in p.prompts.items()]))
    if p.usage:
        out.append("\nRequests and tokens by step and model" + (", cost at each model's prices" if p.costs else "")
                   + ":\n\n")  # fmt: skip

        def cost(step: str) -> tuple[str, ...]:
            return (_usd(p.costs.get(step)),) if p.costs else ()

        usage = [(s, p.models.get(s) or "not recorded", u.get("requests"), u.get("prompt_tokens"),
                  u.get("completion_tokens"), *cost(s)) for s, u in p.usage.items()]  # fmt: skip
        headers = ("step", "model", "requests", "prompt tokens", "completion tokens", *(("cost",) if p.costs else ()))
        out.append(md_table(headers, usage))
    return "".join(out)


def _counts(p: Provenance) -> str:
    stats = p.stats
    reasons = stats.rejected_by_reason if stats and stats.rejected_by_reason else p.counts.get("rejected_by_reason")
    if p.kind != "run":
        return "Not recorded (the source is a task file).\n"
    accepted = p.counts.get("accepted", stats.tasks if stats else None)
    out = [f"Accepted tasks: {accepted}; rejected candidates: {p.counts.get('rejected', 'not recorded')}; "
           f"acceptance rate: {_pct(stats.acceptance_rate if stats else None)}.\n"]  # fmt: skip
    if not p.rejections_recorded:
        out.append("\nThe rejected candidates were not recorded (no rejected.jsonl).\n")
    elif isinstance(reasons, dict) and reasons:
        out.append("\n" + md_table(("stage:reason", "count"), list(reasons.items())))
    else:
        out.append("\nNo rejection was recorded.\n")
    return "".join(out)


def _stats(p: Provenance) -> str:
    s = p.stats
    if s is None:
        return "Not computed.\n"
    out = [f"Of the source's pool (`selfinstruct stats {p.source} --no-verbs`): {s.tasks:,} tasks, "
           f"{s.instances:,} instances, {_pct(s.classification_share)} classification tasks, "
           f"{_pct(s.empty_input_share)} of instances without input.\n\n"]  # fmt: skip
    rows = [(name, *(f"{round(v, 1):g}" for v in values)) for name, values in s.lengths.items()]
    out.append(md_table((f"length in {s.length_unit}", "median", "p90", "max"), rows))
    if any(s.similarity_counts):
        bins = [f"{k / 10:.1f}–{(k + 1) / 10:.1f}" for k in range(len(s.similarity_counts))]
        out.append("\nROUGE-L F1 of each task to its most similar earlier task or seed, as `selfinstruct stats` "
                   "computes it (what the generator's similarity filter saw):\n\n")  # fmt: skip
        out.append(md_table(("ROUGE-L", "tasks"), list(zip(bins, s.similarity_counts, strict=True))))
    if s.seed_similarity_counts is not None and any(s.seed_similarity_counts):
        bins = [f"{k / 10:.1f}–{(k + 1) / 10:.1f}" for k in range(len(s.seed_similarity_counts))]
        out.append("\nROUGE-L F1 of each task to its most similar seed task (the paper's Figure 3):\n\n")
        out.append(md_table(("ROUGE-L", "tasks"), list(zip(bins, s.seed_similarity_counts, strict=True))))
    out.append("\nThe verb–noun diversity (the paper's Figure 2) is not included: run `selfinstruct stats` for it.\n")
    return "".join(out)


def _audit(p: Provenance) -> str:
    """The last `selfinstruct audit` of the source, as the paper's Table 2 with our figures beside its."""
    if p.audit is None:
        return ""
    from selfinstruct.stats.render.audit import render_table

    return (
        "\n## Quality audit\n\n"
        "An LLM judge (`selfinstruct audit`) answered the Self-Instruct paper's three questions for every instance "
        "of each audited task and scored it 0-5 (AlpaGasus's scale); the table counts one instance per task, as "
        "the paper's expert evaluation of 200 tasks did.\n\n```\n" + render_table(p.audit) + "\n```\n"
    )


def _contamination(p: Provenance) -> str:
    """The benchmarks the data was checked against (`generate --decontaminate` or `decontaminate`)."""
    rows = p.stats.contamination if p.stats is not None else None
    if not rows:
        return ""
    table = md_table(
        ("benchmark", "items", "checked", "removed", "threshold", "n"),
        [(b["name"], b["items"], b["checked"], b["removed"], b["threshold"], b["n"]) for b in rows],
    )
    return (
        "\n## Decontamination\n\n"
        "Checked against these benchmarks with `selfinstruct`'s n-gram coverage (a record was removed when its word "
        "n-grams covered more than the threshold of an item's tokens, or it shared a long run of tokens with one):"
        "\n\n" + table
    )


def _export(card: CardInput) -> str:
    rows = [(s.name, f"{s.rows:,}", f"{s.tasks:,}", f"`{s.path}`") for s in card.splits]
    out = [md_table(("split", "rows", "tasks", "files"), rows), "\n"]
    out.append(
        "One row per instance. Columns: `task_id`, `instruction`, `input`, `output`, and `messages`, the same "
        "instance as chat turns with `role`/`content`: "
        + ("the system prompt, then " if card.system else "")
        + "the user turn (the instruction, then a blank line and the input when there is one) and the assistant "
        "turn (the output).\n\n"
    )
    split = (f"{card.validation_split * 100:g}% of the tasks (whole tasks, so no instruction is in both splits), "
             f"picked with seed {card.seed}") if card.validation_split else "none"  # fmt: skip
    facts = [
        ("validation split", split),
        ("rows shuffled", f"yes (seed {card.seed})" if card.shuffle else "no (pool order)"),
        ("instances per task", f"at most {card.instances_per_task}" if card.instances_per_task else "all"),
        ("seed tasks included", f"{card.seeds_included}" if card.seeds_included else "no"),
        ("tasks without instances skipped", card.skipped),
        ("system prompt", f"`{card.system}`" if card.system else "none"),
    ]
    out.append(md_table(("export option", "value"), facts))
    return "".join(out)


def _use(card: CardInput, folder: str) -> str:
    """`folder` is the folder's own name, never a local path: the card is uploaded to the Hub as it is."""
    validation = any(s.name == "validation" for s in card.splits)
    eval_line = ', eval_dataset=ds["validation"].select_columns(["messages"])' if validation else ""
    eval_name = f" (`eval_dataset: {card.pretty_name}_validation`)" if validation else ""
    return f"""Paths below name this folder as `{folder}`: give its path from where you run, or the Hub repo id once
uploaded.

```python
from datasets import load_dataset

ds = load_dataset("{folder}")
# TRL: the `messages` column is its conversational format. For assistant-only loss the chat template needs
# {{% generation %}} markers; chat_template.jinja in this folder is ChatML with them (add its <|im_start|> and
# <|im_end|> tokens to the tokenizer if your model does not have them).
# from trl import SFTConfig, SFTTrainer
# args = SFTConfig(assistant_only_loss=True, chat_template_path="{folder}/chat_template.jinja")
# SFTTrainer(model=..., args=args, train_dataset=ds["train"].select_columns(["messages"]){eval_line})
```

- **LLaMA-Factory:** `dataset_info.json` in this folder describes the `messages` column; set
  `dataset_dir: {folder}` and `dataset: {card.pretty_name}`{eval_name}.
- **axolotl:** paste `axolotl.yaml` into your config.
- **Upload:** `hf upload <user>/<name> {folder} . --repo-type dataset`
"""


def _source(mode: str | None) -> str:
    """What the model wrote the data from, as the run's method says."""
    method = METHODS.get(mode or "")
    return (
        "with no seed tasks (the method needs none)"
        if method and not method.uses_seeds
        else ("from a small set of seed tasks")
    )


def render_card(p: Provenance, card: CardInput, folder: str) -> str:
    """The whole README.md; `folder` is the folder's name (no local path is written into the card)."""
    not_recorded = "".join(f"- {what}\n" for what in p.not_recorded)
    seeds = (
        f" The {card.seeds_included:,} seed tasks included with `--include-seeds` were written by people."
        if card.seeds_included
        else ""
    )
    return (
        yaml_header(card)
        + f"\n# {card.pretty_name}\n\n{MARKER}\n\n"
        + "Machine-generated instruction-tuning data: instructions, inputs and outputs were written by a language "
        f"model {_source(p.mode)}, and filtered automatically." + seeds + " No person has reviewed "
        "the generated ones unless you say so here; expect errors, made-up facts and the generator's biases. "
        "Check the generator's terms of use before training or sharing, and set the `license` field above.\n\n"
        + "## Splits and columns\n\n"
        + _export(card)
        + "\n## How it was made\n\n"
        + _made(p)
        + "\n## Counts and rejections\n\n"
        + _counts(p)
        + "\n## Statistics\n\n"
        + _stats(p)
        + _contamination(p)
        + _audit(p)
        + "\n## Not recorded\n\n"
        + not_recorded
        + "\n## Use\n\n"
        + _use(card, folder)
    )


def _usd(cost: float | None) -> str:
    return "not recorded" if cost is None else f"${cost:,.4f}"
