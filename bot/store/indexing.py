"""Files -> articles -> chunks -> vectors in the store, incrementally: only new or changed articles are embedded."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..ingest import Article, discover, read_file
from ..ingest.fetch import Fetcher, looks_like_url, read_url
from ..settings import Settings
from .chroma import NewsStore, StoredArticle, chunk_metadata
from .chunking import Chunk, chunk_article
from .embedding import LocalEmbeddings
from .keyword import KeywordIndex, fingerprint

log = logging.getLogger(__name__)


@dataclass
class IngestSummary:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    failed: int = 0  # files or records that could not be ingested
    chunks: int = 0  # chunks embedded in this run
    seconds: float = 0.0  # the whole run
    embed_seconds: float = 0.0  # chunking, embedding and writing, after the model has loaded
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def __str__(self) -> str:
        line = (
            f"articles: {self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.removed} removed, {self.failed} failed; {self.chunks} chunks embedded"
        )
        if self.chunks:
            line += f" in {self.embed_seconds:.1f} s ({self.chunks / max(self.embed_seconds, 1e-9):.1f} chunks/s)"
        line += f"; {self.seconds:.1f} s in all"
        if self.unchanged and not (self.added or self.updated or self.removed or self.failed):
            line += "\nNothing to embed: the index was already up to date."  # only when every input was in it
        elif not (self.added or self.updated or self.unchanged or self.removed or self.failed):
            line += "\nNo articles found in the given paths (`newsbot ingest --help` lists the formats read)."
        return line


def embedding_text(article: Article, chunk: Chunk) -> str:
    """What the model reads: the chunk with its article's title and date as context."""
    header = article.title + (f" ({article.published})" if article.published else "")
    return f"{header}\n{chunk.text}" if header else chunk.text


# Bump when embedding_text() or the chunking rules change, so that every index re-embeds its articles.
EMBEDDING_RECIPE = "title-date-header/v1"


def article_version(article: Article, settings: Settings, model_name: str) -> str:
    chunking = f"{settings.chunk_tokens}|{settings.chunk_overlap_tokens}"
    recipe = f"{article.content_hash()}|{model_name}|{chunking}|{EMBEDDING_RECIPE}"
    return hashlib.sha256(recipe.encode()).hexdigest()[:16]


def open_store(settings: Settings, embeddings: LocalEmbeddings, create: bool = True) -> NewsStore:
    """The embedded index in NEWSBOT_INDEX or, with NEWSBOT_CHROMA_URL, the collection on that server (and
    NEWSBOT_INDEX then holds only this machine's derived cache): every command and the app go through here."""
    return NewsStore(
        settings.index,
        settings.collection,
        embedding_model=embeddings.name,
        create=create,
        url=settings.chroma_url,
        token=settings.chroma_token.get_secret_value() if settings.chroma_token else "",
        timeout=settings.chroma_timeout,
        recheck_seconds=settings.chroma_recheck_seconds,
    )


def refresh_keyword_index(store: NewsStore, stamp: str | None = None) -> KeywordIndex:
    """The BM25 index of exactly the chunks in the store: loaded, or rebuilt when it is out of step.

    `stamp`: the store's fingerprint when the caller has just computed it (spares listing the ids twice)."""
    current = KeywordIndex.load(store.index_dir)
    if current is not None and current.stamp == (stamp or fingerprint(store.chunk_ids())):
        return current
    ids, texts, metadatas, vectors = [], [], [], []
    for chunk_id, text, metadata, vector in store.all_chunks_with_vectors():
        ids.append(chunk_id)
        texts.append(f"{metadata.get('title', '')}\n{text}")
        metadatas.append(metadata)
        vectors.append(vector)
    rebuilt = KeywordIndex.build(ids, texts, metadatas, np.asarray(vectors, dtype=np.float32) if ids else None)
    rebuilt.save(store.index_dir)
    log.info("keyword index rebuilt: %d chunks", len(ids))
    return rebuilt


def _is_under(path: str, roots: list[Path]) -> bool:
    return any(Path(path) == root or root in Path(path).parents for root in roots)


def ingest(
    paths: Iterable[str | Path],
    settings: Settings,
    embeddings: LocalEmbeddings | None = None,
    prune: bool = False,
    progress: bool = True,
    report: Callable[[str], None] = lambda line: log.warning(line),
    store: NewsStore | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> IngestSummary:
    """Index files, folders and http(s) URLs (article pages, RSS/Atom feeds); only new or changed articles are
    embedded. Bad inputs are reported one line each and counted in `failed`; they never stop the others."""
    started = time.perf_counter()
    paths = list(paths)
    urls = [str(p).strip() for p in paths if looks_like_url(p)]
    paths = [Path(p) for p in paths if not looks_like_url(p)]
    embeddings = embeddings or LocalEmbeddings.from_settings(settings)
    summary = IngestSummary()

    def failed(error: str) -> None:
        summary.failed += 1
        summary.errors.append(error)
        report(error)

    files, path_errors = discover(paths)
    for error in path_errors:
        failed(error)

    articles: dict[str, Article] = {}
    unreadable_files: set[str] = set()
    for file in tqdm(files, desc="reading", unit="file", disable=not progress or len(files) < 20, leave=False):
        result = read_file(file, settings.max_file_bytes)
        for error in result.errors:
            failed(error)
        if result.errors:  # with --prune, a file with bad records keeps what it had in the index
            unreadable_files.add(str(file))
        for article in result.articles:
            articles[article.id] = article  # the same story twice: the later copy wins

    store = store or open_store(settings, embeddings)
    stored = store.stored_articles()
    if urls:
        index = {article_id: info.path for article_id, info in stored.items()}
        with Fetcher(settings) as fetcher:
            for url in tqdm(list(dict.fromkeys(urls)), desc="fetching", unit="URL", disable=not progress, leave=False):
                result = read_url(url, fetcher, index=index)
                for error in result.errors:
                    failed(error)
                for article in result.articles:
                    articles[article.id] = article

    store_articles(
        articles.values(),
        settings,
        embeddings,
        store,
        summary,
        stored=stored,
        progress=progress,
        on_progress=on_progress,
    )

    if prune:
        summary.removed = _prune(store, stored, articles, paths, unreadable_files)
    refresh_keyword_index(store)
    summary.seconds = time.perf_counter() - started
    return summary


def store_articles(
    articles: Iterable[Article],
    settings: Settings,
    embeddings: LocalEmbeddings,
    store: NewsStore,
    summary: IngestSummary,
    *,
    stored: dict[str, StoredArticle] | None = None,
    progress: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
) -> None:
    """Embed and write the new or changed articles, counting added/updated/unchanged into `summary`.

    The BM25 index is not refreshed here: callers do it once after all their writes (refresh_keyword_index).
    """
    articles = {article.id: article for article in articles}  # the same story twice: the later copy wins
    stored = store.stored_articles() if stored is None else stored
    versions = {article_id: article_version(a, settings, embeddings.name) for article_id, a in articles.items()}

    pending: list[Article] = []
    for article_id, article in articles.items():
        existing = stored.get(article_id)
        complete = existing.complete_version() if existing else None
        if complete == versions[article_id]:
            summary.unchanged += 1
            if len(existing.versions) > 1:  # an earlier run died before deleting the old version
                store.delete_versions_except(article_id, complete)
        else:
            pending.append(article)
            if complete is None and existing is None or complete is None:
                summary.added += 1
            else:
                summary.updated += 1

    stale = {a: set(info.versions) - {versions.get(a)} for a, info in stored.items() if a in versions}
    _embed_and_write(pending, versions, stale, settings, embeddings, store, summary, progress, on_progress)
    _remember_feed_dates(store, articles.values(), versions)


def _remember_feed_dates(store: NewsStore, articles: Iterable[Article], versions: dict[str, str]) -> None:
    """Keep each feed entry's date on its article's first chunk: `watch` fetches the page again only when the
    feed announces a later one. Not part of the content version, so a new date alone re-embeds nothing."""
    stamps = {a.id: a.extra["feed_updated"] for a in articles if a.extra.get("feed_updated")}
    if not stamps:
        return
    first_chunks = [f"{article_id}|{versions[article_id]}|0" for article_id in stamps]
    page = store.collection.get(ids=first_chunks, include=["metadatas"])
    ids, metadatas = [], []
    for chunk_id, metadata in zip(page["ids"], page["metadatas"], strict=True):
        stamp = stamps[metadata["article_id"]]
        if metadata.get("feed_updated") != stamp:
            ids.append(chunk_id)
            metadatas.append({**metadata, "feed_updated": stamp})
    if ids:
        store.collection.update(ids=ids, metadatas=metadatas)


def _embed_and_write(
    pending: list[Article],
    versions: dict[str, str],
    stale: dict[str, set[str]],
    settings: Settings,
    embeddings: LocalEmbeddings,
    store: NewsStore,
    summary: IngestSummary,
    progress: bool,
    on_progress: Callable[[int, int], None] | None = None,
) -> None:
    """`on_progress(chunks written, chunks to write)` after each round (the admin page shows it)."""
    if not pending:
        return
    embeddings.load()  # before the clock starts: the rate is the embedding rate
    started = time.perf_counter()
    chunked = [
        (a, chunk_article(a, embeddings.count_tokens, settings.chunk_tokens, settings.chunk_overlap_tokens))
        for a in pending
    ]
    total = sum(len(chunks) for _, chunks in chunked)
    bar = tqdm(total=total, desc="embedding", unit="chunk", disable=not progress)
    written = summary.chunks

    def write(batch: list[tuple[Article, list[Chunk]]], size: int) -> None:
        _write_round(batch, versions, stale, embeddings, store)
        summary.chunks += size
        bar.update(size)
        if on_progress:
            on_progress(summary.chunks - written, total)

    if on_progress:
        on_progress(0, total)
    batch: list[tuple[Article, list[Chunk]]] = []
    size = 0
    for article, chunks in chunked:
        batch.append((article, chunks))
        size += len(chunks)
        if size >= settings.ingest_batch_chunks:
            write(batch, size)
            batch, size = [], 0
    if batch:
        write(batch, size)
    bar.close()
    summary.embed_seconds = time.perf_counter() - started


def _write_round(batch, versions, stale, embeddings: LocalEmbeddings, store: NewsStore) -> None:
    ids, texts, inputs, metadatas = [], [], [], []
    for article, chunks in batch:
        version = versions[article.id]
        for chunk in chunks:
            ids.append(f"{article.id}|{version}|{chunk.number}")
            texts.append(chunk.text)
            inputs.append(embedding_text(article, chunk))
            metadatas.append(chunk_metadata(article, chunk, version, len(chunks)))
    if ids:
        store.write(ids, texts, embeddings.encode(inputs), metadatas)
    for article, _ in batch:
        if stale.get(article.id):  # older versions, or leftovers of an interrupted run
            store.delete_versions_except(article.id, versions[article.id])
    log.info("wrote %d chunks of %d articles", len(ids), len(batch))


def _prune(
    store: NewsStore,
    stored: dict[str, StoredArticle],
    seen: dict[str, Article],
    roots: list[Path],
    unreadable_files: set[str],
) -> int:
    """Remove articles whose file is gone, or whose file (under the given paths) no longer holds them (never
    articles fetched from URLs)."""
    resolved_roots = [root.resolve() for root in roots]
    doomed = []
    for article_id, info in stored.items():
        if article_id in seen or info.path in unreadable_files or looks_like_url(info.path):
            continue  # articles fetched from URLs have no file to be gone: never pruned
        file_gone = not info.path or not Path(info.path).exists()
        if file_gone or _is_under(info.path, resolved_roots):
            doomed.append(article_id)
    store.delete_articles(doomed)
    return len(doomed)
