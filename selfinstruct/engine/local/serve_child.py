"""Child wrapper that runs llama.cpp's own HTTP server (xllamacpp) and can never outlive its parent.

Run by :class:`selfinstruct.engine.local.server.LocalServer` as
``python -m selfinstruct.engine.local.serve_child ...``; not a public entry point. xllamacpp ships llama.cpp's
C++ server as a prebuilt wheel (no compiler, no AMX code path), and serves the OpenAI API from its own threads.
Two independent watchdogs end us when the parent dies, even by SIGKILL:

* Linux ``PR_SET_PDEATHSIG``: the kernel sends SIGKILL when the parent thread exits;
* the parent holds the write end of a pipe that is our stdin: EOF on stdin means the parent is gone.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import os
import re
import signal
import sys
import threading

_PR_SET_PDEATHSIG = 1
# Exit codes the parent turns into messages (see localmodel.py).
EXIT_LOAD_FAILED = 3
EXIT_MISSING_LIBRARY = 4
# Debian/Ubuntu packages that provide the shared libraries the xllamacpp wheel links against.
_DEBIAN_PACKAGES = {"libgomp.so.1": "libgomp1", "libstdc++.so.6": "libstdc++6", "libgcc_s.so.1": "libgcc-s1"}


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
    """Block on stdin; the parent never writes, so EOF means it died: exit at once."""
    try:
        while os.read(0, 4096):
            pass
    except OSError:
        pass
    os._exit(0)


def missing_library_message(error: BaseException) -> str | None:
    """One line naming the missing shared library and the Debian package that provides it, if that is the cause."""
    match = re.search(r"(lib[\w+.-]*\.so(?:\.\d+)*): cannot open shared object file", str(error))
    if match is None:
        return None
    lib = match.group(1)
    package = _DEBIAN_PACKAGES.get(lib)
    fix = f"apt-get install {package}" if package else "install the system package that provides it"
    return f"the embedded model's runtime (xllamacpp) needs the system library {lib}, which is missing; fix: {fix}"


def main(argv: list[str] | None = None) -> None:
    """Start the watchdog first (the model load takes a moment), then serve until the parent goes."""
    parser = argparse.ArgumentParser(prog="python -m selfinstruct.engine.local.serve_child")
    parser.add_argument("--parent-pid", type=int, required=True)
    parser.add_argument("--pdeathsig", action="store_true")
    parser.add_argument("--model", required=True)
    parser.add_argument("--alias", required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--n-ctx", type=int, required=True)
    parser.add_argument("--n-threads", type=int, required=True)
    parser.add_argument("--parallel", type=int, default=1)
    args = parser.parse_args(argv)

    if args.pdeathsig:
        _set_pdeathsig(args.parent_pid)
    elif os.getppid() != args.parent_pid:
        os._exit(0)
    watchdog = threading.Thread(target=_watch_stdin, name="parent-watchdog", daemon=True)
    watchdog.start()

    try:
        import xllamacpp
    except ImportError as exc:
        message = missing_library_message(exc) or f"cannot import xllamacpp: {exc}"
        print(message, file=sys.stderr, flush=True)
        os._exit(EXIT_MISSING_LIBRARY)

    params = xllamacpp.CommonParams()
    params.model.path = args.model
    params.model_alias = {args.alias}
    params.hostnames = [args.host]
    params.port = args.port
    params.n_ctx = args.n_ctx * args.parallel  # each slot gets n_ctx
    params.n_parallel = args.parallel  # slots, continuously batched
    params.cpuparams.n_threads = args.n_threads
    params.cpuparams_batch.n_threads = args.n_threads
    params.cache_prompt = True  # reuse the KV cache of a slot's previous prompt prefix (the few-shot demos)
    params.cache_ram_mib = 256  # llama.cpp's default of 8 GiB is far more than a 135M model's prompts need
    params.n_threads_http = max(2, args.parallel + 1)
    try:
        server = xllamacpp.Server(params)
    except Exception as exc:
        print(f"llama.cpp could not load {args.model}: {exc}", file=sys.stderr, flush=True)
        os._exit(EXIT_LOAD_FAILED)
    print(f"selfinstruct: serving {args.model} on {server.listening_address}", file=sys.stderr, flush=True)
    watchdog.join()  # the server runs in its own threads until the parent goes
    os._exit(0)


if __name__ == "__main__":
    main()
