"""A deterministic stand-in for an LLM, for the fake OpenAI server: it recognises each pipeline step by the end
of the prompt (the template endings documented in prompts/README.md) and answers like a model would.

The answer is a pure function of the prompt, so a run against it is reproducible, like a real endpoint
with temperature 0 or a fixed seed.
"""

from __future__ import annotations

import hashlib
import random
import re

from tests.fake_openai import Reply, Request

VERBS = [
    "Write",
    "Explain",
    "Summarize",
    "Describe",
    "Suggest",
    "Compare",
    "List",
    "Create",
    "Plan",
    "Outline",
    "Rewrite",
    "Evaluate",
    "Recommend",
    "Design",
    "Draft",
    "Translate",
    "Identify",
    "Brainstorm",
]
OBJECTS = [
    "a haiku",
    "three tips",
    "a short story",
    "a recipe",
    "a checklist",
    "a slogan",
    "an email",
    "five questions",
    "a lesson plan",
    "a product description",
    "a cover letter",
    "a limerick",
    "a workout routine",
    "a budget",
    "a debate argument",
    "a riddle",
    "a tweet",
    "a packing list",
]
TOPICS = [
    "urban gardening",
    "black holes",
    "the French revolution",
    "remote work",
    "coral reefs",
    "sourdough bread",
    "quantum computing",
    "marathon training",
    "medieval castles",
    "climate policy",
    "honeybees",
    "jazz history",
    "tax deductions",
    "volcanoes",
    "chess openings",
    "public speaking",
    "sleep hygiene",
    "electric cars",
    "ancient Rome",
    "machine learning",
    "rainforests",
    "personal finance",
    "the immune system",
    "origami",
    "renewable energy",
    "cybersecurity",
    "Greek mythology",
    "composting",
    "space tourism",
    "minimalism",
]
AUDIENCES = [
    "for children",
    "for a busy parent",
    "for a high school class",
    "for retirees",
    "for engineers",
    "for a first-time traveler",
    "for a small business",
    "for beginners",
    "for experts",
]
LABEL_SETS = [("positive", "negative"), ("spam", "not spam"), ("fact", "opinion"), ("formal", "informal")]

_INSTRUCTIONS_END = re.compile(r"(?:Task\s*(\d+)\s*:|任务\s*(\d+)\s*：)\s*$")
_TASK_LINE = re.compile(r"^(?:Task|任务)[:：]\s*(.+?)\s*$", re.M)


def _rng(prompt: str) -> random.Random:
    return random.Random(hashlib.sha256(prompt.encode("utf-8")).hexdigest())


def _instruction(rng: random.Random) -> str:
    if rng.random() < 0.2:
        labels = rng.choice(LABEL_SETS)
        return f"Classify the sentiment of a comment about {rng.choice(TOPICS)} as {labels[0]} or {labels[1]}."
    return f"{rng.choice(VERBS)} {rng.choice(OBJECTS)} about {rng.choice(TOPICS)} {rng.choice(AUDIENCES)}."


def instructions_reply(prompt: str, first: int) -> str:
    rng = _rng(prompt)
    lines = [f"Task {first + i}: {_instruction(rng)}" for i in range(8)]
    if rng.random() < 0.3:  # chat models chatter
        lines.insert(0, "Sure! Here are some new tasks:")
    return "\n".join(lines)


def instances_reply(prompt: str, instruction: str, output_first: bool) -> str:
    rng = _rng(prompt)
    if output_first:
        m = re.search(r"as (\w[\w ]*?) or (\w[\w ]*?)\.", instruction)
        labels = [m.group(1), m.group(2)] if m else ["yes", "no"]
        return "\n".join(
            f"Class label: {lab}\nInput: A comment number {rng.randint(1, 999)} that is {lab}." for lab in labels
        )
    n = rng.randint(1, 3)
    parts = []
    for i in range(1, n + 1):
        parts.append(
            f"Example {i}\nInput: Not applicable\nOutput: Answer {i} to '{instruction[:40]}' ({rng.randint(1, 99)})."
        )
    return "\n".join(parts)


def alpaca_reply(prompt: str, first: int, continued: bool) -> str:
    rng = _rng(prompt)
    blocks = []
    for i in range(first, 21):
        answer = f"A helpful answer {rng.randint(1, 999)}."
        blocks.append(f"{i}. Instruction: {_instruction(rng)}\n{i}. Input:\n<noinput>\n{i}. Output:\n{answer}")
    text = "\n###\n".join(blocks)
    return text.split("Instruction:", 1)[1] if continued else text


def respond(request: Request) -> Reply:
    """The fake server's responder: one reply per pipeline step."""
    prompt = request.prompt
    tail = prompt.rstrip()
    continued = "chat" not in request.path  # a base model continues the prompt
    m = _INSTRUCTIONS_END.search(tail)
    if tail.endswith("Instruction:") and "###" in prompt:
        first = int(re.findall(r"(\d+)\. Instruction:\s*$", tail)[0])
        return Reply(alpaca_reply(prompt, first, continued))
    if m:
        first = int(m.group(1) or m.group(2))
        text = instructions_reply(prompt, first)
        if continued:
            text = text.split(":", 1)[1].lstrip()  # continues right after "Task N:"
        return Reply(text)
    if tail.endswith("Is it classification?") or tail.endswith("是否为分类任务？"):
        instruction = _TASK_LINE.findall(prompt)[-1]
        return Reply("Yes" if instruction.startswith("Classify") else "No")
    tasks = _TASK_LINE.findall(prompt)
    if tasks:
        return Reply(instances_reply(prompt, tasks[-1], output_first="Class label:" in prompt))
    return Reply("I am not sure what you want.")
