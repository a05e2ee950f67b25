"""Tests of the fake OpenAI server, driven through the real ``openai`` SDK over HTTP."""

from __future__ import annotations

import asyncio
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from openai import AsyncOpenAI, OpenAI
from openai.types.chat import ChatCompletion

from tests.servers.fake_openai import FakeOpenAIServer, Fault, Reply, Request

pytestmark = pytest.mark.timeout(30)

FAKE_MODULE = Path(__file__).resolve().parent / "fake_openai.py"


def shout_responder(request: Request) -> Reply:
    """Module-level responder, also loaded by the subprocess test via ``--responder``."""
    return Reply(text=request.prompt.upper(), prompt_tokens=11, completion_tokens=5)


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as srv:
        yield srv


@pytest.fixture
def client(server: FakeOpenAIServer) -> Iterator[OpenAI]:
    with OpenAI(base_url=server.url, api_key="test-key", max_retries=0, timeout=10) as c:
        yield c


def chat(client: OpenAI, content: str = "hello world", n: int = 1) -> ChatCompletion:
    return client.chat.completions.create(model="fake-model", messages=[{"role": "user", "content": content}], n=n)


# -- round trips ------------------------------------------------------------------------------------------


def test_chat_round_trip_with_custom_responder() -> None:
    seen: list[Request] = []

    def responder(req: Request) -> Reply:
        seen.append(req)
        return Reply(text=f"answer to [{req.prompt}]")

    with (
        FakeOpenAIServer(responder) as srv,
        OpenAI(base_url=srv.url, api_key="test-key", max_retries=0) as c,
    ):
        resp = c.chat.completions.create(
            model="my-model",
            messages=[
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": "Say hi."},
            ],
            temperature=0.5,
        )
    assert resp.object == "chat.completion"
    assert resp.model == "my-model"
    assert len(resp.choices) == 1
    choice = resp.choices[0]
    assert choice.index == 0
    assert choice.message.role == "assistant"
    assert choice.message.content == "answer to [You are terse.\n\nSay hi.]"
    assert choice.finish_reason == "stop"
    assert len(seen) == 1
    [req] = srv.requests
    assert req.path == "/v1/chat/completions"
    assert req.prompt == "You are terse.\n\nSay hi."
    assert req.body["temperature"] == 0.5
    assert req.body["model"] == "my-model"
    assert req.headers["authorization"] == "Bearer test-key"
    assert req.headers["content-type"] == "application/json"
    assert req.outcome == "ok"


def test_completions_round_trip_with_string_responder() -> None:
    with (
        FakeOpenAIServer(lambda req: f"<{req.prompt}>", profile="openai") as srv,  # (Ollama wants a string prompt)
        OpenAI(base_url=srv.url, api_key="k", max_retries=0) as c,
    ):
        resp = c.completions.create(model="fake-model", prompt="one two three", max_tokens=5)
        listed = c.completions.create(model="fake-model", prompt=["first", "second"])
    assert resp.object == "text_completion"
    assert resp.choices[0].text == "<one two three>"
    assert resp.choices[0].finish_reason == "stop"
    assert resp.choices[0].logprobs is None
    assert listed.choices[0].text == "<first>"
    assert [r.path for r in srv.requests] == ["/v1/completions", "/v1/completions"]
    assert srv.requests[0].body["max_tokens"] == 5


def test_default_echo_responder(client: OpenAI) -> None:
    resp = chat(client, "x" * 100)
    assert resp.choices[0].message.content == "ok: " + "x" * 40


def test_usage_defaults_to_word_counts(client: OpenAI) -> None:
    resp = chat(client, "one two three four")
    assert resp.usage is not None
    # echo reply is "ok: one two three four" -> 5 words
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens, resp.usage.total_tokens) == (4, 5, 9)


def test_usage_from_reply() -> None:
    with (
        FakeOpenAIServer(shout_responder) as srv,
        OpenAI(base_url=srv.url, api_key="k", max_retries=0) as c,
    ):
        resp = c.completions.create(model="m", prompt="abc")
    assert resp.choices[0].text == "ABC"
    assert resp.usage is not None
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens, resp.usage.total_tokens) == (11, 5, 16)


def test_n_greater_than_one_calls_responder_n_times() -> None:
    counter = iter(range(100))

    def responder(req: Request) -> Reply:
        return Reply(text=f"variant {next(counter)}")

    with (
        FakeOpenAIServer(responder, profile="openai") as srv,  # (llama.cpp refuses n > 1)
        OpenAI(base_url=srv.url, api_key="k", max_retries=0) as c,
    ):
        resp = chat(c, "go", n=3)
        comp = c.completions.create(model="m", prompt="go", n=2)
    assert [ch.index for ch in resp.choices] == [0, 1, 2]
    assert [ch.message.content for ch in resp.choices] == ["variant 0", "variant 1", "variant 2"]
    assert resp.usage is not None and resp.usage.completion_tokens == 6
    assert [ch.text for ch in comp.choices] == ["variant 3", "variant 4"]
    assert len(srv.requests) == 2


def test_paths_without_v1_prefix(server: FakeOpenAIServer) -> None:
    base = server.url.removesuffix("/v1")
    with OpenAI(base_url=base, api_key="k", max_retries=0) as c:
        assert chat(c, "hi").choices[0].message.content == "ok: hi"
        assert c.completions.create(model="m", prompt="yo").choices[0].text == "ok: yo"
    assert [r.path for r in server.requests] == ["/v1/chat/completions", "/v1/completions"]


def test_models_endpoint() -> None:
    with (
        FakeOpenAIServer(models=["a", "b"]) as srv,
        OpenAI(base_url=srv.url, api_key="k", max_retries=0) as c,
    ):
        assert [m.id for m in c.models.list()] == ["a", "b"]
        assert c.models.retrieve("b").id == "b"
        with pytest.raises(openai.NotFoundError):
            c.models.retrieve("nope")
    assert srv.requests == []  # only completion requests are recorded
    assert srv.stats.by_outcome == {"models": 2, "not_found": 1}


def test_unknown_path_is_openai_style_404(client: OpenAI, server: FakeOpenAIServer) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        client.post("/embeddings", cast_to=object, body={"input": "x"})
    assert info.value.status_code == 404
    assert isinstance(info.value.body, dict) and info.value.body["type"] == "invalid_request_error"
    assert "Unknown request URL" in info.value.message
    # the connection survives the error and the next request works
    assert chat(client, "after").choices[0].message.content == "ok: after"


def test_streaming_answers_a_word_per_chunk_then_the_usage(client: OpenAI) -> None:
    stream = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi there"}], stream=True,
        stream_options={"include_usage": True},
    )  # fmt: skip
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "ok: hi there"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 3
    legacy = list(client.completions.create(model="m", prompt="abc", stream=True))
    assert "".join(c.choices[0].text for c in legacy) == "ok: abc" and legacy[-1].usage is None


def test_keep_alive_reuses_one_connection(client: OpenAI, server: FakeOpenAIServer) -> None:
    server.inject(Fault(status=429), Fault(status=400))
    for _ in range(2):
        with pytest.raises(openai.APIStatusError):
            chat(client)
    for _ in range(5):
        chat(client)
    assert server.stats.connections == 1


# -- faults -----------------------------------------------------------------------------------------------


def test_rate_limit_with_retry_after(client: OpenAI, server: FakeOpenAIServer) -> None:
    server.inject(Fault(status=429, retry_after=1, message="slow down", code="rate_limit_exceeded"))
    with pytest.raises(openai.RateLimitError) as info:
        chat(client)
    err = info.value
    assert err.status_code == 429
    assert err.response.headers["retry-after"] == "1"
    assert err.response.headers["retry-after-ms"] == "1000"
    assert err.code == "rate_limit_exceeded"
    assert "slow down" in err.message
    assert server.pending_faults() == 0
    assert chat(client).choices[0].message.content == "ok: hello world"  # the fault was consumed


@pytest.mark.parametrize(
    ("status", "exc_type"),
    [
        (400, openai.BadRequestError),
        (401, openai.AuthenticationError),
        (403, openai.PermissionDeniedError),
        (404, openai.NotFoundError),
        (500, openai.InternalServerError),
        (503, openai.InternalServerError),
    ],
)
def test_status_faults_map_to_sdk_exceptions(
    client: OpenAI, server: FakeOpenAIServer, status: int, exc_type: type[openai.APIStatusError]
) -> None:
    server.inject(Fault(status=status))
    with pytest.raises(exc_type) as info:
        chat(client)
    assert info.value.status_code == status
    assert isinstance(info.value.body, dict) and info.value.body["message"]
    assert server.requests[-1].outcome == "fault_status"


def test_context_length_400(client: OpenAI, server: FakeOpenAIServer) -> None:
    msg = "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens."
    server.inject(Fault(status=400, message=msg, code="context_length_exceeded"))
    with pytest.raises(openai.BadRequestError) as info:
        chat(client)
    assert info.value.code == "context_length_exceeded"
    assert "maximum context length" in info.value.message


def test_api_key_mismatch_is_401() -> None:
    with FakeOpenAIServer(api_key="sekret") as srv:
        with (
            OpenAI(base_url=srv.url, api_key="wrong", max_retries=0) as bad,
            pytest.raises(openai.AuthenticationError) as info,
        ):
            chat(bad)
        assert info.value.code == "invalid_api_key"
        with OpenAI(base_url=srv.url, api_key="sekret", max_retries=0) as good:
            assert chat(good, "hi").choices[0].message.content == "ok: hi"
        assert [r.outcome for r in srv.requests] == ["unauthorized", "ok"]


def test_drop_is_connection_error(client: OpenAI, server: FakeOpenAIServer) -> None:
    chat(client)  # warm a keep-alive connection first: the drop must also surface on a reused one
    server.inject(Fault(drop=True))
    with pytest.raises(openai.APIConnectionError) as info:
        chat(client)
    assert not isinstance(info.value, openai.APITimeoutError)
    assert chat(client).choices[0].message.content == "ok: hello world"
    assert server.stats.by_outcome == {"ok": 2, "fault_drop": 1}


def test_hang_triggers_client_timeout(server: FakeOpenAIServer) -> None:
    server.inject(Fault(hang=5))
    with OpenAI(base_url=server.url, api_key="k", max_retries=0, timeout=0.3) as c:
        with pytest.raises(openai.APITimeoutError):
            chat(c)
        assert chat(c, "later").choices[0].message.content == "ok: later"


def test_short_hang_then_normal_answer(client: OpenAI, server: FakeOpenAIServer) -> None:
    server.inject(Fault(hang=0.05))
    assert chat(client, "slow").choices[0].message.content == "ok: slow"
    assert server.requests[0].outcome == "fault_hang"


def test_garbage_text(client: OpenAI, server: FakeOpenAIServer) -> None:
    server.inject(Fault(text="}}not json{{ \x00 ###"))
    resp = chat(client)
    assert resp.choices[0].message.content == "}}not json{{ \x00 ###"
    assert resp.choices[0].finish_reason == "stop"


def test_finish_reason_length(client: OpenAI, server: FakeOpenAIServer) -> None:
    server.inject(Fault(text="Instruction: write a", finish_reason="length"))
    resp = client.completions.create(model="m", prompt="p")
    assert resp.choices[0].text == "Instruction: write a"
    assert resp.choices[0].finish_reason == "length"


def test_empty_choices(client: OpenAI, server: FakeOpenAIServer) -> None:
    server.inject(Fault(empty_choices=True), Fault(empty_choices=True))
    assert chat(client).choices == []
    assert client.completions.create(model="m", prompt="p").choices == []


def test_faults_are_fifo(client: OpenAI, server: FakeOpenAIServer) -> None:
    server.inject(Fault(status=500), Fault(text="second"), Fault(status=429))
    with pytest.raises(openai.InternalServerError):
        chat(client)
    assert chat(client).choices[0].message.content == "second"
    with pytest.raises(openai.RateLimitError):
        chat(client)
    assert chat(client).choices[0].message.content == "ok: hello world"


def test_inject_when_targets_matching_requests(client: OpenAI, server: FakeOpenAIServer) -> None:
    server.inject(Fault(text="from fifo"))
    server.inject_when(lambda r: "poison" in r.prompt, Fault(status=500, message="poisoned"), times=2)
    for _ in range(2):
        with pytest.raises(openai.InternalServerError, match="poisoned"):
            chat(client, "poison pill")
    # the predicate fault came first and left the FIFO queue alone
    assert chat(client, "clean").choices[0].message.content == "from fifo"
    assert chat(client, "poison pill").choices[0].message.content == "ok: poison pill"
    assert server.pending_faults() == 0


def test_inject_when_can_target_path(client: OpenAI, server: FakeOpenAIServer) -> None:
    server.inject_when(lambda r: r.path == "/v1/completions", Fault(text="targeted"))
    assert chat(client, "chat").choices[0].message.content == "ok: chat"
    assert client.completions.create(model="m", prompt="c").choices[0].text == "targeted"


def test_responder_exception_is_500_and_server_survives(server: FakeOpenAIServer) -> None:
    def responder(req: Request) -> str:
        if "boom" in req.prompt:
            raise ValueError("kaboom from responder")
        return "fine"

    server.responder = responder
    with OpenAI(base_url=server.url, api_key="k", max_retries=0) as c:
        with pytest.raises(openai.InternalServerError, match="kaboom from responder"):
            chat(c, "boom")
        assert chat(c, "calm").choices[0].message.content == "fine"
    assert len(server.errors) == 1 and "ValueError: kaboom from responder" in server.errors[0]
    assert [r.outcome for r in server.requests] == ["responder_error", "ok"]


def test_sdk_retry_recovers_from_single_500(server: FakeOpenAIServer) -> None:
    server.inject(Fault(status=500, retry_after=0.01))  # short Retry-After keeps the SDK's backoff fast
    with OpenAI(base_url=server.url, api_key="k", max_retries=2) as c:
        resp = chat(c, "retry me")
    assert resp.choices[0].message.content == "ok: retry me"
    assert [r.outcome for r in server.requests] == ["fault_status", "ok"]
    assert server.requests[1].headers.get("x-stainless-retry-count") == "1"


def test_stats_counts_paths_and_outcomes(client: OpenAI, server: FakeOpenAIServer) -> None:
    server.inject(Fault(status=429), Fault(text="t"))
    with pytest.raises(openai.RateLimitError):
        chat(client)
    chat(client)
    client.completions.create(model="m", prompt="p")
    client.models.list()
    stats = server.stats
    assert stats.total == 4
    assert stats.by_path == {"/v1/chat/completions": 2, "/v1/completions": 1, "/v1/models": 1}
    assert stats.by_outcome == {"fault_status": 1, "fault_text": 1, "ok": 1, "models": 1}
    server.reset()
    assert server.stats.total == 0 and server.requests == []


def test_stop_is_prompt_even_with_a_hanging_request() -> None:
    srv = FakeOpenAIServer().start()
    srv.inject(Fault(hang=30))
    errors: list[BaseException] = []

    def call() -> None:
        try:
            with OpenAI(base_url=srv.url, api_key="k", max_retries=0, timeout=20) as c:
                chat(c)
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=call, daemon=True)
    t.start()
    deadline = time.monotonic() + 5
    while not srv.requests and time.monotonic() < deadline:
        time.sleep(0.01)
    srv.stop()  # must not wait for the 30 s hang
    t.join(timeout=10)
    assert not t.is_alive()


# -- concurrency ------------------------------------------------------------------------------------------


def test_many_concurrent_async_requests() -> None:
    count = 160

    async def run(url: str) -> tuple[list[str], float]:
        async with AsyncOpenAI(base_url=url, api_key="k", max_retries=0, timeout=10) as c:
            start = time.monotonic()
            resps = await asyncio.gather(
                *(
                    c.chat.completions.create(model="m", messages=[{"role": "user", "content": f"q{i}"}])
                    for i in range(count)
                )
            )
            elapsed = time.monotonic() - start
        return [r.choices[0].message.content or "" for r in resps], elapsed

    with FakeOpenAIServer(latency=0.2) as srv:
        texts, elapsed = asyncio.run(run(srv.url))
        assert texts == [f"ok: q{i}" for i in range(count)]
        assert srv.stats.by_outcome == {"ok": count}
    assert elapsed < 5.0  # serial would be count * 0.2 = 32 s


def test_async_client_faults() -> None:
    async def run(url: str) -> None:
        async with AsyncOpenAI(base_url=url, api_key="k", max_retries=0, timeout=0.3) as c:
            with pytest.raises(openai.RateLimitError):
                await c.completions.create(model="m", prompt="a")
            with pytest.raises(openai.APITimeoutError):
                await c.completions.create(model="m", prompt="b")
            resp = await c.completions.create(model="m", prompt="c")
            assert resp.choices[0].text == "ok: c"

    with FakeOpenAIServer() as srv:
        srv.inject(Fault(status=429, retry_after=2), Fault(hang=3))
        asyncio.run(run(srv.url))


# -- subprocess entry point -------------------------------------------------------------------------------


def _read_line(proc: subprocess.Popen[str], timeout: float) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready:
        raise AssertionError(f"no output from fake server within {timeout}s")
    return proc.stdout.readline()


def test_subprocess_entry_point(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.Popen(
        [
            sys.executable,
            str(FAKE_MODULE),
            "--port",
            "0",
            "--latency",
            "0.01",
            "--responder",
            "tests.servers.test_fake_openai:shout_responder",
        ],
        cwd=tmp_path,  # the script itself must make the repo root importable
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = _read_line(proc, timeout=15)
        assert line.startswith("READY http://127.0.0.1:"), line
        url = line.split()[1]
        assert url.endswith("/v1")
        with OpenAI(base_url=url, api_key="k", max_retries=0, timeout=5) as c:
            resp = c.completions.create(model="m", prompt="make me loud")
            assert resp.choices[0].text == "MAKE ME LOUD"
            assert resp.usage is not None and resp.usage.prompt_tokens == 11
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert proc.stderr is not None
        assert "Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def test_subprocess_default_responder_and_sigint(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, str(FAKE_MODULE), "--api-key", "abc"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        url = _read_line(proc, timeout=15).split()[1]
        with OpenAI(base_url=url, api_key="abc", max_retries=0, timeout=5) as c:
            assert chat(c, "ping").choices[0].message.content == "ok: ping"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()


# -- replies that run into max_tokens, reasoning fields ------------------------------------------------------


def test_cut_fault_keeps_a_share_of_the_reply_and_reports_length(server: FakeOpenAIServer, client: OpenAI) -> None:
    server.responder = lambda req: Reply(text="0123456789")
    server.inject(Fault(cut=0.45))
    cut, whole = chat(client), chat(client)
    assert (cut.choices[0].message.content, cut.choices[0].finish_reason) == ("0123", "length")
    assert (whole.choices[0].message.content, whole.choices[0].finish_reason) == ("0123456789", "stop")
    assert [r.outcome for r in server.requests] == ["fault_cut", "ok"]


def test_enforced_max_tokens_cuts_long_replies_only() -> None:
    with (
        FakeOpenAIServer(lambda req: "one two\nthree four", enforce_max_tokens=True) as srv,
        OpenAI(base_url=srv.url, api_key="k", max_retries=0) as c,
    ):
        short = c.completions.create(model="fake-model", prompt="p", max_tokens=3)
        enough = c.completions.create(model="fake-model", prompt="p", max_tokens=4)
        unlimited = c.completions.create(model="fake-model", prompt="p")
    assert (short.choices[0].text, short.choices[0].finish_reason) == ("one two\nthree", "length")
    assert (enough.choices[0].text, enough.choices[0].finish_reason) == ("one two\nthree four", "stop")
    assert unlimited.choices[0].finish_reason == "stop"


def test_reasoning_content_fault_adds_the_field_to_chat_answers(server: FakeOpenAIServer, client: OpenAI) -> None:
    server.inject(Fault(reasoning_content="Let me think: Task 9 could be..."))
    resp = chat(client, "hi")
    message = resp.choices[0].message
    assert message.content == "ok: hi"
    assert getattr(message, "reasoning_content", None) == "Let me think: Task 9 could be..."
    assert server.requests[0].outcome == "fault_reasoning"
