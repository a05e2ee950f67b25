"""Domain errors. Library code raises these; only cli.py turns them into messages and exit codes."""

from __future__ import annotations

import signal
from pathlib import Path


class SelfInstructError(Exception):
    """Base class: a failure the user can act on, with a one-line message."""

    exit_code = 1


class InputError(SelfInstructError):
    """Bad input from the user (file or option). Nothing has been written when this is raised."""

    exit_code = 2

    def __init__(self, message: str, *, path: Path | str | None = None, line: int | None = None) -> None:
        self.path = None if path is None else str(path)
        self.line = line
        self.reason = message
        where = ""
        if self.path is not None:
            where = f"{self.path}:{line}: " if line is not None else f"{self.path}: "
        super().__init__(where + message)


class ClassificationSeedsError(InputError):
    """Too few classification seeds for --classification-only; for seeds without is_classification this is
    known only once the run has classified them."""


class PoolError(SelfInstructError):
    """The task pool on disk cannot be used as it is (e.g. written by another run's settings)."""

    exit_code = 2


class EndpointError(SelfInstructError):
    """The LLM endpoint failed in a way retries cannot heal (auth, unknown model, server gone)."""

    exit_code = 1


class LocalModelError(SelfInstructError):
    """The embedded local model cannot be started."""

    exit_code = 1


class EmptyExportError(SelfInstructError):
    """The export (or a `filter --min-score` selection) would hold no record: a file no trainer can load is not
    written."""

    exit_code = 1


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP (Slurm, Kubernetes, a closed SSH session): the run ends as for Ctrl-C, its output intact.

    A KeyboardInterrupt, so that every cleanup written for Ctrl-C runs; the CLI exits 128 + the signal number."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.exit_code = 128 + signum
        super().__init__(signal.Signals(signum).name)
