"""Everything `selfinstruct audit` needs, resolved once: CLI flag, then environment, then defaults."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from selfinstruct.engine.endpoint import (
    check_base_url,
    job_endpoint,
    refuse_embedded_language,
    with_reasoning_room,
)
from selfinstruct.engine.jobs import Spending
from selfinstruct.engine.options import ENGINE_BOUNDS, Bound, EngineOptions, check_bounds, check_choices
from selfinstruct.engine.types import Api, EndpointSettings, StepParams
from selfinstruct.errors import InputError
from selfinstruct.io.rundir import RUN, TASKS
from selfinstruct.text import Language

JOURNAL = "audit.jsonl"

# Greedy, so that a deterministic endpoint gives the same verdict for the same prompt and seed; 256 tokens
# hold the JSON verdict with a long reason. The embedded model gets fewer: it rambles, slowly.
JUDGE_PARAMS = StepParams(temperature=0.0, top_p=1.0, max_tokens=256)
LOCAL_JUDGE_PARAMS = StepParams(temperature=0.0, top_p=1.0, max_tokens=80)


@dataclass(frozen=True)
class AuditSettings:
    source: Path  # what the user named: a run directory or a task file
    tasks_file: Path
    journal: Path
    endpoint: EndpointSettings
    language: Language = "en"
    prompts_dir: Path | None = None
    sample: int | None = None
    seed: int = 0
    params: StepParams = JUDGE_PARAMS
    # the embedded judge or the endpoint, the caps at the prices, --batch (one batch for the whole audit, plus one
    # for the retries): engine.jobs.Spending, as respond's and prefer's
    spending: Spending = field(default_factory=Spending)
    dry_run: bool = False

    @property
    def local(self) -> bool:
        """No judge endpoint given: the embedded model judges (a smoke test only)."""
        return self.spending.local

    @property
    def batch_ledger(self) -> Path:
        """audit.jsonl -> audit_batches.jsonl: the batches this audit submitted (so a restart waits for them)."""
        return self.journal.with_name(self.journal.name.removesuffix(".jsonl") + "_batches.jsonl")

    @property
    def responses(self) -> Path:
        """audit.jsonl -> audit_responses.jsonl: the judge's replies and the attempts charged (the budget's ledger)."""
        return self.journal.with_name(self.journal.name.removesuffix(".jsonl") + "_responses.jsonl")

    @property
    def summary_path(self) -> Path:
        """audit.jsonl -> audit_summary.json, pool.audit.jsonl -> pool.audit_summary.json."""
        return summary_path(self.journal)


def tasks_file_of(source: Path) -> Path:
    """The task file behind a run directory or a file argument; a missing one is an InputError."""
    if source.is_dir():
        path = source / TASKS
        if not path.is_file():
            raise InputError(f"no {TASKS} here; pass a run directory of `selfinstruct generate` or a task file",
                             path=source)  # fmt: skip
        return path
    if not source.exists():
        raise InputError("not found; pass a run directory or a task file", path=source)
    return source


def summary_path(journal: Path) -> Path:
    """audit.jsonl -> audit_summary.json, pool.audit.jsonl -> pool.audit_summary.json."""
    return journal.with_name(journal.name.removesuffix(".jsonl") + "_summary.json")


def default_journal(source: Path) -> Path:
    """Where the audit of a source lives: RUN_DIR/audit.jsonl (also for RUN_DIR/tasks.jsonl), else next to
    the file as NAME.audit.jsonl, so that `audit` and `filter --min-score` find the same journal."""
    if source.is_dir():
        return source / JOURNAL
    if source.name == TASKS:
        return source.parent / JOURNAL
    return source.with_name(source.stem + "." + JOURNAL)


def run_language(source: Path) -> Language:
    """The language a run directory (or the run of a task file) was generated in, from its run.json; "en"."""
    run = (source if source.is_dir() else source.parent) / RUN
    try:
        language = json.loads(run.read_text(encoding="utf-8")).get("settings", {}).get("language")
    except (OSError, ValueError, AttributeError):
        return "en"
    return "zh" if language == "zh" else "en"


@dataclass(frozen=True)
class AuditOptions(EngineOptions):
    """`audit`'s options as a user gives them, one per flag (None: not given, the default applies); from
    Python the environment is not read: pass what you mean.

    Attributes:
        source: a run directory or a task file.
        sample: audit a seeded random sample of this many tasks (default: all). seed: the sample's seed.
        judge_model, judge_base_url, api_key: the judge; with neither URL nor key, the embedded model.
        api: "chat" or "completions". language: the templates' language (default: the run's).
        out: the audit journal (default: audit.jsonl beside the pool).
    """

    source: str | Path = "."
    sample: int | None = None
    seed: int = 0
    judge_model: str | None = None
    judge_base_url: str | None = None
    api_key: str | None = None
    api: Api | None = None
    language: Language | None = None
    out: str | Path | None = None


AUDIT_CHOICES: dict[str, tuple[str, ...]] = {"api": ("chat", "completions"), "language": ("en", "zh")}
AUDIT_BOUNDS: dict[str, Bound] = {"sample": Bound(1, integer=True), "seed": Bound(integer=True)}


def resolve_audit_settings(o: AuditOptions) -> AuditSettings:
    """The options (the CLI's: flag, then environment; from Python: as given) as one settings object; bad
    values are InputErrors before anything runs."""
    check_bounds(o, ENGINE_BOUNDS | AUDIT_BOUNDS)
    check_choices(o, AUDIT_CHOICES)
    source = Path(o.source)
    tasks_file = tasks_file_of(source)
    if o.out is not None and not str(o.out).strip():
        raise InputError("--out is empty; give a file for the audit journal, or leave --out out for the default")
    journal = Path(o.out) if o.out else default_journal(source)
    if journal.is_dir():
        raise InputError(f"--out {journal} is a directory; give a file path for the audit journal")
    if journal.resolve() == tasks_file.resolve():
        raise InputError("--out must not be the task file itself; give another file for the audit journal")
    judge = resolve_judge(o, language=o.language or run_language(source))
    prompts_dir = Path(o.prompts_dir) if o.prompts_dir else None
    return AuditSettings(
        source=source,
        tasks_file=tasks_file,
        journal=journal,
        endpoint=judge.endpoint,
        language=judge.language,
        prompts_dir=prompts_dir,
        sample=o.sample,
        seed=o.seed if o.seed is not None else 0,
        params=judge.params,
        spending=Spending.of(o, local=judge.local, local_model=judge.local_model),
        dry_run=bool(o.dry_run),
    )


@dataclass(frozen=True)
class Judge:
    """A judge as the options name it: its endpoint (the embedded model when `local`), greedy parameters."""

    endpoint: EndpointSettings
    params: StepParams
    local: bool
    local_model: Path | None
    language: Language


def resolve_judge(
    o: EngineOptions,
    *,
    language: Language,
    default: StepParams = JUDGE_PARAMS,
    local_default: StepParams = LOCAL_JUDGE_PARAMS,
) -> Judge:
    """The judge of `audit` and `prefer` from their options (judge_model, judge_base_url, api_key, api and the
    engine's): with neither URL nor key, the embedded model. Bad values are InputErrors."""
    model_name: str | None = getattr(o, "judge_model", None)
    base_url = check_base_url(getattr(o, "judge_base_url", None) or None, "--judge-base-url")
    api_key = getattr(o, "api_key", None) or ""
    local = not base_url and not api_key
    local_model = Path(o.local_model) if o.local_model else None
    if local_model is not None and not local:
        raise InputError("--local-model serves a GGUF locally; it cannot be combined with --judge-base-url or a key")
    if local_model is not None:
        from selfinstruct.engine.local.server import gguf_problem

        if (problem := gguf_problem(local_model)) is not None:
            raise InputError(f"--local-model: {problem}", path=local_model)
    api: Api = getattr(o, "api", None) or "chat"
    model = model_name or ("gpt-4o-mini" if api_key and not base_url else "")
    if o.batch and local:
        raise InputError(
            "--batch needs a judge endpoint with the Batch API (--judge-base-url or a key); the embedded model has none"
        )
    if local and local_model is None:
        refuse_embedded_language(language, "--judge-base-url")
    endpoint = job_endpoint(o, base_url=base_url, api_key=api_key, model=model, api=api, local=local)
    params = local_default if local else with_reasoning_room({"judge": default}, model, api)["judge"]
    return Judge(endpoint, params, local, local_model, language)
