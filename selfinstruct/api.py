"""The library: one call per command, with typed options, as `selfinstruct <command>` runs it. The names
are not the commands' where a subpackage has the command's name (`selfinstruct.export` is the package).

Each call resolves its options once (checked together, defaults filled in; bad values raise InputError, as
the flags exit 2), runs, and returns what the command would print a summary of. From Python nothing is read
from the environment: pass the key and endpoint you mean.

Example:
    >>> import selfinstruct
    >>> report = selfinstruct.generate(selfinstruct.GenerateOptions(n=20, out="data/quickstart"))  # doctest: +SKIP
    >>> selfinstruct.export_pool("data/quickstart", "openai-chat", "train.jsonl").written  # doctest: +SKIP
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from selfinstruct.audit.dry_run import dry_run_audit
from selfinstruct.audit.run import AuditReport
from selfinstruct.audit.run import audit as run_audit
from selfinstruct.audit.settings import AuditOptions, resolve_audit_settings
from selfinstruct.engine.endpoint import Notice
from selfinstruct.engine.job_estimate import JobDryRun
from selfinstruct.errors import InputError
from selfinstruct.export.options import resolve_export_settings
from selfinstruct.export.result import ExportResult
from selfinstruct.export.write import export_data
from selfinstruct.io.seeds import SeedSummary
from selfinstruct.io.seeds import validate_seeds as validate
from selfinstruct.methods.options import MethodOption
from selfinstruct.methods.registry import METHODS
from selfinstruct.methods.registry import method_options as registered_options
from selfinstruct.pipeline.decontaminate import DecontaminateReport, DecontaminateSettings, decontaminate_file
from selfinstruct.pipeline.estimate import DryRun
from selfinstruct.pipeline.estimate import dry_run as estimate_run
from selfinstruct.pipeline.filter_file import FilterReport
from selfinstruct.pipeline.filter_file import filter_file as run_filter
from selfinstruct.pipeline.filter_settings import FilterSettings
from selfinstruct.pipeline.generate import generate as run_generate
from selfinstruct.pipeline.prefer.dry_run import dry_run_prefer
from selfinstruct.pipeline.prefer.run import PreferReport
from selfinstruct.pipeline.prefer.run import prefer as run_prefer
from selfinstruct.pipeline.prefer.settings import PreferOptions, resolve_prefer_settings
from selfinstruct.pipeline.report import RunReport
from selfinstruct.pipeline.respond.dry_run import dry_run_respond
from selfinstruct.pipeline.respond.run import RespondReport
from selfinstruct.pipeline.respond.run import respond as run_respond
from selfinstruct.pipeline.respond.settings import RespondOptions, resolve_respond_settings
from selfinstruct.pipeline.scheduler import Progress
from selfinstruct.pipeline.settings import GenerateOptions, resolve_generate_settings
from selfinstruct.stats.report import Stats


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr)


def generate(options: GenerateOptions, *, progress: Progress | None = None, notice: Notice = _to_stderr) -> RunReport:
    """Grow the pool in `options.out` to `options.n` tasks (or resume it); `notice` hears one-line notes.

    A method's own options go in `options.method_options`, by name (its flag without the dashes), typed:
    `{"rounds": 2}` (int, 1-100, default 4) for evol-instruct, `{"pre_query_template": "<|im_start|>user\\n"}`
    (str) for magpie; `selfinstruct.method_options()` lists them all. They are checked as the flags are, and
    one the method does not take is an InputError.
    """
    return run_generate(resolve_generate_settings(options), progress=progress, notice=notice)


def method_options(method: str | None = None) -> dict[str, MethodOption[Any]]:
    """The methods' own options (for `GenerateOptions.method_options`), by name: every registered method's, or
    those `method` takes. Each says its type, default, range or choices and help."""
    if method is not None and method not in METHODS:
        raise InputError(f"unknown method {method!r}; choose one of: {', '.join(METHODS)}")
    return {name: spec for name, (spec, takers) in registered_options().items() if method in (None, *takers)}


def estimate(options: GenerateOptions) -> DryRun:
    """What `generate` would ask and cost (`--dry-run`): one rendered prompt per step, requests and tokens."""
    return estimate_run(resolve_generate_settings(options))


def audit_pool(options: AuditOptions, *, progress: Progress | None = None, notice: Notice = _to_stderr) -> AuditReport:
    """Rate a pool with a judge (the paper's questions and a 0-5 score); resumes from its journal."""
    return run_audit(resolve_audit_settings(options), progress=progress, notice=notice)


def estimate_audit(options: AuditOptions) -> JobDryRun:
    """What `audit` would ask and cost (`--dry-run`)."""
    return dry_run_audit(resolve_audit_settings(options))


def respond_pool(
    options: RespondOptions, *, progress: Progress | None = None, notice: Notice = _to_stderr
) -> RespondReport:
    """Answer a pool's instructions with one or more models into `options.out` (`respond`); resumes from its
    journal."""
    return run_respond(resolve_respond_settings(options), progress=progress, notice=notice)


def estimate_respond(options: RespondOptions) -> JobDryRun:
    """What `respond` would ask and cost (`--dry-run`): one rendered prompt per template, requests, tokens."""
    return dry_run_respond(resolve_respond_settings(options))


def estimate_prefer(options: PreferOptions) -> JobDryRun:
    """What `prefer` would ask the judge and cost (`--dry-run`): one rendered prompt per template, requests."""
    return dry_run_prefer(resolve_prefer_settings(options))


def prefer_answers(
    options: PreferOptions, *, progress: Progress | None = None, notice: Notice = _to_stderr
) -> PreferReport:
    """Rate the answers of a respond run with a judge and build preference pairs (`prefer`); resumes from its
    journal."""
    return run_prefer(resolve_prefer_settings(options), progress=progress, notice=notice)


def filter_file(settings: FilterSettings, *, progress: Callable[[int], object] | None = None) -> FilterReport:
    """Clean any instruction dataset with the Self-Instruct filters (`filter`)."""
    return run_filter(settings, progress)


def decontaminate(
    settings: DecontaminateSettings, *, progress: Callable[[int], object] | None = None
) -> DecontaminateReport:
    """Remove the records that reproduce benchmark items (`decontaminate`): clean.jsonl, contaminated.jsonl and
    summary.json in `settings.out`."""
    return decontaminate_file(settings, progress)


def compute_stats(path: str | Path, *, verbs: bool = True, sample: int = 10, seed: int = 0) -> Stats:
    """A pool's statistics (`stats`): counts, lengths, novelty, diversity, verbs, a sample to review."""
    from selfinstruct.stats.compute import compute_stats as compute

    return compute(Path(path), parse_verbs=verbs, sample=sample, seed=seed)


def export_pool(path: str | Path, fmt: str, out: str | Path, **options: Any) -> ExportResult:
    """Export a pool in a trainer's format (`export`); `options` as `export.options.resolve_export_settings`
    takes them (instances_per_task, include_seeds, seed, shuffle, validation_split, eos, roles, system,
    min_score, audit)."""
    return export_data(resolve_export_settings(path, fmt, out, **options))


def validate_seeds(path: str | Path) -> SeedSummary:
    """Check a seed file and summarise it (`validate`)."""
    return validate(path)
