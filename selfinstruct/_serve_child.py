"""Child wrapper that runs the llama-cpp-python server and can never outlive the process that started it.

Run by :class:`selfinstruct.localmodel.LocalServer` as ``python -m selfinstruct._serve_child ...``; not a
public entry point. Two independent watchdogs end it when the parent dies, even by SIGKILL:

* Linux ``PR_SET_PDEATHSIG``: the kernel sends SIGKILL when the parent thread exits;
* the parent holds the write end of a pipe that is our stdin: EOF on stdin means the parent is gone.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import os
import signal
import sys
import threading
from typing import Any

_PR_SET_PDEATHSIG = 1


def _set_pdeathsig(parent_pid: int) -> None:
    """Ask the kernel to SIGKILL us when the parent dies; exit now if it already died (closes the race)."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except OSError:
            pass  # the stdin watchdog still covers us
    if os.getppid() != parent_pid:
        os._exit(0)


def _watch_stdin() -> None:
    """Block on stdin; the parent never writes, so returning means EOF (parent died): exit at once."""
    try:
        while os.read(0, 4096):
            pass
    except OSError:
        pass
    os._exit(0)


def _scrub_environment(field_names: set[str]) -> None:
    """Drop env vars that pydantic-settings (case-insensitively) or create_app would read over our flags."""
    for key in list(os.environ):
        if key.lower() in field_names or key.upper() == "CONFIG_FILE":
            del os.environ[key]


def main(argv: list[str] | None = None) -> None:
    """Start the watchdogs first (the heavy imports and model load take seconds), then serve until killed."""
    parser = argparse.ArgumentParser(prog="python -m selfinstruct._serve_child")
    parser.add_argument("--parent-pid", type=int, required=True)
    parser.add_argument("--pdeathsig", action="store_true")
    parser.add_argument("--model", required=True)
    parser.add_argument("--alias", required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--n-ctx", type=int, required=True)
    parser.add_argument("--n-threads", type=int, required=True)
    args = parser.parse_args(argv)

    if args.pdeathsig:
        _set_pdeathsig(args.parent_pid)
    elif os.getppid() != args.parent_pid:
        os._exit(0)
    threading.Thread(target=_watch_stdin, name="parent-watchdog", daemon=True).start()

    import uvicorn
    from llama_cpp.server.app import create_app
    from llama_cpp.server.settings import ModelSettings, ServerSettings, Settings

    _scrub_environment(set(Settings.model_fields))
    model_kwargs: dict[str, Any] = {
        "model": args.model,
        "model_alias": args.alias,
        "n_ctx": args.n_ctx,
        "n_threads": args.n_threads,
        "n_threads_batch": args.n_threads,
        "chat_format": None,  # None = the GGUF's own chat template (ChatML for SmolLM2)
        "logits_all": False,  # True costs n_ctx x vocab floats (~400 MB) and speed; we never ask logprobs
        "verbose": False,
    }
    server_kwargs: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "api_key": None,
        "interrupt_requests": False,  # True cuts a running stream short whenever another request waits
    }
    try:
        app = create_app(
            server_settings=ServerSettings(**server_kwargs),
            model_settings=[ModelSettings(**model_kwargs)],
        )
    except Exception as exc:
        print(f"llama-cpp-python could not load {args.model}: {exc}", file=sys.stderr, flush=True)
        os._exit(3)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=1,
    )
    sys.stderr.flush()
    os._exit(0)  # skip joining a generation thread that may still run after shutdown


if __name__ == "__main__":
    main()
