"""A bounded load run: 32 concurrent clients for 60 s against `newsbot serve` with its default rate limits ON.

  python scripts/bench/load_run.py                       # the full run: 32 clients, 60 s
  python scripts/bench/load_run.py --duration 20 --write # shorter, and its section in docs/benchmarks.md

The script starts `newsbot serve` on a free port of 127.0.0.1 over a temporary index of corpus/ (built on start),
with every setting at its default but the index: so the rate limit of NEWSBOT_RATE_PER_MINUTE (30) per client
address, in bursts of NEWSBOT_BURST (10), applies, whichever route asks. The clients are spread over --addresses
client addresses given in X-Forwarded-For (which `newsbot serve` trusts from a proxy on the same machine), so that
some are refused and others are answered. Each client asks one question after another, in turn to /api/ask,
Gradio's own /gradio_api/call/ask (the chat app's route), /api/ask again and /api/chat (streamed to the end), and
every 8th request is a 2 MB body to /gradio_api/call/ask, which the body limit must refuse (413) before reading
it. A refused client waits the Retry-After seconds it was given (on Gradio's route, the seconds its error names),
as the widget does. Nothing but 127.0.0.1 is contacted, and the run stops by itself after --duration seconds.

Reported: responses by route and status (the goal: no 5xx, every refusal with its wait, every oversized body
refused), latency (median, p95, max) of the answers, and the server's resident memory sampled every 5 s (psutil
when installed, else /proc/PID/status), to show whether it stays flat.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from api import questions, start_server
from common import load_average, median_p95_max, script_path, section_head, show

ROUTES = ("ask", "gradio", "ask", "chat")  # taken in turn
OVERSIZED_EVERY = 8
OVERSIZED = b"x" * 2_000_000
SAMPLE_EVERY = 5.0
_WAIT = re.compile(r"Try again in (\d+) s")


@dataclass
class Result:
    endpoint: str  # "ask", "chat", "gradio" or "oversized"
    status: int  # HTTP status (429 for Gradio's rate-limit error event), or 0 when the request failed without one
    seconds: float
    retry_after: str | None = None
    error: str = ""


def rss_megabytes(pid: int) -> float:
    """Resident memory of a process, in MB."""
    try:
        import psutil

        return psutil.Process(pid).memory_info().rss / 1e6
    except ImportError:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024 / 1e6
    raise RuntimeError(f"cannot read the memory of process {pid}")


async def gradio_ask(client: httpx.AsyncClient, url: str, question: str, headers: dict, started: float) -> Result:
    """The chat app's own route: start the call, then read its events. A rate-limit refusal is an error event
    whose message says how long to wait; it is counted as a 429 with that wait."""
    response = await client.post(url + "/gradio_api/call/ask", json={"data": [question]}, headers=headers)
    if response.status_code != 200:
        retry = response.headers.get("retry-after")
        return Result("gradio", response.status_code, time.perf_counter() - started, retry, response.text[:200])
    result = await client.get(f"{url}/gradio_api/call/ask/{response.json()['event_id']}", headers=headers)
    text = result.text
    if "event: complete" in text and "Sources" in text:
        return Result("gradio", 200, time.perf_counter() - started)
    wait = _WAIT.search(text)
    if "event: error" in text and wait and "Too many requests" in text:
        return Result("gradio", 429, time.perf_counter() - started, wait.group(1))
    return Result("gradio", result.status_code, time.perf_counter() - started, None, f"no answer: {text[:200]}")


async def one(client: httpx.AsyncClient, url: str, question: str, route: str, address: str) -> Result:
    headers = {"X-Forwarded-For": address}
    endpoint = route
    started = time.perf_counter()
    try:
        if route == "oversized":
            response = await client.post(
                url + "/gradio_api/call/ask", content=OVERSIZED, headers={**headers, "Content-Type": "application/json"}
            )
            error = "" if response.status_code == 413 else f"not refused: {response.text[:200]}"
            return Result(endpoint, response.status_code, time.perf_counter() - started, None, error)
        if route == "gradio":
            return await gradio_ask(client, url, question, headers, started)
        if route == "ask":
            response = await client.post(url + "/api/ask", json={"question": question}, headers=headers)
            status, retry = response.status_code, response.headers.get("retry-after")
            answered = status == 200 and "answer" in response.json()
            error = "" if answered else response.text[:200]  # a 200 without an answer counts as broken
            return Result(endpoint, status, time.perf_counter() - started, retry, error)
        events: list[str] = []
        async with client.stream("POST", url + "/api/chat", json={"question": question}, headers=headers) as response:
            if response.status_code != 200:
                body = (await response.aread()).decode()[:200]
                retry = response.headers.get("retry-after")
                return Result(endpoint, response.status_code, time.perf_counter() - started, retry, body)
            async for line in response.aiter_lines():
                if line.startswith("event: "):
                    events.append(line[7:])
        ok = "answer" in events and events[-1] == "done" and "error" not in events
        return Result(endpoint, 200, time.perf_counter() - started, None, "" if ok else f"events: {events}")
    except httpx.HTTPError as error:
        return Result(endpoint, 0, time.perf_counter() - started, None, f"{type(error).__name__}: {error}")


async def warm_up(url: str, asked: list[str]) -> None:
    async with httpx.AsyncClient(timeout=300) as client:
        warm = [
            one(client, url, question, ROUTES[number], address="127.0.0.1") for number, question in enumerate(asked)
        ]
        for result in await asyncio.gather(*warm):
            if result.status != 200 or result.error:
                raise SystemExit(f"the warm-up request failed: {result}")


async def load(url: str, asked: list[str], clients: int, addresses: int, duration: float, pid: int) -> tuple:
    """Every client asks until the deadline; meanwhile the server's memory is sampled."""
    results: list[Result] = []
    memory: list[tuple[float, float]] = []
    started = time.monotonic()
    deadline = started + duration

    async def client_loop(number: int) -> None:
        address = f"10.0.0.{number % addresses + 1}"  # only a header value: no traffic goes there
        rng = random.Random(number)
        async with httpx.AsyncClient(timeout=max(duration, 30.0)) as client:
            turn = number
            while time.monotonic() < deadline:
                route = "oversized" if turn % OVERSIZED_EVERY == OVERSIZED_EVERY - 1 else ROUTES[turn % len(ROUTES)]
                result = await one(client, url, asked[turn % len(asked)], route, address)
                turn += 1
                if time.monotonic() < deadline:  # a request still running at the end is not counted
                    results.append(result)
                if result.status == 429:  # wait as told (with a little jitter), but not past the end
                    wait = float(result.retry_after or 1) + rng.uniform(0, 0.5)
                    await asyncio.sleep(max(0.0, min(wait, deadline - time.monotonic())))

    async def sampler() -> None:
        while True:
            memory.append((time.monotonic() - started, rss_megabytes(pid)))
            if time.monotonic() >= deadline:
                return
            await asyncio.sleep(min(SAMPLE_EVERY, max(0.0, deadline - time.monotonic())))

    await asyncio.gather(sampler(), *(client_loop(number) for number in range(clients)))
    return results, memory, time.monotonic() - started


def report(
    results: list[Result], memory: list, wall: float, args: argparse.Namespace, loads: tuple, chunks: int
) -> str:
    by_status = Counter(result.status for result in results)
    refused = [r for r in results if r.status == 429]
    without_retry = sum(1 for r in refused if not (r.retry_after or "").isdigit())
    server_errors = [r for r in results if r.status >= 500 or r.status == 0]
    broken = [r for r in results if r.status == 200 and r.error]
    oversized = [r for r in results if r.endpoint == "oversized"]
    let_through = [r for r in oversized if r.status != 413]
    statuses = ", ".join(f"{count} × {status or 'no response'}" for status, count in sorted(by_status.items()))
    shortened = args.duration < 60
    lines, end = section_head("load_run", "Load run with the rate limits on", __file__, from_root=True)
    if shortened:
        lines.append(
            f"- **Shortened run** ({args.duration:g} s instead of 60 s) on a machine busy with other work; the full "
            f"run is `python {script_path(__file__)} --write`"
        )
    lines += [
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Server: `newsbot serve` started by the script, temporary index of corpus/ ({chunks} chunks), every "
        "setting at its default: 30 requests per minute per client address in bursts of 10, 2 questions answered "
        "at a time, extractive answerer",
        f"- Load: {args.clients} concurrent clients for {args.duration:g} s, spread over {args.addresses} client "
        f"addresses (X-Forwarded-For); requests in turn to `/api/ask`, Gradio's `/gradio_api/call/ask` (the chat "
        "app's route, timed to its result), `/api/ask` and `/api/chat` (timed to `done`), and every "
        f"{OVERSIZED_EVERY}th a {len(OVERSIZED) // 1_000_000} MB body to `/gradio_api/call/ask`; a refused client "
        "waits its Retry-After",
        f"- Machine: {os.cpu_count()} CPUs shared with the load generator and other work; load average (1/5/15 min) "
        f"{loads[0]} at start, {loads[1]} at end",
        "",
        f"Responses: **{len(results)}** in {wall:.0f} s ({statuses}). Server errors (5xx or no response): "
        f"**{len(server_errors)}**{' (first: ' + server_errors[0].error + ')' if server_errors else ''}. "
        f"Refusals (429) without a wait: **{without_retry}**. 200s without a complete answer: **{len(broken)}**. "
        f"Oversized bodies: {len(oversized)}, of which let through: **{len(let_through)}**.",
        "",
        "| responses | count | median s | p95 s | max s |",
        "| --- | --: | --: | --: | --: |",
    ]
    groups = [
        ("answered, `/api/ask`", [r for r in results if r.status == 200 and r.endpoint == "ask"]),
        ("answered, `/api/chat`", [r for r in results if r.status == 200 and r.endpoint == "chat"]),
        ("answered, `/gradio_api/call/ask`", [r for r in results if r.status == 200 and r.endpoint == "gradio"]),
        ("refused (429), `/api/*`", [r for r in refused if r.endpoint != "gradio"]),
        ("refused (rate limit), `/gradio_api/call/ask`", [r for r in refused if r.endpoint == "gradio"]),
        ("oversized body refused (413)", [r for r in oversized if r.status == 413]),
    ]
    for label, chosen in groups:
        if chosen:
            lines.append(f"| {label} | {len(chosen)} | {median_p95_max([r.seconds for r in chosen], 2)} |")
        else:
            lines.append(f"| {label} | 0 | | | |")
    samples = ", ".join(f"{int(t)} s: {mb:.0f}" for t, mb in memory)
    growth = memory[-1][1] - memory[0][1] if memory else 0.0
    lines += [
        "",
        f"Server memory (resident, MB, every {SAMPLE_EVERY:g} s): {samples}; {growth:+.0f} MB from the first sample "
        "to the last.",
        end,
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (default 32)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    parser.add_argument(
        "--addresses", type=int, default=4, help="client addresses the clients are spread over (default 4)"
    )
    parser.add_argument("--write", action="store_true", help="write the section into docs/benchmarks.md")
    args = parser.parse_args(argv)
    if not 1 <= args.duration <= 600 or not 1 <= args.clients <= 256 or not 1 <= args.addresses <= 250:
        parser.error("keep it bounded: --duration 1-600, --clients 1-256, --addresses 1-250")
    asked = questions(2000, seed=1)

    with tempfile.TemporaryDirectory() as folder:
        process, url = start_server(folder, rate_limits=True)  # at their defaults: they are what this run tests
        try:
            chunks = httpx.get(url + "/healthz", timeout=60).json().get("chunks", 0)
            # Untimed warm-up, one request per worker thread and one stream: what loads lazily is loaded before the
            # memory is first sampled, so that the samples show the steady state.
            asyncio.run(warm_up(url, asked[:3]))
            load_start = load_average()
            results, memory, wall = asyncio.run(
                load(url, asked, args.clients, args.addresses, args.duration, process.pid)
            )
            load_end = load_average()
        finally:
            process.terminate()
            process.wait(timeout=30)
    show(report(results, memory, wall, args, (load_start, load_end), chunks), "load_run", args.write)
    bad = [r for r in results if r.status >= 500 or r.status == 0 or (r.status == 200 and r.error)]
    bad += [r for r in results if r.endpoint == "oversized" and r.status != 413]
    bad += [r for r in results if r.status == 429 and not (r.retry_after or "").isdigit()]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
