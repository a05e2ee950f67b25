"""Typed settings, resolved once per command: CLI flag, then environment, then defaults."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from selfinstruct.engine.endpoint import check_base_url, refuse_embedded_language
from selfinstruct.engine.options import ENGINE_BOUNDS, Bound, EngineOptions, check_bounds, check_choices
from selfinstruct.engine.types import KEYLESS_PLACEHOLDER, Api, EndpointSettings, Prices, StepParams, StepPrices
from selfinstruct.errors import InputError
from selfinstruct.filters import DEFAULT_THRESHOLD, FILTER_NAMES
from selfinstruct.io.resources import default_seeds
from selfinstruct.methods.base import Method
from selfinstruct.methods.registry import METHODS, method_named, method_options
from selfinstruct.pipeline.rounds import SCHEDULE
from selfinstruct.pipeline.routes import reasoning_room, resolve_routing, step_prices
from selfinstruct.text import Language

Classifier = Literal["llm", "rules"]


@dataclass(frozen=True)
class GenerateSettings:
    """Everything `selfinstruct generate` needs, resolved once."""

    seeds: Path
    out: Path
    n: int
    endpoint: EndpointSettings
    mode: str = "self-instruct"  # the method (methods.registry); run.json calls it "mode"
    language: Language = "en"
    prompts_dir: Path | None = None
    seed: int | None = None
    window: int = 32  # largest round of instruction requests (see bootstrap)
    schedule: int = SCHEDULE  # what each request sees (scheduler.horizon); a resumed run keeps its own
    demos: int = 8  # per instruction prompt (alpaca mode: 3)
    machine_demos: int = 2  # of which from the pool, once it has some
    new_per_request: int = 8  # instructions asked for per prompt (alpaca mode: 20)
    filters: tuple[str, ...] = FILTER_NAMES
    threshold: float = DEFAULT_THRESHOLD
    max_instances: int = 5
    # Sampling per step, of this method's steps only (empty: the method's defaults for the endpoint's API), so that
    # run.json records, and a resume compares, what this run uses: registering a method never changes them.
    params: dict[str, StepParams] = field(default_factory=dict)
    max_tokens_total: int | None = None
    max_cost: float | None = None  # USD, with prices
    prices: Prices | None = None
    saturation_window: int = 500
    min_acceptance: float = 0.01
    max_unusable: int = 20  # responses in a row that gave nothing usable, then the run stops
    dry_run: bool = False
    local: bool = False  # no endpoint given: run the embedded llama.cpp model
    local_model: Path | None = None
    classifier: Classifier = "llm"
    classification_only: bool = False  # demonstrations from classification seeds, classification prompt
    batch: bool = False  # through the Batch API; the same requests, so the same pool
    batch_poll: float = 5.0
    decontaminate: tuple[Path, ...] = ()  # benchmark files: a candidate that reproduces an item is rejected
    # The method's own options (Method.options), each resolved: given or its default; methods read them with
    # MethodOption.value. Those `recorded` are in output_affecting.
    method_options: Mapping[str, object] = field(default_factory=dict)
    # Steps sent to another model or endpoint (--step-model, --step-base-url; pipeline/routes.py), how each one's
    # key was found (never the key), and prices per model (--model-price, with --batch's discount).
    routes: dict[str, EndpointSettings] = field(default_factory=dict)
    route_keys: dict[str, str] = field(default_factory=dict)
    model_prices: dict[str, Prices] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.params:
            defaults = self.method.default_params(self.endpoint.api, local=self.local)
            object.__setattr__(self, "params", defaults)

    @property
    def method(self) -> Method:
        """The generation method `mode` names (checked against the registry when the settings are resolved)."""
        return method_named(self.mode)

    def endpoint_of(self, step: str) -> EndpointSettings:
        """The endpoint (and model) `step`'s requests go to."""
        return self.routes.get(step, self.endpoint)

    @property
    def pricing(self) -> StepPrices:
        """Each step at its model's prices (a one-model run: every step at `prices`)."""
        return step_prices(self.endpoint, self.prices, self.routes, self.model_prices)

    def output_affecting(self) -> dict[str, object]:
        """Settings that change what is generated: a resumed run must use the same values."""
        return {
            "mode": self.mode,
            "language": self.language,
            "seed": self.seed,
            "window": self.window,
            "demos": self.demos,
            "machine_demos": self.machine_demos,
            "new_per_request": self.new_per_request,
            "filters": list(self.filters),
            "threshold": self.threshold,
            "max_instances": self.max_instances,
            "classifier": self.classifier,
            "classification_only": self.classification_only,
            "model": self.endpoint.model,
            "api": self.endpoint.api,
            "params": {k: v.to_dict() for k, v in sorted(self.params.items())},
        } | self._recorded_options()

    def _recorded_options(self) -> dict[str, object]:
        """The method's recorded options, under one key (none for a method without: run.json stays as it was)."""
        recorded = {o.name: self.method_options.get(o.name, o.default) for o in self.method.options if o.recorded}
        return {"method_options": dict(sorted(recorded.items()))} if recorded else {}


# What each per-step sampling option accepts (the OpenAI API's ranges), and how to say so.
STEP_RANGES: dict[str, tuple[Callable[[float], bool], str]] = {
    "--temperature": (lambda x: 0.0 <= x <= 2.0, "a number from 0 to 2"),
    "--top-p": (lambda x: 0.0 < x <= 1.0, "a number above 0 and at most 1 (vLLM refuses 0)"),
    "--max-tokens": (lambda x: x >= 1 and x == int(x), "a whole number of at least 1"),
}


def _step_values(values: tuple[str, ...], option: str, steps: tuple[str, ...]) -> dict[str, float]:
    """`0.9` (the generating step) or `classify=0` (a named step of the run's method, one of `steps`);
    repeatable."""
    valid, expected = STEP_RANGES[option]
    out: dict[str, float] = {}
    for value in (values,) if isinstance(values, str) else values:  # one value, or several
        step, _, number = value.rpartition("=")
        step = step.strip() or "generate"
        if step not in (*steps, "generate"):
            raise InputError(f"{option} {value}: unknown step {step!r}; use one of {', '.join(steps)}")
        try:
            out[step] = float(number)
        except ValueError:
            raise InputError(f"{option} {value}: {number!r} is not a number") from None
        if not math.isfinite(out[step]) or not valid(out[step]):  # (NaN fails every comparison)
            raise InputError(f"{option} {value}: give {expected}")
    return out


def _apply_step_overrides(
    params: dict[str, StepParams], method: Method, overrides: dict[str, dict[str, float]]
) -> dict[str, StepParams]:
    generating = method.generating_step  # `generate=` names the method's generating step
    out = dict(params)
    for field_name, per_step in overrides.items():
        for step, value in per_step.items():
            target = generating if step == "generate" else step
            out[target] = dataclasses.replace(out[target], **{field_name: value})  # type: ignore[arg-type]
    return out


@dataclass(frozen=True)
class GenerateOptions(EngineOptions):
    """`generate`'s options as a user gives them, one per flag (None: not given, the default applies); from
    Python the environment is not read: pass what you mean. `resolve_generate_settings` checks them together.

    Attributes:
        seeds: the seed task file (default: the bundled seeds of `language`).
        n: tasks the pool should hold. out: the run directory.
        mode: the method, a name in `methods.registry.METHODS` (default "self-instruct").
        classification_only: only classification tasks (Self-Instruct).
        language: "en" or "zh". seed: the run's random seed.
        model, base_url, api_key: the endpoint; with neither base_url nor api_key, the embedded model.
        api: "chat" or "completions". classify: "llm" or "rules".
        temperature, top_p, max_tokens: per step, as the flags: "0.9" (the generating step) or "classify=0".
        threshold: ROUGE-L F1 above which a candidate is a near-duplicate.
        window: the largest round of generating requests.
        saturation_window, min_acceptance, max_unusable: when a run stops early (see docs/generate.md).
        decontaminate: benchmark files; a candidate that reproduces one of their items is rejected.
        method_options: the method's own options by name, as its flags without the dashes (each method
            declares them, `Method.options`; see `selfinstruct.generate` and docs/methods.md). Checked as the
            flags are; one that `mode` does not take is refused.
        step_model, step_base_url, step_api_key_env: "STEP=VALUE" each: a step's own model, endpoint, and the name
            of the environment variable holding its key (pipeline/routes.py).
        model_price: "MODEL=IN,OUT" each: a model's prices in USD per 1M tokens (--price-input/--price-output
            price the main model).
    """

    seeds: str | Path | None = None
    n: int = 100
    out: str | Path = "data/run"
    mode: str = "self-instruct"
    classification_only: bool = False
    language: Language = "en"
    seed: int | None = None
    model: str | None = None
    base_url: str | None = None
    api_key: str | None = None
    api: Api | None = None
    classify: Classifier | None = None
    temperature: tuple[str, ...] = ()
    top_p: tuple[str, ...] = ()
    max_tokens: tuple[str, ...] = ()
    threshold: float = DEFAULT_THRESHOLD
    window: int = 32
    saturation_window: int = 500
    min_acceptance: float = 0.01
    max_unusable: int = 20
    decontaminate: tuple[str | Path, ...] = ()
    method_options: Mapping[str, object] = field(default_factory=dict)
    step_model: tuple[str, ...] = ()
    step_base_url: tuple[str, ...] = ()
    step_api_key_env: tuple[str, ...] = ()
    model_price: tuple[str, ...] = ()


GENERATE_CHOICES: dict[str, tuple[str, ...]] = {
    "api": ("chat", "completions"),
    "classify": ("llm", "rules"),
    "language": ("en", "zh"),
}
GENERATE_BOUNDS: dict[str, Bound] = {
    "n": Bound(1, integer=True, flag="-n"),
    "seed": Bound(integer=True),
    "threshold": Bound(0, 1),
    "window": Bound(1, 4096, integer=True),
    "saturation_window": Bound(1, integer=True),
    "min_acceptance": Bound(0, 1),
    "max_unusable": Bound(1, integer=True),
}


def resolve_generate_settings(o: GenerateOptions) -> GenerateSettings:
    """The options (the CLI's: flag, then environment; from Python: as given) checked together and resolved
    into one settings object with every default filled in; bad values are InputErrors before anything runs."""
    check_bounds(o, ENGINE_BOUNDS | GENERATE_BOUNDS)
    check_choices(o, GENERATE_CHOICES)
    language = o.language
    mode = o.mode
    base_url = check_base_url(o.base_url or None, "--base-url (or OPENAI_BASE_URL)")
    api_key = o.api_key or ""
    local = not base_url and not api_key
    # The embedded 135M model continues a numbered list well but cannot answer questions about a task
    # (see README), so it defaults to the completions API and rule-based classification.
    api: Api = o.api or ("completions" if local else "chat")
    classifier: Classifier = o.classify or ("rules" if local else "llm")
    concurrency = o.concurrency or (2 if local else 8)
    if mode not in METHODS:
        raise InputError(f"unknown method {mode!r}; choose one of: {', '.join(METHODS)}")
    method = METHODS[mode]
    _check_method_options(o, method)
    defaults = method.default_params(api, local=local)  # this method's steps only (see GenerateSettings.params)
    steps = tuple(defaults)
    if local and o.step_base_url:  # a step sent to a server samples as on one
        served = method.default_params(api, local=False)
        given = {value.partition("=")[0].strip() for value in o.step_base_url}
        defaults = {step: served[step] if step in given else p for step, p in defaults.items()}
    overrides: dict[str, dict[str, float]] = {
        "temperature": _step_values(o.temperature, "--temperature", steps),
        "top_p": _step_values(o.top_p, "--top-p", steps),
        "max_tokens": {k: int(v) for k, v in _step_values(o.max_tokens, "--max-tokens", steps).items()},
    }
    model = o.model or ("gpt-4o-mini" if api_key and not base_url else "")
    local_model = Path(o.local_model) if o.local_model else None
    if local_model is not None and (base_url or api_key):
        raise InputError("--local-model serves a GGUF locally; it cannot be combined with --base-url or OPENAI_API_KEY")
    if local_model is not None:
        from selfinstruct.engine.local.server import gguf_problem

        if (problem := gguf_problem(local_model)) is not None:
            raise InputError(f"--local-model: {problem}", path=local_model)
    if o.batch and local:
        raise InputError(
            "--batch needs an endpoint with the Batch API (--base-url or OPENAI_API_KEY); the embedded model has none"
        )
    if local and local_model is None:
        refuse_embedded_language(language, "--base-url")
    seeds = Path(o.seeds) if o.seeds else default_seeds(language)
    if not str(o.out).strip():  # Path("") is ".": the run would be spread over the current directory
        raise InputError("--out is empty; give a directory for the run, e.g. --out data/run1")
    out = Path(o.out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file; give a directory for the run")
    prompts_dir = Path(o.prompts_dir) if o.prompts_dir else None
    endpoint = EndpointSettings(
        base_url=base_url,
        # Local servers (vLLM, Ollama, llama.cpp) usually want no key, but the SDK refuses to send none.
        api_key=api_key or (KEYLESS_PLACEHOLDER if base_url else ""),
        model=model,
        api=api,
        timeout=o.timeout,
        max_retries=o.max_retries,
        concurrency=concurrency,
        rpm=o.rpm,
        tpm=o.tpm,
    )
    routing = resolve_routing(o, steps=steps, main=endpoint, local=local, step_model=o.step_model,
                              step_base_url=o.step_base_url, step_api_key_env=o.step_api_key_env,
                              model_price=o.model_price)  # fmt: skip
    settings = GenerateSettings(
        seeds=seeds,
        out=out,
        n=o.n,
        endpoint=endpoint,
        mode=mode,
        language=language,
        prompts_dir=prompts_dir,
        seed=o.seed,
        window=o.window,
        demos=method.demos,
        machine_demos=method.machine_demos,
        new_per_request=method.new_per_request,
        threshold=o.threshold,
        params=_apply_step_overrides(reasoning_room(defaults, model, routing.endpoints, api), method, overrides),
        max_tokens_total=o.max_tokens_total,
        max_cost=o.max_cost,
        prices=routing.prices,
        saturation_window=o.saturation_window,
        min_acceptance=o.min_acceptance,
        max_unusable=o.max_unusable,
        dry_run=o.dry_run,
        local=local,
        local_model=local_model,
        classifier=classifier,
        classification_only=bool(o.classification_only),
        batch=bool(o.batch),
        batch_poll=float(o.batch_poll or 5.0),
        decontaminate=tuple(Path(p) for p in o.decontaminate),
        method_options=_resolve_method_options(o, method),
        routes=routing.endpoints,
        route_keys=routing.keys,
        model_prices=routing.model_prices,
    )
    method.check_settings(settings)
    return settings


def _check_method_options(o: GenerateOptions, method: Method) -> None:
    """A method's own options (Method.options) given to another method, or seeds to a method that reads none,
    would be silently ignored: refuse them."""
    if o.seeds and not method.uses_seeds:
        raise InputError(f"--method {method.name} reads no seed tasks; drop --seeds")
    known = method_options()
    if not isinstance(o.method_options, Mapping):
        raise InputError(f"method_options {o.method_options!r}: give a mapping of option names to values")
    own = {opt.name for opt in method.options}
    for name, value in sorted(o.method_options.items(), key=lambda item: str(item[0])):
        if name not in known:
            offered = ", ".join(sorted(known)) or "none"
            raise InputError(f"unknown method option {name!r}; the methods take: {offered}")
        if value is not None and name not in own:
            spec, takers = known[name]
            raise InputError(f"{spec.flag} works with --method {', '.join(takers)}, not {method.name}")


def _resolve_method_options(o: GenerateOptions, method: Method) -> dict[str, object]:
    """Each of the method's own options, given (checked by its declaration) or its default."""
    return {opt.name: opt.resolve(o.method_options.get(opt.name)) for opt in method.options}
