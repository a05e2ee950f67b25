"""A run's output directory: tasks.jsonl (the pool), rejected.jsonl, seeds.jsonl and run.json.

Requests are committed in request order. run.json's `next_request` is the first request not yet fully
committed; records on disk from that request onwards (a crash mid-commit) are remembered by their
(request, candidate) key so that re-committing the request skips them: no duplicate, no loss.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from selfinstruct.errors import PoolError
from selfinstruct.filters.rouge import NearDuplicateIndex
from selfinstruct.io.pool import JsonlLog, Repair, TaskPool
from selfinstruct.io.records import atomic_writer, is_count
from selfinstruct.io.rundir import REJECTED, RUN, SEEDS, TASKS
from selfinstruct.io.templates import PromptSet
from selfinstruct.tasks import Task

RUN_VERSION = 1


def _key(record: dict[str, Any]) -> tuple[int, int] | None:
    meta = record.get("meta")
    if isinstance(meta, dict) and isinstance(meta.get("request"), int) and isinstance(meta.get("candidate"), int):
        return meta["request"], meta["candidate"]
    return None


@dataclass
class RunState:
    out: Path
    pool: TaskPool
    rejected: JsonlLog
    run: dict[str, Any]
    next_request: int = 0
    written: set[tuple[int, int]] = field(default_factory=set)
    _requests: list[int] = field(default_factory=list)  # request of each pool record, in pool order
    repairs: list[Repair] = field(default_factory=list)

    @classmethod
    def open(cls, out: Path, fingerprint: dict[str, Any], index: NearDuplicateIndex) -> RunState:
        """Open or create the run directory; a run made with other output-affecting settings is refused."""
        if out.exists() and not out.is_dir():
            raise PoolError(f"--out {out} is a file; give a directory")
        run_path = out / RUN
        run: dict[str, Any] = {}
        if run_path.exists():
            run = read_run(run_path)
            if "settings" not in run:  # written with the first save, so an edited or foreign file: nothing to check
                raise PoolError(
                    f'{run_path}: no "settings" section, so a resume cannot be checked against this command\'s '
                    "options; restore run.json or use a new --out"
                )
            _check_compatible(run_path, run["settings"], fingerprint)
        elif any(_has_data(out / name) for name in (TASKS, REJECTED)):
            # Empty logs without run.json are a run killed while starting (the logs open before run.json is
            # first written): nothing was generated, so it simply starts again.
            raise PoolError(f"{out} holds generated records but {run_path} is missing; use a new --out or restore it")
        # Each log takes its writer lock before it repairs a torn tail. The pool does not own the index: the
        # bootstrap indexes each instruction the moment it is accepted.
        pool = TaskPool(out / TASKS)
        try:
            rejected = JsonlLog(out / REJECTED)
        except BaseException:
            pool.close()
            raise
        index.add_all(pool.instructions)
        state = cls(out=out, pool=pool, rejected=rejected, run=run)
        state.repairs = [r for r in (pool.repair, rejected.repair) if r is not None]
        # run.json is saved at most once a second, so after a kill its next_request may lag: the logs are the
        # truth. Every committed request leaves at least one record, and requests commit in order, so the last
        # request on disk is at most one past the last complete one; re-committing from there skips every
        # record already written by its (request, candidate) key.
        keys = [k for k in map(_key, [*pool.records, *rejected.records]) if k is not None]
        on_disk = max((k[0] for k in keys), default=0)
        state.next_request = max(int(run.get("state", {}).get("next_request", 0)), on_disk)
        state.written = {k for k in keys if k[0] >= state.next_request}
        for record in pool.records:
            key = _key(record)
            state._requests.append(key[0] if key else -1)
        if any(b < a for a, b in zip(state._requests, state._requests[1:], strict=False)):
            state.close()
            raise PoolError(f"{out / TASKS}: records are not in request order; was it edited? use a new --out")
        duplicate = _first_duplicate(pool.records)
        if duplicate is not None:
            state.close()
            later, earlier = duplicate
            raise PoolError(
                f"{out / TASKS}: record {later} repeats record {earlier} (a line copied twice?); delete the copy, then "
                "run again"
            )
        return state

    def candidates_of(self, request: int) -> dict[int, str]:
        """The instructions of `request`'s candidates on disk, accepted or rejected, by candidate index."""
        found: dict[int, str] = {}
        for record in (*self.pool.records, *self.rejected.records):
            key, text = _key(record), record.get("instruction")
            if key is not None and key[0] == request and key[1] >= 0 and isinstance(text, str):
                found[key[1]] = text
        return found

    def pool_count_through(self, request: int) -> int:
        """How many pool tasks came from requests <= `request` (a prefix of the pool)."""
        if request < 0:
            return sum(1 for r in self._requests if r < 0)
        return bisect.bisect_right(self._requests, request)

    async def commit(self, request: int, tasks: list[dict[str, Any]], rejected: list[dict[str, Any]]) -> None:
        """Write one request's outcome: rejected first, then tasks, each on disk before the next write (the
        fsyncs in a thread); the caller then saves run.json."""
        await self.rejected.append_async(rejected)
        await self.pool.append_async(tasks)
        for t in tasks:
            key = _key(t)
            self._requests.append(key[0] if key else request)

    def write_seeds(self, seeds: list[Task]) -> None:
        with atomic_writer(self.out / SEEDS) as fh:
            fh.writelines(json.dumps(t.to_dict(), ensure_ascii=False) + "\n" for t in seeds)

    def save(self, **sections: Any) -> None:
        """Rewrite run.json atomically with the given sections merged in."""
        self.run.update(sections)
        self.run["version"] = RUN_VERSION
        self.run["updated_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with atomic_writer(self.out / RUN) as fh:
            json.dump(self.run, fh, ensure_ascii=False, indent=2)
            fh.write("\n")

    def close(self) -> None:
        self.pool.close()
        self.rejected.close()


def _first_duplicate(records: Sequence[dict[str, Any]]) -> tuple[int, int] | None:
    """The first pool record (1-based) with the id or (request, candidate) key of an earlier one, and that one."""
    seen: dict[object, int] = {}
    for number, record in enumerate(records, start=1):
        marks = [("id", record["id"])] if isinstance(record.get("id"), str) else []
        key = _key(record)
        if key is not None:
            marks.append(("key", key))
        for mark in marks:
            if mark in seen:
                return number, seen[mark]
        for mark in marks:
            seen[mark] = number
    return None


def _has_data(path: Path) -> bool:
    return path.exists() and path.stat().st_size > 0


def read_run(path: Path) -> dict[str, Any]:
    """run.json, checked for the shape a resume relies on; anything else is one clear PoolError."""
    fix = "restore it from a backup, or start again with a new --out"
    try:
        run = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise PoolError(f"{path}: not UTF-8 text; {fix}") from None
    except json.JSONDecodeError as exc:
        raise PoolError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg}); {fix}") from None
    except RecursionError:
        raise PoolError(f"{path}: JSON nested too deeply to be a run record; {fix}") from None
    except OSError as exc:
        raise PoolError(f"{path}: cannot read: {exc.strerror}") from None
    if not isinstance(run, dict):
        raise PoolError(f"{path}: expected a JSON object, found {_kind(run)}; {fix}")
    for section in ("settings", "state", "usage", "counts", "seed_classification"):
        if section in run and not isinstance(run[section], dict):
            raise PoolError(f'{path}: "{section}" must be an object, found {_kind(run[section])}; {fix}')
    state = run.get("state", {})
    for name in ("next_request", "seed", "target"):
        value = state.get(name)
        if name in state and not is_count(value) and not (name == "seed" and value is None):
            raise PoolError(f'{path}: "state.{name}" must be a whole number >= 0, found {json.dumps(value)}; {fix}')
    for step, values in run.get("usage", {}).items():
        if not isinstance(values, dict) or not all(is_count(v) for v in values.values()):
            raise PoolError(f'{path}: "usage.{step}" must map counter names to whole numbers; {fix}')
    for task_id, verdict in run.get("seed_classification", {}).items():
        if not isinstance(verdict, bool):
            raise PoolError(f'{path}: "seed_classification.{task_id}" must be true or false; {fix}')
    return run


def input_fingerprint(seeds: Sequence[Task], prompts: PromptSet, templates: Sequence[str]) -> dict[str, Any]:
    """Content hashes of what the run reads besides its options: the seed set and the templates it uses.

    Hashing content (not paths) lets a moved seed file resume, and refuses an edited one."""
    canonical = "\n".join(json.dumps(t.to_dict(), ensure_ascii=False, sort_keys=True) for t in seeds)
    return {
        "seeds": hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
        "prompts": {name: prompts[name].sha256 for name in sorted(templates)},
    }


def _check_compatible(path: Path, saved: dict[str, Any], current: dict[str, Any]) -> None:
    for key, value in current.items():
        if key == "seed" and value is None:
            continue  # not given now: the saved seed is reused
        if key not in saved:
            continue  # recorded by an older version: nothing to compare with
        old = saved[key]
        if key == "params" and isinstance(old, dict) and isinstance(value, dict):
            # The steps of this run's method only: run.json files written before issue 22 recorded every registered
            # method's steps, and a method registered since adds steps this run never uses.
            old = {step: old.get(step) for step in value}
        diff = _first_difference(key, old, _jsonish(value))
        if diff is not None:
            where, old, new = diff
            raise PoolError(
                f"{path.parent} was generated with {where}={_show(old)}, not {_show(new)}; "
                "resume with the same settings or use a new --out"
            )


def _first_difference(where: str, old: Any, new: Any) -> tuple[str, Any, Any] | None:
    """The first differing leaf of two JSON values, by dotted path (so a refusal names one setting)."""
    if old == new:
        return None
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            diff = _first_difference(f"{where}.{key}", old.get(key), new.get(key))
            if diff is not None:
                return diff
    return where, old, new


def _show(value: Any) -> str:
    if isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value):
        return f"sha256:{value[:12]}"  # a content hash: its prefix is enough to tell two apart
    return json.dumps(value, ensure_ascii=False)


def _kind(value: Any) -> str:
    return {list: "a list", str: "a string", int: "a number", float: "a number", bool: "true/false"}.get(
        type(value), "null" if value is None else type(value).__name__
    )


def _jsonish(value: Any) -> Any:
    return json.loads(json.dumps(value, ensure_ascii=False))
