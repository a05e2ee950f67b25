"""Fake-model replies for the generate benchmark: instruction lists drawn from the realistic instruction
generator (so the pool does not saturate during long runs), everything else from the tests' scripted model."""

from __future__ import annotations

import hashlib
import re

from benchmarks.instruction_gen import generate_instructions, real_instructions
from tests.servers.fake_openai import Reply, Request
from tests.servers.scripted_model import respond as scripted

_OPEN_TASK = re.compile(r"Task\s*(\d+)\s*:\s*$")

# Read now, on import: the fake loads its responder before it says READY, so the runs timed against it do not
# wait 1-3 s on their first request while the fake reads the ShareGPT file (measured: it was request 0's latency).
real_instructions()


def respond(request: Request) -> Reply:
    match = _OPEN_TASK.search(request.prompt.rstrip())
    if match is None:
        return scripted(request)
    first = int(match.group(1))
    seed = int.from_bytes(hashlib.sha256(request.prompt.encode()).digest()[:4], "big")
    items = generate_instructions(8, dup_share=0.0, seed=seed)
    return Reply("\n".join(f"Task {first + i}: {text}" for i, text in enumerate(items)))
