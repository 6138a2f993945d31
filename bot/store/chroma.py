"""The Chroma collection of chunks: written so that an interrupted ingest is completed by the next one.

Each chunk carries its article's `version` (a fingerprint of the article, the model and the chunking) and
`chunk_count`. An article is complete when one version has all its chunks. New versions are written before
old ones are deleted, so a crash at any point leaves either a complete old version, a complete new one, or
a partial one that the next ingest rewrites; stale versions are deleted on the next run.

The collection is either embedded (a Chroma folder, one machine) or on a Chroma server (`NEWSBOT_CHROMA_URL`,
shared by every process): then `index_dir` is only this machine's cache of derived data (BM25 and a copy of the
vectors), in a folder of its own per server and collection, and a lost connection is re-made on the next call
(chroma_server.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import chromadb
from chromadb.config import Settings as ChromaSettings

from ..errors import IndexUnusable, VectorIndexDamaged
from ..ingest import Article
from ..redact import split_credentials
from ..settings import server_address
from .chroma_client import LocalCollection, auth_headers, forget_client
from .chroma_server import ServerCollection, ServerConnection
from .chunking import Chunk
from .embedding import split_model_name

log = logging.getLogger(__name__)
SCHEMA = 1
_PAGE = 5000


def server_cache_dir(cache_root: Path, url: str, collection: str) -> Path:
    """This machine's folder of derived data for one server and collection: two servers (or collections) never
    share a keyword index, and a readable name says whose it is."""
    host, port, ssl = server_address(url)
    key = f"{'https' if ssl else 'http'}://{host.lower()}:{port}|{collection}"
    slug = re.sub(r"[^A-Za-z0-9.-]+", "-", f"{host}-{port}-{collection}").strip("-")
    return Path(cache_root) / "chroma-cache" / f"{slug}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"


def is_index(folder: Path) -> bool:
    """Whether `folder` holds an embedded index (Chroma's database file), as opposed to a missing, mistyped or
    unrelated folder: commands that only read (ask, chat) refuse to open anything else, so they create nothing."""
    return (Path(folder) / "chroma.sqlite3").is_file()


def shown_path(folder: Path) -> str:
    """A folder as the user recognises it in a message: absolute, whatever the working directory."""
    return str(Path(folder).absolute())


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
    """The chunks' collection, embedded in `index_dir` or, with `url`, on a Chroma server.

    With a server, `index_dir` is the root of this machine's derived cache: the keyword index lives in
    `self.index_dir` = a folder under it named after the server and the collection. A user and password in `url`
    are sent as basic auth (unless `token` is given: then the token) and kept out of `self.url`, which every
    message and log line names.
    """

    def __init__(
        self,
        index_dir: Path,
        collection: str = "news",
        embedding_model: str = "",
        create: bool = True,
        *,
        url: str = "",
        token: str = "",
        timeout: float = 60.0,
        recheck_seconds: float = 10.0,
    ):
        self.url, user, password = split_credentials(url.strip().rstrip("/"))
        self.name = collection
        self.embedding_model = embedding_model
        if token and (user or password):
            log.warning(
                "NEWSBOT_CHROMA_URL names a user and NEWSBOT_CHROMA_TOKEN is set: the token is sent, not the user"
            )
        self.recheck_seconds = recheck_seconds  # how often a reader compares the server's chunks with its cache
        self._client: Any = None
        self._collection: Any = None
        self._vectors_checked: tuple | None = None  # the files' state when check_vectors last passed
        if self.url:
            self.index_dir = server_cache_dir(Path(index_dir), self.url, collection)
            self.index_dir.mkdir(parents=True, exist_ok=True)  # derived data only: always creatable
            self._server = ServerConnection(
                self.url,
                collection,
                create=create,
                metadata={"embedding_model": embedding_model, "schema": SCHEMA},
                headers=auth_headers(token, user, password),
                timeout=timeout,
                secrets=(password, token),
                check=lambda found: self._check_model(
                    found,
                    self.where,
                    "use another collection (NEWSBOT_COLLECTION) or server for this model, "
                    "or the model it was built with",
                ),
            )
            self._server.connected()
            return
        self.index_dir = Path(index_dir)
        if create:
            self.index_dir.mkdir(parents=True, exist_ok=True)
        elif not self.index_dir.is_dir():
            raise IndexUnusable(f"no index at {shown_path(self.index_dir)}: build it with `newsbot ingest corpus/`")
        from .vector_check import check_vector_count, check_vector_index

        check_vector_index(self.index_dir)  # hnswlib loads damaged files unchecked: a crash or wrong answers
        check_vector_count(self.index_dir, collection)  # a deleted vector index: Chroma would search what is left
        try:
            self._client = chromadb.PersistentClient(
                path=str(self.index_dir), settings=ChromaSettings(anonymized_telemetry=False)
            )
            self._collection = self._client.get_or_create_collection(
                collection,
                configuration={"hnsw": {"space": "cosine"}},
                metadata={"embedding_model": embedding_model, "schema": SCHEMA},
                embedding_function=None,
            )
        except Exception as error:
            forget_client(self.index_dir)
            raise IndexUnusable(
                f"cannot open the index at {self.index_dir} ({type(error).__name__}: {error}); "
                f"if it is damaged, delete the folder and rebuild it with `newsbot ingest corpus/`"
            ) from error
        self._check_model(
            self._collection, f"the index at {self.index_dir}", "rebuild it into an empty folder (--index DIR)"
        )
        self._max_batch = self._client.get_max_batch_size()

    @property
    def where(self) -> str:
        """Where the chunks are, for messages: the folder or the server and collection."""
        return f"the collection '{self.name}' on the Chroma server at {self.url}" if self.url else str(self.index_dir)

    @property
    def client(self) -> Any:
        return self._server.connected()[0] if self.url else self._client

    @property
    def max_batch(self) -> int:
        """The most chunks Chroma takes in one write (the server's, once connected)."""
        return self._server.max_batch if self.url else self._max_batch

    @property
    def collection(self) -> Any:
        """The Chroma collection; on a server, a stand-in whose every call survives a lost connection; embedded, one
        whose calls turn Chroma's errors on damaged files into IndexUnusable saying how to rebuild."""
        return ServerCollection(self._server) if self.url else LocalCollection(self._collection, self.index_dir)

    def _check_model(self, collection: Any, where: str, fix: str) -> None:
        """Vectors of two models are not comparable: refuse a collection built with another one."""
        built_with = (collection.metadata or {}).get("embedding_model")
        if self.embedding_model and built_with and built_with != self.embedding_model:
            raise IndexUnusable(
                f"{where} was built with the embedding model '{built_with}', "
                f"but this run uses '{self.embedding_model}'; {fix}{_backend_hint(built_with, self.embedding_model)}"
            )

    def count(self) -> int:
        return self.collection.count()

    def check_vectors(self) -> None:
        """Embedded: raise IndexUnusable (saying how to rebuild) when Chroma has lost the vectors of chunks, as when
        its vector index folder was deleted after the index was opened. Run before each question and by /healthz:
        a look at the files' dates spares the database read (about 1 ms) while nothing changed."""
        if self.url:
            return
        from .vector_check import check_vector_count

        state = self._vector_files_state()
        if state == self._vectors_checked:
            return
        try:
            check_vector_count(self.index_dir, self.name)
        except IndexUnusable:  # once more, in case an ingest was flushing its vectors at that very moment
            time.sleep(0.2)
            state = self._vector_files_state()
            check_vector_count(self.index_dir, self.name)
        self._vectors_checked = state

    def _vector_files_state(self) -> tuple:
        """(name, modified, size, inode) of chroma.sqlite3 and of each vector index folder's header.bin."""
        from .vector_check import SEGMENT

        state = []
        with contextlib.suppress(OSError), os.scandir(self.index_dir) as entries:
            for entry in entries:
                if entry.name != "chroma.sqlite3" and not SEGMENT.fullmatch(entry.name):
                    continue
                path = entry.path if entry.name == "chroma.sqlite3" else os.path.join(entry.path, "header.bin")
                try:
                    found = os.stat(path)
                    state.append((entry.name, found.st_mtime_ns, found.st_size, found.st_ino))
                except OSError:
                    state.append((entry.name, 0, -1, 0))
        return tuple(sorted(state))

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

    def _query(self, embedding: Sequence[float], k: int, where: dict | None, include: list[str]) -> dict | None:
        """Chroma's nearest-neighbour query (None for an empty collection). Embedded, a damaged vector index is
        VectorIndexDamaged: unreadable files raise, and deleted or zeroed ones silently find fewer chunks than an
        unfiltered query must (a server is left alone: another process may be deleting chunks meanwhile)."""
        count = self.collection.count()
        if count == 0:
            return None
        try:
            result = self.collection.query(
                query_embeddings=[list(embedding)], n_results=k, where=where, include=include
            )
        except IndexUnusable as error:
            if self.url:
                raise
            cause = error.__cause__ or error
            raise VectorIndexDamaged(
                f"the vector index of the index at {self.index_dir} cannot be read ({type(cause).__name__}: "
                f"{cause}); delete the folder and rebuild it with `newsbot ingest corpus/`"
            ) from error
        short = not self.url and where is None and len(result["ids"][0]) < min(k, count)
        if short and self.collection.count() == count:  # not merely chunks deleted meanwhile by an ingest
            raise VectorIndexDamaged(
                f"the vector index of the index at {self.index_dir} is damaged: a search found "
                f"{len(result['ids'][0])} of the {min(k, count)} nearest chunks; delete the folder and rebuild it "
                "with `newsbot ingest corpus/`"
            )
        return result

    def search(self, embedding: Sequence[float], k: int, where: dict | None = None) -> list[Hit]:
        result = self._query(embedding, k, where, ["documents", "metadatas", "distances"])
        if result is None:
            return []
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
        result = self._query(embedding, k, where, [])
        return result["ids"][0] if result is not None else []

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


def _backend_hint(built_with: str, wanted: str) -> str:
    """Same weights, other runtime (NEWSBOT_EMBEDDING_BACKEND): say which setting opens the index as built."""
    (model, backend), (wanted_model, _) = split_model_name(built_with), split_model_name(wanted)
    if model != wanted_model:
        return ""
    return f", or set NEWSBOT_EMBEDDING_BACKEND={backend} (the backend that built it)"
