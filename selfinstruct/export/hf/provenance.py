"""How a dataset was made, from what a run directory recorded (run.json, seeds.jsonl, rejected.jsonl) and
the stats of its pool: the facts a dataset card reports. Nothing is guessed: what was not recorded is listed
as such. The API key is never in run.json, and the endpoint's address is reduced to its kind.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from selfinstruct.audit.summary import find_summary
from selfinstruct.engine.local.server import DEFAULT_MODEL_NAME
from selfinstruct.stats.usage import step_costs, step_models
from selfinstruct.version import __version__

OPENAI_HOST = "api.openai.com"
SETTING_KEYS = ("language", "threshold", "filters", "window", "demos", "machine_demos", "new_per_request",
                "max_instances", "classifier")  # fmt: skip


@dataclass
class HeadlineStats:
    """The figures of `selfinstruct stats` a card shows (the pool of the source, not only the exported rows)."""

    tasks: int
    instances: int
    classification_share: float
    empty_input_share: float
    length_unit: str
    lengths: dict[str, tuple[float, float, float]]  # instruction/input/output: median, p90, max
    similarity_counts: list[int]  # tasks per 0.1 bin of ROUGE-L to the most similar earlier task or seed
    acceptance_rate: float | None
    rejected_by_reason: dict[str, int]  # "stage:reason" -> count, from rejected.jsonl
    # The paper's Figure 3: tasks per 0.1 bin of ROUGE-L to the most similar seed (None: no seeds known).
    seed_similarity_counts: list[int] | None = None
    # Per benchmark (name, items, n, threshold, checked, removed), when the source was decontaminated.
    contamination: list[dict[str, Any]] | None = None


@dataclass
class Provenance:
    source: str  # the directory or file name, not its full path
    kind: str  # "run" or "file"
    tool: str = f"selfinstruct {__version__}"  # the exporting version; run.json does not record the generating one
    model: str | None = None
    api: str | None = None  # chat or completions
    endpoint_kind: str | None = None
    mode: str | None = None
    status: str | None = None
    generation_seed: int | None = None
    target: int | None = None
    updated_at: str | None = None
    seeds_count: int | None = None
    seeds_sha256: str | None = None
    prompts: dict[str, str] = field(default_factory=dict)  # template name -> sha256
    settings: dict[str, Any] = field(default_factory=dict)
    params: dict[str, dict[str, Any]] = field(default_factory=dict)  # step -> temperature, top_p, max_tokens
    usage: dict[str, dict[str, int]] = field(default_factory=dict)
    models: dict[str, str] = field(default_factory=dict)  # step -> the model its requests went to
    costs: dict[str, float] = field(default_factory=dict)  # step -> USD at its model's prices, where recorded
    counts: dict[str, Any] = field(default_factory=dict)  # accepted, rejected, rejected_by_reason
    stats: HeadlineStats | None = None
    rejections_recorded: bool = False  # the run directory has a rejected.jsonl
    not_recorded: list[str] = field(default_factory=list)
    audit: dict[str, Any] | None = None  # audit_summary.json of the source, when it was audited


def headline_stats(source: Path) -> HeadlineStats:
    """The one place that calls the stats module (it may be reorganised; keep the call here)."""
    from selfinstruct.stats.compute import compute_stats

    s = compute_stats(source, parse_verbs=False)
    lengths = {name: (d.median, d.p90, d.max) for name, d in s.lengths.items() if d.count}
    run = s.run
    return HeadlineStats(
        tasks=s.tasks,
        instances=s.instances,
        classification_share=s.classification_share,
        empty_input_share=s.empty_input_share,
        length_unit=s.length_unit,
        lengths=lengths,
        similarity_counts=list(s.similarity_counts),
        acceptance_rate=run.acceptance_rate if run else None,
        rejected_by_reason=dict(run.rejected_by_reason) if run else {},
        seed_similarity_counts=list(s.seed_similarity_counts) if s.seed_similarity_counts is not None else None,
        contamination=s.contamination,
    )


def endpoint_kind(base_url: str, model: str | None) -> str:
    """What served the model, without its address (which may name an internal host or carry credentials)."""
    host = (urlsplit(base_url).hostname or "").lower()
    if host == OPENAI_HOST:
        return "OpenAI API"
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if loopback and model == DEFAULT_MODEL_NAME:
        return "selfinstruct's embedded model (llama.cpp server on the generating machine)"
    if loopback:
        return "an OpenAI-compatible server on the generating machine (e.g. vLLM, Ollama, llama.cpp)"
    return "a remote OpenAI-compatible server (its address is in run.json, not copied here)"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def gather(source: Path, run: dict[str, Any]) -> Provenance:
    """The provenance of `source` (a run directory and its run.json, or a plain task file)."""
    if not source.is_dir():
        prov = Provenance(source.name, "file", stats=headline_stats(source), audit=find_summary(source))
        prov.not_recorded.append(
            "the source is a task file, not a run directory: the generator model, endpoint, mode, seeds, "
            "prompt templates, settings and rejections were not recorded"
        )
        return prov
    settings = _dict(run.get("settings"))
    state = _dict(run.get("state"))
    prov = Provenance(
        source=source.resolve().name, kind="run", stats=headline_stats(source), audit=find_summary(source)
    )
    prov.model = settings.get("model") or None
    prov.api = settings.get("api")
    prov.mode = settings.get("mode")
    prov.status = run.get("status")
    prov.generation_seed = state.get("seed", settings.get("seed"))
    prov.target = state.get("target")
    prov.updated_at = run.get("updated_at")
    base_url = _dict(run.get("endpoint")).get("base_url")
    if isinstance(base_url, str) and base_url:
        prov.endpoint_kind = endpoint_kind(base_url, prov.model)
    prov.settings = {k: settings[k] for k in SETTING_KEYS if k in settings}
    prov.params = {
        step: {k: v for k, v in _dict(values).items() if k in ("temperature", "top_p", "max_tokens")}
        for step, values in sorted(_dict(settings.get("params")).items())
    }
    prov.prompts = {name: str(_dict(t).get("sha256", "")) for name, t in sorted(_dict(run.get("prompts")).items())}
    seeds_file = source / "seeds.jsonl"
    prov.seeds_count = _dict(run.get("seeds")).get("count")
    if seeds_file.is_file():
        prov.seeds_sha256 = _sha256(seeds_file)
    prov.usage = {
        step: {k: int(v) for k, v in _dict(nums).items() if k in ("requests", "prompt_tokens", "completion_tokens")}
        for step, nums in sorted(_dict(run.get("usage")).items())
    }
    prov.models = step_models(run, list(prov.usage))
    prov.costs = step_costs(run, prov.usage)
    prov.counts = _dict(run.get("counts"))
    prov.rejections_recorded = (source / "rejected.jsonl").is_file()
    if not prov.rejections_recorded and prov.stats is not None:
        prov.stats.acceptance_rate = None  # no rejected.jsonl: 100% would be made up
    prov.not_recorded.append("the selfinstruct version that generated the run (run.json has none)")
    missing = {
        "the generator model": prov.model,
        "the endpoint": prov.endpoint_kind,
        "the mode": prov.mode,
        "the seed tasks (seeds.jsonl)": prov.seeds_sha256,
        "the prompt templates": prov.prompts or None,
        "the run's random seed": prov.generation_seed,
        "the token usage": prov.usage or None,
        "the rejected candidates (rejected.jsonl)": True if prov.rejections_recorded else None,
    }
    prov.not_recorded += [what for what, value in missing.items() if value is None]
    return prov
