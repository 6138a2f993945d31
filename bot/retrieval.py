"""Question -> ranked chunks: dense (Chroma) and keyword (BM25) search fused by reciprocal rank, with the
outlets, publication dates and recency a question asks for, an `as_of` date, and at most a few chunks per
article so that several sources can be heard."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from .embedding import LocalEmbeddings
from .ingest.article import parse_date
from .keyword import KeywordIndex
from .query import QueryIntent, day_span, facets, parse_query
from .store import Hit, NewsStore

Mode = Literal["hybrid", "dense", "bm25"]
_DAY = 86400


def as_of_timestamp(as_of: str | date | None) -> int | None:
    """The last second of the `as_of` day, or None; raises ValueError naming a bad value."""
    if not as_of:
        return None
    iso = as_of.isoformat() if isinstance(as_of, date) else parse_date(as_of)
    if not iso or len(iso) != 10:
        raise ValueError(f"as_of must be a date such as 2023-10-18, got {as_of!r}")
    return int(datetime.fromisoformat(iso).replace(tzinfo=UTC).timestamp()) + _DAY - 1


def as_of_filter(as_of: str | date | None) -> dict | None:
    """Only what was published by the end of `as_of`; articles of unknown date stay in."""
    end = as_of_timestamp(as_of)
    return None if end is None else _range_filter(None, end)


def _range_filter(start: int | None, end: int | None) -> dict:
    bounds = {}
    if start is not None:
        bounds["$gte"] = start
    if end is not None:
        bounds["$lte"] = end
    if len(bounds) == 2:
        dated = {"$and": [{"published_ts": {"$gte": start}}, {"published_ts": {"$lte": end}}]}
    else:
        dated = {"published_ts": bounds}
    return {"$or": [dated, {"dated": False}]}


def _where(sources: set[str], start: int | None, end: int | None) -> dict | None:
    clauses = []
    if sources:
        clauses.append({"source": {"$in": sorted(sources)}})
    if start is not None or end is not None:
        clauses.append(_range_filter(start, end))
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def reciprocal_rank_fusion(rankings: list[list[str]], k: int = 60) -> dict[str, float]:
    scores: dict[str, float] = defaultdict(float)
    for ranking in rankings:
        for rank, chunk_id in enumerate(ranking, 1):
            scores[chunk_id] += 1.0 / (k + rank)
    return scores


@dataclass
class Catalog:
    """What the index holds, for reading questions: its outlets and its newest publication date."""

    outlets: list[str] = field(default_factory=list)
    newest: date | None = None
    chunks: int = -1


class NewsRetriever(BaseRetriever):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: NewsStore
    embeddings: LocalEmbeddings
    keyword: KeywordIndex | None = None
    k: int = 8
    as_of: str | None = None
    mode: Mode = "hybrid"
    use_metadata: bool = True
    candidates: int = 50
    per_article: int = 2
    rrf_k: int = 60
    recency_days: float = 30.0
    catalog: Catalog = Field(default_factory=Catalog)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun | None = None, **_: Any
    ) -> list[Document]:
        return self.search(query, self.as_of)[0]

    def _current_catalog(self) -> Catalog:
        count = self.store.count()
        if self.catalog.chunks != count:
            overview = self.store.overview()
            newest = overview["last_date"]
            self.catalog = Catalog(
                overview["outlets"], date.fromisoformat(newest) if len(newest) == 10 else None, count
            )
        return self.catalog

    def read(self, query: str, as_of: str | None) -> QueryIntent:
        if not self.use_metadata:
            return QueryIntent()
        catalog = self._current_catalog()
        end = as_of_timestamp(as_of)
        reference = datetime.fromtimestamp(end, tz=UTC).date() if end else (catalog.newest or date.today())
        return parse_query(query, catalog.outlets, reference)

    def search(self, query: str, as_of: str | None = None) -> tuple[list[Document], QueryIntent]:
        intent = self.read(query, as_of)
        end = as_of_timestamp(as_of)
        vector = np.asarray(self.embeddings.embed_query(query), dtype=np.float32)

        start, stop = intent.published_from, _min(intent.published_to, end)
        hits = self._candidates(query, vector, intent.sources, start, stop)
        if intent.filters and len(hits) < self.k:  # the filters were too narrow: widen, keep the filtered first
            wider = self._candidates(query, vector, set(), None, end)
            hits.update({chunk_id: hit for chunk_id, hit in wider.items() if chunk_id not in hits})
        ranked = sorted(hits.values(), key=lambda h: h[1], reverse=True)
        extra = self._sub_searches(query, intent, start, stop) if self.use_metadata else []
        if extra:  # several sources or facets asked for: each gets its best evidence near the top
            ranked = _round_robin([ranked, *extra])
        if intent.recency:
            reference = end if end else _timestamp(self._current_catalog().newest)
            ranked = self._by_recency(ranked, intent.recency, reference)
        chosen = self._diverse(ranked)
        return [self._document(hit, fused) for hit, fused in chosen], intent

    def _candidates(
        self, query: str, vector: np.ndarray, sources: set[str], start: int | None, end: int | None
    ) -> dict[str, tuple[Hit, float]]:
        dense: list[Hit] = []
        if self.mode in ("dense", "hybrid"):
            dense = self.store.search(vector.tolist(), self.candidates, where=_where(sources, start, end))
        keyword_ids: list[str] = []
        if self.mode in ("bm25", "hybrid") and self.keyword is not None:
            mask = self.keyword.mask(sources, start, end)
            keyword_ids = [hit.chunk_id for hit in self.keyword.search(query, self.candidates, mask)]
        fused = reciprocal_rank_fusion([[h.chunk_id for h in dense], keyword_ids], self.rrf_k)
        by_id = {hit.chunk_id: hit for hit in dense}
        missing = [chunk_id for chunk_id in keyword_ids if chunk_id not in by_id]
        by_id.update({hit.chunk_id: hit for hit in self.store.fetch(missing, vector)})
        return {chunk_id: (by_id[chunk_id], score) for chunk_id, score in fused.items() if chunk_id in by_id}

    def _sub_searches(
        self, query: str, intent: QueryIntent, start: int | None, end: int | None
    ) -> list[list[tuple[Hit, float]]]:
        """One search per outlet when several are named, and one per clause of a question that asks about
        several things; each returns its own ranking."""
        searches: list[tuple[str, set[str], int | None, int | None]] = []
        if len(intent.sources) >= 2:
            searches += [(query, {source}, start, end) for source in sorted(intent.sources)]
        if len(intent.days) >= 2:
            searches += [(query, intent.sources, *day_span(day)) for day in intent.days]
        searches += [(clause, intent.sources, start, end) for clause in facets(query)]
        if not searches:
            return []
        vectors = self.embeddings.encode([search[0] for search in searches])
        rankings = []
        for (text, sources, first, last), vector in zip(searches, vectors, strict=True):
            found = self._candidates(text, vector, sources, first, _min(last, end))
            rankings.append(sorted(found.values(), key=lambda h: h[1], reverse=True))
        return rankings

    def _by_recency(self, ranked: list[tuple[Hit, float]], kind: str, reference: int | None) -> list:
        if reference is None:
            return ranked

        def boosted(item: tuple[Hit, float]) -> float:
            hit, score = item
            published = hit.metadata.get("published_ts")
            if published is None:  # unknown date: neither preferred nor pushed back
                return score
            age = max(0.0, (reference - published) / _DAY)
            if kind == "week":
                return score * (1.0 + (1.0 if age <= 7 else 0.5 * math.exp(-age / self.recency_days)))
            return score * (1.0 + math.exp(-age / self.recency_days))

        return sorted(((hit, boosted((hit, score))) for hit, score in ranked), key=lambda x: x[1], reverse=True)

    def _diverse(self, ranked: list[tuple[Hit, float]]) -> list[tuple[Hit, float]]:
        """At most `per_article` chunks of one article, unless there is nothing else to show."""
        chosen, held_back = [], []
        per_article: dict[str, int] = defaultdict(int)
        for hit, score in ranked:
            article_id = hit.metadata["article_id"]
            if self.per_article and per_article[article_id] >= self.per_article:
                held_back.append((hit, score))
                continue
            per_article[article_id] += 1
            chosen.append((hit, score))
            if len(chosen) == self.k:
                return chosen
        return chosen + held_back[: self.k - len(chosen)]

    @staticmethod
    def _document(hit: Hit, fused: float) -> Document:
        metadata = {**hit.metadata, "score": hit.score, "fused": fused, "chunk_id": hit.chunk_id}
        return Document(page_content=hit.text, metadata=metadata)


def _round_robin(rankings: list[list[tuple[Hit, float]]]) -> list[tuple[Hit, float]]:
    """First of each ranking, then the second of each, ...; each chunk once, scored by its merged position."""
    merged: list[Hit] = []
    seen: set[str] = set()
    for depth in range(max(len(r) for r in rankings)):
        for ranking in rankings:
            if depth < len(ranking) and ranking[depth][0].chunk_id not in seen:
                seen.add(ranking[depth][0].chunk_id)
                merged.append(ranking[depth][0])
    return [(hit, 1.0 / (position + 1)) for position, hit in enumerate(merged)]


def _min(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


def _timestamp(day: date | None) -> int | None:
    return None if day is None else int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) + _DAY - 1
