"""How responsive answering stays while the admin page ingests a huge upload.

  python scripts/bench/admin_ingest.py                  # a 4 MB page, 40 questions idle and 40 during the ingest
  python scripts/bench/admin_ingest.py --megabytes 19 --write   # the size of the page that starved the server

The script starts `newsbot serve` (with an admin token) on a free port of 127.0.0.1 over a temporary index of
corpus/, and writes one large HTML article made of the MultiHop-RAG sample articles of corpus/ repeated. First it
asks --questions questions one after another with nothing else running (the baseline, same run); then it logs in
to /admin, uploads the page through Gradio's upload route, starts its ingest, and asks the same questions again
while the ingest runs in the background. Reported: median and p95 of the answer time in both phases, their
ratio, /healthz time during the ingest, and the ingest's own rate. Nothing but 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from api import questions, start_server
from common import REPO, load_average, median_p95_max, p95, ratio, section_head, show, timed

TOKEN = "bench-admin-token-" + "x" * 16


def big_page(megabytes: float) -> bytes:
    """One article page of about `megabytes`, from the shipped MultiHop-RAG sample bodies repeated."""
    lines = (REPO / "corpus" / "multihop-rag-entertainment.jsonl").read_text(encoding="utf-8").splitlines()
    bodies = [json.loads(line)["body"] for line in lines]
    paragraphs: list[str] = []
    size = 0
    while size < megabytes * 1_000_000:
        for body in bodies:
            paragraph = f"<p>{html.escape(body)}</p>\n"
            paragraphs.append(paragraph)
            size += len(paragraph.encode())
    return (
        "<!doctype html><html><head><title>Everything at once: a very long digest</title>"
        '<meta property="article:published_time" content="2024-05-01"></head><body><article>'
        "<h1>Everything at once: a very long digest</h1>\n" + "".join(paragraphs) + "</article></body></html>"
    ).encode()


def timed_questions(client: httpx.Client, asked: list[str]) -> list[float]:
    seconds = []
    for question in asked:
        response, took = timed(client.post, "/api/ask", json={"question": question})
        response.raise_for_status()
        seconds.append(took)
    return seconds


def admin_status(client: httpx.Client) -> str:
    started = client.post("/admin/gradio_api/call/admin_status", json={"data": []})
    started.raise_for_status()
    result = client.get(f"/admin/gradio_api/call/admin_status/{started.json()['event_id']}")
    return result.text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=float, default=4.0, help="size of the uploaded page (default 4)")
    parser.add_argument("--questions", type=int, default=40, help="questions in each phase (default 40)")
    parser.add_argument("--write", action="store_true", help="write the section into docs/benchmarks.md")
    args = parser.parse_args(argv)
    asked = questions(args.questions, seed=3)
    with tempfile.TemporaryDirectory() as folder:
        page = Path(folder) / "digest.html"
        page.write_bytes(big_page(args.megabytes))
        page_megabytes = page.stat().st_size / 1_000_000
        settings = {"NEWSBOT_ADMIN_TOKEN": TOKEN, "NEWSBOT_UPLOAD_MAX_BYTES": str(page.stat().st_size + 1)}
        process, url = start_server(folder, settings)
        try:
            with httpx.Client(base_url=url, timeout=600) as client:
                timed_questions(client, asked[:3])  # warm: what loads lazily is loaded
                load_start = load_average()
                idle = timed_questions(client, asked)
                login = client.post("/admin/login", data={"username": "admin", "password": TOKEN})
                login.raise_for_status()
                with page.open("rb") as body:
                    uploaded = client.post("/admin/gradio_api/upload", files={"files": (page.name, body)})
                uploaded.raise_for_status()
                file_data = {"path": uploaded.json()[0], "orig_name": page.name, "meta": {"_type": "gradio.FileData"}}
                ingest_started = time.perf_counter()
                call = client.post("/admin/gradio_api/call/admin_upload", json={"data": [[file_data]]})
                call.raise_for_status()
                client.get(f"/admin/gradio_api/call/admin_upload/{call.json()['event_id']}").raise_for_status()
                during: list[float] = []
                health: list[float] = []
                status = ""
                while True:
                    status = admin_status(client)
                    if "done" in status or "failed" in status:
                        break
                    if len(during) < len(asked):
                        during += timed_questions(client, [asked[len(during)]])
                    response, took = timed(client.get, "/healthz")
                    response.raise_for_status()
                    health.append(took)
                    if len(during) >= len(asked):
                        time.sleep(1)
                ingest_seconds = time.perf_counter() - ingest_started
                load_end = load_average()
        finally:
            process.terminate()
            process.wait(timeout=30)
    found = re.search(r"articles: .*? in all", status)
    summary = found.group(0) if found else status[-300:]
    section = report(page_megabytes, idle=idle, during=during, health=health)
    section = section.replace(
        "{ingest}",
        f"the ingest took {ingest_seconds:.0f} s (`{summary.strip()}`); load average (1/5/15 min) {load_start} "
        f"before, {load_end} after",
    )
    show(section, "admin_ingest", args.write)
    return 0 if "done" in status else 1


def report(page_megabytes: float, idle: list[float], during: list[float], health: list[float]) -> str:
    rows = [("idle (baseline, same run)", idle), ("during the admin ingest", during)]
    lines, end = section_head(
        "admin_ingest", "Answering while the admin page ingests a huge upload", __file__, from_root=True
    )
    lines += [
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; machine: {os.cpu_count()} CPUs",
        f"- Upload: one HTML page of {page_megabytes:.1f} MB through `/admin` (login, Gradio's upload route, "
        "`admin_upload`); it is ingested in the background at low priority, one text at a time on one core",
        "- Questions: asked one after another to `/api/ask`, the same ones in both phases; {ingest}",
        "",
        "| phase | questions | median s | p95 s | max s |",
        "| --- | --: | --: | --: | --: |",
    ]
    for label, seconds in rows:
        if seconds:
            lines.append(f"| {label} | {len(seconds)} | {median_p95_max(seconds, 3)} |")
    if idle and during:
        lines += [
            "",
            f"p95 during the ingest / idle: **{ratio(p95(during), p95(idle)):.2f}x**; median "
            f"{ratio(statistics.median(during), statistics.median(idle)):.2f}x. `/healthz` during the ingest: median "
            f"{statistics.median(health) * 1000:.0f} ms, max {max(health) * 1000:.0f} ms ({len(health)} calls).",
        ]
    lines.append(end)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
