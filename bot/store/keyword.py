"""BM25 over the same chunks as the Chroma collection (bm25s), persisted beside it and kept in step, with a
copy of the chunk vectors for filtered dense search.

Chroma's filtered query (`where=`) costs 0.24-0.6 s on the 87k-chunk realtimeqa index against 23 ms
unfiltered (docs/benchmarks.md), so searches restricted by outlet, date or `as_of` score the allowed chunks
exactly here instead (about 10 ms for 87k chunks with numpy).

The keyword index is derived data: it is rebuilt from the store whenever the set of chunk ids differs
from the one it was built from (after an ingest, or when an ingest died before rebuilding it). Each
build goes to a new folder and a small pointer file is replaced atomically, so a reader never sees a
half-written index.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import bm25s
import numpy as np
import Stemmer

log = logging.getLogger(__name__)
# bm25s sets its own logger to DEBUG on import, so "Building index from tokens" reached every handler on every
# build (each ingest, each app start with a changed index); its warnings still show.
logging.getLogger("bm25s").setLevel(logging.WARNING)
_POINTER = "bm25.json"
_stemmer = Stemmer.Stemmer("english")


def fingerprint(chunk_ids: list[str]) -> str:
    digest = hashlib.sha256()
    for chunk_id in sorted(chunk_ids):
        digest.update(chunk_id.encode())
        digest.update(b"\0")
    return f"{len(chunk_ids)}-{digest.hexdigest()[:16]}"


def _tokens(texts: list[str]) -> list[list[str]]:
    return bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer, return_ids=False, show_progress=False)


@dataclass
class KeywordHit:
    chunk_id: str
    score: float


class KeywordIndex:
    def __init__(
        self,
        model: bm25s.BM25 | None,
        chunk_ids: list[str],
        fields: dict[str, np.ndarray],
        stamp: str,
        vectors: np.ndarray | None = None,
    ):
        self.model = model
        self.chunk_ids = chunk_ids
        self.fields = fields  # per chunk: "published_ts" (int, -1 unknown), "source" (str)
        self.stamp = stamp
        self.vectors = vectors  # per chunk: its unit-length embedding (float32), or None
        self._rows: dict[str, int] | None = None

    def __len__(self) -> int:
        return len(self.chunk_ids)

    @classmethod
    def build(
        cls, chunk_ids: list[str], texts: list[str], metadatas: list[dict], vectors: np.ndarray | None = None
    ) -> KeywordIndex:
        model = None
        if chunk_ids:
            model = bm25s.BM25()
            model.index(_tokens(texts), show_progress=False)
        fields = {
            "published_ts": np.array([m.get("published_ts", -1) for m in metadatas], dtype=np.int64),
            "source": np.array([m.get("source", "") for m in metadatas], dtype=object),
            "article_id": np.array([m.get("article_id", "") for m in metadatas], dtype=object),
        }
        if vectors is not None:
            vectors = np.asarray(vectors, dtype=np.float32).reshape(len(chunk_ids), -1)
        return cls(model, list(chunk_ids), fields, fingerprint(list(chunk_ids)), vectors)

    def save(self, index_dir: Path) -> None:
        folder = index_dir / f"bm25-{self.stamp}"
        tmp = index_dir / f".bm25-{self.stamp}.{os.getpid()}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self.model is not None:
            self.model.save(str(tmp), show_progress=False)
        if self.vectors is not None:
            np.save(tmp / "vectors.npy", np.ascontiguousarray(self.vectors, dtype=np.float32))
        meta = {
            "stamp": self.stamp,
            "chunk_ids": self.chunk_ids,
            "published_ts": self.fields["published_ts"].tolist(),
            "source": self.fields["source"].tolist(),
            "article_id": self.fields["article_id"].tolist(),
        }
        (tmp / "chunks.json").write_text(json.dumps(meta), encoding="utf-8")
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)
        pointer_tmp = index_dir / f".{_POINTER}.{os.getpid()}.tmp"
        pointer_tmp.write_text(json.dumps({"folder": folder.name}), encoding="utf-8")
        os.replace(pointer_tmp, index_dir / _POINTER)
        for old in index_dir.glob("bm25-*"):
            if old != folder:
                shutil.rmtree(old, ignore_errors=True)

    @staticmethod
    def saved_state(index_dir: Path) -> tuple[int, int] | None:
        """Changes whenever a new index is saved into `index_dir`: a cheap way for readers to notice."""
        try:
            stat = (index_dir / _POINTER).stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_ino

    @classmethod
    def load(cls, index_dir: Path) -> KeywordIndex | None:
        """The saved index, or None when there is none or it cannot be read (it is rebuilt then)."""
        if not (index_dir / _POINTER).exists():
            return None
        try:
            folder = index_dir / json.loads((index_dir / _POINTER).read_text(encoding="utf-8"))["folder"]
            meta = json.loads((folder / "chunks.json").read_text(encoding="utf-8"))
            model = bm25s.BM25.load(str(folder), mmap=True, show_progress=False) if meta["chunk_ids"] else None
            vectors = np.load(folder / "vectors.npy", mmap_mode="r") if meta["chunk_ids"] else None
            if vectors is not None and vectors.shape[0] != len(meta["chunk_ids"]):
                raise ValueError(f"{vectors.shape[0]} vectors for {len(meta['chunk_ids'])} chunks")
            fields = {
                "published_ts": np.array(meta["published_ts"], dtype=np.int64),
                "source": np.array(meta["source"], dtype=object),
                "article_id": np.array(meta["article_id"], dtype=object),
            }
        except (OSError, ValueError, KeyError, TypeError) as error:  # TypeError: JSON of the wrong shape
            log.warning("keyword index in %s unreadable (%s): it will be rebuilt", index_dir, error)
            return None
        return cls(model, meta["chunk_ids"], fields, meta["stamp"], vectors)

    def mask(self, sources: set[str] | None, ts_from: int | None, ts_to: int | None) -> np.ndarray | None:
        """1 for chunks that pass the filters (chunks of unknown date pass date filters), else 0."""
        if not sources and ts_from is None and ts_to is None:
            return None
        keep = np.ones(len(self.chunk_ids), dtype=bool)
        if sources:
            keep &= np.isin(self.fields["source"], list(sources))
        published = self.fields["published_ts"]
        unknown = published < 0
        if ts_from is not None:
            keep &= unknown | (published >= ts_from)
        if ts_to is not None:
            keep &= unknown | (published <= ts_to)
        return keep.astype(np.float32)

    def search(self, query: str, k: int, mask: np.ndarray | None = None) -> list[KeywordHit]:
        if self.model is None or not len(self.chunk_ids):
            return []
        tokens = _tokens([query])
        if not tokens[0]:
            return []
        k = min(k, len(self.chunk_ids))
        documents, scores = self.model.retrieve(tokens, k=k, show_progress=False, weight_mask=mask, n_threads=0)
        return [
            KeywordHit(self.chunk_ids[int(doc)], float(score))
            for doc, score in zip(documents[0], scores[0], strict=True)
            if score > 0
        ]

    def nearest(self, vector: np.ndarray, k: int, mask: np.ndarray | None = None) -> list[KeywordHit]:
        """The k chunks most similar to `vector` (cosine) among those the mask allows: an exact scan."""
        return self.nearest_many(np.asarray(vector, dtype=np.float32)[None, :], k, [mask])[0]

    def nearest_many(self, vectors: np.ndarray, k: int, masks: list[np.ndarray | None]) -> list[list[KeywordHit]]:
        """`nearest` for several query vectors, reading the stored vectors once (the scan is memory-bound)."""
        if self.vectors is None or not len(self.chunk_ids):
            return [[] for _ in masks]
        all_scores = self.vectors @ np.asarray(vectors, dtype=np.float32).T
        results = []
        for column, mask in enumerate(masks):
            scores = all_scores[:, column]
            if mask is not None:
                scores = np.where(mask > 0, scores, -np.inf)
            top_k = min(k, int(np.isfinite(scores).sum()))
            if top_k <= 0:
                results.append([])
                continue
            top = np.argpartition(-scores, top_k - 1)[:top_k]
            top = top[np.argsort(-scores[top], kind="stable")]
            results.append([KeywordHit(self.chunk_ids[int(row)], float(scores[row])) for row in top])
        return results

    def _row_of(self) -> dict[str, int]:
        if self._rows is None:
            self._rows = {chunk_id: row for row, chunk_id in enumerate(self.chunk_ids)}
        return self._rows

    def field(self, name: str, chunk_ids: list[str]) -> dict:
        """A per-chunk field ("published_ts", "source", "article_id") for these chunks, without the store."""
        rows = self._row_of()
        values = self.fields[name]
        return {chunk_id: values[rows[chunk_id]] for chunk_id in chunk_ids if chunk_id in rows}

    def similarity(self, chunk_ids: list[str], vector: np.ndarray) -> dict[str, float]:
        """Cosine similarity of these chunks to `vector`, for those this index holds."""
        if self.vectors is None:
            return {}
        row_of = self._row_of()
        rows = [(chunk_id, row_of[chunk_id]) for chunk_id in chunk_ids if chunk_id in row_of]
        if not rows:
            return {}
        scores = self.vectors[[row for _, row in rows]] @ np.asarray(vector, dtype=np.float32)
        return {chunk_id: float(score) for (chunk_id, _), score in zip(rows, scores, strict=True)}
