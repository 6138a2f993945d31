"""The Chroma collection of chunks: written so that an interrupted ingest is completed by the next one.

Each chunk carries its article's `version` (a fingerprint of the article, the model and the chunking) and
`chunk_count`. An article is complete when one version has all its chunks. New versions are written before
old ones are deleted, so a crash at any point leaves either a complete old version, a complete new one, or
a partial one that the next ingest rewrites; stale versions are deleted on the next run.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import chromadb
from chromadb.config import Settings as ChromaSettings

from .chunking import Chunk
from .ingest import Article

log = logging.getLogger(__name__)
SCHEMA = 1
_PAGE = 5000


class IndexUnusable(RuntimeError):
    """The index cannot be used as it is; the message says how to fix it."""


@dataclass
class StoredArticle:
    versions: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # version -> chunks present
    expected: dict[str, int] = field(default_factory=dict)  # version -> chunk_count
    path: str = ""

    def complete_version(self) -> str | None:
        for version, present in self.versions.items():
            if present == self.expected.get(version):
                return version
        return None


@dataclass(frozen=True)
class Hit:
    chunk_id: str
    text: str
    metadata: dict
    score: float  # cosine similarity


def chunk_metadata(article: Article, chunk: Chunk, version: str, chunk_count: int) -> dict:
    metadata = {
        "article_id": article.id,
        "title": article.title,
        "source": article.source,
        "url": article.url,
        "published": article.published,
        "dated": bool(article.published),
        "author": article.author,
        "category": article.category,
        "tags": ", ".join(article.tags),
        "path": article.path,
        "chunk": chunk.number,
        "chunk_count": chunk_count,
        "start": chunk.start,
        "end": chunk.end,
        "version": version,
    }
    if article.published:
        metadata["published_ts"] = article.published_ts
    return metadata


class NewsStore:
    def __init__(self, index_dir: Path, collection: str = "news", embedding_model: str = "", create: bool = True):
        self.index_dir = Path(index_dir)
        if create:
            self.index_dir.mkdir(parents=True, exist_ok=True)
        elif not self.index_dir.is_dir():
            raise IndexUnusable(f"no index at {self.index_dir}: build it with `newsbot ingest corpus/`")
        try:
            self.client = chromadb.PersistentClient(
                path=str(self.index_dir), settings=ChromaSettings(anonymized_telemetry=False)
            )
            self.collection = self.client.get_or_create_collection(
                collection,
                configuration={"hnsw": {"space": "cosine"}},
                metadata={"embedding_model": embedding_model, "schema": SCHEMA},
                embedding_function=None,
            )
        except Exception as error:
            raise IndexUnusable(
                f"cannot open the index at {self.index_dir} ({type(error).__name__}: {error}); "
                f"if it is damaged, delete the folder and rebuild it with `newsbot ingest corpus/`"
            ) from error
        built_with = (self.collection.metadata or {}).get("embedding_model")
        if embedding_model and built_with and built_with != embedding_model:
            raise IndexUnusable(
                f"the index at {self.index_dir} was built with the embedding model '{built_with}', "
                f"but this run uses '{embedding_model}'; rebuild it into an empty folder (--index DIR)"
            )
        self.max_batch = self.client.get_max_batch_size()

    def count(self) -> int:
        return self.collection.count()

    def _all_metadatas(self, where: dict | None = None) -> Iterable[tuple[str, dict]]:
        for chunk_id, _, metadata in self.all_chunks(where, with_text=False):
            yield chunk_id, metadata

    def all_chunks(self, where: dict | None = None, with_text: bool = True) -> Iterable[tuple[str, str, dict]]:
        """(id, text, metadata) of every chunk, page by page."""
        for chunk_id, text, metadata, _ in self.all_chunks_with_vectors(where, with_text, with_vectors=False):
            yield chunk_id, text, metadata

    def all_chunks_with_vectors(
        self, where: dict | None = None, with_text: bool = True, with_vectors: bool = True
    ) -> Iterable[tuple[str, str, dict, Sequence[float] | None]]:
        """(id, text, metadata, embedding) of every chunk, page by page."""
        include = ["metadatas"] + (["documents"] if with_text else []) + (["embeddings"] if with_vectors else [])
        offset = 0
        while True:
            page = self.collection.get(where=where, include=include, limit=_PAGE, offset=offset)
            count = len(page["ids"])
            texts = page["documents"] if with_text else [""] * count
            vectors = page["embeddings"] if with_vectors else [None] * count
            yield from zip(page["ids"], texts, page["metadatas"], vectors, strict=True)
            if len(page["ids"]) < _PAGE:
                return
            offset += _PAGE

    def chunk_ids(self) -> list[str]:
        ids: list[str] = []
        offset = 0
        while True:
            page = self.collection.get(include=[], limit=_PAGE * 4, offset=offset)["ids"]
            ids.extend(page)
            if len(page) < _PAGE * 4:
                return ids
            offset += _PAGE * 4

    def fetch(self, chunk_ids: list[str], query_vector=None) -> list[Hit]:
        """These chunks, scored by cosine similarity to `query_vector` when one is given."""
        if not chunk_ids:
            return []
        include = ["documents", "metadatas"] + (["embeddings"] if query_vector is not None else [])
        page = self.collection.get(ids=list(chunk_ids), include=include)
        vectors = page["embeddings"] if query_vector is not None else [None] * len(page["ids"])
        found = {
            chunk_id: Hit(chunk_id, text, metadata, float(vector @ query_vector) if vector is not None else 0.0)
            for chunk_id, text, metadata, vector in zip(
                page["ids"], page["documents"], page["metadatas"], vectors, strict=True
            )
        }
        return [found[chunk_id] for chunk_id in chunk_ids if chunk_id in found]

    def stored_articles(self) -> dict[str, StoredArticle]:
        articles: dict[str, StoredArticle] = defaultdict(StoredArticle)
        for _, metadata in self._all_metadatas():
            stored = articles[metadata["article_id"]]
            stored.versions[metadata["version"]] += 1
            stored.expected[metadata["version"]] = metadata["chunk_count"]
            stored.path = metadata.get("path", "")
        return dict(articles)

    def write(self, ids: Sequence[str], texts: Sequence[str], embeddings, metadatas: Sequence[dict]) -> None:
        for first in range(0, len(ids), self.max_batch):
            last = first + self.max_batch
            self.collection.upsert(
                ids=list(ids[first:last]),
                documents=list(texts[first:last]),
                embeddings=embeddings[first:last],
                metadatas=list(metadatas[first:last]),
            )

    def delete_versions_except(self, article_id: str, keep: str) -> None:
        self.collection.delete(where={"$and": [{"article_id": article_id}, {"version": {"$ne": keep}}]})

    def delete_articles(self, article_ids: Iterable[str]) -> None:
        ids = list(article_ids)
        for first in range(0, len(ids), 100):
            self.collection.delete(where={"article_id": {"$in": ids[first : first + 100]}})

    def search(self, embedding: Sequence[float], k: int, where: dict | None = None) -> list[Hit]:
        if self.collection.count() == 0:
            return []
        result = self.collection.query(
            query_embeddings=[list(embedding)],
            n_results=k,
            where=where,
            include=["documents", "metadatas", "distances"],
        )
        return [
            Hit(chunk_id, text, metadata, 1.0 - distance)
            for chunk_id, text, metadata, distance in zip(
                result["ids"][0],
                result["documents"][0],
                result["metadatas"][0],
                result["distances"][0],
                strict=True,
            )
        ]

    def nearest_ids(self, embedding: Sequence[float], k: int, where: dict | None = None) -> list[str]:
        """Ids of the k nearest chunks by Chroma's index: without texts, which are fetched for the winners only."""
        if self.collection.count() == 0:
            return []
        result = self.collection.query(query_embeddings=[list(embedding)], n_results=k, where=where, include=[])
        return result["ids"][0]

    def article_chunks(self, article_id: str) -> list[Hit]:
        page = self.collection.get(where={"article_id": article_id}, include=["documents", "metadatas"])
        hits = [Hit(i, t, m, 0.0) for i, t, m in zip(page["ids"], page["documents"], page["metadatas"], strict=True)]
        return sorted(hits, key=lambda hit: hit.metadata["chunk"])

    def overview(self) -> dict:
        """What the bot knows, for its first screen: articles, outlets, date range."""
        firsts = [metadata for _, metadata in self._all_metadatas(where={"chunk": 0})]
        dates = sorted(m["published"] for m in firsts if m.get("published"))
        outlets: dict[str, int] = defaultdict(int)
        for metadata in firsts:
            if metadata.get("source"):
                outlets[metadata["source"]] += 1
        return {
            "articles": len({m["article_id"] for m in firsts}),
            "chunks": self.collection.count(),
            "first_date": dates[0] if dates else "",
            "last_date": dates[-1] if dates else "",
            "outlets": sorted(outlets, key=lambda name: (-outlets[name], name)),
        }
