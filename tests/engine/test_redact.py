"""Credentials never reach run.json, stderr or -v logs: one redaction function for server error text and URLs."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from selfinstruct.cli.app import cli
from selfinstruct.engine.redact import MASK, RedactingFilter, redact
from tests.servers import FakeOpenAIServer, Fault, StartServer

KEY = "sk-test-redact-SECRET-42"
URL_SECRET = "sk-inurl-SECRET-77"
ENV = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": None, "SELFINSTRUCT_MODEL": None}


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("Invalid header Authorization: Bearer sk-abcdef123456", "Invalid header Authorization: Bearer "),
        ('{"authorization": "Basic dXNlcjpwYXNz"}', '{"authorization": "Basic '),
        ("proxy said: Proxy-Authorization=Token abc.def.ghi", "proxy said: Proxy-Authorization=Token "),
        ("api-key: 0123456789abcdef", "api-key: "),
        ("bad key sk-proj-AbC_123-xyz789 given", "bad key "),
        ("http://user:pa55word@example.com:8000/v1", "http://"),
        ("sent Bearer eyJhbGciOiJIUzI1NiJ9.payload", "sent Bearer "),
    ],
)
def test_redact_removes_each_kind_of_credential(text: str, kept: str) -> None:
    out = redact(text)
    assert out.startswith(kept) and MASK in out
    for secret in ("sk-abcdef123456", "dXNlcjpwYXNz", "abc.def.ghi", "0123456789abcdef", "AbC_123", "pa55word",
                   "eyJhbGci"):  # fmt: skip
        assert secret not in out
    assert redact(out) == out


def test_redact_leaves_ordinary_text_alone() -> None:
    for text in ("check OPENAI_API_KEY", "this server wants an API key: set OPENAI_API_KEY",
                 "http://localhost:8000/v1: not found (404)", "Write a task about skiing", ""):  # fmt: skip
        assert redact(text) == text


def test_logging_filter_redacts_formatted_messages() -> None:
    record = logging.LogRecord("httpx", logging.INFO, __file__, 1, "HTTP Request: POST %s", ("http://u:p@h/v1",), None)
    assert RedactingFilter().filter(record) and record.getMessage() == f"HTTP Request: POST http://{MASK}@h/v1"


@pytest.fixture
def server(scripted_server: StartServer) -> Iterator[FakeOpenAIServer]:
    with scripted_server(api_key=KEY) as srv:
        yield srv


def test_a_server_error_echoing_the_authorization_header_is_redacted(
    tmp_path: Path, server: FakeOpenAIServer, seeds: Path
) -> None:
    server.inject(Fault(status=403, message=f"forbidden for Authorization: Bearer {KEY}"))
    out = tmp_path / "run"
    argv = ["generate", "--seeds", str(seeds), "--out", str(out), "--base-url", server.url, "--model", "m", "-n", "2"]
    result = CliRunner().invoke(cli, [*argv, "-q"], env=ENV)
    assert result.exit_code == 1 and "permission denied (403)" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert KEY not in result.stderr and MASK in result.stderr
    run_json = (out / "run.json").read_text(encoding="utf-8")
    assert json.loads(run_json)["status"] == "failed" and MASK in json.loads(run_json)["error"]
    assert KEY not in run_json


def test_credentials_in_base_url_are_refused_without_echoing_them(
    tmp_path: Path, server: FakeOpenAIServer, root: Path, seeds: Path
) -> None:
    """The SDK cannot send URL credentials beside its own key (aiohttp refuses the request with a traceback,
    httpx sends them in place of the key), and the URL is logged and saved: one line, exit 2, nothing written."""
    url = server.url.replace("http://", f"http://user:{URL_SECRET}@")
    out = tmp_path / "run"
    argv = ["generate", "--seeds", str(seeds), "--out", str(out), "--base-url", url, "--model", "m", "-n", "2", "-vv"]
    proc = subprocess.run([sys.executable, "-m", "selfinstruct", *argv], capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": str(root), "OPENAI_API_KEY": KEY, "PATH": "/usr/bin:/bin"})  # fmt: skip
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if not line.startswith("DEBUG")]
    assert len(lines) == 1 and "credentials in the URL" in lines[0] and MASK in lines[0]
    assert URL_SECRET not in proc.stderr + proc.stdout
    assert not out.exists() and server.stats.total == 0
