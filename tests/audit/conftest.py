"""The audit's tests share one judge: the scripted judge behind a key (`server`)."""

from __future__ import annotations

import pytest

from tests.servers import FakeOpenAIServer, StartServer


@pytest.fixture
def server(judge_server: StartServer) -> FakeOpenAIServer:
    """The scripted judge on a fake server that wants an API key (`server.api_key`)."""
    return judge_server(api_key="sk-test-audit")
