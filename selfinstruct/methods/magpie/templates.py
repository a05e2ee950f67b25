"""Pre-query templates: a chat model's template up to where the user's words go, the prompt Magpie completes.

Where one comes from, first found wins: `--pre-query-template TEXT`; else the served model's own chat template,
rendered by the server (llama.cpp's /apply-template: the embedded model, llama-server) around marker messages
and cut at the user's; else the model's family, matched on its name in FAMILIES (for `--local-model`, on the
GGUF file's name, since the embedded server serves any file under one alias).

A family's template may hold a system turn: `{system}` is replaced by the `magpie_system` template's text
(prompts/<language>/magpie_system.txt), which is how a user steers the queries to a language or a domain.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from selfinstruct.errors import InputError
from selfinstruct.methods.base import ServedTemplate


@dataclass(frozen=True)
class Family:
    """A chat-template family: what its name looks like, its pre-query template, and the end-of-turn markers
    (the query's stop sequences; also where a reply that ran past its turn is cut)."""

    name: str
    matches: re.Pattern[str]
    template: str
    stops: tuple[str, ...]


FAMILIES: tuple[Family, ...] = (
    Family(
        "llama3",
        re.compile(r"llama[-_ .]?3", re.IGNORECASE),
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n{system}<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\n",
        ("<|eot_id|>", "<|start_header_id|>", "<|end_of_text|>"),
    ),
    # Qwen, SmolLM2 and every other ChatML model.
    Family(
        "chatml",
        re.compile(r"qwen|smollm|chatml|hermes|yi-", re.IGNORECASE),
        "<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n",
        ("<|im_end|>", "<|im_start|>", "<|endoftext|>"),
    ),
    # Gemma's template has no system turn.
    Family(
        "gemma",
        re.compile(r"gemma", re.IGNORECASE),
        "<bos><start_of_turn>user\n",
        ("<end_of_turn>", "<start_of_turn>", "<eos>"),
    ),
    # Mistral's [INST] has no system turn either (v0.1-v0.3 instruct templates).
    Family(
        "mistral",
        re.compile(r"mistral|mixtral", re.IGNORECASE),
        "<s>[INST] ",
        ("[/INST]", "[INST]", "</s>"),
    ),
)
CUSTOM = "custom"  # a --pre-query-template of no known family


@dataclass(frozen=True)
class PreQuery:
    """The run's query prompt, its family and where a query ends."""

    family: str
    template: str  # with `{system}` still in it for a family that has a system turn
    stops: tuple[str, ...]

    def render(self, system: str) -> str:
        return self.template.replace("{system}", system.strip())

    def to_facts(self) -> dict[str, object]:
        return {"template_family": self.family, "pre_query_template": self.template, "query_stops": list(self.stops)}

    @classmethod
    def from_facts(cls, facts: dict[str, object]) -> PreQuery:
        stops = facts["query_stops"]
        assert isinstance(stops, list)
        return cls(str(facts["template_family"]), str(facts["pre_query_template"]), tuple(map(str, stops)))


def family_of_text(template: str) -> Family | None:
    """The family whose markers a user's template uses (so its queries stop at that family's end of turn)."""
    for family in FAMILIES:
        if family.stops[1] in template or family.stops[0] in template:
            return family
    return None


def pre_query(model: str, given: str | None) -> PreQuery:
    """The run's pre-query template: `given` (--pre-query-template) or the model's family; an InputError when
    neither says it."""
    if given is not None:
        given = unescape(given)
        if not given.strip():
            raise InputError("--pre-query-template is empty; give the chat template up to the user's words")
        known = family_of_text(given)
        if known is None:
            return PreQuery(CUSTOM, given, ())
        return PreQuery(known.name, given, known.stops)
    for family in FAMILIES:
        if family.matches.search(model):
            return PreQuery(family.name, family.template, family.stops)
    names = ", ".join(f.name for f in FAMILIES)
    raise InputError(
        f"magpie cannot tell the chat template of model {model!r} (known families: {names}); pass "
        "--pre-query-template with its template up to the user's words, e.g. "
        "'<|im_start|>user\\n' for a ChatML model"
    )


def unescape(text: str) -> str:
    """A template typed on a command line: its backslash escapes \\n, \\t and \\\\ are a newline, a tab, a
    backslash (no template needs a literal backslash before n)."""
    return re.sub(r"\\([nt\\])", lambda m: {"n": "\n", "t": "\t", "\\": "\\"}[m.group(1)], text)


_USER_MARK = "\x01selfinstruct-user\x01"
_SYSTEM_MARK = "\x01selfinstruct-system\x01"


async def served_pre_query(served: ServedTemplate) -> PreQuery | None:
    """The pre-query template of the server's own chat template: a user message (after a system one, whose
    text becomes the `{system}` slot, when the template takes one) rendered by the server and cut where the
    user's words begin; what the template writes right after them is its end of turn, the query's first stop.
    None when the server cannot render it."""
    user = {"role": "user", "content": _USER_MARK}
    for messages in ([{"role": "system", "content": _SYSTEM_MARK}, user], [user]):
        rendered = await served(messages)
        if rendered is None or _USER_MARK not in rendered:
            continue
        head, _, tail = rendered.partition(_USER_MARK)
        template = head.replace(_SYSTEM_MARK, "{system}")
        family = family_of_text(template)
        end = tail.split()[0] if tail.split() else ""
        stops = tuple(dict.fromkeys(s for s in (end, *(family.stops if family else ())) if s))
        return PreQuery(family.name if family else CUSTOM, template, stops)
    return None


def cut_at_turn_end(text: str, stops: tuple[str, ...]) -> str:
    """The query without anything from the first end-of-turn or turn marker on (a server that ignores a stop
    sequence, or sends the marker it stopped at, leaves them in)."""
    markers = (*stops, *(m for f in FAMILIES for m in f.stops))
    end = min((i for i in (text.find(m) for m in markers if m) if i >= 0), default=len(text))
    return text[:end]
