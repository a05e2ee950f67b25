"""A model and endpoint per step (--step-model, --step-base-url, --step-api-key-env) and prices per model
(--model-price), checked together before anything runs.

The key rule: a key is never written anywhere, only the name of the environment variable it came from. A step
on the main endpoint's URL uses the main key; a step on another URL uses `--step-api-key-env STEP=VAR`'s
variable when given, else the keyless placeholder (local vLLM, llama.cpp and Ollama servers want none). A step
on another URL without --step-model uses the first model that server lists, as --base-url without --model does.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass

from selfinstruct.engine.endpoint import (
    batch_factor,
    check_base_url,
    model_prices,
    resolve_prices,
    with_reasoning_room,
)
from selfinstruct.engine.options import EngineOptions
from selfinstruct.engine.types import KEYLESS_PLACEHOLDER, Api, EndpointSettings, Prices, StepParams, StepPrices
from selfinstruct.errors import InputError

MAIN_KEY = "main"  # how run.json names a step's key: the main key, none, or "env:VAR"
NO_KEY = "none"


@dataclass(frozen=True)
class Routes:
    """The steps sent elsewhere than the main endpoint, and how each one's key was found (never the key)."""

    endpoints: dict[str, EndpointSettings] = dataclasses.field(default_factory=dict)
    keys: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class Routing(Routes):
    """generate's routes with the prices: the main model's, and each model's (--model-price)."""

    prices: Prices | None = None
    model_prices: dict[str, Prices] = dataclasses.field(default_factory=dict)


def resolve_routing(
    o: EngineOptions,
    *,
    steps: tuple[str, ...],
    main: EndpointSettings,
    local: bool,
    step_model: tuple[str, ...],
    step_base_url: tuple[str, ...],
    step_api_key_env: tuple[str, ...],
    model_price: tuple[str, ...],
) -> Routing:
    """generate's per-step options and prices, checked together: under --max-cost every step's model has a price
    (--model-price for the main model stands in for --price-input/-output); with --batch, every price is the
    batch price (each endpoint gets its own batches: engine/batch/routed.py)."""
    routes = resolve_routes(steps=steps, main=main, local=local, step_model=step_model, step_base_url=step_base_url,
                            step_api_key_env=step_api_key_env)  # fmt: skip
    by_model = model_prices(model_price, batch_factor(o))
    prices = resolve_prices(dataclasses.replace(o, max_cost=None) if main.model in by_model else o)
    prices = by_model.get(main.model, prices)
    if o.max_cost is not None:
        check_priced(step_prices(main, prices, routes.endpoints, by_model), routes.endpoints)
    return Routing(routes.endpoints, routes.keys, prices, by_model)


def reasoning_room(
    params: dict[str, StepParams], model: str, routes: Mapping[str, EndpointSettings], api: Api
) -> dict[str, StepParams]:
    """Room for an OpenAI reasoning model's thinking in the max_tokens of each step it runs (a step's own model
    with --step-model, else --model)."""
    out: dict[str, StepParams] = {}
    for step, p in params.items():
        out |= with_reasoning_room({step: p}, routes[step].model if step in routes else model, api)
    return out


def step_values(
    values: tuple[str, ...], option: str, steps: tuple[str, ...], what: str, noun: str = "step"
) -> dict[str, str]:
    """`STEP=VALUE` pairs, each STEP one of the run's method's `steps` (for respond: MODEL=VALUE, one of its
    models: `noun` "model"), each at most once, VALUE not empty."""
    out: dict[str, str] = {}
    for given in values:
        # A model name may hold '=' less often than a URL does: split at the first one.
        step, sep, value = given.partition("=")
        step, value = step.strip(), value.strip()
        if not sep:
            raise InputError(f"{option} {given}: give {noun.upper()}={what}, {noun.upper()} one of {', '.join(steps)}")
        if step not in steps:
            raise InputError(f"{option} {given}: unknown {noun} {step!r}; use one of {', '.join(steps)}")
        if not value:
            raise InputError(f"{option} {given}: give a {what} after '='")
        if step in out:
            raise InputError(f"{option}: {noun} {step} given twice ({out[step]}, {value}); give it once")
        out[step] = value
    return out


def resolve_routes(
    *,
    steps: tuple[str, ...],
    main: EndpointSettings,
    local: bool,
    step_model: tuple[str, ...],
    step_base_url: tuple[str, ...],
    step_api_key_env: tuple[str, ...],
    environ: Mapping[str, str] | None = None,
) -> Routes:
    """Each step given any --step-* option, as the endpoint its requests go to (the main endpoint's timeout,
    retries, concurrency and rate limits, each endpoint its own; see engine/routing.py)."""
    models = step_values(step_model, "--step-model", steps, "MODEL")
    urls = step_values(step_base_url, "--step-base-url", steps, "URL")
    key_vars = step_values(step_api_key_env, "--step-api-key-env", steps, "VARNAME")
    for step in sorted({*models, *key_vars} - set(urls), key=steps.index):
        if local:
            raise InputError(
                f"--step-model/--step-api-key-env {step}=...: the embedded model is one model on its own server; "
                f"give the step a server with --step-base-url {step}=URL"
            )
    return route_endpoints(steps, main, models, urls, key_vars, flag="--step", environ=environ, local=local)


def route_endpoints(
    names: tuple[str, ...],
    main: EndpointSettings,
    models: Mapping[str, str],
    urls: Mapping[str, str],
    key_vars: Mapping[str, str],
    *,
    flag: str,
    local: bool = False,
    environ: Mapping[str, str] | None = None,
) -> Routes:
    """The endpoint of each name (a step; for respond, a model) given a model, URL or key variable, by the key
    rule of the module docstring; `flag` is the options' prefix ("--step", "--model") for the messages."""
    env = os.environ if environ is None else environ
    routes = Routes()
    for name in sorted({*models, *urls, *key_vars}, key=names.index):
        url = str(check_base_url(urls[name], f"{flag}-base-url of {name}:")) if name in urls else main.base_url
        other = local or url != main.base_url
        var = key_vars.get(name)
        if var is not None and not env.get(var):
            raise InputError(f"{flag}-api-key-env {name}={var}: the environment variable {var} is not set")
        if var is not None:
            key, how = env[var], f"env:{var}"
        elif other:
            key, how = KEYLESS_PLACEHOLDER, NO_KEY
        else:
            key, how = main.api_key, MAIN_KEY
        model = models.get(name, "" if other else main.model)
        routes.endpoints[name] = dataclasses.replace(main, base_url=url, api_key=key, model=model)
        routes.keys[name] = how
    return routes


def step_prices(
    main: EndpointSettings,
    prices: Prices | None,
    routes: Mapping[str, EndpointSettings],
    by_model: Mapping[str, Prices],
) -> StepPrices:
    """Each routed step at its model's prices (the main model's steps at `prices`)."""
    steps = {
        step: prices if endpoint.model == main.model else by_model.get(endpoint.model)
        for step, endpoint in routes.items()
    }
    return StepPrices(prices, steps)


def check_priced(pricing: StepPrices, routes: Mapping[str, EndpointSettings]) -> None:
    """Under --max-cost every step's model must have a price, known before anything runs."""
    for step, prices in pricing.steps.items():
        if prices is not None:
            continue
        model = routes[step].model
        if not model:
            raise InputError(
                f"--max-cost: the {step} step's model is not known before the run (its server's first model); "
                f"name it with --step-model {step}=MODEL and price it with --model-price MODEL=IN,OUT"
            )
        raise InputError(
            f"--max-cost needs the price of every step's model: give --model-price {model}=IN,OUT (USD per 1M "
            f"prompt and completion tokens) for the {step} step"
        )
