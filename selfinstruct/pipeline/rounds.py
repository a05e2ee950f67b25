"""What each generating request may see: the rounds of requests, and the rules that say which earlier
rounds a request's demonstrations and near-duplicate snapshot come from (see the bootstrap's docstring).

A pure function of the request number, the window and the rule, so that what a request sees never depends on
timing, faults or concurrency.
"""

from __future__ import annotations

from typing import Any

from selfinstruct.errors import PoolError


def round_start(request: int, window: int) -> int:
    """The first request of `request`'s round; see the module docstring."""
    start = 0
    while True:
        size = min(window, max(1, start))
        if size == window:  # this round and every later one have the same size
            return start + (request - start) // window * window
        if request < start + size:
            return start
        start += size


# The rule that decides what each request sees (recorded in run.json as "schedule"; a run started under an older
# rule continues under it, so its pool stays the one it would have been).
SCHEDULE = 4
SCHEDULES = (1, 2, 3, SCHEDULE)
LAG_SHARE = 4  # rules 2-4: a round sees the requests before a quarter of its start...
LAG_ROUNDS = 4  # ...or, once that is further back, before the start of the fourth full round before its own
FIRST_ROUNDS = 2  # rules 3-4: rounds that start before FIRST_ROUNDS windows see request 0 only


def schedule_of(run: dict[str, Any], where: str) -> int:
    """The rule a run directory's requests follow: its run.json's, rule 1 when it predates the record, the
    current one for a new run."""
    if "settings" not in run:
        return SCHEDULE
    schedule = run["settings"].get("schedule", 1)
    if schedule not in SCHEDULES:
        raise PoolError(f"{where}: written by a newer selfinstruct (schedule {schedule!r}); upgrade or use a new --out")
    return int(schedule)


def horizon(request: int, window: int, schedule: int = SCHEDULE) -> int:
    """Requests before this one are the pool `request` may see (a round boundary, the same for a whole round).

    Rule 1 (runs started before schedule 2): the rounds before its own, or, once two full rounds have begun,
    the rounds before the previous one. Every retry in a round then delays the round after next, which is what
    made faults stall a run. Rule 2: from request 1 on, the rounds before a quarter of its round's start (at
    least request 0), but never more than LAG_ROUNDS full rounds back, so that about three quarters of the
    requests sent can be in flight while the slowest one is retried. Rule 3 (issue 26): the same, except that
    the rounds starting before FIRST_ROUNDS windows (requests 1-63 with the default) see request 0 only: under
    rule 2 each of requests 1, 3 and 7 in turn held back the rounds after it, and a retry on any of them
    stalled the start of a run (with 10% 429s, about 3 s of a 500-task run). Rule 4: as rule 3, but for a
    method whose generating prompt shows only the instructions it samples (`Method.demos_from_candidates`),
    those first rounds see request 0's candidates that passed the instruction filters as soon as its one reply
    lands (`previews`), not its tasks once its classify and instances requests are answered too."""
    start = round_start(request, window)
    if schedule == 1:
        previous = round_start(start - 1, window) if start > 0 else 0
        if previous > 0 and start - previous == window:
            return previous
        return start
    if start == 0:
        return 0
    if schedule >= 3 and start < FIRST_ROUNDS * window:
        return 1
    share = round_start(start // LAG_SHARE, window)
    return max(1, share, round_start(max(0, start - LAG_ROUNDS * window), window))


def previews(request: int, window: int, schedule: int) -> bool:
    """Whether, under a rule that allows it (rule 4) and for a method that can use it, `request` sees request
    0's candidates that passed the instruction filters instead of its accepted tasks: the rounds that rule 3
    gates on request 0 alone. What they see is fixed by request 0's reply, so it is the same at any concurrency
    and after a resume (scheduler._harvest, bootstrap._preview_from_records)."""
    return schedule >= 4 and request >= 1 and horizon(request, window, schedule) == 1
