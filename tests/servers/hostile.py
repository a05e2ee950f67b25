"""A hostile endpoint: the fake server with faults that a budget must survive (issue 20).

Usage omitted, null, negative, a string or fractional; replies that the server bills and sends after the client's
timeout ("late billing"); 5xx, 429 and dropped connections; a 10 MB body. The server meters what it generates
(`FakeOpenAIServer.served_tokens`), whatever the client makes of it: the bill the budget must stay under.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from tests.servers.fake_openai import FakeOpenAIServer, Fault, Request

HUGE_TEXT = "word" + " " * 10_000_000  # one token, ten megabytes


def usage_faults() -> dict[str, Fault]:
    """Each way an endpoint gets usage wrong, by name (for parametrised tests)."""
    return {
        "omitted": Fault(omit_usage=True),
        "null": Fault(usage={"prompt_tokens": None, "completion_tokens": None, "total_tokens": None}),
        "negative": Fault(usage={"prompt_tokens": -8_600_000, "completion_tokens": -3, "total_tokens": -8_600_003}),
        "string": Fault(usage={"prompt_tokens": "12.5", "completion_tokens": "7", "total_tokens": "19.5"}),
        "fractional": Fault(usage={"prompt_tokens": 12.5, "completion_tokens": 3.25, "total_tokens": 15.75}),
    }


def mix(timeout: float, huge: bool = True) -> list[tuple[float, Fault]]:
    """(probability, fault) for every hostile behaviour; `timeout` is the client's, which late replies overrun."""
    faults = [(0.06, fault) for fault in usage_faults().values()]
    faults += [
        (0.10, Fault(hang=timeout * 1.5)),  # billed, answered after the client gave up
        (0.04, Fault(status=500)),
        (0.03, Fault(status=429, retry_after=0.05)),
        (0.03, Fault(drop=True)),
    ]
    if huge:
        faults.append((0.005, Fault(text=HUGE_TEXT)))
    return faults


def make_hostile(server: FakeOpenAIServer, timeout: float, seed: int = 0, huge: bool = True) -> None:
    """Apply `mix` to every completion request from now on, drawn with a seeded RNG."""
    rng = random.Random(seed)
    for probability, fault in mix(timeout, huge):
        server.inject_when(_chance(rng, probability), fault, times=10**9)


def _chance(rng: random.Random, probability: float) -> Callable[[Request], bool]:
    return lambda _request: rng.random() < probability
