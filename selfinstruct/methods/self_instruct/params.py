"""Self-Instruct's sampling defaults per step and its stop sequences."""

from __future__ import annotations

import re

from selfinstruct.engine.types import Api, StepParams

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


def default_params(api: Api, *, local: bool = False) -> dict[str, StepParams]:
    """Sampling settings of Self-Instruct's steps, as the paper's bootstrap had them.

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
    }
