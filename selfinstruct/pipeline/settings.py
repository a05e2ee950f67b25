"""Typed settings, resolved once per command: CLI flag, then environment, then defaults."""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from selfinstruct.engine.endpoint import check_base_url, refuse_embedded_language, resolve_prices, with_reasoning_room
from selfinstruct.engine.types import KEYLESS_PLACEHOLDER, Api, EndpointSettings, Prices, StepParams
from selfinstruct.errors import InputError
from selfinstruct.filters import DEFAULT_THRESHOLD, FILTER_NAMES
from selfinstruct.io.resources import default_seeds
from selfinstruct.pipeline.scheduler import SCHEDULE
from selfinstruct.text import Language

Mode = Literal["self-instruct", "alpaca"]
Classifier = Literal["llm", "rules"]


# Stop sequences start with a newline so that they end a reply only at a line start, where the prompt's
# format puts the next item: a bare "20." or "Task:" also matched "$20.50" or an output that mentions a task,
# and the cut reply came back as a clean "stop". At most 4, OpenAI's limit. A base model that invents the next
# task stops at its first example ("\nExample 1", see stopcut), not at its "Task:" line, which an output line
# may begin with ("Task: buy milk"). A chat reply gets no such stop: its own first example may follow a
# preamble ("Sure!\n\nExample 1") or a reasoning block, and a chat model ends its turn instead.
INSTANCE_STOPS = ("\nExample 6", "\n示例 6", "\nExample 1", "\n示例 1")
CHAT_INSTANCE_STOPS = ("\nExample 6", "\n示例 6")
LOCAL_INSTANCE_STOPS = ("\nExample 4", "\n示例 4", "\nExample 1", "\n示例 1")
# A classification reply has no "Example N" headers: it stops at the blank line and "Task:" that open the next
# task in its prompt, where an input's own "Task:" line (a ticket to classify) seldom stands.
_CLASSIFICATION_STOP = {"\nExample 1": "\n\nTask:", "\n示例 1": "\n\n任务："}


def classification_stops(stops: tuple[str, ...]) -> tuple[str, ...]:
    """The instance stops for an output-first (classification) reply: the new-task stops ("\nExample 1") put
    at that task's "Task:" line, the "Example N" ones (which never fire there) left out; others kept."""
    kept = (_CLASSIFICATION_STOP.get(stop, stop) for stop in stops)
    return tuple(s for s in kept if not re.fullmatch(r"\n(?:Example|示例) \d+", s))


# Alpaca's batch ends before task 20: its separator, or its label at a line start when a model drops the
# separator; never "20." alone, which a line of an output may start with ("20.50 is the total").
ALPACA_STOPS = ("\n###\n20", "\n20. Instruction", "\n20. 指令")


def default_params(api: Api, *, local: bool = False) -> dict[str, StepParams]:
    """Sampling settings per step: the paper's (Self-Instruct's bootstrap, Alpaca's generate_instruction).

    Base models (completions) get the blank-line stop that ends a continued list; a chat model answers a
    fresh message, where that stop would cut its first item short. The list always also stops at the
    marker of the task after the last one asked for (added by the bootstrap). `local` is the embedded 135M
    model: shorter budgets (it writes ~50 tokens/s here), a wider top_p and no blank-line stop, because it
    puts blank lines between items, and greedy instances cut at the fourth example.

    Greedy steps send top_p 1, not the originals' 0: vLLM refuses top_p outside (0, 1] before it applies greedy
    decoding, and at temperature 0 top_p changes nothing.
    """
    completions = api == "completions"
    if local:
        return {
            "instructions": StepParams(temperature=0.7, top_p=0.9, max_tokens=320, presence_penalty=0.5),
            "classify": StepParams(temperature=0.0, top_p=1.0, max_tokens=3, stop=("\n",)),
            "instances": StepParams(
                temperature=0.0, top_p=1.0, max_tokens=200, stop=LOCAL_INSTANCE_STOPS, presence_penalty=1.5
            ),
            "alpaca": StepParams(temperature=0.7, top_p=0.9, max_tokens=1200, stop=ALPACA_STOPS),
        }
    return {
        "instructions": StepParams(
            temperature=0.7, top_p=0.5, max_tokens=1024, stop=("\n\n",) if completions else (), presence_penalty=2.0
        ),
        "classify": StepParams(temperature=0.0, top_p=1.0, max_tokens=3 if completions else 8, stop=("\n",)),
        "instances": StepParams(
            temperature=0.0,
            top_p=1.0,
            max_tokens=350,
            stop=INSTANCE_STOPS if completions else CHAT_INSTANCE_STOPS,
            presence_penalty=1.5,
        ),
        "alpaca": StepParams(temperature=1.0, top_p=1.0, max_tokens=3072, stop=ALPACA_STOPS),
    }


@dataclass(frozen=True)
class GenerateSettings:
    """Everything `selfinstruct generate` needs, resolved once."""

    seeds: Path
    out: Path
    n: int
    endpoint: EndpointSettings
    mode: Mode = "self-instruct"
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
    params: dict[str, StepParams] = field(default_factory=lambda: default_params("chat"))
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
            "params": {k: asdict(v) | {"stop": list(v.stop)} for k, v in sorted(self.params.items())},
        }


STEP_NAMES = ("instructions", "classify", "instances", "alpaca")


# What each per-step sampling option accepts (the OpenAI API's ranges), and how to say so.
STEP_RANGES: dict[str, tuple[Callable[[float], bool], str]] = {
    "--temperature": (lambda x: 0.0 <= x <= 2.0, "a number from 0 to 2"),
    "--top-p": (lambda x: 0.0 < x <= 1.0, "a number above 0 and at most 1 (vLLM refuses 0)"),
    "--max-tokens": (lambda x: x >= 1 and x == int(x), "a whole number of at least 1"),
}


def _step_values(values: tuple[str, ...], option: str) -> dict[str, float]:
    """`0.9` (the generating step) or `classify=0` (a named step); repeatable."""
    valid, expected = STEP_RANGES[option]
    out: dict[str, float] = {}
    for value in values:
        step, _, number = value.rpartition("=")
        step = step.strip() or "generate"
        if step not in (*STEP_NAMES, "generate"):
            raise InputError(f"{option} {value}: unknown step {step!r}; use one of {', '.join(STEP_NAMES)}")
        try:
            out[step] = float(number)
        except ValueError:
            raise InputError(f"{option} {value}: {number!r} is not a number") from None
        if not math.isfinite(out[step]) or not valid(out[step]):  # (NaN fails every comparison)
            raise InputError(f"{option} {value}: give {expected}")
    return out


def _apply_step_overrides(
    params: dict[str, StepParams], mode: str, overrides: dict[str, dict[str, float]]
) -> dict[str, StepParams]:
    generating = "alpaca" if mode == "alpaca" else "instructions"
    out = dict(params)
    for field_name, per_step in overrides.items():
        for step, value in per_step.items():
            target = generating if step == "generate" else step
            out[target] = dataclasses.replace(out[target], **{field_name: value})  # type: ignore[arg-type]
    return out


def resolve_generate_settings(opts: dict[str, Any]) -> GenerateSettings:
    """The CLI's resolved option values (flag, then environment, then default) as one settings object."""
    language = opts["language"]
    mode = opts["mode"]
    base_url = check_base_url(opts["base_url"] or None, "--base-url (or OPENAI_BASE_URL)")
    api_key = opts["api_key"] or ""
    local = not base_url and not api_key
    # The embedded 135M model continues a numbered list well but cannot answer questions about a task
    # (see README), so it defaults to the completions API and rule-based classification.
    api: Api = opts["api"] or ("completions" if local else "chat")
    classifier: Classifier = opts["classify"] or ("rules" if local else "llm")
    concurrency = opts["concurrency"] or (2 if local else 8)
    overrides: dict[str, dict[str, float]] = {
        "temperature": _step_values(opts["temperature"], "--temperature"),
        "top_p": _step_values(opts["top_p"], "--top-p"),
        "max_tokens": {k: int(v) for k, v in _step_values(opts["max_tokens"], "--max-tokens").items()},
    }
    model = opts["model"] or ("gpt-4o-mini" if api_key and not base_url else "")
    local_model = Path(opts["local_model"]) if opts["local_model"] else None
    if local_model is not None and (base_url or api_key):
        raise InputError("--local-model serves a GGUF locally; it cannot be combined with --base-url or OPENAI_API_KEY")
    if local_model is not None:
        from selfinstruct.engine.local.server import gguf_problem

        if (problem := gguf_problem(local_model)) is not None:
            raise InputError(f"--local-model: {problem}", path=local_model)
    if opts.get("batch") and local:
        raise InputError(
            "--batch needs an endpoint with the Batch API (--base-url or OPENAI_API_KEY); the embedded model has none"
        )
    if local and local_model is None:
        refuse_embedded_language(language, "--base-url")
    seeds = Path(opts["seeds"]) if opts["seeds"] else default_seeds(language)
    if not opts["out"].strip():  # Path("") is ".": the run would be spread over the current directory
        raise InputError("--out is empty; give a directory for the run, e.g. --out data/run1")
    out = Path(opts["out"])
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file; give a directory for the run")
    prompts_dir = Path(opts["prompts_dir"]) if opts["prompts_dir"] else None
    alpaca = mode == "alpaca"
    classification_only = bool(opts.get("classification_only"))
    if classification_only and alpaca:
        raise InputError("--classification-only works with --mode self-instruct (alpaca batches have no such prompt)")
    return GenerateSettings(
        seeds=seeds,
        out=out,
        n=opts["n"],
        endpoint=EndpointSettings(
            base_url=base_url,
            # Local servers (vLLM, Ollama, llama.cpp) usually want no key, but the SDK refuses to send none.
            api_key=api_key or (KEYLESS_PLACEHOLDER if base_url else ""),
            model=model,
            api=api,
            timeout=opts["timeout"],
            max_retries=opts["max_retries"],
            concurrency=concurrency,
            rpm=opts["rpm"],
            tpm=opts["tpm"],
        ),
        mode=mode,
        language=language,
        prompts_dir=prompts_dir,
        seed=opts["seed"],
        window=opts["window"],
        demos=3 if alpaca else 8,
        machine_demos=0 if alpaca else 2,
        new_per_request=20 if alpaca else 8,
        threshold=opts["threshold"],
        params=_apply_step_overrides(
            with_reasoning_room(default_params(api, local=local), model, api), mode, overrides
        ),
        max_tokens_total=opts["max_tokens_total"],
        max_cost=opts["max_cost"],
        prices=resolve_prices(opts),
        saturation_window=opts["saturation_window"],
        min_acceptance=opts["min_acceptance"],
        max_unusable=opts["max_unusable"],
        dry_run=opts["dry_run"],
        local=local,
        local_model=local_model,
        classifier=classifier,
        classification_only=classification_only,
        batch=bool(opts.get("batch")),
        batch_poll=float(opts.get("batch_poll") or 5.0),
    )
