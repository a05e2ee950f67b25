"""Scripted answering models and judges for `respond` and `prefer` (tests/pipeline/test_respond.py,
test_prefer.py and what reads their runs): pure functions of the request, so every expectation is computed.

Answering models: "strong" answers every prompt; "weak" refuses task numbers ending in 7, is cut off at
max_tokens on 8 and answers nothing on 9. The judge ("judge") rates an answer by `quality(text)` (1-10), as JSON
or labelled lines, and garbles every rating of a task number with remainder 5 mod 7; in pairwise mode it prefers
the answer of higher quality whatever the order, except on task numbers with remainder 3 mod 5, where it always
names A (order-dependent). Asked about one aspect (a rubric other than overall) it scores `aspect_quality(text,
aspect)`, and garbles the honesty verdicts of task numbers with remainder 4 mod 11 too (an answer with one aspect
missing). "first-judge" always names A. One responder (`answer_or_judge`) plays them all.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from tests.servers.fake_openai import Reply, Request

ANSWER_KEY = "sk-test-respond"
ANSWER_MODELS = ["strong", "weak"]
JUDGES = ["judge", "first-judge"]
_UNSET = ("OPENAI_BASE_URL", "SELFINSTRUCT_MODEL", "SELFINSTRUCT_PRICE_INPUT", "SELFINSTRUCT_PRICE_OUTPUT",
          "SELFINSTRUCT_BATCH_DISCOUNT", "SELFINSTRUCT_JUDGE_MODEL", "SELFINSTRUCT_JUDGE_BASE_URL",
          "SELFINSTRUCT_JUDGE_API_KEY")  # fmt: skip
# click's env for respond and prefer: the shell's settings unset, the fake's key given.
RESPOND_ENV: dict[str, str | None] = {**dict.fromkeys(_UNSET), "OPENAI_API_KEY": ANSWER_KEY}
_NUMBER = re.compile(r"#(\d+)")


def task_number(text: str) -> int:
    """The task number a prompt names ("Do task #7."), -1 when none."""
    return int(m.group(1)) if (m := _NUMBER.search(text)) else -1


def answer_text(model: str, number: int, prompt: str, seed: object) -> str:
    digest = hashlib.sha256(f"{model}|{prompt}|{seed}".encode()).hexdigest()[:8]
    return f"{model} answers task {number} ({digest})" + " in detail" * (number % 5)


def fate(model: str, number: int) -> str:
    """What an answering model does with a task: "answer", "refusal", "truncated" or "empty"."""
    if model == "weak":
        return {7: "refusal", 8: "truncated", 9: "empty"}.get(number % 10, "answer")
    return "answer"


def quality(text: str) -> int:
    """The scripted judge's score of an answer, 1-10."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) % 10 + 1


def aspect_quality(text: str, aspect: str) -> int:
    """The scripted judge's score of an answer on one aspect ("overall": `quality`), 1-10."""
    return quality(text) if aspect == "overall" else quality(f"{aspect}|{text}")


def garbled(number: int, aspect: str = "overall") -> bool:
    return number % 7 == 5 or (aspect == "honesty" and number % 11 == 4)


_ASPECT = re.compile(r"Judge one aspect only:\n- ([a-z ]+):")


def aspect_of(prompt: str) -> str:
    """The aspect a rating prompt asks about (the English templates), "overall" for the combined one."""
    return m.group(1).replace(" ", "_") if (m := _ASPECT.search(prompt)) else "overall"


def order_dependent(number: int) -> bool:
    return number % 5 == 3


def _answer(request: Request) -> Reply:
    number, model = task_number(request.prompt), str(request.body.get("model"))
    kind = fate(model, number)
    if kind == "refusal":
        return Reply("I'm sorry, but I can't help with that.")
    if kind == "empty":
        return Reply("   ")
    text = answer_text(model, number, request.prompt, request.body.get("seed"))
    return Reply(text, finish_reason="length") if kind == "truncated" else Reply(text)


def _judge(request: Request) -> Reply:
    prompt, number, model = request.prompt, task_number(request.prompt), request.body.get("model")
    if "Response A:\n" in prompt:
        a = prompt.split("Response A:\n", 1)[1].split("\n\nResponse B:\n", 1)[0]
        b = prompt.split("Response B:\n", 1)[1].rstrip("\n")
        if model == "first-judge" or order_dependent(number):
            return Reply('{"better": "A", "reason": "The first one."}')
        better = "A" if quality(a) > quality(b) else "B" if quality(b) > quality(a) else "tie"
        return Reply(json.dumps({"better": better, "reason": "Scripted."}))
    aspect = aspect_of(prompt)
    if garbled(number, aspect):
        return Reply('{"score": ')
    score = aspect_quality(prompt.split("Response:\n", 1)[1].rstrip("\n"), aspect)
    if number % 3 == 0:
        return Reply(f"**Score:** {score}/10\n**Reason:** Scripted {number}.")
    return Reply(json.dumps({"score": score, "reason": f"Scripted {number}."}))


def answer_or_judge(request: Request) -> Reply:
    """The responder of every scripted answering model and judge, by the request's model."""
    return _judge(request) if request.body.get("model") in JUDGES else _answer(request)


def make_answer_pool(path: Path, n: int) -> list[dict[str, Any]]:
    """A pool of n tasks "Do task #i.": i % 3 instances each, with inputs (none for a task without)."""
    tasks = []
    for i in range(n):
        instances = [{"input": f"input {i}.{k}", "output": f"old {i}.{k}"} for k in range(i % 3)]
        tasks.append({"id": f"machine_task_{i}", "instruction": f"Do task #{i}.", "instances": instances,
                      "is_classification": False})  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(t) + "\n" for t in tasks), encoding="utf-8")
    return tasks


def questions_of(tasks: list[dict[str, Any]]) -> list[tuple[str, int | None, str]]:
    """(task id, instance, input) of every question respond asks: one per instance, one for a task without."""
    out: list[tuple[str, int | None, str]] = []
    for t in tasks:
        out.extend((t["id"], k, inst["input"]) for k, inst in enumerate(t["instances"]))
        if not t["instances"]:
            out.append((t["id"], None, ""))
    return out


def answered_by_question(run_dir: Path) -> dict[tuple[str, Any], list[dict[str, Any]]]:
    """A respond run's answered responses by (task id, instance), in its order (questions without any: [])."""
    out: dict[tuple[str, Any], list[dict[str, Any]]] = {}
    for line in (run_dir / "answers.jsonl").read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        out.setdefault((r["task_id"], r["instance"]), [])
        if r["status"] == "answered":
            out[(r["task_id"], r["instance"])].append(r)
    return out


def tolerant_lines(path: Path) -> list[dict[str, Any]]:
    """A journal's lines, without the torn last one of a killed writer."""
    out = []
    for line in path.read_bytes().split(b"\n"):
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def recorded_batches(*ledgers: Path) -> int:
    """How many batches a run's ledgers (batches*.jsonl) record as created. A test that kills a run to leave a
    batch in flight waits for this to reach the batches the fake made: killed between a batch's creation and its
    ledger line, the run cannot know that batch, and a capped resume has nothing to collect."""
    return sum(1 for ledger in ledgers if ledger.exists() for r in tolerant_lines(ledger) if "batch" in r)
