"""A run's output directory: tasks.jsonl (the pool), rejected.jsonl, seeds.jsonl and run.json.

Requests are committed in request order. run.json's `next_request` is the first request not yet fully
committed; records on disk from that request onwards (a crash mid-commit) are remembered by their
(request, candidate) key so that re-committing the request skips them: no duplicate, no loss.
"""

from __future__ import annotations

import bisect
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from selfinstruct.errors import PoolError
from selfinstruct.filters.rouge import NearDuplicateIndex
from selfinstruct.pool import JsonlLog, Repair, TaskPool
from selfinstruct.records import atomic_writer
from selfinstruct.tasks import Task

RUN_VERSION = 1
TASKS = "tasks.jsonl"
REJECTED = "rejected.jsonl"
SEEDS = "seeds.jsonl"
RUN = "run.json"


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
            try:
                run = json.loads(run_path.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise PoolError(f"{run_path}: not valid JSON; restore it or use a new --out") from None
            _check_compatible(run_path, run.get("settings", {}), fingerprint)
        elif any(_has_data(out / name) for name in (TASKS, REJECTED)):
            # Empty logs without run.json are a run killed while starting (the logs open before run.json is
            # first written): nothing was generated, so it simply starts again.
            raise PoolError(f"{out} holds generated records but {run_path} is missing; use a new --out or restore it")
        # The pool does not own the index: the bootstrap indexes each instruction the moment it is accepted
        # (later candidates of the same response must see it before the batch is written).
        pool = TaskPool(out / TASKS)
        index.add_all(pool.instructions)
        rejected = JsonlLog(out / REJECTED)
        pool.lock()
        state = cls(out=out, pool=pool, rejected=rejected, run=run)
        state.repairs = [r for r in (pool.repair, rejected.repair) if r is not None]
        state.next_request = int(run.get("state", {}).get("next_request", 0))
        for record in pool.records:
            key = _key(record)
            state._requests.append(key[0] if key else -1)
            if key and key[0] >= state.next_request:
                state.written.add(key)
        for record in rejected.records:
            key = _key(record)
            if key and key[0] >= state.next_request:
                state.written.add(key)
        if any(b < a for a, b in zip(state._requests, state._requests[1:], strict=False)):
            raise PoolError(f"{out / TASKS}: records are not in request order; was it edited? use a new --out")
        return state

    def pool_count_through(self, request: int) -> int:
        """How many pool tasks came from requests <= `request` (a prefix of the pool)."""
        if request < 0:
            return sum(1 for r in self._requests if r < 0)
        return bisect.bisect_right(self._requests, request)

    def commit(self, request: int, tasks: list[dict[str, Any]], rejected: list[dict[str, Any]]) -> None:
        """Write one request's outcome: rejected first, then tasks; the caller then saves run.json."""
        self.rejected.append(rejected)
        self.pool.append(tasks)
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


def _has_data(path: Path) -> bool:
    return path.exists() and path.stat().st_size > 0


def _check_compatible(path: Path, saved: dict[str, Any], current: dict[str, Any]) -> None:
    for key, value in current.items():
        if key == "seed" and value is None:
            continue  # not given now: the saved seed is reused
        if key in saved and saved[key] != _jsonish(value):
            raise PoolError(
                f"{path.parent} was generated with {key}={json.dumps(saved[key], ensure_ascii=False)}, "
                f"not {json.dumps(_jsonish(value), ensure_ascii=False)}; "
                "resume with the same settings or use a new --out"
            )


def _jsonish(value: Any) -> Any:
    return json.loads(json.dumps(value, ensure_ascii=False))
