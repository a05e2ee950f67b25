"""The scripted judge: a stand-in for an LLM judge, for the fake OpenAI server (the audit's tests).

It answers each instance in a style fixed by its task's number: JSON (some in code fences), plain labelled lines,
malformed on even request seeds (so the retry with another seed may heal it), always malformed, or a refusal. Its
verdict is a pure function of the task and the instance (scores 0-5 in halves), so every expectation is computed
here (`expected`), for the pools `make_pool` writes.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from selfinstruct.engine.seeding import derive_seed
from tests.servers.fake_openai import Reply, Request

_INSTRUCTION = re.compile(r"Instruction:\n(.*?)\n\nInput:", re.S)
_NUMBER = re.compile(r"#(\d+)")
_INSTANCE = re.compile(r"Output:\noutput (\d+)\.(\d+)")
STYLES = ("json", "json", "fenced", "json", "plain", "json", "flaky", "json", "garbled", "refusal")


def verdict_of(number: int, instance: int = 0) -> dict[str, Any]:
    halves = int(hashlib.sha256(f"{number}.{instance}".encode()).hexdigest(), 16) % 11
    score = halves // 2 if halves % 2 == 0 else halves / 2  # 0, 0.5, ..., 5 as the journal writes them
    return {
        "valid_instruction": score >= 1,
        "appropriate_input": score >= 2 or number % 7 == 0,
        "correct_output": score >= 3.5,
        "score": score,
        "reason": f"Scripted reason {number}.{instance}.",
    }


def style_of(number: int) -> str:
    return STYLES[number % len(STYLES)]


def judge(request: Request) -> Reply:
    """The scripted judge (the fake server's responder)."""
    match = _INSTRUCTION.search(request.prompt)
    number_match = _NUMBER.search(match.group(1)) if match else None
    if number_match is None:
        return Reply("I am not sure what you want.")
    number = int(number_match.group(1))
    instance_match = _INSTANCE.search(request.prompt)
    v = verdict_of(number, int(instance_match.group(2)) if instance_match else 0)
    yn = {True: "yes", False: "no"}
    style = style_of(number)
    seed = request.body.get("seed")
    if style == "refusal":
        return Reply("I'm sorry, but I can't help with evaluating this content.")
    if style == "garbled" or (style == "flaky" and isinstance(seed, int) and seed % 2 == 0):
        return Reply('{"valid_instruction": "yes", "score": ')
    if style == "plain":
        return Reply(
            f"**Valid instruction:** {yn[v['valid_instruction']].title()}\n**Appropriate input:** "
            f"{yn[v['appropriate_input']]}\n**Correct output:** {yn[v['correct_output']]}\n"
            f"**Score:** {v['score']}/5\n**Reason:** {v['reason']}"
        )
    body = json.dumps({k: yn[x] if isinstance(x, bool) else x for k, x in v.items()})
    return Reply(f"Here is my verdict:\n```json\n{body}\n```" if style == "fenced" else body)


def expected(number: int, task_id: str, instance: int, seed: int = 0) -> dict[str, Any] | None:
    """The verdict the audit must journal for an instance, or None when it must be unreadable."""
    style = style_of(number)
    if style in ("refusal", "garbled"):
        return None
    if style == "flaky" and all(derive_seed(seed, "audit", task_id, instance, k) % 2 == 0 for k in (0, 1)):
        return None
    return verdict_of(number, instance)


def keys_of(tasks: list[dict[str, Any]]) -> list[tuple[str, int]]:
    """(task id, instance index) of every instance of the pool: what a full audit judges."""
    return [(t["id"], k) for t in tasks for k in range(len(t["instances"]))]


def primary(task_id: str, instances: int, seed: int = 0) -> int:
    """The instance of a task that the paper's table counts (chosen with the seed, as the audit does)."""
    return derive_seed(seed, "instance", task_id) % instances


def make_pool(path: Path, n: int) -> list[dict[str, Any]]:
    tasks = []
    for i in range(n):
        instances = [
            {"input": f"input {i}.{k}" if i % 3 else "", "output": f"output {i}.{k}"} for k in range(1 + i % 3)
        ]
        tasks.append({"id": f"machine_task_{i}", "instruction": f"Do task #{i} about topic {i * 7 % 13}.",
                      "instances": instances, "is_classification": False})  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(t) + "\n" for t in tasks), encoding="utf-8")
    return tasks


def journal_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def instance_asked(prompt: str) -> tuple[str, int] | None:
    """(task id, instance index) a judge prompt asks about, for a pool `make_pool` wrote (None for another)."""
    match = _INSTANCE.search(prompt)
    return (f"machine_task_{match.group(1)}", int(match.group(2))) if match else None
