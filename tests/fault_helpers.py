"""Killing a real `newsbot ingest` and comparing the index it leaves with a clean build.

Shared by tests/store/test_faults.py and scripts/bench/fault_ingest.py (the longer run for humans), so that both kill and
compare in exactly the same way.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.store.chroma import NewsStore
from bot.store.keyword import KeywordIndex, fingerprint

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class IndexState:
    """What two builds of the same articles must agree on."""

    chunk_ids: frozenset[str]
    chunks_per_article: dict[str, int]  # article id -> chunks stored
    expected_per_article: dict[str, int]  # article id -> chunk_count the chunks announce (one version: one value)
    keyword_stamp: str | None  # the saved keyword index's stamp (None: none readable)
    store_stamp: str  # bot.store.keyword.fingerprint of the store's chunk ids

    @property
    def articles(self) -> set[str]:
        return set(self.chunks_per_article)

    @property
    def keyword_in_step(self) -> bool:
        return self.keyword_stamp == self.store_stamp


def index_state(index_dir: Path, collection: str = "news") -> IndexState:
    """Read an embedded index as it is on disk (opened read-only: nothing is repaired on the way)."""
    store = NewsStore(Path(index_dir), collection, create=False)
    ids: list[str] = []
    per_article: Counter[str] = Counter()
    expected: dict[str, int] = {}
    for chunk_id, _, metadata in store.all_chunks(with_text=False):
        ids.append(chunk_id)
        per_article[metadata["article_id"]] += 1
        expected[metadata["article_id"]] = metadata["chunk_count"]
    keyword = KeywordIndex.load(store.index_dir)
    return IndexState(frozenset(ids), dict(per_article), expected, keyword.stamp if keyword else None, fingerprint(ids))


def differences(got: IndexState, clean: IndexState) -> list[str]:
    """Human-readable differences between an index and a clean build of the same articles ([] when equal)."""
    found = []
    if got.articles != clean.articles:
        found.append(
            f"articles: {len(got.articles - clean.articles)} extra, {len(clean.articles - got.articles)} missing"
        )
    if got.chunk_ids != clean.chunk_ids:
        found.append(
            f"chunk ids: {len(got.chunk_ids - clean.chunk_ids)} extra (duplicates or stale versions), "
            f"{len(clean.chunk_ids - got.chunk_ids)} missing"
        )
    counts = {a for a in got.articles & clean.articles if got.chunks_per_article[a] != clean.chunks_per_article[a]}
    if counts:
        found.append(f"chunk counts differ for {len(counts)} article(s), e.g. {sorted(counts)[0]}")
    incomplete = {a for a, n in got.chunks_per_article.items() if n != got.expected_per_article[a]}
    if incomplete:
        found.append(f"{len(incomplete)} article(s) without exactly one complete version, e.g. {sorted(incomplete)[0]}")
    if not got.keyword_in_step:
        found.append(f"keyword index stamp {got.keyword_stamp} is not the store's {got.store_stamp}")
    return found


@dataclass(frozen=True)
class Kill:
    """One ingest run that was to be killed: when, and what happened."""

    after_chunks: int  # SIGKILL once the run had logged writing at least this many chunks...
    delay: float  # ...and this many seconds more
    written: int  # chunks the run had logged as written when it was killed (or ended)
    killed: bool  # False: the run ended by itself first
    returncode: int


def ingest_command(paths: Sequence[str | Path], index_dir: Path, prune: bool = False) -> list[str]:
    """The real command line, as a user would run it (`python -m bot.cli` is `newsbot`)."""
    command = [sys.executable, "-m", "bot.cli", "ingest", *map(str, paths), "--quiet", "--index", str(index_dir)]
    return command + (["--prune"] if prune else [])


def kill_ingest(
    paths: Sequence[str | Path],
    index_dir: Path,
    *,
    after_chunks: int,
    delay: float,
    batch_chunks: int,
    prune: bool = False,
    timeout: float = 300,
) -> Kill:
    """Run `newsbot ingest` in its own process and SIGKILL it once it has logged writing `after_chunks` chunks,
    plus `delay` seconds (so that the kill lands mid-round: embedding, writing or deleting an old version).

    The log lines ("wrote N chunks of M articles", one per round of `batch_chunks`) are the only clock: the
    kill points do not depend on how fast the machine is, only the extra delay does."""
    env = {**os.environ, "NEWSBOT_INGEST_BATCH_CHUNKS": str(batch_chunks), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [*ingest_command(paths, index_dir, prune), "--verbose"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    written = 0
    killed = False
    deadline = time.monotonic() + timeout
    assert process.stderr is not None
    for line in process.stderr:
        if line.startswith("wrote "):
            written += int(line.split()[1])
        if written >= after_chunks:
            time.sleep(delay)
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                killed = True
            break
        if time.monotonic() > deadline:
            process.kill()
            raise TimeoutError(f"ingest did not write {after_chunks} chunks in {timeout} s")
    process.stderr.close()
    returncode = process.wait(timeout=timeout)
    return Kill(after_chunks, delay, written, killed and returncode == -signal.SIGKILL, returncode)


def run_ingest(paths: Sequence[str | Path], index_dir: Path, prune: bool = False, timeout: float = 1800) -> str:
    """`newsbot ingest` to completion in its own process; its summary line (raises when it fails)."""
    done = subprocess.run(
        ingest_command(paths, index_dir, prune), cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        raise RuntimeError(f"ingest exited with {done.returncode}: {done.stderr.strip()[-2000:]}")
    return done.stdout.strip().splitlines()[0]


def add_filler_chunks(index_dir: Path, count: int, seed: int = 0) -> None:
    """Add `count` one-chunk filler articles with random unit vectors (no model needed) and refresh the keyword
    index. Past Chroma's sync threshold (1,000 writes) its vector index is written to files of its own (the
    segment folder) and the write log emptied, so that damaging those files means something."""
    import numpy as np

    from bot.store.indexing import refresh_keyword_index

    store = NewsStore(Path(index_dir), "news", create=False)
    vectors = np.random.default_rng(seed).normal(size=(count, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    base = {"version": "0", "chunk": 0, "chunk_count": 1, "source": "", "url": "", "published": "", "dated": False}
    base |= {"author": "", "category": "", "tags": "", "path": "", "start": 0, "end": 6}
    metadatas = [{**base, "article_id": f"id:filler-{i}", "title": f"Filler {i}"} for i in range(count)]
    store.write([f"id:filler-{i}|0|0" for i in range(count)], ["filler"] * count, vectors, metadatas)
    refresh_keyword_index(store)
