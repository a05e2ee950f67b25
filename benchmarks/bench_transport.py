"""Benchmark: the client's CPU time per request with each HTTP transport of the openai SDK.

`LLMClient.complete` only (no pipeline), --requests requests at --concurrency against the fake endpoint in its
own process (fixed latency, echo replies), alternating transports --repeat times: the SDK's aiohttp transport
(what LLMClient uses when `openai[aiohttp]` is installed), httpx with one SDK client per 32 requests in flight
(its fallback), and httpx with a single client.

    python benchmarks/bench_transport.py --concurrency 128 --requests 2000
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_generate import start_server  # noqa: E402
from selfinstruct.engine import client as llm  # noqa: E402
from selfinstruct.engine.client import LLMClient  # noqa: E402
from selfinstruct.engine.types import EndpointSettings, StepParams  # noqa: E402

ORIGINAL = llm._aiohttp_client


def _no_aiohttp(openai: Any) -> None:
    return None


TRANSPORTS = {  # name -> (transport factory, requests in flight per httpx client)
    "aiohttp": (ORIGINAL, llm.POOL_CONNECTIONS),
    "httpx, client per 32": (_no_aiohttp, 32),
    "httpx, one client": (_no_aiohttp, 1 << 30),
}


async def measure(url: str, concurrency: int, requests: int) -> tuple[float, float]:
    client = LLMClient(EndpointSettings(base_url=url, api_key="bench", model="fake-model", concurrency=concurrency))
    params = StepParams(temperature=0.7, top_p=1.0, max_tokens=50)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.gather(
        *(client.complete("instances", f"Write a poem about {i}.\nInput:", params, seed=i) for i in range(requests))
    )
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    await client.aclose()
    return cpu / requests * 1000, requests / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, default=128)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    proc, url = start_server(args.latency, "tests.servers.fake_openai:echo_responder")
    try:
        print(f"{'transport':>22} {'CPU ms/req':>10} {'req/s':>7}")
        for _ in range(args.repeat):
            for name, (factory, per_client) in TRANSPORTS.items():
                llm._aiohttp_client, llm.POOL_CONNECTIONS = factory, per_client  # type: ignore[assignment]
                cpu, rate = asyncio.run(measure(url, args.concurrency, args.requests))
                print(f"{name:>22} {cpu:>10.2f} {rate:>7.0f}", flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
