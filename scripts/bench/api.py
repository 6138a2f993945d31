"""Benchmark: the HTTP API under load. 16 concurrent clients (httpx, async) send a few hundred questions to
/api/ask and /api/chat (streamed to the end); reported: median and 95th-percentile latency, errors, requests/s.

The questions are the app's example questions and questions made from the titles (and outlets) of the shipped
corpus/ articles: never a benchmark's question file. By default `newsbot serve` is started in its own process on
a free port over a temporary index of corpus/ (rate limits off, everything else default); --url targets a
running server instead (switch its rate limits off: NEWSBOT_RATE_PER_MINUTE=0 NEWSBOT_SITE_RATE_PER_MINUTE=0).
With --write, updates its section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from common import REPO, load_average, median_p95_max, p95, section_head, show

from bot.ingest import discover, read_file

EXAMPLES = [
    "Who stars in What Comes After Love?",
    "Who is directing Romantic Anonymous?",
    "What did Taylor Swift say about Travis Kelce?",
]
TEMPLATES = ["{title}?", "What is the news about {title}?", "What did {source} report: {title}?"]
ALONE = 20  # questions asked one at a time first, for the latency without queueing
CHAT_EVERY = 4  # every 4th request goes to /api/chat (the widget's endpoint), the others to /api/ask


def questions(count: int, seed: int = 0) -> list[str]:
    """Example questions and questions from corpus titles, shuffled, repeated to `count`."""
    files, _ = discover([REPO / "corpus"])
    articles = [article for path in files for article in read_file(path).articles]
    made = [
        template.format(title=article.title.rstrip("?.!"), source=article.source or "the press")
        for article in articles
        for template in TEMPLATES
    ]
    pool = EXAMPLES + made
    random.Random(seed).shuffle(pool)
    return [pool[i % len(pool)] for i in range(count)]


def start_server(
    folder: str, settings: dict[str, str] | None = None, rate_limits: bool = False
) -> tuple[subprocess.Popen, str]:
    """`newsbot serve` on a free port of 127.0.0.1: by default over a fresh index of corpus/ (built on start) in
    `folder`, rate limits off, no other NEWSBOT_* variable of this shell; `settings` (NEWSBOT_* values) on top."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {key: value for key, value in os.environ.items() if not key.startswith("NEWSBOT_")}
    env |= {
        "NEWSBOT_INDEX": str(Path(folder) / "index"),
        "NEWSBOT_CORPUS": str(REPO / "corpus"),
        "NEWSBOT_PORT": str(port),
    }
    if not rate_limits:
        env |= {"NEWSBOT_RATE_PER_MINUTE": "0", "NEWSBOT_SITE_RATE_PER_MINUTE": "0"}
    env |= settings or {}
    newsbot = Path(sys.executable).with_name("newsbot")
    process = subprocess.Popen(
        [str(newsbot), "serve"], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    for line in process.stdout:
        if "newsbot is serving on" in line:
            return process, f"http://127.0.0.1:{port}"
    raise SystemExit("newsbot serve exited before serving")


async def one(client: httpx.AsyncClient, url: str, question: str, chat: bool) -> tuple[float, str | None]:
    """Seconds until the whole answer arrived, and an error (None when it answered)."""
    started = time.perf_counter()
    try:
        if not chat:
            response = await client.post(url + "/api/ask", json={"question": question})
            error = None if response.status_code == 200 and "answer" in response.json() else response.text[:200]
            return time.perf_counter() - started, error
        events = []
        async with client.stream("POST", url + "/api/chat", json={"question": question}) as response:
            if response.status_code != 200:
                return time.perf_counter() - started, (await response.aread()).decode()[:200]
            async for line in response.aiter_lines():
                if line.startswith("event: "):
                    events.append(line[7:])
        ok = "answer" in events and events[-1] == "done" and "error" not in events
        return time.perf_counter() - started, None if ok else f"events: {events}"
    except httpx.HTTPError as error:
        return time.perf_counter() - started, f"{type(error).__name__}: {error}"


async def load(url: str, asked: list[str], clients: int) -> tuple[list[tuple[str, float, str | None]], float]:
    queue: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
    for number, question in enumerate(asked):
        queue.put_nowait((number, question))
    results: list[tuple[str, float, str | None]] = []

    async def client_loop() -> None:
        async with httpx.AsyncClient(timeout=300) as client:
            while not queue.empty():
                number, question = queue.get_nowait()
                chat = number % CHAT_EVERY == CHAT_EVERY - 1
                seconds, error = await one(client, url, question, chat)
                results.append(("chat" if chat else "ask", seconds, error))

    started = time.perf_counter()
    await asyncio.gather(*(client_loop() for _ in range(clients)))
    return results, time.perf_counter() - started


def report(
    results: list, alone: list, wall: float, clients: int, target: str, loads: tuple[str, str], chunks: int
) -> str:
    busy = float(loads[0].split(" / ")[0]) > (os.cpu_count() or 1)
    errors = [error for _, _, error in results if error]
    lines, end = section_head("bench_api", "HTTP API under load", __file__, from_root=True)
    lines += [
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Server: {target}; index of {chunks} chunks; extractive answerer, `NEWSBOT_API_CONCURRENCY` default",
        f"- Machine: {os.cpu_count()} CPUs, shared with the load generator and with other work; load average "
        f"(1/5/15 min) {loads[0]} at start, {loads[1]} at end"
        + (" (other work shared the CPUs: the figures are pessimistic)" if busy else ""),
        f"- Load: {clients} concurrent clients (httpx async), {len(results)} requests after 4 untimed warm-up ones; "
        f"every {CHAT_EVERY}th to `/api/chat` (timed to the `done` event), the others to `/api/ask`; questions: the "
        f"app's {len(EXAMPLES)} example questions and {len(TEMPLATES)} per corpus article made from its title and "
        "outlet, shuffled",
        "",
        "| endpoint | requests | errors | median s | p95 s | max s |",
        "| --- | --: | --: | --: | --: | --: |",
    ]
    for name in ("ask", "chat", "all"):
        chosen = [r for r in results if name == "all" or r[0] == name]
        seconds = [r[1] for r in chosen]
        label = "all" if name == "all" else f"`/api/{name}`"
        lines.append(f"| {label} | {len(chosen)} | {sum(1 for r in chosen if r[2])} | {median_p95_max(seconds, 2)} |")
    lines += [
        "",
        f"Throughput: **{len(results) / wall:.1f} requests/s** ({len(results)} in {wall:.1f} s); errors: "
        f"**{len(errors)}**{' (first: ' + errors[0] + ')' if errors else ''}.",
        "",
        f"One client alone (the last {len(alone)} questions, one at a time, before the load): median "
        f"{statistics.median(r[1] for r in alone):.2f} s, p95 {p95([r[1] for r in alone]):.2f} s. Under load the "
        f"latency is mostly waiting: {clients} clients share a server that answers `NEWSBOT_API_CONCURRENCY` (2) "
        "questions at a time, on the same two cores as the load generator and whatever else the machine runs.",
        end,
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running newsbot server (default: start one over corpus/)")
    parser.add_argument("--requests", type=int, default=300, help="timed requests (default 300)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args(argv)
    asked = questions(args.requests + 4)

    with tempfile.TemporaryDirectory() as folder:
        process = None
        url = args.url.rstrip("/") if args.url else None
        if url is None:
            process, url = start_server(folder)
        try:
            chunks = httpx.get(url + "/healthz", timeout=30).json().get("chunks", 0)
            asyncio.run(load(url, asked[:4], 1))  # warm-up
            alone, _ = asyncio.run(load(url, asked[-ALONE:], 1))  # one client: the latency without queueing
            load_start = load_average()
            results, wall = asyncio.run(load(url, asked[4:], args.clients))
            load_end = load_average()
        finally:
            if process:
                process.terminate()
                process.wait(timeout=30)
    target = args.url or "`newsbot serve` started by the script (rate limits off), temporary index of corpus/"
    show(report(results, alone, wall, args.clients, target, (load_start, load_end), chunks), "bench_api", args.write)
    return 0 if not any(error for _, _, error in results) else 1


if __name__ == "__main__":
    sys.exit(main())
