"""What a generation method is, as the pipeline runs it.

The pipeline numbers the generating requests, decides which pool each may see (so that the pool is the same at
any concurrency), sends them on the engine (journal, budget, retries, Batch, the embedded model) and decides
candidates strictly in (request, candidate) order. It never reads a method's name. A method says:

- what one generating request asks and how its reply becomes candidates (`propose`);
- whether its candidates need more requests before they can be decided (`completes`), and how one candidate
  is completed (`complete`: Self-Instruct's classify and instances requests);
- its steps' sampling defaults, its demonstration counts, the templates a resume must find unchanged, its
  seed checks and its dry-run estimate;
- its own options (`options`, typed `MethodOption`s): the CLI and the settings build, check and record them.

Everything a method needs from the run comes through `Run`, so a method is testable without the pipeline.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from selfinstruct.engine.client import Completer
from selfinstruct.engine.types import Api, Completion, EndpointSettings, StepParams
from selfinstruct.filters import Rejection
from selfinstruct.filters.rouge import Match
from selfinstruct.io.templates import Placeholders, PromptSet
from selfinstruct.methods.options import MethodOption
from selfinstruct.tasks import Instance, Task

# What the dry-run estimate assumes of every method's candidates.
PASS_FILTERS = 0.75  # of new instructions: not too short or long, no blacklisted word, not a near-duplicate
USABLE_INSTANCES = 0.95  # of those: the reply gives at least one valid instance
SAMPLES = 20  # seeds (and seed tasks) the dry run's averages are taken over


# Chat messages -> the prompt the served model's chat template makes of them, or None (engine.served_template).
ServedTemplate = Callable[[list[dict[str, str]]], Awaitable[str | None]]


async def no_server(messages: list[dict[str, str]]) -> str | None:
    """The `served` of a dry run, which asks no server."""
    return None


@dataclass
class Candidate:
    """One generated instruction on its way through the pipeline."""

    index: int
    instruction: str
    rejection: Rejection | None = None
    stage: str = "filter"
    is_classification: bool | None = None
    instances: list[Instance] = field(default_factory=list)
    # Scheduling: checked against the whole pool at the commit cursor; a near-duplicate of a task committed
    # while it waited (rejected at commit, never sent further); how much of the pool a search has cleared it of;
    # its completion requests.
    final: bool = False
    doomed: bool = False
    checked: int = 0  # the indexed tasks before this one were searched for a near-duplicate (Bootstrap.precheck)
    work: asyncio.Task[None] | None = field(default=None, repr=False, compare=False)
    raw: str = ""  # the reply behind a rejection: the generating reply, or the instance reply
    similar: list[Match] = field(default_factory=list, repr=False, compare=False)  # at the final check, best first
    meta: dict[str, Any] = field(default_factory=dict)  # the method's own fields of the record's "meta"


@dataclass
class JobResult:
    """What one generating request gave: its candidates, or why it gave none."""

    request: int
    candidates: list[Candidate]
    problem: str | None = None  # "empty_response" | "no_items" when nothing could be parsed
    detail: str = ""
    raw: str = ""


class MethodSettings(Protocol):
    """The generate settings a method reads (the pipeline's settings object has them all)."""

    @property
    def language(self) -> str: ...
    @property
    def demos(self) -> int: ...
    @property
    def machine_demos(self) -> int: ...
    @property
    def new_per_request(self) -> int: ...
    @property
    def max_instances(self) -> int: ...
    @property
    def classifier(self) -> str: ...
    @property
    def classification_only(self) -> bool: ...
    @property
    def params(self) -> dict[str, StepParams]: ...
    @property
    def endpoint(self) -> EndpointSettings: ...
    @property
    def batch(self) -> bool: ...
    @property
    def local(self) -> bool: ...
    @property
    def local_model(self) -> Path | None: ...
    @property
    def method_options(self) -> Mapping[str, object]:
        """The method's own options, resolved (read them with `MethodOption.value`)."""
        ...


class Run(Protocol):
    """What the pipeline gives a method for one request."""

    @property
    def s(self) -> MethodSettings: ...
    @property
    def client(self) -> Completer: ...
    @property
    def prompts(self) -> PromptSet: ...
    @property
    def seed(self) -> int: ...
    @property
    def seeds(self) -> list[Task]: ...
    @property
    def demo_seeds(self) -> list[Task]: ...
    @property
    def facts(self) -> Mapping[str, Any]:
        """What the method's `setup` decided for this run (recorded in run.json; a resume must find it equal)."""
        ...

    def machine_tasks(self, request: int) -> list[dict[str, Any]]:
        """The pool tasks `request` may see (those of the rounds before its own)."""
        ...

    def precheck(self, cand: Candidate, request: int) -> Candidate:
        """The cheap filters, and ROUGE-L against what every concurrency level sees at `request`."""
        ...

    def params(self, step: str, extra_stop: tuple[str, ...] = ()) -> StepParams: ...

    async def generate(
        self, step: str, request: int, make_prompt: Callable[[int], str], params: StepParams
    ) -> Completion:
        """Ask once; when the prompt is too long for the model, once more with make_prompt(1) (shortened)."""
        ...


@dataclass(frozen=True)
class Estimate:
    """A method's dry-run figures per step: requests for the target, tokens per request, prompts to show."""

    requests: dict[str, int]
    prompt_each: dict[str, float]
    completion_each: dict[str, float]
    shown: dict[str, str]
    assumptions: str


class Method(Protocol):
    """A generation method; see the module docstring. Registered in registry.py."""

    name: str
    summary: str  # one line for --help and the dataset card
    generating_step: str  # the step of `propose`'s request (its sampling options are `generate=` on the CLI)
    completes: bool  # candidates need `complete` before they can be decided
    demos: int  # demonstrations per generating prompt
    machine_demos: int  # of which from the pool, once it has some
    new_per_request: int  # candidates asked for per generating request
    uses_seeds: bool  # reads a seed file (--seeds); a method that needs none is given no seeds
    classifies_seeds: bool  # seeds without is_classification are classified (by the model) before the run
    options: tuple[MethodOption[Any], ...]  # its own generate options (flags, checks, run.json: options.py)

    @property
    def prompt_templates(self) -> Mapping[str, Placeholders]:
        """Its templates (prompts/<language>/<name>.txt, names unique across methods) and their placeholders."""
        ...

    def default_params(self, api: Api, *, local: bool) -> dict[str, StepParams]:
        """Sampling defaults of the method's steps (step names are unique across methods)."""
        ...

    def templates(self, settings: MethodSettings) -> list[str]:
        """The prompt templates a run renders: a resume must find them unchanged."""
        ...

    def check_seeds(
        self, seeds: Sequence[Task], settings: MethodSettings, path: Path, *, decided: bool = False
    ) -> None:
        """Enough seeds, of the right kind, for the demonstrations; an InputError otherwise. `decided`: the
        seeds' is_classification is known (asked of the model where the file left it open)."""
        ...

    def describe(self, settings: MethodSettings) -> list[str]:
        """How a run with these settings generates, in a few words (the dry run's "pipeline" line)."""
        ...

    def check_settings(self, settings: MethodSettings) -> None:
        """Options the method cannot honour; an InputError otherwise."""
        ...

    def demos_from_candidates(self, settings: MethodSettings) -> bool:
        """Whether its generating prompt shows only the instructions of the pool tasks it samples, whatever
        their classification or instances: then the first rounds may be shown request 0's candidates that passed
        the instruction filters before those are completed (scheduling rule 4, pipeline/rounds.py)."""
        ...

    async def setup(self, settings: MethodSettings, model: str, served: ServedTemplate) -> dict[str, Any]:
        """What the run decides once `model` (the served model's name) is known, before anything is written:
        JSON facts the method reads back through `Run.facts` (and that a resume must find equal); an InputError
        when the method cannot work with this endpoint. `served` renders chat messages with the served model's
        own template (None when the server cannot; always None in a dry run). Empty for a method that needs
        nothing."""
        ...

    async def propose(self, run: Run, request: int) -> JobResult: ...

    async def complete(self, run: Run, request: int, cand: Candidate) -> None: ...

    def estimate(
        self,
        settings: MethodSettings,
        seeds: Sequence[Task],
        sample: Sequence[Task],
        prompts: PromptSet,
        rng: random.Random,
        n: int,
        facts: Mapping[str, Any],
    ) -> Estimate:
        """The dry run's figures for `n` tasks; `sample` holds the seeds averages are taken over (drawn from
        `rng` before it reaches the method); `facts`: what `setup` decided for the model the run would use."""
        ...


def halve(demos: list[Any]) -> list[Any]:
    """The demonstrations of a shortened prompt (when the first did not fit the model's context)."""
    return demos[: max(1, len(demos) // 2)]


def completion_cap(params: Mapping[str, StepParams], step: str, tokens: float) -> float:
    """An estimated reply length, never above the step's max_tokens."""
    return min(float(params[step].max_tokens), tokens)
