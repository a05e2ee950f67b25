"""The `export` command: a pool in the formats trainers read, or a Hugging Face dataset folder."""

from __future__ import annotations

from pathlib import Path

import click

from selfinstruct.cli.common import CONTEXT_SETTINGS, FiniteFloat, fail
from selfinstruct.errors import InputError, SelfInstructError
from selfinstruct.export.options import resolve_export_settings
from selfinstruct.export.registry import FORMATS
from selfinstruct.export.write import export_data, score_summary


@click.command(name="export", context_settings=CONTEXT_SETTINGS)
@click.argument("pool", metavar="POOL")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(list(FORMATS)),
    required=True,
    help="Output format. " + "; ".join(f"{name}: {form.summary}" for name, form in FORMATS.items()) + ".",
)
@click.option(
    "-o",
    "--out",
    required=True,
    help="File to write: NAME.json is a JSON array, NAME.jsonl one record per line; a folder for --format hf.",
)
@click.option(
    "--instances-per-task", type=click.IntRange(min=1), help="Export at most the first K instances of each task."
)
@click.option("--include-seeds", is_flag=True, help="Put the run directory's seeds.jsonl tasks first.")
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Random seed of the prompt-completion templates, --shuffle and the validation split.",
)
@click.option("--shuffle", is_flag=True, help="Shuffle the records (within each split) with --seed.")
@click.option(
    "--validation-split",
    type=FiniteFloat(),
    metavar="SHARE",
    help="Hold out this share of the tasks (whole tasks) as validation, e.g. 0.05: NAME.validation.jsonl beside "
    "the file, a validation split in hf. Default: 0, and 0.05 for hf.",
)
@click.option("--system", metavar="TEXT", help="A system turn before each conversation (sharegpt, openai-chat, hf).")
@click.option(
    "--roles",
    type=click.Choice(["sharegpt", "openai"]),
    help="sharegpt turn names: sharegpt = human/gpt (LLaMA-Factory, the default), openai = user/assistant. "
    "For TRL use --format openai-chat or hf instead.",
)
@click.option(
    "--eos",
    metavar="TEXT",
    help="Append TEXT to every prompt-completion completion (default: nothing; trainers add their own EOS).",
)
@click.option(
    "--min-score",
    type=FiniteFloat(0, 5),
    help="Export only the pool instances `selfinstruct audit` scored at least this, 0-5 (AlpaGasus: 4.5); "
    "instances it did not judge are left out.",
)
@click.option("--audit", "audit_file", help="Audit journal for --min-score [default: the one audit wrote for POOL].")
def export_cmd(
    pool: str,
    fmt: str,
    out: str,
    instances_per_task: int | None,
    include_seeds: bool,
    seed: int,
    shuffle: bool,
    validation_split: float | None,
    system: str | None,
    roles: str | None,
    eos: str | None,
    min_score: float | None,
    audit_file: str | None,
) -> None:
    """Export a task pool for fine-tuning, one record per instance.

    POOL is a run directory (its tasks.jsonl) or any task file; --format names the format (each is listed
    under the option below). The --out extension picks a JSON array (.json) or JSON lines (.jsonl); hf writes
    a folder (pip install "selfinstruct[hf]"). --min-score X keeps only the pool instances `selfinstruct audit`
    scored at least X (AlpaGasus-style; unjudged ones are left out; seeds are kept). dpo and dpo-text export
    the preference pairs of a `respond` run judged by `prefer` (POOL is that run directory), one record per
    pair. Nothing is written when the input is bad or there is nothing to export.

    \b
    Example:
      selfinstruct export data/run1 --format alpaca --out alpaca.json --include-seeds
      selfinstruct export data/run1 --format openai-chat --out train.jsonl --validation-split 0.05 --shuffle
      selfinstruct export data/run1 --format openai-chat --out trl.jsonl --system "Be concise."
      selfinstruct export data/run1 --format prompt-completion --out gpt3.jsonl --seed 42 --eos "<|endoftext|>"
      selfinstruct export data/run1 --format hf --out run1_hf --include-seeds
      selfinstruct export data/run1 --format alpaca --out best.json --min-score 4.5   # after selfinstruct audit
      selfinstruct export data/answers --format dpo --out dpo.jsonl    # after selfinstruct respond and prefer
    """
    try:
        source = Path(pool)
        if not source.exists():
            raise InputError("not found; pass a run directory or a task file", path=source)
        settings = resolve_export_settings(
            source,
            fmt,
            out,
            instances_per_task=instances_per_task,
            include_seeds=include_seeds,
            seed=seed,
            shuffle=shuffle,
            validation_split=validation_split,
            eos=eos,
            roles=roles,
            system=system,
            min_score=min_score,
            audit=audit_file,
        )
        result = export_data(settings, notice=lambda message: click.echo(f"{message} ...", err=True))
    except SelfInstructError as exc:
        fail(exc)
    seeds = f" + {result.seeds:,} seed tasks" if result.seeds else ""
    if settings.folder:
        where = ": " + ", ".join(f"{o.records:,} {o.split}" for o in result.outputs) + f" -> {settings.out}/"
    elif len(result.outputs) == 1:
        where = f" -> {result.outputs[0].path}"
    else:
        where = ": " + ", ".join(f"{o.records:,} {o.split} -> {o.path}" for o in result.outputs)
    click.echo(f"wrote {result.written:,} {fmt} records from {result.tasks:,} tasks{seeds}{where}")
    if min_score is not None:
        click.echo(score_summary(result, min_score))
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
