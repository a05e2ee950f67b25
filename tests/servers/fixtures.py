"""The fakes as pytest fixtures (a plugin registered by `tests/conftest.py`): every server a test starts through
them is stopped at its teardown, whatever the test does.

* `fake_openai(responder=None, **options)` starts a `FakeOpenAIServer` (options: `api_key`, `latency`, `profile`,
  `context`, `enforce_max_tokens`, `count_tokens`, `models`, `routes`) and returns it, listening. `with
  fake_openai(...) as server:` ends one before the test does (a run that outlives its endpoint); it is stopped
  once either way. `module_fake_openai` is the same for module-scoped fixtures.
* `scripted` is the scripted model (`tests/servers/scripted_model.py`), a responder; `scripted_server(**options)`
  starts a fake answering with it. `scripted_judge` and `judge_server(**options)` are the same for the audit's
  judge (`tests/servers/scripted_judge.py`).
* `fake_batches(**options)` makes the Files and Batches endpoints (`fail_rate`, `step_seconds`) to plug into a
  server: `fake_openai(responder, routes=fake_batches())`; the test reads back what was submitted from it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.servers import scripted_judge as _judge
from tests.servers import scripted_model as _model
from tests.servers.fake_batches import FakeBatches
from tests.servers.fake_openai import FakeOpenAIServer, Reply, Request, Responder

StartServer = Callable[..., FakeOpenAIServer]


def _servers() -> Iterator[StartServer]:
    started: list[FakeOpenAIServer] = []

    def start(responder: Responder | None = None, /, **options: Any) -> FakeOpenAIServer:
        server = FakeOpenAIServer(responder, **options).start()
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in reversed(started):
            server.stop()


@pytest.fixture
def fake_openai() -> Iterator[StartServer]:
    """Start fake OpenAI servers: `fake_openai(responder, **options)`; all are stopped at teardown."""
    yield from _servers()


@pytest.fixture(scope="module")
def module_fake_openai() -> Iterator[StartServer]:
    """`fake_openai` for module-scoped fixtures: the servers live until the module's last test."""
    yield from _servers()


@pytest.fixture(scope="session")
def scripted() -> Callable[[Request], Reply]:
    """The scripted model: a pure function of the prompt that answers each pipeline step like a model."""
    return _model.respond


@pytest.fixture
def scripted_server(fake_openai: StartServer) -> StartServer:
    """Start a fake answering with the scripted model: `scripted_server(api_key=KEY, latency=0.1, ...)`."""
    return lambda **options: fake_openai(_model.respond, **options)


@pytest.fixture(scope="session")
def scripted_judge() -> Callable[[Request], Reply]:
    """The scripted judge of the audit's tests (its verdicts: `tests.servers.expected`)."""
    return _judge.judge


@pytest.fixture
def judge_server(fake_openai: StartServer) -> StartServer:
    """Start a fake answering with the scripted judge: `judge_server(api_key=KEY, ...)`."""
    return lambda **options: fake_openai(_judge.judge, **options)


@pytest.fixture
def fake_batches() -> Callable[..., FakeBatches]:
    """Make the Batch API's endpoints for a server: `fake_openai(responder, routes=fake_batches(step_seconds=0.4))`."""
    return FakeBatches
