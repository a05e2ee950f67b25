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
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from selfinstruct.engine.budget import Budget, Ledger
from selfinstruct.engine.client import Completer, LLMClient
from selfinstruct.engine.types import Completion, EndpointSettings, StepParams, Usage


def _identity(endpoint: EndpointSettings) -> tuple[str | None, str, str]:
    """What makes two endpoints one client: the same URL, key and model."""
    return endpoint.base_url, endpoint.api_key, endpoint.model


class RoutingClient:
    """Sends each step's requests to its endpoint (`routes`; any other step to `main`)."""

    def __init__(
        self,
        main: EndpointSettings,
        routes: Mapping[str, EndpointSettings],
        usage: Usage | None = None,
        *,
        budget: Budget | None = None,
        ledger: Ledger | None = None,
    ) -> None:
        self.settings = main
        self.usage = usage or Usage()
        self.budget = budget
        clients: dict[tuple[str | None, str, str], LLMClient] = {}
        for endpoint in (main, *routes.values()):
            if _identity(endpoint) not in clients:
                clients[_identity(endpoint)] = LLMClient(endpoint, self.usage, budget=budget, ledger=ledger)
        self.clients = list(clients.values())
        self._main = clients[_identity(main)]
        self._routes = {step: clients[_identity(endpoint)] for step, endpoint in routes.items()}

    def client_for(self, step: str) -> LLMClient:
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

    def halt(self) -> None:
        """Send nothing more, on any endpoint (LLMClient.halt)."""
        for client in self.clients:
            client.halt()

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()


def endpoint_of(client: Completer, step: str) -> EndpointSettings:
    """The endpoint `step`'s requests go to through `client`: its own when routed, else the client's."""
    if isinstance(client, RoutingClient):
        return client.settings_for(step)
    return client.settings
