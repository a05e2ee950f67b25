"""WizardLM's elimination rules (section 3.2), as reply checks: an evolution that copies the prompt's scaffolding,
a judge that finds no information gain, an answer that is a short apology or only punctuation and stop words.
(Empty, cut and refused answers are the shared answer step's.)"""

from __future__ import annotations

import re

from selfinstruct.engine.reasoning import strip_reasoning
from selfinstruct.filters import Rejection

# The markers our templates put around the instruction; a reply may repeat its own label before the text.
_LABEL = re.compile(
    r"^\s*(?:\*\*)?#?\s*(?:rewritten|created|new)\s+(?:prompt|instruction)\s*#?(?:\*\*)?\s*[:：]?(?:\*\*)?\s*"
    r"|^\s*#?\s*(?:改写指令|改写后的指令|新指令)\s*#?\s*[:：]?\s*",
    re.IGNORECASE,
)
_SCAFFOLDING = re.compile(
    r"given prompt|rewritten prompt|created prompt|#\s*given|#\s*rewritten|#\s*created"
    r"|给定指令|改写指令|改写后的指令|#新指令",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
# Function words only: an "answer" made of these says nothing (WizardLM's rule 3). English and Chinese.
_STOP_EN = (
    "a an the and or but if then so of to in on at by for with from as is are was were be been being am do does "
    "did have has had it its this that these those there here i you he she we they me him her us them my your his "
    "our their what which who whom whose when where why how not no yes ok okay all any some each very just also "
    "too can could will would shall should may might must"
)
_STOP_ZH = "的 了 是 在 和 与 或 也 都 就 而 及 着 吗 呢 吧 啊 这 那 我 你 他 她 它 们 不 没 有 很"
STOP_WORDS = frozenset(_STOP_EN.split()) | frozenset(_STOP_ZH.split())
SHORT_APOLOGY_WORDS = 80  # WizardLM: a response that contains "sorry" and is shorter than 80 words


def evolved_text(reply: str) -> str:
    """The evolved instruction of a reply: without thinking blocks and a repeated "#Rewritten Prompt#:" label."""
    text = strip_reasoning(reply).strip()
    return _LABEL.sub("", text, count=1).strip()


def scaffolding(instruction: str) -> Rejection | None:
    """An evolved instruction that copies the prompt's own words ("given prompt", "#Rewritten Prompt#")."""
    found = _SCAFFOLDING.search(instruction)
    if found is None:
        return None
    return Rejection("evolution", "copies_scaffolding", f"it contains {found.group(0)!r}")


def judged_equal(reply: str) -> bool | None:
    """The equality judge's verdict: True for equal (no information gain), False for different, None unclear."""
    text = strip_reasoning(reply).strip().lower()
    if re.match(r"^\W*(?:not\s+equal|different|unequal|不同|不相同|不一样)", text):
        return False
    if re.match(r"^\W*(?:equal|the same|same|相同|一样)", text):
        return True
    return None


def short_apology_or_stop_words(answer: str) -> Rejection | None:
    """WizardLM's rules for the answer to an evolved instruction, beyond empty, cut and refused."""
    words = _WORD.findall(answer.lower())
    if "sorry" in answer.lower() and len(words) < SHORT_APOLOGY_WORDS:
        return Rejection("answer", "answer_apology", f"an apology of {len(words)} words")
    if not any(w not in STOP_WORDS for w in words):
        return Rejection("answer", "answer_empty_words", "only punctuation and stop words")
    return None
