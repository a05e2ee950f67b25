"""Self-Instruct post-processing of the instances generated for one task.

The rules follow the original pipeline: an instance whose input equals its output, whose output is empty, or
whose input or output ends with a colon (a generation that stopped right before its content) is dropped; a
task that maps the same non-empty input to different outputs is unreliable as a whole, so all of its
instances go; exact duplicates are removed.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from selfinstruct.methods.self_instruct.instance_parsing import parse_input_first
from selfinstruct.methods.self_instruct.output_first import parse_output_first
from selfinstruct.tasks import Instance

_COLONS = (":", "：")


def _is_valid(instance: Instance) -> bool:
    return (
        bool(instance.output)
        and instance.input != instance.output
        and not instance.input.endswith(_COLONS)
        and not instance.output.endswith(_COLONS)
    )


def clean_instances(
    instances: Sequence[Instance],
    *,
    max_instances: int = 5,
    rng: random.Random | None = None,
    classification: bool = False,
) -> tuple[list[Instance], str | None]:
    """Return (kept instances in order, None) or ([], reason).

    Reasons: "no_instances_parsed" (nothing to clean), "no_valid_instances" (every instance broke a rule),
    "conflicting_outputs" (one input, several outputs). Several outputs for an empty input are fine: a task
    without input (e.g. "Write a haiku") legitimately has many answers. Not for a ``classification`` task:
    "Class label: Fruit" and "Class label: Vegetable" with no input say the one question has two answers,
    so such label-only instances are all dropped (the original keeps them).

    More than ``max_instances`` left: the original keeps a random choice of them (prepare_for_finetuning.py),
    so a task with many class labels does not always lose its last labels; ``rng`` makes that choice (seeded
    by the caller for reproducible runs), and the chosen instances keep the order the model wrote them in.
    Without ``rng`` the first ones are kept.
    """
    if max_instances < 1:
        raise ValueError("max_instances must be at least 1")
    if not instances:
        return [], "no_instances_parsed"
    stripped = (Instance(input=i.input.strip(), output=i.output.strip()) for i in instances)
    valid = [i for i in stripped if _is_valid(i)]
    if not valid:
        return [], "no_valid_instances"
    if classification and len({i.output for i in valid if not i.input}) > 1:
        valid = [i for i in valid if i.input]
        if not valid:
            return [], "conflicting_outputs"
    first_output: dict[str, str] = {}
    for instance in valid:
        if instance.input and first_output.setdefault(instance.input, instance.output) != instance.output:
            return [], "conflicting_outputs"
    unique = list(dict.fromkeys(valid))
    if rng is not None and len(unique) > max_instances:
        return [unique[i] for i in sorted(rng.sample(range(len(unique)), max_instances))], None
    return unique[:max_instances], None


@dataclass(frozen=True)
class InstanceOutcome:
    """The instances kept from one reply, or why there are none (``reason``), with what was parsed."""

    instances: list[Instance]
    reason: str | None
    parsed: int
    dropped_truncated: bool

    @property
    def detail(self) -> str:
        cut = " (the reply was cut at max_tokens; its last instance was dropped)" if self.dropped_truncated else ""
        return f"{self.parsed} parsed, none usable{cut}"


def instances_from_reply(
    text: str,
    *,
    output_first: bool,
    truncated: bool,
    task_tail: bool | None = True,
    max_instances: int = 5,
    rng: random.Random | None = None,
) -> InstanceOutcome:
    """Parse one instance reply and clean it.

    A reply cut at max_tokens (``truncated``), or ending in a "Task:" line that may be its output's last line
    (``task_tail`` None, see stopcut.task_tail), loses the instance it ends in, as in the original; when that
    was its only instance the reason is "truncated", so a run shows that max_tokens is too small rather than
    blaming the parser.
    """
    parse = parse_output_first if output_first else parse_input_first
    raw = parse(text, truncated=truncated, task_tail=task_tail)
    dropped = len(parse(text, task_tail=True)) > len(raw)
    if not raw and dropped:
        return InstanceOutcome([], "truncated", 0, True)
    kept, reason = clean_instances(raw, max_instances=max_instances, rng=rng, classification=output_first)
    return InstanceOutcome(kept, reason, len(raw), dropped)
