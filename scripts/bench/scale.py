"""Benchmark: what the full RealTime QA index costs, and how query time grows with the number of chunks.

  newsbot ingest ../shared/datasets/realtimeqa-2023/corpus.jsonl --index /tmp/rtqa      # once (about 30-90 min)
  python scripts/bench/scale.py --index /tmp/rtqa --write

Measured in one run over the given full index (built by `newsbot ingest`, with either embedding backend: the
backend is read from the index):

  1. size: articles, chunks, the index folder's size on disk (Chroma store, keyword index and vector copy);
     with --ingest-log, the seconds, chunks/s and peak memory of the build, read from the log of
     `/usr/bin/time -v newsbot ingest ...` that built it.
  2. query time against size: sub-indexes of the first 1,000 and 10,000 chunks (whole articles, in the order
     the full index lists them, vectors copied, nothing re-embedded) and the full index; for each, the first
     --questions questions of questions.jsonl with their as_of dates, through NewsRetriever.search (retrieval
     only, the default settings, warm: model loaded, keyword index loaded, 5 untimed questions first).
  3. the serving process: `newsbot serve` over the full index on a free port of 127.0.0.1, --serve-questions
     /api/ask requests one after another; its resident memory (RSS) after start and after the requests, and the
     peak (VmHWM).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from api import start_server
from common import SHARED, load_average, median_p95_max, section_head, show, timed
from load_run import rss_megabytes

from bot.chain import NewsBot
from bot.eval.datasets import load_realtimeqa
from bot.settings import Settings
from bot.store.chroma import NewsStore
from bot.store.embedding import LocalEmbeddings, split_model_name
from bot.store.indexing import open_store, refresh_keyword_index

WARM = 5


def folder_megabytes(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6


def backend_of(index: Path) -> str:
    """The embedding backend that built the index, from the model name its collection records."""
    probe = NewsStore(index, Settings().collection, embedding_model="", create=False)  # "": no model check
    built_with = (probe.collection.metadata or {}).get("embedding_model", "")
    return split_model_name(built_with)[1]


def peak_memory(status_text: str) -> float:
    for line in status_text.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024 / 1e6
    return float("nan")


def build_log_facts(log: Path) -> dict[str, str]:
    """Seconds, chunks/s and peak memory from `newsbot ingest`'s summary line and `/usr/bin/time -v`'s report."""
    text = log.read_text(encoding="utf-8", errors="replace")
    facts: dict[str, str] = {}
    summary = re.search(r"(\d+) chunks embedded in ([\d.]+) s \(([\d.]+) chunks/s\); ([\d.]+) s in all", text)
    if summary:
        facts |= {"chunks embedded": summary[1], "embedding s": summary[2], "chunks/s": summary[3]}
        facts["total s"] = summary[4]
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    if peak:
        facts["peak RSS MB"] = f"{int(peak[1]) / 1024:.0f}"
    return facts


def sub_index(full: Settings, embeddings: LocalEmbeddings, target: Path, chunks: int) -> int:
    """The first whole articles of the full index, up to `chunks` chunks, copied with their vectors."""
    source = open_store(full, embeddings, create=False)
    by_article: dict[str, list[tuple]] = {}
    for chunk_id, text, metadata, vector in source.all_chunks_with_vectors():
        by_article.setdefault(metadata.get("article_id", chunk_id), []).append((chunk_id, text, metadata, vector))
    rows: list[tuple] = []
    for article_rows in by_article.values():
        if len(rows) + len(article_rows) > chunks:
            break
        rows.extend(article_rows)
    store = open_store(full.model_copy(update={"index": target}), embeddings)
    for start in range(0, len(rows), 1000):
        batch = rows[start : start + 1000]
        store.write([r[0] for r in batch], [r[1] for r in batch], [r[3] for r in batch], [r[2] for r in batch])
    refresh_keyword_index(store)
    return len(rows)


def query_times(settings: Settings, embeddings: LocalEmbeddings, questions: list) -> tuple[int, list[float]]:
    bot = NewsBot(settings, embeddings=embeddings)
    bot.retriever.refresh()
    for query in questions[:WARM]:
        bot.retriever.search(query.question, query.as_of)
    times = []
    for query in questions:
        _, took = timed(bot.retriever.search, query.question, query.as_of)
        times.append(took * 1000)
    return bot.store.count(), times


async def serve_memory(index: Path, backend: str, questions: list) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        process, url = start_server(folder, {"NEWSBOT_INDEX": str(index), "NEWSBOT_EMBEDDING_BACKEND": backend})
        try:
            started = rss_megabytes(process.pid)
            series: list[tuple[int, float]] = []  # (requests answered, RSS MB): does it level off?
            async with httpx.AsyncClient(timeout=120) as client:
                seconds = []
                for number, query in enumerate(questions, 1):
                    began = time.perf_counter()
                    response = await client.post(url + "/api/ask", json={"question": query.question})
                    response.raise_for_status()
                    seconds.append(time.perf_counter() - began)
                    if number in (1, 10) or number % 50 == 0:
                        series.append((number, rss_megabytes(process.pid)))
            after = rss_megabytes(process.pid)
            peak = peak_memory(Path(f"/proc/{process.pid}/status").read_text())
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
    return {
        "start": started,
        "after": after,
        "peak": peak,
        "median s": statistics.median(seconds),
        "series": series,
    }


def render(args, facts: dict, rows: list[tuple], memory: dict | None, loads: tuple[str, str]) -> str:
    lines, end = section_head(
        "bench_scale", "The full RealTime QA index: size, query time against size, serving memory", __file__
    )
    lines += [
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; load average (1/5/15 min) {loads[0]} at start, "
        f"{loads[1]} at end (2 CPUs)",
        f"- Index: `{args.index}`, built by `newsbot ingest ../shared/datasets/realtimeqa-2023/corpus.jsonl`; "
        f"embedding backend **{facts['backend']}**; {facts['articles']} articles, {facts['chunks']} chunks, "
        f"{facts['disk MB']:.0f} MB on disk",
    ]
    if facts.get("build"):
        build = facts["build"]
        lines.append(
            f"- Build (from `{args.ingest_log}`, the `/usr/bin/time -v` log of that ingest): "
            f"{build.get('chunks embedded', '?')} chunks in {build.get('total s', '?')} s, "
            f"**{build.get('chunks/s', '?')} chunks/s** (embedding and writing), peak memory "
            f"{build.get('peak RSS MB', '?')} MB"
        )
    lines += [
        "",
        f"### Retrieval time against index size: {args.questions} questions",
        "",
        "`NewsRetriever.search` with each question's as_of, default settings (hybrid, metadata, 2 chunks per "
        f"article, clause searches), warm, {WARM} untimed questions first. Sub-indexes hold the first whole "
        "articles of the full index up to the size, with the full index's vectors.",
        "",
        "| chunks | median ms | p95 ms | max ms |",
        "|--:|--:|--:|--:|",
    ]
    for chunks, times in rows:
        lines.append(f"| {chunks:,} | {median_p95_max(times, 1)} |")
    if memory:
        lines += [
            "",
            f"### Serving memory: `newsbot serve` over the full index, {args.serve_questions} /api/ask requests",
            "",
            "| resident memory | MB |",
            "|---|--:|",
            f"| after start (model and keyword index loaded) | {memory['start']:.0f} |",
            *(f"| after {number} request(s) | {rss:.0f} |" for number, rss in memory["series"]),
            f"| after all {args.serve_questions} requests | {memory['after']:.0f} |",
            f"| peak (VmHWM) | {memory['peak']:.0f} |",
            "",
            f"Median answer time of those requests: {memory['median s']:.2f} s. Goal: under 1,500 MB.",
        ]
    lines.append(end)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, required=True, help="the full index (built by newsbot ingest)")
    parser.add_argument("--ingest-log", type=Path, help="the /usr/bin/time -v log of the ingest that built it")
    parser.add_argument("--sizes", default="1000,10000", help="sub-index sizes in chunks, comma-separated")
    parser.add_argument("--questions", type=int, default=200, help="timed questions per index size")
    parser.add_argument("--serve-questions", type=int, default=200, help="requests to the serving process (0: skip)")
    parser.add_argument("--write", action="store_true", help="also write the section into docs/benchmarks.md")
    args = parser.parse_args(argv)

    loads = [load_average()]
    backend = backend_of(args.index)
    full = Settings(index=args.index, embedding_backend=backend)
    embeddings = LocalEmbeddings.from_settings(full)
    embeddings.load()
    store = open_store(full, embeddings, create=False)
    facts: dict = {
        "backend": backend,
        "chunks": f"{store.count():,}",
        "articles": f"{len(store.stored_articles()):,}",
        "disk MB": folder_megabytes(args.index),
    }
    if args.ingest_log:
        facts["build"] = build_log_facts(args.ingest_log)
    questions = load_realtimeqa(SHARED).queries[: args.questions]

    rows = []
    with tempfile.TemporaryDirectory() as work:
        for size in [int(s) for s in args.sizes.split(",") if s]:
            target = Path(work) / f"sub-{size}"
            copied = sub_index(full, embeddings, target, size)
            print(f"sub-index of {copied} chunks built", file=sys.stderr)
            rows.append(query_times(full.model_copy(update={"index": target}), embeddings, questions))
    rows.append(query_times(full, embeddings, questions))
    memory = None
    if args.serve_questions:
        memory = asyncio.run(serve_memory(args.index, backend, questions[: args.serve_questions]))
    loads.append(load_average())
    show(render(args, facts, rows, memory, (loads[0], loads[1])), "bench_scale", args.write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
