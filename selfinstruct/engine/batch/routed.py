"""--batch with a model or endpoint per step: a batching client per endpoint and model, routed by step.

The Batch API takes one model and one endpoint per batch file, so each endpoint (URL, key and model; see
engine/routing.py) gathers its own steps' lines into its own batches, created, polled and collected there with
its own key. Everything else is the run's, shared as the online routing client shares it: one Usage, one Budget
(each step charged at its model's batch prices) and one journal (keys name the model: a resume never pays
twice), and one `batches.jsonl`, in which each file line records its endpoint (no key, only where it came from)
and each client reads back only its own files (ledger.owner_of), so a restart waits for every batch in flight
where it lives.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from selfinstruct.engine.batch.client import BatchingClient
from selfinstruct.engine.batch.ledger import BatchLedger, Endpoint, owner_of
from selfinstruct.engine.budget import Budget, Ledger
from selfinstruct.engine.client import Sender
from selfinstruct.engine.routing import RoutingClient, distinct, identity
from selfinstruct.engine.types import EndpointSettings, Usage


def batching_router(
    main: EndpointSettings,
    routes: Mapping[str, EndpointSettings],
    ledger: Path,
    *,
    keys: Mapping[str, str],
    poll_seconds: float,
    notice: Callable[[str], None],
    usage: Usage,
    budget: Budget | None,
    journal: Ledger,
) -> RoutingClient:
    """Each step's requests to its endpoint's batching client (`keys`: how each routed step's key was found, as
    run.json records it; the main endpoint's is "main")."""
    endpoints = distinct(main, routes)
    how = {identity(main): "main"}
    for step, endpoint in routes.items():
        how.setdefault(identity(endpoint), keys.get(step, "main"))
    records: list[Endpoint] = [{"base_url": e.where, "model": e.model, "api_key": how[identity(e)]} for e in endpoints]

    def make(endpoint: EndpointSettings) -> Sender:
        mine = endpoints.index(endpoint)
        view = BatchLedger(ledger, records[mine], lambda found: owner_of(found, records) == mine)
        return BatchingClient.for_command(endpoint, view, poll_seconds=poll_seconds, notice=notice, usage=usage,
                                          budget=budget, journal=journal)  # fmt: skip

    return RoutingClient(main, routes, usage, budget=budget, make=make)
