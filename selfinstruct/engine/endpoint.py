"""Which endpoint a command talks to, resolved the same way for every command that sends requests.

An endpoint URL is checked before anything runs; prices are resolved once (with --batch's discount); an
OpenAI reasoning model gets room for its thinking in every step's max_tokens; without any endpoint the
embedded model is started for the length of the command and stopped whatever happens.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from selfinstruct.engine.options import EngineOptions
from selfinstruct.engine.reasoning import REASONING_ROOM
from selfinstruct.engine.redact import redact
from selfinstruct.engine.types import KEYLESS_PLACEHOLDER, Api, EndpointSettings, Prices, StepParams
from selfinstruct.engine.wire import is_openai_reasoning_model
from selfinstruct.errors import InputError

Notice = Callable[[str], None]

LOCAL_NOTICE = (
    "no --base-url or OPENAI_API_KEY given: using the embedded model {name} on 127.0.0.1. A 135M model is for "
    "trying the pipeline, not for production data: pass --base-url/--model or set OPENAI_API_KEY for real runs."
)


@contextmanager
def endpoint_for(
    endpoint: EndpointSettings, notice: Notice, *, local: bool = False, local_model: Path | None = None
) -> Iterator[EndpointSettings]:
    """The endpoint to use; with `local`, starts (and always stops) the embedded llama.cpp server (or serves
    `local_model`, a GGUF file) and returns its endpoint, streamed."""
    if not local:
        yield endpoint
        return
    from selfinstruct.engine.local.server import LocalServer, PaceWatch, usual_pace

    # One llama.cpp server with a slot per concurrent request, decoded together (continuous batching) on both
    # cores; each slot reuses the KV cache of its previous prompt's prefix. Measured on 2 cores: 116 s for the
    # Quick start, against 180 s for two one-thread servers routed by step (README).
    cpus = os.cpu_count() or 1
    server = LocalServer(local_model, n_threads=cpus, parallel=endpoint.concurrency)
    usual = usual_pace(cpus, endpoint.concurrency) if local_model is None else 0.0
    notice(LOCAL_NOTICE.format(name=local_model or server.model_name))
    with contextlib.ExitStack() as stack:
        stack.callback(server.stop)
        server.start()
        # Streamed, with --timeout as the longest silence: a busy CPU decodes slowly, and a fixed deadline on the
        # whole reply would throw its tokens away and ask again, slower still (issue 20).
        yield dataclasses.replace(
            endpoint, base_url=server.url, api_key="local", model=server.model_name, health=server.failure,
            stream=True, pace=PaceWatch(notice, usual=usual, cpus=cpus).observe,
        )  # fmt: skip


def check_base_url(url: str | None, option: str) -> str | None:
    """An endpoint URL must be http(s) with a host: anything else would only fail later as 'connection error'."""
    if url is None:
        return None
    scheme, _, rest = url.partition("://")
    if scheme.lower() not in ("http", "https") or not rest.split("/")[0]:
        raise InputError(f"{option} {redact(url)}: not an http(s) URL; give e.g. http://localhost:8000/v1")
    if "@" in rest.split("/")[0]:
        # The SDK's HTTP client cannot send URL credentials beside its own Authorization header (aiohttp refuses
        # the request; httpx sends them in place of the key), and a URL is logged and saved: refuse it here.
        raise InputError(
            f"{option} {redact(url)}: credentials in the URL are not sent as an API key; give the URL without "
            "user:password@ and the key with OPENAI_API_KEY (for the judge: SELFINSTRUCT_JUDGE_API_KEY)"
        )
    return url


def resolve_prices(o: EngineOptions) -> Prices | None:
    """--price-input/--price-output (or their environment variables): both or neither; --max-cost needs them.
    With --batch, the given (synchronous) prices times --batch-discount: what the summary, --max-cost and
    --dry-run count. The same for every command that sends requests."""
    given: list[float | None] = [o.price_input, o.price_output]
    if given.count(None) == 1:
        raise InputError(
            "give both --price-input and --price-output (USD per 1M tokens), or SELFINSTRUCT_PRICE_INPUT and "
            "SELFINSTRUCT_PRICE_OUTPUT"
        )
    if o.max_cost is not None and None in given:
        raise InputError(
            "--max-cost needs the model's prices: --price-input and --price-output in USD per 1M tokens "
            "(or SELFINSTRUCT_PRICE_INPUT and SELFINSTRUCT_PRICE_OUTPUT)"
        )
    if o.batch_discount is not None and not o.batch:
        raise InputError("--batch-discount applies to --batch runs only; pass --batch too")
    price_input, price_output = given
    if price_input is None or price_output is None:
        return None
    factor = batch_factor(o)
    return Prices(float(price_input) * factor, float(price_output) * factor)


def model_prices(values: tuple[str, ...], factor: float) -> dict[str, Prices]:
    """--model-price MODEL=IN,OUT (USD per 1M prompt and completion tokens), times `factor` (--batch's discount):
    generate's (a step's model) and respond's (each --model) alike."""
    out: dict[str, Prices] = {}
    for given in values:
        model, sep, pair = given.rpartition("=")
        parts = pair.split(",")
        try:
            numbers = [float(p) for p in parts] if sep and model.strip() and len(parts) == 2 else []
        except ValueError:
            numbers = []
        if len(numbers) != 2 or not all(math.isfinite(x) and x >= 0 for x in numbers):
            raise InputError(f"--model-price {given}: give MODEL=INPUT,OUTPUT in USD per 1M tokens, e.g. gpt-4o=2.5,10")
        if model.strip() in out:
            raise InputError(f"--model-price: model {model.strip()} given twice; give it once")
        out[model.strip()] = Prices(numbers[0] * factor, numbers[1] * factor)
    return out


def resolve_model_prices(
    o: EngineOptions, models: tuple[str, ...], given: tuple[str, ...]
) -> tuple[Prices | None, dict[str, Prices]]:
    """A job's prices when its requests go to several models (respond): each --model's own --model-price, and
    --price-input/--price-output for every model without one. Under --max-cost every model must be priced before
    anything runs, as generate's steps must (a served model, "", is only named by asking its server)."""
    if not given:
        return resolve_prices(o), {}
    by_model = model_prices(given, batch_factor(o))
    for model in by_model:
        if all(models) and model not in models:
            raise InputError(f"--model-price {model}=...: {model} is not a --model of this run ({', '.join(models)})")
    unpriced = [m for m in models if m not in by_model]
    if o.max_cost is not None and unpriced and None in (o.price_input, o.price_output):
        if not unpriced[0]:
            raise InputError(
                "--max-cost: the served model is not known before the run; name it with --model and price it with "
                "--model-price MODEL=IN,OUT, or give --price-input and --price-output"
            )
        raise InputError(
            f"--max-cost needs the price of every --model: give --model-price {unpriced[0]}=IN,OUT (USD per 1M "
            "prompt and completion tokens), or --price-input and --price-output for the models without one"
        )
    return resolve_prices(o if unpriced else dataclasses.replace(o, max_cost=None)), by_model


def batch_factor(o: EngineOptions) -> float:
    """What the given (synchronous) prices are multiplied by: --batch-discount (OpenAI's half by default) with
    --batch, else 1; every price a command resolves (--price-input/-output, generate's --model-price) alike."""
    if not o.batch:
        return 1.0
    return 0.5 if o.batch_discount is None else float(o.batch_discount)


# Languages the embedded SmolLM2-135M can write: it was trained on English only, and asked for Chinese it
# answers English or gibberish that the filters let through.
EMBEDDED_LANGUAGES = frozenset({"en"})


def refuse_embedded_language(language: str, endpoint_option: str) -> None:
    """Refuse a language the embedded model cannot write, before anything runs or is written."""
    if language not in EMBEDDED_LANGUAGES:
        raise InputError(
            f"--language {language}: the embedded SmolLM2-135M writes English only; use a multilingual model with "
            f"{endpoint_option} URL (or OPENAI_API_KEY) or --local-model PATH.gguf"
        )


def with_reasoning_room(params: dict[str, StepParams], model: str | None, api: Api) -> dict[str, StepParams]:
    """`params` with room for an OpenAI reasoning model's thinking in every step's max_tokens (the budget then
    reserves what is sent); unchanged for other models."""
    if api != "chat" or not model or not is_openai_reasoning_model(model):
        return params
    return {step: dataclasses.replace(p, max_tokens=p.max_tokens + REASONING_ROOM) for step, p in params.items()}


def job_endpoint(
    o: EngineOptions, *, base_url: str | None, api_key: str, model: str, api: Api, local: bool
) -> EndpointSettings:
    """The endpoint of a command of independent requests (respond, prefer, audit): the engine options with
    those commands' defaults, a longer --timeout (answers and verdicts are long) and more retries (a lost
    item costs a whole answer), and the keyless placeholder a local server's SDK client needs."""
    return EndpointSettings(
        base_url=base_url,
        # Local servers (vLLM, Ollama, llama.cpp) usually want no key, but the SDK refuses to send none.
        api_key=api_key or (KEYLESS_PLACEHOLDER if base_url else ""),
        model=model,
        api=api,
        timeout=o.timeout or 120.0,
        max_retries=o.max_retries if o.max_retries is not None else 6,
        concurrency=o.concurrency or (2 if local else 8),
        rpm=o.rpm,
        tpm=o.tpm,
    )
