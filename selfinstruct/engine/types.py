"""What flows through the engine: an endpoint, a step's sampling parameters, a completion, and what it all cost.

The leaf of the engine: the client, the wire format, the budget and the journal all speak these types, and
nothing here imports them back.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from selfinstruct.engine.redact import redact


@dataclass(frozen=True)
class Prices:
    """USD per 1M tokens, as providers quote them."""

    input: float
    output: float

    def cost(self, prompt_tokens: float, completion_tokens: float) -> float:
        return (prompt_tokens * self.input + completion_tokens * self.output) / 1e6


@dataclass(frozen=True)
class Spend:
    """Requests and tokens, for one run or a whole run directory."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    no_usage: int = 0  # replies without usable usage (charged an estimate)
    unanswered: int = 0  # attempts without a reply that may have been billed (charged their reservation)

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __sub__(self, other: Spend) -> Spend:
        return Spend(
            self.requests - other.requests,
            self.prompt_tokens - other.prompt_tokens,
            self.completion_tokens - other.completion_tokens,
            self.no_usage - other.no_usage,
            self.unanswered - other.unanswered,
        )

    def estimated(self) -> str:
        """What the tokens include besides reported usage ("" when nothing), for the summary line."""
        parts = []
        if self.no_usage:
            parts.append(f"{self.no_usage:,} replies without usage charged an estimate")
        if self.unanswered:
            parts.append(f"{self.unanswered:,} unanswered attempts charged their reservation")
        return "; ".join(parts)

    def cost(self, prices: Prices | None) -> float | None:
        return prices.cost(self.prompt_tokens, self.completion_tokens) if prices is not None else None


Api = Literal["chat", "completions"]


@dataclass(frozen=True)
class StepParams:
    """Sampling parameters of one pipeline step."""

    temperature: float
    top_p: float
    max_tokens: int
    stop: tuple[str, ...] = ()
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    # A system message sent before the prompt (chat; with completions, the prompt's first paragraph), e.g.
    # `respond --system`'s Orca-style "explain step by step". "" (every generate step) sends none.
    system: str = ""
    # The API this step must use whatever the endpoint's is (None: the endpoint's): Magpie's query is a raw
    # completion of the chat template, its answer a chat request on the same endpoint.
    api: Api | None = None

    def to_dict(self) -> dict[str, Any]:
        """As run.json and the journal's keys hold it: `system` and `api` only when the step sets them, so that
        the keys and settings of runs made before the fields existed stay what they were."""
        out = asdict(self) | {"stop": list(self.stop)}
        if not self.system:
            del out["system"]
        if self.api is None:
            del out["api"]
        return out

    def api_on(self, endpoint_api: Api) -> Api:
        """The API a request of this step goes over, on an endpoint whose --api is `endpoint_api`."""
        return self.api or endpoint_api


@dataclass(frozen=True)
class Completion:
    text: str
    finish_reason: str  # "stop", "length", ... or "empty" when the endpoint returned no choice
    prompt_tokens: int
    completion_tokens: int
    # The stop string that ended the reply, when the server names it (vLLM's `stop_reason`; "" when it says no
    # stop string fired); None when the server does not say (OpenAI, llama.cpp, Ollama).
    stop_reason: str | None = None
    reported: bool = True  # False: the reply had no usable usage, and the tokens are what it was charged
    charge: str = ""  # the ledger id of the attempt that paid for it ("" for a replay or without a ledger)


@dataclass
class StepUsage:
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retries: int = 0
    empty: int = 0
    truncated: int = 0
    no_usage: int = 0  # replies without usable usage, charged an estimate
    unanswered: int = 0  # attempts that may have been billed but brought no reply, charged their reservation

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def record(self, result: Completion, sign: int = 1) -> None:
        """Count one paid response (empty and cut-off ones too, for run.json and stats); `sign` -1 takes back one
        counted (paid by another run after all)."""
        self.requests += sign
        self.prompt_tokens += sign * result.prompt_tokens
        self.completion_tokens += sign * result.completion_tokens
        self.no_usage += sign * (not result.reported)
        if result.finish_reason == "empty" or not result.text.strip():
            self.empty += sign
        if result.finish_reason == "length":
            self.truncated += sign


@dataclass
class Usage:
    """Requests and tokens by pipeline step."""

    steps: dict[str, StepUsage] = field(default_factory=lambda: defaultdict(StepUsage))

    def step(self, name: str) -> StepUsage:
        return self.steps[name]

    def total(self) -> StepUsage:
        """Every step's counts added up."""
        out = StepUsage()
        for counts in self.steps.values():
            for name in StepUsage.__annotations__:
                setattr(out, name, getattr(out, name) + getattr(counts, name))
        return out

    def spend(self) -> Spend:
        t = self.total()
        return Spend(t.requests, t.prompt_tokens, t.completion_tokens, t.no_usage, t.unanswered)

    def to_dict(self) -> dict[str, Any]:
        return {name: asdict(s) for name, s in sorted(self.steps.items())}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Usage:
        usage = cls()
        for name, values in data.items():
            usage.steps[name] = StepUsage(**{k: int(v) for k, v in values.items() if k in StepUsage.__annotations__})
        return usage


@dataclass(frozen=True)
class StepPrices:
    """Prices by pipeline step, for runs whose steps go to different models (engine/routing.py): each step is
    priced at its own model's prices; a step not named (or every step of a one-model run) at `default`. A step's
    model never changes within a run directory (run.json refuses a resume with another), so pricing the spend
    recorded per step is pricing it per model."""

    default: Prices | None
    steps: Mapping[str, Prices | None] = field(default_factory=dict)

    def of(self, step: str) -> Prices | None:
        """The prices of `step`'s model (None: not known)."""
        return self.steps.get(step, self.default)

    def cost(self, usage: Usage) -> float | None:
        """What `usage` cost, each step at its model's prices; None when a step that used tokens has none."""
        return priced_cost(usage.steps, self.of)


@dataclass(frozen=True)
class ModelPrices:
    """Prices by model, for jobs whose requests go to several models under one step name (`respond --model
    --model-price`): the journal records each charge's model, and the spend is priced by it. A model without its
    own prices is charged `default`; a charge journaled before charges named their model ("") at the highest
    prices known, input and output each, so that a hard cap never counts less than was spent."""

    default: Prices | None
    models: Mapping[str, Prices] = field(default_factory=dict)

    def of(self, model: str) -> Prices | None:
        """The prices of `model`'s charges (None: not known)."""
        if model in self.models:
            return self.models[model]
        if model or not self.models:
            return self.default
        known = [*self.models.values(), *([self.default] if self.default is not None else [])]
        return Prices(max(p.input for p in known), max(p.output for p in known))

    def cost(self, by_model: Mapping[str, StepUsage]) -> float | None:
        """What the counts of each model cost at its prices; None when a model that used tokens has none."""
        return priced_cost(by_model, self.of)


def priced_cost(counts: Mapping[str, StepUsage], prices_of: Callable[[str], Prices | None]) -> float | None:
    """What token counts grouped by a name (a step, a model) cost, each group at `prices_of(name)`; None when a
    group that used tokens has no price (StepPrices and ModelPrices alike)."""
    total = 0.0
    for name, used in counts.items():
        if not used.total_tokens:
            continue
        prices = prices_of(name)
        if prices is None:
            return None
        total += prices.cost(used.prompt_tokens, used.completion_tokens)
    return total


KEYLESS_PLACEHOLDER = "no-key"  # sent to a --base-url when OPENAI_API_KEY is not set: the SDK refuses none


@dataclass(frozen=True)
class EndpointSettings:
    base_url: str | None
    api_key: str
    model: str
    api: Api = "chat"
    timeout: float = 120.0
    max_retries: int = 6
    concurrency: int = 8
    rpm: float | None = None
    tpm: float | None = None
    # For a server we run ourselves: why it is gone, or None while it lives. Asked when a request to it
    # fails, so that a dead server stops the run at once instead of being retried like a network hiccup.
    health: Callable[[], str | None] | None = field(default=None, compare=False, repr=False)
    # For the embedded model: stream each reply and end an attempt only after `timeout` seconds without a token
    # (a busy CPU decodes slowly, not never); `pace` is told each reply's tokens and decoding seconds.
    stream: bool = False
    pace: Callable[[int, float], None] | None = field(default=None, compare=False, repr=False)

    @property
    def where(self) -> str:
        """The endpoint as messages, logs and run.json name it: without credentials in the URL."""
        return redact(self.base_url or "https://api.openai.com/v1")
