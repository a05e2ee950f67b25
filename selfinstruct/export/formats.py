"""Export a task pool (a run directory or any task file) to the formats fine-tuning tools read.

One record per instance; `--out x.json` writes a JSON array, `x.jsonl` one record per line:
- alpaca: {"instruction", "input", "output"} (Stanford Alpaca's alpaca_data.json);
- sharegpt: {"conversations": [{"from": "human", ...}, {"from": "gpt", ...}]} (LLaMA-Factory's default tags),
  or with --roles openai {"from": "user"/"assistant"}. Not for TRL: its assistant-only loss refuses
  `conversations` as not conversational;
- openai-chat: {"messages": [{"role": "user", ...}, {"role": "assistant", ...}]}: TRL's conversational format
  (with selfinstruct.export.chat_template's {% generation %} template for assistant-only loss);
- prompt-completion: {"prompt", "completion"} as in the paper's GPT-3 fine-tuning: the instruction and input
  are joined by one of several templates picked at random per instance, and the completion starts with a space.
  No end-of-text marker is appended unless --eos asks for one: trainers add their tokenizer's own EOS;
- hf: a Hugging Face dataset folder (selfinstruct.export.hf.dataset).

A validation split holds out whole tasks, so that no instruction is in both splits.
"""

from __future__ import annotations

import contextlib
import dataclasses
import random
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from selfinstruct.errors import EmptyExportError, InputError
from selfinstruct.export.result import ExportResult, Output
from selfinstruct.export.settings import EXPORT_FORMATS, ExportSettings, resolve_export_settings
from selfinstruct.io.records import atomic_writer, dumps
from selfinstruct.stats.compute import dataset_language, read_run_dir
from selfinstruct.tasks import Task

FORMATS = EXPORT_FORMATS

# (template with an input, template without) pairs; the prompt ends where the model starts answering.
TEMPLATES: dict[str, tuple[tuple[str, str], ...]] = {
    "en": (
        ("{instruction}\n\nInput: {input}\n\nOutput:", "{instruction}\n\nOutput:"),
        ("Task: {instruction}\nInput: {input}\nOutput:", "Task: {instruction}\nOutput:"),
        ("{instruction}\n\n{input}\n\nAnswer:", "{instruction}\n\nAnswer:"),
        ("Instruction: {instruction}\n\n{input}\n\nResponse:", "Instruction: {instruction}\n\nResponse:"),
    ),
    "zh": (
        ("{instruction}\n\n输入：{input}\n\n输出：", "{instruction}\n\n输出："),
        ("任务：{instruction}\n输入：{input}\n输出：", "任务：{instruction}\n输出："),
        ("{instruction}\n\n{input}\n\n回答：", "{instruction}\n\n回答："),
        ("指令：{instruction}\n\n{input}\n\n回复：", "指令：{instruction}\n\n回复："),
    ),
}
SHAREGPT_ROLES = {"sharegpt": ("human", "gpt"), "openai": ("user", "assistant")}
TRL_NOTE = (
    "sharegpt suits LLaMA-Factory; for TRL export --format openai-chat or hf instead (TRL's assistant-only loss "
    "refuses `conversations` as not conversational)"
)


def join_prompt(instruction: str, inp: str) -> str:
    """Instruction and input as one user message: the input follows after a blank line."""
    return f"{instruction}\n\n{inp}" if inp.strip() else instruction


def _load(path: Path, include_seeds: bool, notes: list[str]) -> tuple[list[Task], list[Task], dict[str, Any]]:
    if not path.is_dir():
        from selfinstruct.io.seeds import load_tasks

        tasks = load_tasks(path)
        if include_seeds:
            notes.append(f"{path} is a task file, not a run directory: there are no seeds to include")
        return tasks, [], {}
    tasks, seeds, run, _ = read_run_dir(path, rejected=False)
    if include_seeds and not seeds:
        notes.append(f"{path} has no seeds.jsonl: no seeds included")
    return tasks, seeds if include_seeds else [], run


def _turns(settings: ExportSettings, prompt: str, answer: str) -> list[tuple[str, str]]:
    """(role, text) pairs in OpenAI's role names, with the system turn first when there is one."""
    system = [("system", settings.system)] if settings.system else []
    return [*system, ("user", prompt), ("assistant", answer)]


def _task_records(task: Task, s: ExportSettings, rng: random.Random, language: str) -> Iterator[dict[str, Any]]:
    templates = TEMPLATES["zh" if language == "zh" else "en"]
    space = "" if language == "zh" else " "
    instances = task.instances[: s.instances_per_task] if s.instances_per_task is not None else task.instances
    for inst in instances:
        prompt = join_prompt(task.instruction, inst.input)
        if s.fmt == "alpaca":
            yield {"instruction": task.instruction, "input": inst.input, "output": inst.output}
        elif s.fmt == "sharegpt":
            user, assistant = SHAREGPT_ROLES[s.roles]
            names = {"system": "system", "user": user, "assistant": assistant}
            turns = _turns(s, prompt, inst.output)
            yield {"conversations": [{"from": names[role], "value": text} for role, text in turns]}
        elif s.fmt == "openai-chat":
            yield {"messages": [{"role": role, "content": text} for role, text in _turns(s, prompt, inst.output)]}
        elif s.fmt == "hf":
            messages = [{"role": role, "content": text} for role, text in _turns(s, prompt, inst.output)]
            yield {"task_id": task.id, "instruction": task.instruction, "input": inst.input, "output": inst.output,
                   "messages": messages}  # fmt: skip
        else:
            with_input, without = rng.choice(templates)
            template = with_input if inst.input.strip() else without
            text = template.format(instruction=task.instruction, input=inst.input.strip())
            yield {"prompt": text, "completion": f"{space}{inst.output}{s.eos}"}


def _split(groups: list[list[dict[str, Any]]], s: ExportSettings) -> dict[str, list[list[dict[str, Any]]]]:
    """Whole tasks to the validation split, picked at random from --seed; the rest, in order, to train."""
    if not s.validation_split:
        return {"all": groups}
    held = max(1, round(s.validation_split * len(groups)))
    if held >= len(groups):
        raise InputError(
            f"--validation-split {s.validation_split} of {len(groups)} task(s) with instances leaves nothing to "
            "train on; lower it or export more tasks"
        )
    picked = set(random.Random(f"validation:{s.seed}").sample(range(len(groups)), held))
    return {
        "train": [g for k, g in enumerate(groups) if k not in picked],
        "validation": [g for k, g in enumerate(groups) if k in picked],
    }


def _check_paths(s: ExportSettings) -> None:
    """Refuse to write over an input: everything is checked before anything is written."""
    source = s.source
    inputs = [source / name for name in ("tasks.jsonl", "seeds.jsonl", "run.json")] if source.is_dir() else [source]
    inputs = [p.resolve() for p in inputs if p.exists()]
    targets = [s.out] if s.validation_out is None else [s.out, s.validation_out]
    for target in targets:
        if target.exists() and target.resolve() in inputs:
            raise InputError("the output file is one of the input files; write the export somewhere else", path=target)
        if target.is_dir() and s.fmt != "hf":
            raise InputError("is a directory; give a .json or .jsonl file for the export", path=target)
    if s.fmt == "hf":
        out = s.out.resolve()
        if any(out == p or out in p.parents for p in [*inputs, source.resolve()]):
            raise InputError("the dataset folder would hold the input; write the export somewhere else", path=s.out)


def _write_records(fh: IO[str], rows: list[dict[str, Any]], as_array: bool) -> None:
    if as_array:
        fh.write("[\n" + ",\n".join("  " + dumps(r) for r in rows) + ("\n]\n" if rows else "]\n"))
    else:
        fh.writelines(dumps(r) + "\n" for r in rows)


def export_data(settings: ExportSettings, *, notice: Callable[[str], object] = lambda _: None) -> ExportResult:
    """Export settings.source as settings.out; everything is read and checked before anything is written.
    `notice` hears about slow steps before they start (the hf card's statistics)."""
    s = settings
    _check_paths(s)
    if s.fmt == "hf":
        from selfinstruct.export.hf.dataset import check_target, require_pyarrow

        require_pyarrow()
        check_target(s.out)
    notes: list[str] = []
    tasks, seeds, run = _load(s.source, s.include_seeds, notes)
    score_drops: Counter[str] = Counter()
    score_kept = 0
    if s.min_score is not None:
        from selfinstruct.audit.scores import keep_min_score
        from selfinstruct.audit.settings import default_journal

        journal = s.audit or default_journal(s.source)
        selection = keep_min_score(tasks, journal, s.min_score)
        score_drops, score_kept = selection.dropped, selection.kept
        kept = [(t, selection.kept_instances(i)) for i, t in enumerate(tasks)]
        # Only the instances the audit vouches for; a task left with none goes (it is not "without instances").
        tasks = [dataclasses.replace(t, instances=tuple(t.instances[k] for k in ks)) for t, ks in kept if ks]
    language = dataset_language(run, [*seeds, *tasks])
    chosen = [t for t in [*seeds, *tasks] if t.instances]
    skipped = len(seeds) + len(tasks) - len(chosen)
    if not chosen:
        total = len(seeds) + len(tasks)
        have = f"none of its {total:,} tasks has an instance" if total else "it holds no tasks"
        if score_drops:
            have = f"the audit scored none of its instances at least {s.min_score:g} ({_drops(score_drops)})"
        raise EmptyExportError(f"{s.source}: nothing to export: {have}; nothing was written")
    if skipped:
        notes.append(f"skipped {skipped:,} task(s) without instances")
    rng = random.Random(s.seed)  # the template choice, in pool order: the same whatever the split or shuffle
    groups = [list(_task_records(task, s, rng, language)) for task in chosen]
    splits = _split(groups, s)
    if s.fmt == "hf" and "all" in splits:
        splits = {"train": splits["all"]}  # a dataset folder always has a train split
    rows = {name: [r for g in gs for r in g] for name, gs in splits.items()}
    if s.shuffle:
        for name, split_rows in rows.items():
            random.Random(f"shuffle:{name}:{s.seed}").shuffle(split_rows)
    seed_count = sum(1 for t in seeds if t.instances)
    result = ExportResult(written=sum(len(r) for r in rows.values()), tasks=len(chosen) - seed_count,
                          seeds=seed_count, skipped=skipped, notes=notes, score_kept=score_kept,
                          score_drops=score_drops)  # fmt: skip
    if s.fmt == "hf":
        from selfinstruct.export.hf.dataset import write_dataset_folder

        result.outputs = [Output(n, s.out, len(r), len(splits[n])) for n, r in rows.items()]
        write_dataset_folder(s, rows, run, language, result, notice)
        return result
    targets = {name: s.validation_file if name == "validation" else s.out for name in rows}
    with contextlib.ExitStack() as stack:  # all files are renamed into place only once all are written
        for name, split_rows in rows.items():
            _write_records(stack.enter_context(atomic_writer(targets[name])), split_rows, s.as_array)
    result.outputs = [Output(n, targets[n], len(r), len(splits[n])) for n, r in rows.items()]
    if s.fmt == "sharegpt":
        notes.append(TRL_NOTE)
    if s.fmt == "openai-chat":
        from selfinstruct.export.chat_template import CHAT_TEMPLATE_PATH

        notes.append(f"TRL with assistant_only_loss=True: SFTConfig(chat_template_path={str(CHAT_TEMPLATE_PATH)!r})")
    if s.fmt == "openai-chat" and s.as_array:
        notes.append("OpenAI's fine-tuning API takes JSONL only: use a .jsonl name to upload this file there")
    return result


def _drops(drops: Counter[str]) -> str:
    from selfinstruct.audit.scores import describe_drops

    return describe_drops(drops)


def score_summary(result: ExportResult, min_score: float) -> str:
    """`kept 40 of 50 pool instances (of 30 tasks) the audit scored at least 4.5 (dropped: score_below_4.5 8,
    not_judged 2 (never judged by the audit))`: per instance, as the audit scores them."""
    dropped = sum(result.score_drops.values())
    tail = f" (dropped: {_drops(result.score_drops)})" if dropped else ""
    return (
        f"kept {result.score_kept:,} of {result.score_kept + dropped:,} pool instances (of {result.tasks:,} tasks) "
        f"the audit scored at least {min_score:g}{tail}"
    )


def export(path: Path | str, fmt: str, out: Path | str, **options: Any) -> int:
    """Export `path` to `out` in format `fmt` (options as resolve_export_settings takes them); the record count."""
    return export_data(resolve_export_settings(path, fmt, out, **options)).written
