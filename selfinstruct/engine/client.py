"""Async requests to an OpenAI-compatible endpoint: concurrency, rate limits, retries that heal, usage.

The SDK's own retries are off (max_retries=0) so that every retry is counted, backs off with jitter, honours
Retry-After, and so that errors that cannot heal (bad key, unknown model, a prompt too long) stop the run at
once instead of being retried forever. A 200 whose body is not a completion (broken JSON, a proxy's HTML
page, `"choices": null`) is a fault of the way there, not of the model: it is retried like a 5xx.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import random
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from selfinstruct.engine.aio import deadline
from selfinstruct.engine.budget import Attempt, Budget, Charging, Ledger, typical_tokens
from selfinstruct.engine.context_window import TRUNCATION_WARNING, ContextLengthError, read_overflow, truncated_prompt
from selfinstruct.engine.ratelimit import RateLimiter
from selfinstruct.engine.raw_reply import MalformedResponse, read_reply
from selfinstruct.engine.reasoning import REASONING_ROOM, THINKING_NOTE, spent_on_thinking
from selfinstruct.engine.retry import error_message, fatal_status, retry_after, retry_reason, retry_wait
from selfinstruct.engine.streaming import StreamBroken, streamed_completion
from selfinstruct.engine.types import Completion, EndpointSettings, Prices, StepParams, StepPrices, Usage
from selfinstruct.engine.wire import CHAT_PATH, COMPLETIONS_PATH, capped, request_body, request_path
from selfinstruct.errors import EndpointError, LocalModelError

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)


class Halted(Exception):
    """The run is draining after an interruption (LLMClient.halt): this attempt was not sent, and none will be."""


class DeadlineExceeded(TimeoutError):
    """An attempt without its whole answer within --timeout, connect to last byte (the SDK's own timeout bounds each
    read, so a server that trickles a byte a second would hold a request for minutes); retried like a 5xx."""


class Completer(Protocol):
    """What the pipeline asks of a client: LLMClient, the batching client, or a wrapper around either."""

    settings: EndpointSettings
    usage: Usage
    budget: Budget | None

    @property
    def in_flight(self) -> int: ...  # requests sent and not yet answered

    @property
    def waiting(self) -> Mapping[Any, str]: ...  # why requests wait ("429: waiting 30 s"), for the progress bar

    async def complete(self, step: str, prompt: str, params: StepParams, *, seed: int | None = None) -> Completion: ...

    async def aclose(self) -> None: ...


class Sender(Completer, Protocol):
    """A client that sends the requests and pays for them: LLMClient, the batching client, or a RoutingClient over
    either (one per step's endpoint). What `generate` asks of it beyond `complete`, whichever it holds."""

    @property
    def online(self) -> bool: ...  # answers land within --timeout: a stop or Ctrl-C halts and drains them

    def halt(self) -> None: ...  # send nothing more (an online client's drain)

    async def sweep(self) -> None: ...  # settle the paid batch lines no request took (none online)

    @property
    def batch_ids(self) -> list[str]: ...  # the batches it made or waited for, for run.json (none online)


def engine_counters(client: Completer, prices: Prices | StepPrices | None) -> dict[str, Any]:
    """What a progress display shows of an engine: what is in flight and waiting now, then the totals (requests,
    retries, tokens, and the cost when prices are known: one model's, or each step's model's)."""
    usage = client.usage
    total = usage.total()
    counters: dict[str, Any] = {
        "in_flight": client.in_flight,
        "requests": total.requests,
        "retries": total.retries,
        "tokens": total.total_tokens,
    }
    cost = prices.cost(usage) if isinstance(prices, StepPrices) else usage.spend().cost(prices)
    if cost is not None:
        counters["cost"] = cost
    waits = list(client.waiting.values())
    if waits:
        counters["waiting"] = waits[-1] + (f" (+{len(waits) - 1} more)" if len(waits) > 1 else "")
    return counters


POOL_CONNECTIONS = 32  # requests in flight per SDK client without aiohttp (see LLMClient.__init__)


def _aiohttp_client(openai: Any) -> Any | None:
    """The SDK's aiohttp transport, or None when this SDK has none or was installed without its extra."""
    factory = getattr(openai, "DefaultAioHttpClient", None)
    if factory is None:
        return None
    try:
        return factory()
    except RuntimeError:  # "you must have installed the package with the `aiohttp` extra"
        return None


class LLMClient:
    """One endpoint, shared by all pipeline steps; `complete` retries what can heal and raises what cannot."""

    def __init__(
        self,
        settings: EndpointSettings,
        usage: Usage | None = None,
        *,
        budget: Budget | None = None,
        ledger: Ledger | None = None,
    ) -> None:
        import openai  # here, not at module level: it takes 0.4 s, and filter/stats/export never need it

        self.settings = settings
        self.usage = usage or Usage()
        self.budget = budget
        self.charging = Charging(budget, ledger, settings.model)
        self.in_flight = 0  # requests on the wire now
        self.waiting: dict[int, str] = {}  # request id -> why it waits ("429: waiting 30 s"), for the progress bar
        self._ids = 0
        # The SDK's aiohttp transport (openai[aiohttp]) costs 25-40% less client CPU per request than httpx, one
        # client for any concurrency. Without it, several httpx clients of at most POOL_CONNECTIONS requests in
        # flight each: the pool walks every connection it holds on each request and reply (httpx2 #1169), so
        # one pool of 128 connections cost 13-24% more CPU per request (bench_transport, 2026-12-06; not the
        # 60% once measured).
        http_client = _aiohttp_client(openai)
        shards = 1 if http_client is not None else -(-settings.concurrency // POOL_CONNECTIONS)
        self._clients = [
            openai.AsyncOpenAI(
                base_url=settings.base_url,
                api_key=settings.api_key,
                max_retries=0,
                timeout=settings.timeout,
                http_client=http_client,
            )
            for _ in range(shards)
        ]
        self._busy = [0] * len(self._clients)
        self._client = self._clients[0]  # for the calls outside the request loop (listing models)
        # The completion URL, merged once the way the SDK merges a relative path with base_url on every request
        # (parsing and copying URLs: a fifth of its request building, measured).
        base = self._client.base_url
        self._urls = {
            api: str(base.copy_with(raw_path=base.raw_path + path.removeprefix("/v1/").encode()))
            for api, path in (("chat", CHAT_PATH), ("completions", COMPLETIONS_PATH))
        }
        self._semaphore = asyncio.Semaphore(settings.concurrency)
        self._limiter = RateLimiter(settings.rpm, settings.tpm)
        self._jitter = random.Random()
        self.told_clamp = self.told_truncation = self.told_thinking = False  # the notes said once per run
        self._halt = asyncio.Event()

    def halt(self) -> None:
        """Send nothing more: the attempts on the wire go on (each within its --timeout), every other one, and
        every retry, raises Halted at once (generate's drain on Ctrl-C, see Scheduler.run)."""
        self._halt.set()

    online = True  # (Sender) and no batches: nothing to sweep, no batch ids

    async def sweep(self) -> None:
        return None

    @property
    def batch_ids(self) -> list[str]:
        return []

    async def aclose(self) -> None:
        for client in self._clients:
            await client.close()

    async def _call(self, step: str, prompt: str, params: StepParams, seed: int | None) -> Completion:
        shard = min(range(len(self._clients)), key=self._busy.__getitem__)
        self._busy[shard] += 1
        s = self.settings
        api = params.api_on(s.api)  # a step may use another API than the endpoint's (StepParams.api)
        path, body = request_path(s, params).removeprefix("/v1"), request_body(s, prompt, params, seed)
        try:
            if s.stream:
                got = await streamed_completion(self._clients[shard], path, body, api, s.timeout, s.pace)
                return Completion(
                    got.text, got.finish_reason, got.prompt_tokens, got.completion_tokens, reported=got.reported
                )
            # The SDK's documented post(): what `chat.completions.create` sends, without re-walking a body that
            # request_body already built in the wire format (about a quarter of the SDK's CPU), and the reply's
            # bytes as they came (see raw_reply). The deadline covers the whole attempt, body read included.
            url = self._urls[api]
            raw: bytes = await deadline(self._clients[shard].post(url, body=body, cast_to=bytes), s.timeout)
        except TimeoutError:
            raise DeadlineExceeded from None
        finally:
            self._busy[shard] -= 1
        return read_reply(raw, api)

    async def complete(self, step: str, prompt: str, params: StepParams, *, seed: int | None = None) -> Completion:
        """One completion for a pipeline step (see `_complete`). A refusal because the prompt plus max_tokens
        exceeds the model's context, when the prompt alone fits, is asked again once with the max_tokens that
        fits (the run says so once); a reply whose usage shows the server cut the prompt (Ollama) is warned of
        once."""
        for shrink in range(3):  # the request, then at most twice with a smaller max_tokens (see Overflow)
            try:
                result = await self._complete(step, prompt, params, seed)
                break
            except ContextLengthError as exc:
                over = exc.overflow
                fits = over.fitting_max_tokens(params.max_tokens) if over is not None and shrink < 2 else None
                if over is None or fits is None:
                    raise
                if not self.told_clamp:
                    self.told_clamp = True
                    log.warning("note: max_tokens %d of step %s does not fit beside %s: such requests are asked again "
                                "with the max_tokens that fits", params.max_tokens, step, over.describe())  # fmt: skip
                params = dataclasses.replace(params, max_tokens=fits)
        if result.reported and not self.told_truncation and truncated_prompt(prompt, result.prompt_tokens):
            self.told_truncation = True
            log.warning("note: " + TRUNCATION_WARNING, result.prompt_tokens, typical_tokens(prompt))
        if not self.told_thinking and spent_on_thinking(result.text, result.finish_reason):
            self.told_thinking = True
            log.warning(THINKING_NOTE, params.max_tokens, step, step, params.max_tokens + REASONING_ROOM)
        return result

    async def _complete(self, step: str, prompt: str, params: StepParams, seed: int | None) -> Completion:
        """One completion for a pipeline step, retried on 429/5xx/timeouts/dropped connections and malformed
        200s; with a budget, each attempt's worst case is reserved first (BudgetExhausted when it cannot fit)."""
        import openai

        s = self.settings
        stats = self.usage.step(step)
        estimate = len(prompt) // 4 + params.max_tokens
        last_error = ""
        guessed = 0  # waits so far that no Retry-After named (retry_wait)
        for attempt in range(s.max_retries + 1):
            if self._halt.is_set():
                raise Halted
            await self._limiter.acquire(estimate, self._halt)
            if self._halt.is_set():
                raise Halted
            delay: float | None = None
            try:
                result = await self._charged(await self.charging.open(step, prompt, params.max_tokens), params, seed)
            except openai.APIStatusError as exc:
                # A 400 for length, or 413 Payload Too Large: a proxy or server's word for a prompt beyond what
                # it takes (read_overflow reads every 413 as one).
                over = None
                if exc.status_code == 413 or isinstance(exc, openai.BadRequestError):
                    over = read_overflow(exc.status_code, exc.body, error_message(exc))
                if over is not None:
                    raise ContextLengthError(
                        f"{s.where}: the prompt is longer than the context of model {s.model!r} ({over.describe()}); "
                        f"{over.fix()}. The output is intact: run the same command again to resume. The server "
                        f"said: {error_message(exc)}",
                        over,
                    ) from None
                fatal = fatal_status(exc, s)
                if fatal is not None:
                    raise EndpointError(f"{s.where}: {fatal}") from None
                last_error = retry_reason(exc)
                delay = retry_after(exc)
            except (openai.APITimeoutError, DeadlineExceeded):
                last_error = f"no token for {s.timeout:g} s" if s.stream else f"no answer within {s.timeout:g} s"
                self._check_health()
            except openai.APIConnectionError as exc:
                cause = exc.__cause__ or exc
                last_error = f"connection failed: {type(cause).__name__}: {cause}".rstrip(": ")
                self._check_health()
            except StreamBroken as exc:
                last_error = f"stream broken: {exc}"
                self._check_health()
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                last_error = f"malformed 200 response: broken JSON ({exc})"
            except MalformedResponse as exc:
                last_error = f"malformed 200 response: {exc}"
            else:
                return result
            if self._halt.is_set():  # draining: no retry
                raise Halted
            if attempt == s.max_retries:
                break
            stats.retries += 1
            wait = retry_wait(guessed, delay, self._jitter)
            guessed += delay is None
            log.info("%s request failed (%s); retry %d in %.1f s", step, last_error, attempt + 1, wait)
            self._ids += 1
            wait_id = self._ids
            self.waiting[wait_id] = f"{last_error.split(':')[0]}: waiting {wait:.0f} s"
            try:
                with contextlib.suppress(asyncio.TimeoutError):  # a drain (halt) ends the wait at once
                    await asyncio.wait_for(self._halt.wait(), wait)
            finally:
                del self.waiting[wait_id]
        raise EndpointError(
            f"{s.where}: gave up after {s.max_retries + 1} attempts ({last_error}); "
            "the output is intact: run the same command again to resume"
        )

    async def _charged(self, attempt: Attempt, params: StepParams, seed: int | None) -> Completion:
        """One attempt, charged: a refusal (4xx, 429) nothing, a reply what it used, anything else (timeout,
        dropped connection, 5xx, malformed reply, cancellation) its reservation: it may have been billed."""
        import openai

        stats = self.usage.step(attempt.step)
        try:
            async with self._semaphore:
                if self._halt.is_set():  # halted while it waited for a slot: never sent
                    await self.charging.refused(attempt)
                    raise Halted
                self.in_flight += 1
                try:
                    result = await self._call(attempt.step, attempt.prompt, params, seed)
                finally:
                    self.in_flight -= 1
        except openai.APIStatusError as exc:
            if exc.status_code < 500:
                await self.charging.refused(attempt)
            else:
                await self.charging.lost(attempt, stats)
            raise
        except Halted:
            raise
        except BaseException:
            await self.charging.lost(attempt, stats)
            raise
        return await self.charging.answered(attempt, capped(result, params.max_tokens), stats)

    def _check_health(self) -> None:
        failure = self.settings.health() if self.settings.health is not None else None
        if failure is not None:
            raise LocalModelError(failure)

    async def list_models(self) -> list[str]:
        """Model ids the endpoint serves (used to pick a default for local servers)."""
        import openai

        try:
            page = await self._client.models.list()
        except openai.AuthenticationError as exc:
            raise EndpointError(f"{self.settings.where}: {fatal_status(exc, self.settings)}") from None
        except (openai.APIConnectionError, openai.APIStatusError) as exc:
            raise EndpointError(f"{self.settings.where}: cannot list models: {exc}") from None
        return [m.id for m in page.data]


async def with_served_model(endpoint: EndpointSettings, option: str = "--model") -> EndpointSettings:
    """Without a model name, the first model the endpoint serves (`option` is the flag that would name one)."""
    if endpoint.model:
        return endpoint
    client = LLMClient(endpoint)
    try:
        models = await client.list_models()
    finally:
        await client.aclose()
    if not models:
        raise EndpointError(f"{endpoint.where} serves no model; pass {option}")
    return dataclasses.replace(endpoint, model=models[0])
