"""Self-Instruct post-processing of the instances generated for one task.

The rules follow the original pipeline: an instance whose input equals its output, whose output is empty, or
whose input or output ends with a colon (a generation that stopped right before its content) is dropped; a
task that maps the same non-empty input to different outputs is unreliable as a whole, so all of its
instances go; exact duplicates are removed.
"""

from __future__ import annotations

from collections.abc import Sequence

from selfinstruct.tasks import Instance

_COLONS = (":", "：")


def _is_valid(instance: Instance) -> bool:
    return (
        bool(instance.output)
        and instance.input != instance.output
        and not instance.input.endswith(_COLONS)
        and not instance.output.endswith(_COLONS)
    )


def clean_instances(instances: Sequence[Instance], *, max_instances: int = 5) -> tuple[list[Instance], str | None]:
    """Return (kept instances in order, None) or ([], reason).

    Reasons: "no_instances_parsed" (nothing to clean), "no_valid_instances" (every instance broke a rule),
    "conflicting_outputs" (one input, several outputs). Several outputs for an empty input are fine: a task
    without input (e.g. "Write a haiku") legitimately has many answers.
    """
    if max_instances < 1:
        raise ValueError("max_instances must be at least 1")
    if not instances:
        return [], "no_instances_parsed"
    stripped = (Instance(input=i.input.strip(), output=i.output.strip()) for i in instances)
    valid = [i for i in stripped if _is_valid(i)]
    if not valid:
        return [], "no_valid_instances"
    first_output: dict[str, str] = {}
    for instance in valid:
        if instance.input and first_output.setdefault(instance.input, instance.output) != instance.output:
            return [], "conflicting_outputs"
    unique = list(dict.fromkeys(valid))
    return unique[:max_instances], None
