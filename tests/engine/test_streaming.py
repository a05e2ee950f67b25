"""The embedded model's requests: streamed, ended only by silence, never by a total deadline (issue 20, 11).

Against the loopback fake (which streams a word per chunk, one chunk every `trickle` seconds) with the same
client settings `generate` gives the embedded model; PaceWatch's note is checked with a given load average.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import pytest

from selfinstruct.engine.client import LLMClient
from selfinstruct.engine.local.server import PaceWatch, usual_pace
from selfinstruct.engine.streaming import _transport_errors
from selfinstruct.engine.types import Completion, EndpointSettings, StepParams
from selfinstruct.errors import EndpointError
from tests.servers import FakeOpenAIServer, Fault, StartServer

PARAMS = StepParams(temperature=0.0, top_p=1.0, max_tokens=64)
ANSWER = "one two three four five six seven eight nine ten"


def _complete(server: FakeOpenAIServer, *, api: Any = "completions", timeout: float, retries: int = 0,
              pace: Any = None) -> Completion:  # fmt: skip
    async def go() -> Completion:
        endpoint = EndpointSettings(base_url=server.url, api_key="local", model="fake-model", api=api,
                                    timeout=timeout, max_retries=retries, stream=True, pace=pace)  # fmt: skip
        client = LLMClient(endpoint)
        try:
            return await client.complete("instances", "Count to ten", PARAMS)
        finally:
            await client.aclose()

    return asyncio.run(go())


@pytest.mark.parametrize("api", ["completions", "chat"])
def test_a_slow_reply_that_keeps_coming_is_kept_past_the_timeout(api: str, fake_openai: StartServer) -> None:
    """12 chunks 0.25 s apart: 3 s in all against a 1 s --timeout, yet never 1 s without a token. The old fixed
    deadline threw such a reply away and asked again."""
    pace: list[tuple[int, float]] = []
    with fake_openai(lambda r: ANSWER) as server:
        server.inject(Fault(trickle=0.25))
        result = _complete(server, api=api, timeout=1.0, pace=lambda tokens, seconds: pace.append((tokens, seconds)))
        assert len(server.requests) == 1 and server.requests[0].body["stream"] is True
    assert result.text == ANSWER and result.finish_reason == "stop"
    assert (result.prompt_tokens, result.completion_tokens) == (3, 10)
    assert len(pace) == 1 and pace[0][0] == 10 and pace[0][1] > 1.0


def test_a_silent_server_times_out_on_inactivity_and_is_asked_again(fake_openai: StartServer) -> None:
    with fake_openai(lambda r: ANSWER) as server:
        server.inject(Fault(hang=10))  # no first token for 10 s
        result = _complete(server, timeout=1.0, retries=1)
        assert result.text == ANSWER and len(server.requests) == 2


def test_silence_every_time_is_one_clear_error(fake_openai: StartServer) -> None:
    with fake_openai(lambda r: ANSWER) as server:
        server.inject_when(lambda r: True, Fault(hang=10), times=10)
        with pytest.raises(EndpointError, match=r"gave up after 2 attempts \(no token for 0.5 s\)"):
            _complete(server, timeout=0.5, retries=1)


@pytest.mark.parametrize("api", ["completions", "chat"])
def test_a_stream_cut_mid_reply_is_asked_again(api: str, fake_openai: StartServer) -> None:
    """The connection closes after 3 chunks, the stream never ended: the HTTP library's own error (httpx2's
    with openai 3.x) is a broken stream, asked again, never a traceback and never a reply kept half."""
    with fake_openai(lambda r: ANSWER) as server:
        server.inject(Fault(stream_cut=3))
        result = _complete(server, api=api, timeout=5.0, retries=1)
        assert result.text == ANSWER and len(server.requests) == 2


def test_streaming_needs_no_httpx_when_the_sdk_uses_httpx2(
    monkeypatch: pytest.MonkeyPatch, fake_openai: StartServer
) -> None:
    """A fresh `pip install -e .[local]` with openai 3.x has httpx2 and no httpx: the Quick start died with
    ModuleNotFoundError on its first streamed request. (httpx made unimportable here, as it is there.)"""
    pytest.importorskip("httpx2")
    monkeypatch.setitem(sys.modules, "httpx", None)
    _transport_errors.cache_clear()  # looked up afresh, as in a new process
    try:
        with fake_openai(lambda r: ANSWER) as server:
            server.inject(Fault(stream_cut=3))
            assert _complete(server, timeout=5.0, retries=1).text == ANSWER
    finally:
        _transport_errors.cache_clear()


def test_an_http_error_before_the_stream_is_handled_as_without_streaming(fake_openai: StartServer) -> None:
    with fake_openai(lambda r: ANSWER) as server:
        server.inject(Fault(status=503))
        assert _complete(server, timeout=5.0, retries=1).text == ANSWER
        server.inject(Fault(status=401))
        with pytest.raises(EndpointError, match=r"authentication failed \(401\)"):
            _complete(server, timeout=5.0, retries=3)


def test_pace_watch_notes_once_when_slow_on_a_busy_machine() -> None:
    notes: list[str] = []
    load = [0.5]
    watch = PaceWatch(notes.append, cpus=2, load=lambda: load[0])
    watch.observe(100, 5.0)  # 20 tokens/s: the machine's normal
    watch.observe(50, 10.0)  # 5 tokens/s, but the machine is idle: something else, say nothing
    assert notes == []
    load[0] = 7.9
    watch.observe(40, 4.0)  # 10 tokens/s: slower, not far below
    assert notes == []
    watch.observe(30, 30.0)  # 1 token/s on an oversubscribed CPU
    watch.observe(20, 40.0)
    assert len(notes) == 1
    assert "1.0 tokens/s" in notes[0] and "usual 20.0" in notes[0] and "load average is 7.9 on 2 CPUs" in notes[0]
    assert "\n" not in notes[0]


def test_pace_watch_knows_the_usual_pace_of_the_bundled_model() -> None:
    """A machine oversubscribed from the first reply on: this run's best says nothing, the usual pace does."""
    notes: list[str] = []
    watch = PaceWatch(notes.append, usual=usual_pace(2, 2), cpus=2, load=lambda: 8.4)
    watch.observe(30, 10.0)  # 3 tokens/s from the start: the run measured on 2026-12-06 under load decoded ~1
    assert len(notes) == 1 and "3.0 tokens/s per reply, against a usual 24.0" in notes[0]
    calm = PaceWatch(notes.append, usual=usual_pace(2, 2), cpus=2, load=lambda: 8.4)
    calm.observe(200, 10.0)  # 20 tokens/s: fine, whatever the load
    assert len(notes) == 1
