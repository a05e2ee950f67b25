"""`batches.jsonl`, the batch engine's ledger: every request file a run uploaded, the custom_ids it holds, its
endpoint path, the endpoint and model it went to, and the batch made of it; what lets a restart wait for batches
in flight instead of paying again.

A run whose steps go to several endpoints or models (generate's --step-model/--step-base-url) keeps one ledger,
each batching client reading back the files of its own endpoint only (`owner_of`), so that a restart polls and
collects every batch where it was created, with that endpoint's key. A file line records its endpoint as
run.json records a step's: the URL without credentials, the model and where the key came from, never the key.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from selfinstruct.errors import InputError

LEDGER = "batches.jsonl"

Endpoint = Mapping[str, str]  # {"base_url": URL without credentials, "model": ..., "api_key": main|none|env:VAR}


def owner_of(found: Endpoint | None, endpoints: Sequence[Endpoint]) -> int:
    """Which of a run's `endpoints` (the main one first) a file recorded at `found` belongs to: the one at the same
    URL with the same model (and key source, should two differ by that alone); else one with the same model (a
    server that moved); else the main one, as for a line written before files recorded their endpoint."""
    if found is None:
        return 0
    for same in (("base_url", "model", "api_key"), ("base_url", "model"), ("model",)):
        for i, endpoint in enumerate(endpoints):
            if all(endpoint.get(k) == found.get(k) for k in same):
                return i
    return 0


class BatchLedger:
    """`batches.jsonl`: every request file this run uploaded with its custom_ids, and the batch made of it.

    The file line is written (fsync'd) before the batch is created and the batch line right after, so a kill at
    any point leaves either a file with no batch (the restart finds the batch by its input file, or creates it)
    or a batch to wait for: the billable step is never repeated.
    """

    def __init__(
        self, path: Path, endpoint: Endpoint | None = None, mine: Callable[[Endpoint | None], bool] | None = None
    ) -> None:
        self.path = path
        self.endpoint = dict(endpoint) if endpoint is not None else None  # recorded with each file written
        self._mine = mine  # which lines (by their recorded endpoint) are this client's; None: all of them
        self.files: dict[str, list[str]] = {}  # file id -> custom_ids
        self.batch_of: dict[str, str] = {}  # file id -> batch id
        self.steps: dict[str, dict[str, int]] = {}  # file id -> requests per pipeline step, for progress lines
        self.paths: dict[str, str] = {}  # file id -> the endpoint path of its lines (absent: the endpoint's API)
        if path.exists():
            self._read()

    def _read(self) -> None:
        lines = self.path.read_bytes().split(b"\n")
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                if not self._claims(record.get("endpoint")):
                    continue  # another endpoint's (file and batch ids are its own: they may repeat across servers)
                if "batch" in record:
                    self.batch_of[str(record["file"])] = str(record["batch"])
                else:
                    self.files[str(record["file"])] = [str(c) for c in record["custom_ids"]]
                    self.steps[str(record["file"])] = {str(k): int(v) for k, v in record.get("steps", {}).items()}
                    if "path" in record:
                        self.paths[str(record["file"])] = str(record["path"])
            except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, AttributeError):
                if all(not rest.strip() for rest in lines[number:]):
                    # Torn by a kill during the append: what it recorded is done again (an upload, or the lookup
                    # of a batch by its file), never a second batch.
                    with self.path.open("r+b") as f:
                        f.truncate(sum(len(x) + 1 for x in lines[: number - 1]))
                    return
                raise InputError(
                    f"{self.path}:{number}: not a batch record; the run directory is damaged "
                    "(restore the line or start a new --out)"
                ) from None

    def _claims(self, found: Any) -> bool:
        endpoint = None if found is None else {str(k): str(v) for k, v in found.items()}
        return self._mine is None or self._mine(endpoint)

    def _append(self, record: dict[str, Any]) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
        try:
            os.write(fd, (json.dumps(record) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def add_file(
        self, file_id: str, ids: list[str], steps: dict[str, int] | None = None, path: str | None = None
    ) -> None:
        record: dict[str, Any] = {"file": file_id, "custom_ids": ids, "steps": steps or {}}
        if self.endpoint is not None:
            record["endpoint"] = self.endpoint
        if path is not None:
            record["path"] = path
            self.paths[file_id] = path
        self._append(record)
        self.files[file_id] = ids
        self.steps[file_id] = steps or {}

    def add_batch(self, file_id: str, batch_id: str) -> None:
        self._append({"file": file_id, "batch": batch_id} | ({"endpoint": self.endpoint} if self.endpoint else {}))
        self.batch_of[file_id] = batch_id

    @property
    def batches(self) -> dict[str, list[str]]:
        """Batch id -> custom_ids, oldest first."""
        return {self.batch_of[f]: ids for f, ids in self.files.items() if f in self.batch_of}

    def attempts(self, cid: str) -> list[str]:
        """The request files that held this request, oldest first."""
        return [f for f, ids in self.files.items() if cid in ids]
