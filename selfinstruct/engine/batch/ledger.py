"""`batches.jsonl`, the batch engine's ledger: every request file a run uploaded, the custom_ids it holds, its
endpoint path, and the batch made of it; what lets a restart wait for batches in flight instead of paying again."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from selfinstruct.errors import InputError

LEDGER = "batches.jsonl"


class BatchLedger:
    """`batches.jsonl`: every request file this run uploaded with its custom_ids, and the batch made of it.

    The file line is written (fsync'd) before the batch is created and the batch line right after, so a kill at
    any point leaves either a file with no batch (the restart finds the batch by its input file, or creates it)
    or a batch to wait for: the billable step is never repeated.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
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
                if "batch" in record:
                    self.batch_of[str(record["file"])] = str(record["batch"])
                else:
                    self.files[str(record["file"])] = [str(c) for c in record["custom_ids"]]
                    self.steps[str(record["file"])] = {str(k): int(v) for k, v in record.get("steps", {}).items()}
                    if "path" in record:
                        self.paths[str(record["file"])] = str(record["path"])
            except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError):
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
        if path is not None:
            record["path"] = path
            self.paths[file_id] = path
        self._append(record)
        self.files[file_id] = ids
        self.steps[file_id] = steps or {}

    def add_batch(self, file_id: str, batch_id: str) -> None:
        self._append({"file": file_id, "batch": batch_id})
        self.batch_of[file_id] = batch_id

    @property
    def batches(self) -> dict[str, list[str]]:
        """Batch id -> custom_ids, oldest first."""
        return {self.batch_of[f]: ids for f, ids in self.files.items() if f in self.batch_of}

    def attempts(self, cid: str) -> list[str]:
        """The request files that held this request, oldest first."""
        return [f for f, ids in self.files.items() if cid in ids]
