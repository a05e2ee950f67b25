"""End-to-end tests of the embedded local model server (real llama.cpp via xllamacpp, real SmolLM2 GGUF)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from selfinstruct.engine.local.serve_child import missing_library_message
from selfinstruct.engine.local.server import LocalServer
from selfinstruct.errors import LocalModelError

psutil = pytest.importorskip("psutil")
openai = pytest.importorskip("openai")

pytestmark = pytest.mark.e2e  # skipped without the embedded model's runtime or model (tests/conftest.py)

REPO_ROOT = Path(__file__).resolve().parents[2]


def _gone(pid: int) -> bool:
    """True when the process no longer exists (a zombie awaiting its reaper counts as gone)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _group_members(pgid: int) -> list[int]:
    members = []
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) == pgid and not _gone(proc.pid):
                members.append(proc.pid)
        except (ProcessLookupError, psutil.Error):
            continue
    return members


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _gone(pid):
            return True
        time.sleep(0.1)
    return _gone(pid)


def _serve_children() -> list[psutil.Process]:
    result = []
    for child in psutil.Process().children(recursive=True):
        try:
            if "selfinstruct.engine.local.serve_child" in " ".join(child.cmdline()) and not _gone(child.pid):
                result.append(child)
        except psutil.Error:
            continue
    return result


def test_serves_chat_and_completions_then_stops_cleanly() -> None:
    server = LocalServer(n_ctx=1024).start()
    pid = server.pid
    assert pid is not None
    try:
        assert server.url.startswith("http://127.0.0.1:") and server.url.endswith("/v1")
        client = openai.OpenAI(base_url=server.url, api_key="local", max_retries=0, timeout=60)
        chat = client.chat.completions.create(
            model=server.model_name,
            messages=[{"role": "user", "content": "Name one color of the rainbow."}],
            max_tokens=16,
            temperature=0,
        )
        assert chat.choices[0].message.content
        assert "<|im_" not in chat.choices[0].message.content  # ChatML markers must not leak
        completion = client.completions.create(
            model=server.model_name, prompt="One, two, three,", max_tokens=8, temperature=0
        )
        assert completion.choices[0].text
    finally:
        server.stop()
    assert server.pid is None
    assert _wait_gone(pid, 5)
    assert _group_members(pid) == []
    server.stop()  # idempotent


@pytest.mark.parametrize("in_thread", [False, True], ids=["main-thread", "worker-thread"])
def test_server_dies_with_sigkilled_parent(in_thread: bool, tmp_path: Path) -> None:
    # From a worker thread there is no PDEATHSIG (it fires when the forking thread exits), so that case
    # checks the stdin-EOF watchdog alone, and that the server outlives the thread that started it.
    script = textwrap.dedent(
        f"""
        import threading, time
        from pathlib import Path
        from selfinstruct.engine.local.server import LocalServer
        servers = []
        def run():
            servers.append(LocalServer(n_ctx=512, log_path=Path({str(tmp_path / "server.log")!r})).start())
        if {in_thread!r}:
            t = threading.Thread(target=run)
            t.start()
            t.join()
            time.sleep(0.5)
        else:
            run()
        print(servers[0].pid, flush=True)
        time.sleep(600)
        """
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=env, text=True)
    try:
        assert parent.stdout is not None
        line = parent.stdout.readline()
        assert line.strip().isdigit(), f"no pid from the parent script: {line!r}"
        server_pid = int(line)
        assert not _gone(server_pid)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=5)
        assert _wait_gone(server_pid, 5), "server outlived its SIGKILLed parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def test_bogus_gguf_raises_clear_error_and_leaves_no_process(tmp_path: Path) -> None:
    bogus = tmp_path / "x.gguf"
    bogus.write_text("this is not a GGUF file\n")
    server = LocalServer(bogus, startup_timeout=60)
    with pytest.raises(LocalModelError) as excinfo:
        server.start()
    message = str(excinfo.value)
    assert "not a GGUF model file" in message and str(bogus) in message  # refused before the server starts
    assert server.pid is None
    assert _serve_children() == []


def test_a_broken_gguf_is_one_line_with_the_server_log(tmp_path: Path) -> None:
    broken = tmp_path / "x.gguf"
    broken.write_bytes(b"GGUF" + b"\x00" * 64)  # the magic, then nothing a loader can use
    server = LocalServer(broken, startup_timeout=60)
    with pytest.raises(LocalModelError) as excinfo:
        server.start()
    message = str(excinfo.value)
    assert "exited" in message and str(broken) in message and "\n" not in message
    assert server.pid is None
    assert _serve_children() == []


def test_missing_model_file_raises_before_spawning(tmp_path: Path) -> None:
    with pytest.raises(LocalModelError, match="not found"):
        LocalServer(tmp_path / "missing.gguf").start()
    assert _serve_children() == []


def test_failure_reports_the_signal_and_log_tail_of_a_dead_server(tmp_path: Path) -> None:
    server = LocalServer(n_ctx=512, log_path=tmp_path / "server.log").start()
    try:
        assert server.failure(wait=0) is None
        assert server.pid is not None
        os.killpg(server.pid, signal.SIGSEGV)
        message = server.failure(wait=10)
        assert message is not None
        assert "was killed by SIGSEGV" in message and ".gguf" in message and "last server log lines" in message
        assert "\n" not in message
    finally:
        server.stop()
    assert server.failure() == message  # kept after stop, for the error that reports it


def test_missing_system_library_names_the_debian_package() -> None:
    error = ImportError("libgomp.so.1: cannot open shared object file: No such file or directory")
    message = missing_library_message(error)
    assert message is not None and "libgomp.so.1" in message and "apt-get install libgomp1" in message
    assert missing_library_message(ImportError("No module named 'xllamacpp'")) is None
