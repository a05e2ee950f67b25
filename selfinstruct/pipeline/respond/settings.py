"""Everything `selfinstruct respond` needs, resolved once: the source, the models and how they are asked."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from selfinstruct.audit.settings import run_language, tasks_file_of
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
from selfinstruct.pipeline.routes import route_endpoints, step_values
from selfinstruct.text import Language

PromptFormat = Literal["chat", "alpaca"]
STEP = "respond"
ANSWERS = "answers.jsonl"  # every response (answered or dropped, with why), in the source's order
STATE = "respond.json"  # the settings, counts and spend of the run directory
LEDGER = "responses.jsonl"  # the engine's journal: every reply and every attempt charged (the budget's ledger)
TEMPERATURE = 0.7
MAX_TOKENS = 1024
LOCAL_MAX_TOKENS = 256  # the embedded 135M model: slow, and it rambles
DEFAULT_PARAMS = StepParams(temperature=TEMPERATURE, top_p=1.0, max_tokens=MAX_TOKENS)


@dataclass(frozen=True)
class RespondSettings:
    source: Path  # what the user named: a run directory or a task file
    tasks_file: Path
    out: Path  # the run directory this command writes
    endpoint: EndpointSettings  # its model is the first --model ("" : the served one)
    models: tuple[str, ...] = ()  # every --model, in order ("": ask the endpoint, or the embedded model)
    samples: int = 1
    prompt_format: PromptFormat = "chat"
    language: Language = "en"
    prompts_dir: Path | None = None
    params: StepParams = DEFAULT_PARAMS
    seed: int = 0
    spending: Spending = field(
        default_factory=Spending
    )  # the embedded model or the endpoint, caps, prices, --batch (as prefer's)
    dry_run: bool = False
    # The models with an endpoint of their own (--model-base-url, --model-api-key-env; pipeline/routes.py), and
    # where each one's key came from ("main", "none", "env:VAR"; never the key).
    model_endpoints: dict[str, EndpointSettings] = field(default_factory=dict)
    model_keys: dict[str, str] = field(default_factory=dict)

    @property
    def local(self) -> bool:
        return self.spending.local

    @property
    def answers(self) -> Path:
        return self.out / ANSWERS

    @property
    def state(self) -> Path:
        return self.out / STATE

    @property
    def ledger(self) -> Path:
        return self.out / LEDGER

    def batch_ledger(self, model: str) -> Path:
        """The batches of one model (each model its own batching client), so that a restart waits for them."""
        return self.out / f"batches-{hashlib.sha256(model.encode('utf-8')).hexdigest()[:12]}.jsonl"


@dataclass(frozen=True)
class RespondOptions(EngineOptions):
    """`respond`'s options as a user gives them, one per flag (None: not given, the default applies); from
    Python the environment is not read: pass what you mean.

    Attributes:
        source: a run directory, or any file `filter` reads (Self-Instruct or Alpaca records, JSONL or JSON).
        out: the run directory to write (answers.jsonl, tasks.jsonl, respond.json, the journal).
        model: the models that answer, in order (the first one's answers go into tasks.jsonl); base_url and
            api_key: their endpoint; with neither, the embedded model answers.
        model_base_url, model_api_key_env: "MODEL=VALUE" each: a model's own endpoint, and the name of the
            environment variable holding its key (the rule of pipeline/routes.py).
        model_price: "MODEL=IN,OUT" each: a model's own prices in USD per 1M tokens (price_input and
            price_output price the others); under max_cost every model needs one or the other.
        samples: answers per model and instruction. system: a system message (Orca-style explanations).
        prompt_format: "chat" (the instruction, then the input) or "alpaca" (Alpaca's instance prompt).
        temperature, top_p, max_tokens: sampling. seed: the per-request seeds' root.
        api: "chat" or "completions". language: the templates' language (default: the run's).
    """

    source: str | Path = "."
    out: str | Path = ""
    model: tuple[str, ...] = ()
    base_url: str | None = None
    api_key: str | None = None
    api: Api | None = None
    samples: int = 1
    system: str | None = None
    prompt_format: PromptFormat | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    seed: int = 0
    language: Language | None = None
    model_base_url: tuple[str, ...] = ()
    model_api_key_env: tuple[str, ...] = ()
    model_price: tuple[str, ...] = ()


RESPOND_CHOICES: dict[str, tuple[str, ...]] = {
    "api": ("chat", "completions"),
    "language": ("en", "zh"),
    "prompt_format": ("chat", "alpaca"),
}
RESPOND_BOUNDS: dict[str, Bound] = {
    "samples": Bound(1, 100, integer=True),
    "seed": Bound(integer=True),
    "temperature": Bound(0, 2),
    "top_p": Bound(0, 1, low_open=True),
    "max_tokens": Bound(1, integer=True),
}


def _models(o: RespondOptions, local: bool) -> tuple[str, ...]:
    models = tuple(m.strip() for m in o.model)
    if any(not m for m in models):
        raise InputError("--model is empty; name a model the endpoint serves")
    if len(set(models)) != len(models):
        raise InputError("--model names the same model twice; use --samples for more answers per model")
    if local and models:
        raise InputError("--model names a model of an endpoint; give --base-url (or OPENAI_API_KEY) too, or leave "
                         "--model out for the embedded model")  # fmt: skip
    return models or ("",)


def _language(o: RespondOptions, source: Path) -> Language:
    return o.language if o.language is not None else run_language(source)


def resolve_respond_settings(o: RespondOptions) -> RespondSettings:
    """The options as one settings object; bad values are InputErrors before anything runs or is written."""
    check_bounds(o, ENGINE_BOUNDS | RESPOND_BOUNDS)
    check_choices(o, RESPOND_CHOICES)
    source = Path(o.source)
    tasks_file = tasks_file_of(source)
    if not str(o.out).strip():
        raise InputError("--out is missing; give a directory for the answers (a new one, or one to resume)")
    out = Path(o.out)
    if out.exists() and not out.is_dir():
        raise InputError("--out must be a directory; this is a file", path=out)
    if out.resolve() == tasks_file.parent.resolve():
        raise InputError("--out is the source's own directory; give a new directory for the answers")
    base_url = check_base_url(o.base_url or None, "--base-url")
    api_key = o.api_key or ""
    named = tuple(m.strip() for m in o.model)
    own_urls = step_values(o.model_base_url, "--model-base-url", named, "URL", noun="model")
    key_vars = step_values(o.model_api_key_env, "--model-api-key-env", named, "VARNAME", noun="model")
    # The embedded model answers when no endpoint is given, unless every --model has its own.
    local = not base_url and not api_key and not (named and set(named) <= set(own_urls))
    local_model = Path(o.local_model) if o.local_model else None
    if local_model is not None and not local:
        raise InputError("--local-model serves a GGUF locally; it cannot be combined with --base-url or a key")
    if local_model is not None:
        from selfinstruct.engine.local.server import gguf_problem

        if (problem := gguf_problem(local_model)) is not None:
            raise InputError(f"--local-model: {problem}", path=local_model)
    if o.batch and local:
        raise InputError("--batch needs an endpoint with the Batch API (--base-url or a key); the embedded model "
                         "has none")  # fmt: skip
    models = _models(o, local)
    if models == ("",) and api_key and not base_url:
        models = ("gpt-4o-mini",)
    api: Api = o.api or ("completions" if local and (o.prompt_format or "chat") == "alpaca" else "chat")
    language = _language(o, source)
    if local and local_model is None:
        refuse_embedded_language(language, "--base-url")
    system = (o.system or "").strip()
    params = StepParams(
        temperature=TEMPERATURE if o.temperature is None else float(o.temperature),
        top_p=1.0 if o.top_p is None else float(o.top_p),
        max_tokens=o.max_tokens or (LOCAL_MAX_TOKENS if local else MAX_TOKENS),
        system=system,
    )
    if not local:
        params = with_reasoning_room({STEP: params}, models[0], api)[STEP]
    endpoint = job_endpoint(o, base_url=base_url, api_key=api_key, model=models[0], api=api, local=local)
    own = {m: m for m in (*own_urls, *key_vars)}
    routes = route_endpoints(models, endpoint, own, own_urls, key_vars, flag="--model")
    return RespondSettings(
        source=source,
        tasks_file=tasks_file,
        out=out,
        endpoint=endpoint,
        models=models,
        samples=int(o.samples),
        prompt_format=o.prompt_format or "chat",
        language=language,
        prompts_dir=Path(o.prompts_dir) if o.prompts_dir else None,
        params=params,
        seed=int(o.seed),
        spending=Spending.of(o, local=local, local_model=local_model, models=models, model_price=o.model_price),
        dry_run=bool(o.dry_run),
        model_endpoints=routes.endpoints,
        model_keys=routes.keys,
    )


def identity(settings: RespondSettings, models: tuple[str, ...], template_sha256: str) -> dict[str, Any]:
    """What makes two respond runs the same run: a directory is only resumed with these unchanged."""
    p = settings.params
    return {
        "models": list(models),
        "samples": settings.samples,
        "seed": settings.seed,
        "prompt_format": settings.prompt_format,
        "api": settings.endpoint.api,
        "params": {"temperature": p.temperature, "top_p": p.top_p, "max_tokens": p.max_tokens, "system": p.system},
        "template_sha256": template_sha256,
    }
