"""What `respond` writes, always in the source's order (so that a run with --seed on a deterministic endpoint is
byte-identical at any concurrency and after kill -9 + resume), and how later commands read it back.

- answers.jsonl: one line per response: the instruction and input, the model, the sample, the seed and the
  sampling parameters, then the answer ("status": "answered", "output") or why there is none ("status":
  "dropped", "why": truncated, empty, refusal, or a prompt beyond the context).
- tasks.jsonl: the source's tasks with their outputs replaced by the first model's first usable answer (an SFT
  set the other commands read: stats, audit, filter, export); a task with no answer at all is left out.
- respond.json: the settings that make the run itself (a directory resumes only with the same ones), counts
  per model and reason, and the spend of the run directory per model (read from the journal, each model at its
  prices).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from selfinstruct.engine.types import Completion, ModelPrices, StepParams, StepUsage
from selfinstruct.errors import InputError
from selfinstruct.io.records import atomic_writer, dumps, read_records
from selfinstruct.io.rundir import TASKS
from selfinstruct.pipeline.respond.plan import Item
from selfinstruct.pipeline.respond.settings import ANSWERS, STATE
from selfinstruct.tasks import Instance, Task

STATE_VERSION = 1
ANSWERED, DROPPED = "answered", "dropped"
RAW_LIMIT = 600  # characters of a dropped reply kept, to show why


def record_of(item: Item, reply: Completion | None, params: StepParams, why: str | None) -> dict[str, Any]:
    """The answers.jsonl line of one response (`reply` None: no reply, only `why`)."""
    q = item.question
    sampling: dict[str, Any] = {"temperature": params.temperature, "top_p": params.top_p,
                                "max_tokens": params.max_tokens}  # fmt: skip
    if params.system:
        sampling["system"] = params.system
    record: dict[str, Any] = {
        "task_id": q.task.id,
        "instance": q.instance,
        "instruction": q.task.instruction,
        "input": q.input,
        "model": item.model,
        "sample": item.sample,
        "seed": item.seed,
        "params": sampling,
    }
    if why is None and reply is not None:
        record |= {"status": ANSWERED, "output": reply.text.strip()}
    else:
        record |= {"status": DROPPED, "why": why}
        if reply is not None:
            record["raw"] = reply.text[:RAW_LIMIT]
    if reply is not None:
        record |= {"finish_reason": reply.finish_reason, "prompt_tokens": reply.prompt_tokens,
                   "completion_tokens": reply.completion_tokens}  # fmt: skip
    return record


def sft_tasks(tasks: Sequence[Task], records: Sequence[dict[str, Any]], models: Sequence[str]) -> list[Task]:
    """The source's tasks with each input answered by the first model (in --model order) with a usable answer,
    its first sample first; inputs without an answer are left out, and tasks left with none."""
    best: dict[tuple[str, int | None], tuple[int, int, dict[str, Any]]] = {}
    rank = {m: k for k, m in enumerate(models)}
    for r in records:
        if r["status"] != ANSWERED:
            continue
        key = (r["task_id"], r["instance"])
        order = (rank.get(r["model"], len(rank)), r["sample"])
        if key not in best or order < best[key][:2]:
            best[key] = (*order, r)
    out = []
    for task in tasks:
        indices: list[int | None] = list(range(len(task.instances))) or [None]
        chosen = [best[(task.id, k)][2] for k in indices if (task.id, k) in best]
        if not chosen:
            continue
        instances = tuple(Instance(r["input"], r["output"]) for r in chosen)
        provenance = [{"model": r["model"], "sample": r["sample"], "seed": r["seed"]} for r in chosen]
        out.append(Task(task.id, task.instruction, instances, task.is_classification, task.name,
                        {**task.extra, "answered_by": provenance}))  # fmt: skip
    return out


def counts(records: Sequence[dict[str, Any]], planned: int) -> dict[str, Any]:
    """Responses answered and dropped (by reason), per model, and how many are still to ask."""
    per_model: dict[str, Counter[str]] = {}
    for r in records:
        per_model.setdefault(r["model"], Counter())[r["status"] if r["status"] == ANSWERED else r["why"]] += 1
    dropped = Counter(r["why"] for r in records if r["status"] == DROPPED)
    return {
        "planned": planned,
        "answered": sum(1 for r in records if r["status"] == ANSWERED),
        "dropped": sum(dropped.values()),
        "dropped_reasons": dict(sorted(dropped.items())),
        "pending": planned - len(records),
        "models": {m: dict(sorted(c.items())) for m, c in per_model.items()},
    }


UNRECORDED = "(model not recorded)"  # charges journaled before lines named their model


def spend_by_model(counts: Mapping[str, StepUsage], pricing: ModelPrices) -> dict[str, Any]:
    """Requests, tokens and cost of each model (None without its prices), and their totals: what respond.json,
    the summary, stats and the dataset card show. Models come by name (the unrecorded ones last), not in the
    journal's order, which is whichever answer landed first."""
    models: dict[str, dict[str, Any]] = {}
    for model, t in sorted(counts.items(), key=lambda kv: (kv[0] == "", kv[0])):
        if not (t.requests or t.total_tokens):
            continue
        prices = pricing.of(model)
        models[model or UNRECORDED] = {
            "requests": t.requests,
            "prompt_tokens": t.prompt_tokens,
            "completion_tokens": t.completion_tokens,
            "cost": prices.cost(t.prompt_tokens, t.completion_tokens) if prices is not None else None,
        }
    costs = [m["cost"] for m in models.values()]
    return {
        "tokens": sum(m["prompt_tokens"] + m["completion_tokens"] for m in models.values()),
        "cost": None if None in costs else sum(costs),
        "models": models,
    }


def write_outputs(out: Path, tasks: Sequence[Task], items: Sequence[Item], results: Mapping[int, dict[str, Any]],
                  models: Sequence[str], state: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    """answers.jsonl, tasks.jsonl and respond.json (each atomically); returns the counts written."""
    records = [results[i] for i in range(len(items)) if i in results]
    with atomic_writer(out / ANSWERS) as fh:
        for r in records:
            fh.write(dumps(r) + "\n")
    with atomic_writer(out / TASKS) as fh:
        for task in sft_tasks(tasks, records, models):
            fh.write(dumps(task.to_dict()) + "\n")
    tally = counts(records, len(items))
    write_state(out, {"version": STATE_VERSION, **state, "counts": tally,
                      "updated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})  # fmt: skip
    return tally


def write_state(out: Path, state: dict[str, Any]) -> None:
    with atomic_writer(out / STATE) as fh:
        json.dump(state, fh, ensure_ascii=False, indent=2)
        fh.write("\n")


def read_state(out: Path) -> dict[str, Any] | None:
    """respond.json of a run directory, or None when there is none; a damaged one is an InputError."""
    path = out / STATE
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read it ({exc}); is this a respond run directory?", path=path) from None
    if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
        raise InputError(f"not a respond state file of version {STATE_VERSION}", path=path)
    return state


def read_answers(run_dir: Path) -> list[dict[str, Any]]:
    """Every response a respond run wrote (answered and dropped), in its order; an InputError names what is
    missing."""
    path = run_dir / ANSWERS
    if not path.is_file():
        raise InputError(f"no {ANSWERS} here; pass a directory written by `selfinstruct respond`", path=run_dir)
    out = []
    for rec in read_records(path):
        data = rec.data
        if not isinstance(data.get("task_id"), str) or data.get("status") not in (ANSWERED, DROPPED):
            raise InputError('not a respond answer (needs "task_id" and "status")', path=path, line=rec.line)
        out.append(data)
    return out
