"""A deterministic stand-in for an LLM, for the fake OpenAI server: it recognises each pipeline step by the end
of the prompt (the template endings documented in prompts/README.md) and answers like a model would.

The answer is a pure function of the prompt, so a run against it is reproducible, like a real endpoint
with temperature 0 or a fixed seed.
"""

from __future__ import annotations

import hashlib
import random
import re

from tests.servers.fake_openai import Reply, Request

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

ZH_VERBS = ["写", "解释", "总结", "描述", "推荐", "比较", "列出", "设计", "规划", "改写", "评价", "翻译"]
ZH_OBJECTS = ["一首短诗", "三条建议", "一个小故事", "一份清单", "一句广告语", "一封邮件", "五个问题", "一份计划"]
ZH_TOPICS = ["城市园艺", "黑洞", "远程办公", "珊瑚礁", "量子计算", "马拉松训练", "古代建筑", "气候政策",
             "蜜蜂", "爵士乐历史", "火山", "围棋", "公开演讲", "睡眠习惯", "电动汽车", "中医养生"]  # fmt: skip
ZH_AUDIENCES = ["给小学生", "给忙碌的父母", "给高中生", "给退休老人", "给工程师", "给初学者"]

_INSTRUCTIONS_END = re.compile(r"(?:Task\s*(\d+)\s*:|任务\s*(\d+)\s*：)\s*$")
_TASK_LINE = re.compile(r"^(?:Task|任务)[:：]\s*(.+?)\s*$", re.M)


def rng_for(prompt: str) -> random.Random:
    return random.Random(hashlib.sha256(prompt.encode("utf-8")).hexdigest())


def instruction_for(rng: random.Random) -> str:
    if rng.random() < 0.2:
        labels = rng.choice(LABEL_SETS)
        return f"Classify the sentiment of a comment about {rng.choice(TOPICS)} as {labels[0]} or {labels[1]}."
    return f"{rng.choice(VERBS)} {rng.choice(OBJECTS)} about {rng.choice(TOPICS)} {rng.choice(AUDIENCES)}."


def _zh_instruction(rng: random.Random) -> str:
    if rng.random() < 0.2:
        return f"判断下面这条关于{rng.choice(ZH_TOPICS)}的评论是正面还是负面。"
    return f"{rng.choice(ZH_AUDIENCES)}{rng.choice(ZH_VERBS)}{rng.choice(ZH_OBJECTS)}，主题是{rng.choice(ZH_TOPICS)}。"


def instructions_reply(prompt: str, first: int, zh: bool = False) -> str:
    rng = rng_for(prompt)
    if zh:
        return "\n".join(f"任务{first + i}：{_zh_instruction(rng)}" for i in range(8))
    lines = [f"Task {first + i}: {instruction_for(rng)}" for i in range(8)]
    if rng.random() < 0.3:  # chat models chatter
        lines.insert(0, "Sure! Here are some new tasks:")
    return "\n".join(lines)


def zh_instances_reply(prompt: str, instruction: str, output_first: bool) -> str:
    rng = rng_for(prompt)
    if output_first:
        return "\n".join(f"类别标签：{lab}\n输入：第{rng.randint(1, 999)}条{lab}评论。" for lab in ("正面", "负面"))
    return "\n".join(f"示例 {i}\n输入：无\n输出：回答{i}（{rng.randint(1, 99)}）。" for i in (1, 2))


def instances_reply(prompt: str, instruction: str, output_first: bool) -> str:
    rng = rng_for(prompt)
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
    rng = rng_for(prompt)
    blocks = []
    for i in range(first, 21):
        answer = f"A helpful answer {rng.randint(1, 999)}."
        blocks.append(f"{i}. Instruction: {instruction_for(rng)}\n{i}. Input:\n<noinput>\n{i}. Output:\n{answer}")
    text = "\n###\n".join(blocks)
    return text.split("Instruction:", 1)[1] if continued else text


# Magpie: a pre-query template (a chat template that ends where the user's words go) sent as a completion, and
# the end-of-turn marker its family closes a turn with.
PRE_QUERY_ENDS = {
    "<|im_start|>user": "<|im_end|>",
    "<|start_header_id|>user<|end_header_id|>": "<|eot_id|>",
    "<start_of_turn>user": "<end_of_turn>",
    "[INST]": "[/INST]",
    "<|user|>": "<|end|>",
}
_ANSWERABLE = re.compile(rf"^(?:{'|'.join(VERBS)}|Classify the sentiment) [^\n]+\.$")
_ZH_ANSWERABLE = re.compile(rf"^(?:{'|'.join(ZH_AUDIENCES)}|判断下面)[^\n]+。$")


def query_reply(prompt: str, end_of_turn: str, seed: object) -> str:
    """What a chat model writes after its template's user header: a user's request, then its end of turn and
    the start of the assistant's (which the stop sequence cuts off). Every Magpie prompt is the same, so the
    request's seed picks the query, as it picks a sampled one."""
    rng = rng_for(f"{prompt}\x00{seed}")
    query = _zh_instruction(rng) if "中文" in prompt else instruction_for(rng)
    return f"{query}{end_of_turn}\n<|assistant|>\nSure, here is"


def answer_reply(question: str) -> str:
    """A chat model's answer to a bare question (Magpie's and Evol-Instruct's answer step)."""
    rng = rng_for(question)
    if _ZH_ANSWERABLE.match(question):
        return f"好的。关于这个问题，我的回答是第{rng.randint(1, 999)}号方案：先想清楚，再一步一步做。"
    return f"Here is a helpful answer ({rng.randint(1, 999)}): start small, keep notes, and review each step."


# Evol-Instruct: an operation's prompt ends with the label of the new instruction; the judge's with "Answer:".
EVOLVE_ENDS = ("#Rewritten Prompt#:", "#Created Prompt#:", "#改写指令#：", "#新指令#：")
CONSTRAINTS = [
    "in under 120 words",
    "citing two sources",
    "with a table of pros and cons",
    "explaining each step",
    "using a numbered list",
    "for a reader with no background",
    "in the style of a news report",
    "with one worked example",
    "comparing two approaches",
    "ending with three review questions",
]
ZH_CONSTRAINTS = [
    "不超过一百字",
    "分三步说明",
    "并举一个例子",
    "用表格列出优缺点",
    "并给出两个参考来源",
    "最后提出三个问题",
]


def evolve_reply(prompt: str, seed: object) -> str:
    """An evolved instruction: a new task with a constraint (a chat model sometimes repeats the label first)."""
    rng = rng_for(f"{prompt}\x00{seed}")
    if prompt.rstrip().endswith(("#改写指令#：", "#新指令#：")):
        return f"{_zh_instruction(rng)[:-1]}，{rng.choice(ZH_CONSTRAINTS)}。"
    text = f"{instruction_for(rng)[:-1]}, {rng.choice(CONSTRAINTS)}."
    return f"#Rewritten Prompt#:\n{text}" if rng.random() < 0.2 else text


def respond(request: Request) -> Reply:
    """The fake server's responder: one reply per pipeline step."""
    prompt = request.prompt
    tail = prompt.rstrip()
    continued = "chat" not in request.path  # a base model continues the prompt
    if continued:
        for header, end_of_turn in PRE_QUERY_ENDS.items():
            if tail.endswith(header):
                return Reply(query_reply(prompt, end_of_turn, request.body.get("seed")))
    elif _ANSWERABLE.match(prompt) or _ZH_ANSWERABLE.match(prompt):
        return Reply(answer_reply(prompt))
    if tail.endswith(EVOLVE_ENDS):
        return Reply(evolve_reply(prompt, request.body.get("seed")))
    if tail.endswith("Answer:") and "Equal or Different" in prompt:
        return Reply("Different")
    if tail.endswith("回答：") and "相同 或 不同" in prompt:
        return Reply("不同")
    m = _INSTRUCTIONS_END.search(tail)
    if tail.endswith("Instruction:") and "###" in prompt:
        first = int(re.findall(r"(\d+)\. Instruction:\s*$", tail)[0])
        return Reply(alpaca_reply(prompt, first, continued))
    if m:
        first = int(m.group(1) or m.group(2))
        zh = m.group(2) is not None
        text = instructions_reply(prompt, first, zh)
        if continued:
            text = re.split("[:：]", text, maxsplit=1)[1].lstrip()  # continues right after "Task N:"
        return Reply(text)
    if tail.endswith("Is it classification?"):
        instruction = _TASK_LINE.findall(prompt)[-1]
        return Reply("Yes" if instruction.startswith("Classify") else "No")
    if tail.endswith("是否为分类任务？"):
        instruction = _TASK_LINE.findall(prompt)[-1]
        return Reply("是" if instruction.startswith("判断") else "否")
    tasks = _TASK_LINE.findall(prompt)
    if tasks and ("类别标签：" in prompt or "示例 1" in prompt):
        return Reply(zh_instances_reply(prompt, tasks[-1], output_first="类别标签：" in prompt))
    if tasks:
        return Reply(instances_reply(prompt, tasks[-1], output_first="Class label:" in prompt))
    return Reply("I am not sure what you want.")
