"""Each pipeline step to its own model and endpoint: a cheap model proposes, a strong one answers.

The routing client is one Completer over several LLMClients, one per distinct endpoint (URL, key and model),
each step's requests sent to its endpoint. Everything that must hold across the run is shared, not copied:
one Usage (counted per step), one Budget (each step charged at its model's prices, Budget.step_prices) and one
ledger (the response journal). Journal keys already name the model, and `endpoint_of` gives the journaled
client each step's model, so a reply is replayed only to the question its own model answered: never paid twice.

Concurrency and rate limits (--concurrency, --rpm, --tpm) hold per endpoint: each LLMClient has its own
semaphore and limiter, as providers count their limits per model and a local server has its own slots. The
pipeline's scheduler bounds the jobs in flight across all of them. The pipeline and the methods never learn
about routing: they name a step, as they always did.

With --batch each endpoint gets a batching client instead (`make`; engine/batch/routed.py): a batch file names
one model and one endpoint, so each step's lines go into its own endpoint's batches, at its model's batch prices.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from selfinstruct.engine.budget import Budget, Ledger
from selfinstruct.engine.client import Completer, LLMClient, Sender
from selfinstruct.engine.types import Completion, EndpointSettings, StepParams, Usage


def identity(endpoint: EndpointSettings) -> tuple[str | None, str, str]:
    """What makes two endpoints one client: the same URL, key and model."""
    return endpoint.base_url, endpoint.api_key, endpoint.model


def distinct(main: EndpointSettings, routes: Mapping[str, EndpointSettings]) -> list[EndpointSettings]:
    """The endpoints a run sends to, one per URL, key and model, the main one first."""
    found: dict[tuple[str | None, str, str], EndpointSettings] = {}
    for endpoint in (main, *routes.values()):
        found.setdefault(identity(endpoint), endpoint)
    return list(found.values())


class RoutingClient:
    """Sends each step's requests to its endpoint (`routes`; any other step to `main`): through an LLMClient per
    endpoint, or the client `make` builds for it (sharing `usage`, the budget and the journal it was given)."""

    def __init__(
        self,
        main: EndpointSettings,
        routes: Mapping[str, EndpointSettings],
        usage: Usage | None = None,
        *,
        budget: Budget | None = None,
        ledger: Ledger | None = None,
        make: Callable[[EndpointSettings], Sender] | None = None,
    ) -> None:
        self.settings = main
        self.usage = usage or Usage()
        self.budget = budget
        build = make or (lambda endpoint: LLMClient(endpoint, self.usage, budget=budget, ledger=ledger))
        clients = {identity(endpoint): build(endpoint) for endpoint in distinct(main, routes)}
        self.clients = list(clients.values())
        self._main = clients[identity(main)]
        self._routes = {step: clients[identity(endpoint)] for step, endpoint in routes.items()}

    def client_for(self, step: str) -> Sender:
        return self._routes.get(step, self._main)

    def settings_for(self, step: str) -> EndpointSettings:
        """The endpoint (and model) `step`'s requests go to."""
        return self.client_for(step).settings

    @property
    def in_flight(self) -> int:
        return sum(client.in_flight for client in self.clients)

    @property
    def waiting(self) -> Mapping[Any, str]:
        return {(i, key): why for i, client in enumerate(self.clients) for key, why in client.waiting.items()}

    async def complete(self, step: str, prompt: str, params: StepParams, *, seed: int | None = None) -> Completion:
        return await self.client_for(step).complete(step, prompt, params, seed=seed)

    @property
    def online(self) -> bool:
        return all(client.online for client in self.clients)

    def halt(self) -> None:
        """Send nothing more, on any endpoint (LLMClient.halt)."""
        for client in self.clients:
            client.halt()

    async def sweep(self) -> None:
        """Every endpoint's paid batch lines no request took (BatchingClient.sweep), each at its own endpoint."""
        for client in self.clients:
            await client.sweep()

    @property
    def batch_ids(self) -> list[str]:
        return [batch for client in self.clients for batch in client.batch_ids]

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()


def endpoint_of(client: Completer, step: str) -> EndpointSettings:
    """The endpoint `step`'s requests go to through `client`: its own when routed, else the client's."""
    if isinstance(client, RoutingClient):
        return client.settings_for(step)
    return client.settings
