"""Seeds per request, derived from the run seed and the request's coordinates alone.

A request's seed never depends on when it was sent or what else was in flight, so that a run (and a resumed
one) asks the same things at any concurrency.
"""

from __future__ import annotations

import hashlib


def derive_seed(seed: int, *parts: object) -> int:
    """A per-request seed that depends only on the run seed and the request's coordinates."""
    digest = hashlib.sha256(":".join(map(str, (seed, *parts))).encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF
