"""Question -> ranked chunks: dense (Chroma) and keyword (BM25) search fused by reciprocal rank, with the
outlets, publication dates and recency a question asks for, an `as_of` date, and at most a few chunks per
article so that several sources can be heard."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field, PrivateAttr

from ..errors import VectorIndexDamaged
from ..ingest.article import parse_date
from ..store.chroma import NewsStore
from ..store.embedding import LocalEmbeddings
from ..store.indexing import refresh_keyword_index
from ..store.keyword import KeywordIndex, fingerprint
from .query import QueryIntent, day_span, facets, parse_query

log = logging.getLogger(__name__)
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
    stamp: str = ""  # of the keyword index it was read with


class NewsRetriever(BaseRetriever):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: NewsStore
    embeddings: LocalEmbeddings
    keyword: KeywordIndex | None = None  # loaded (or built) on the first search when not given
    k: int = 8
    as_of: str | None = None
    mode: Mode = "hybrid"
    use_metadata: bool = True
    candidates: int = 50
    per_article: int = 2
    rrf_k: int = 60
    facet_clauses: int = 2
    recency_days: float = 30.0
    catalog: Catalog = Field(default_factory=Catalog)
    keyword_state: tuple[int, int] | None = None

    recheck_seconds: float | None = None  # server mode: at most this often compare chunk ids (None: the store's)
    _refresh_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _checked_at: float = PrivateAttr(default_factory=time.monotonic)  # last comparison with the server
    _damage_reported: bool = PrivateAttr(default=False)

    def refresh(self) -> None:
        """Pick up the keyword index (and so the catalog) that another ingest saved since the last search.

        On this machine, every save replaces a pointer file: a stat notices it. On a Chroma server an ingest may
        run on another machine, so at most every `recheck_seconds` the server's chunk ids are also compared with
        the index's fingerprint, and this machine's copy is rebuilt when they differ. One thread refreshes; the
        others answer from the current index meanwhile instead of waiting for a rebuild.

        First, an embedded index whose vector index was deleted meanwhile is refused (IndexUnusable, saying how to
        rebuild) rather than searched: Chroma would find only the chunks still in its write log.
        """
        self.store.check_vectors()
        if not self._refresh_lock.acquire(blocking=self.keyword is None):
            return
        try:
            state = KeywordIndex.saved_state(self.store.index_dir)
            if state != self.keyword_state or self.keyword is None:
                self.keyword_state = state
                self.keyword = KeywordIndex.load(self.store.index_dir) or refresh_keyword_index(self.store)
            if self.store.url:
                self._recheck_server()
        finally:
            self._refresh_lock.release()

    def _recheck_server(self) -> None:
        """Rebuild the local copy when the server's chunks differ from it (an ingest from anywhere), checking
        at most every `recheck_seconds`: listing the ids costs 12-30 ms per 5,000 chunks."""
        interval = self.store.recheck_seconds if self.recheck_seconds is None else self.recheck_seconds
        if time.monotonic() - self._checked_at < interval:
            return
        stamp = fingerprint(self.store.chunk_ids())
        if stamp != self.keyword.stamp:
            self.keyword = refresh_keyword_index(self.store, stamp)
            self.keyword_state = KeywordIndex.saved_state(self.store.index_dir)
        self._checked_at = time.monotonic()

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun | None = None, **_: Any
    ) -> list[Document]:
        return self.search(query, self.as_of)[0]

    def _current_catalog(self) -> Catalog:
        stamp = self.keyword.stamp if self.keyword is not None else str(self.store.count())
        if self.catalog.stamp != stamp:
            overview = self.store.overview()
            newest = overview["last_date"]
            self.catalog = Catalog(
                overview["outlets"], date.fromisoformat(newest) if len(newest) == 10 else None, stamp
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
        self.refresh()
        intent = self.read(query, as_of)
        end = as_of_timestamp(as_of)
        start, stop = intent.published_from, _min(intent.published_to, end)
        plans = [_Plan(query, intent.sources, start, stop)]
        if self.use_metadata:
            plans += self._sub_plans(query, intent, start, stop)
        vectors = self.embeddings.encode([plan.text for plan in plans])  # one batch for the question and its parts
        rankings = self._rank(plans, vectors)
        main = rankings[0]
        if intent.filters and len(main) < self.k:  # the filters were too narrow: widen, keep the filtered first
            wider = self._rank([_Plan(query, set(), None, end)], vectors[:1])[0]
            seen = {chunk_id for chunk_id, _ in main}
            main = main + [item for item in wider if item[0] not in seen]
        # several outlets, days or facets asked for: each gets its best evidence near the top
        ranked = _round_robin([main, *rankings[1:]]) if len(rankings) > 1 else main
        # "latest", "this week": newer first; an as_of date alone prefers what was new then, more gently
        dated = intent.published_from is not None or intent.published_to is not None
        recency = intent.recency or ("recent" if end and self.use_metadata and not dated else "")
        if recency:
            reference = end if end else _timestamp(self._current_catalog().newest)
            ranked = self._by_recency(ranked, recency, reference)
        chosen = self._diverse(ranked)
        return self._documents(chosen, vectors[0]), intent

    def _sub_plans(self, query: str, intent: QueryIntent, start: int | None, end: int | None) -> list[_Plan]:
        """One search per outlet when several are named, per day when several are named, and per clause of a
        question that asks about several things; each returns its own ranking."""
        plans: list[_Plan] = []
        if len(intent.sources) >= 2:
            plans += [_Plan(query, {source}, start, end) for source in sorted(intent.sources)]
        if len(intent.days) >= 2:
            for day in intent.days:
                first, last = day_span(day)
                plans.append(_Plan(query, intent.sources, first, _min(last, end)))
        if self.facet_clauses:
            clauses = facets(query, min_parts=self.facet_clauses)
            plans += [_Plan(clause, intent.sources, start, end) for clause in clauses]
        return plans

    def _rank(self, plans: list[_Plan], vectors: np.ndarray) -> list[list[tuple[str, float]]]:
        """Per plan: chunk ids by fused score. Filtered dense searches share one exact scan of the local
        vectors (Chroma's `where` is 10-50x slower); unfiltered ones go to Chroma's HNSW index."""
        dense: list[list[str]] = [[] for _ in plans]
        if self.mode in ("dense", "hybrid"):
            local = [i for i, plan in enumerate(plans) if plan.filtered and self.keyword.vectors is not None]
            if local:
                masks = [self.keyword.mask(plans[i].sources, plans[i].start, plans[i].end) for i in local]
                found = self.keyword.nearest_many(vectors[local], self.candidates, masks)
                for i, hits in zip(local, found, strict=True):
                    dense[i] = [hit.chunk_id for hit in hits]
            for i, plan in enumerate(plans):
                if i not in local:
                    dense[i] = self._nearest(plan, vectors[i])
        rankings = []
        for plan, dense_ids in zip(plans, dense, strict=True):
            keyword_ids: list[str] = []
            if self.mode in ("bm25", "hybrid"):
                mask = self.keyword.mask(plan.sources, plan.start, plan.end)
                keyword_ids = [hit.chunk_id for hit in self.keyword.search(plan.text, self.candidates, mask)]
            fused = reciprocal_rank_fusion([dense_ids, keyword_ids], self.rrf_k)
            rankings.append(sorted(fused.items(), key=lambda item: item[1], reverse=True))
        return rankings

    def _nearest(self, plan: _Plan, vector: np.ndarray) -> list[str]:
        """Chroma's nearest chunks; when its vector index is damaged, an exact scan of this machine's copy of the
        vectors ranks them instead (said once in the log, with how to rebuild) rather than giving wrong answers."""
        where = _where(plan.sources, plan.start, plan.end)
        try:
            return self.store.nearest_ids(vector.tolist(), self.candidates, where)
        except VectorIndexDamaged as error:
            if self.keyword is None or self.keyword.vectors is None:
                raise
            if not self._damage_reported:
                log.warning("%s; meanwhile the search uses the copy of the vectors beside the keyword index", error)
                self._damage_reported = True
            mask = self.keyword.mask(plan.sources, plan.start, plan.end)
            return [hit.chunk_id for hit in self.keyword.nearest(vector, self.candidates, mask)]

    def _documents(self, chosen: list[tuple[str, float]], vector: np.ndarray) -> list[Document]:
        """The chosen chunks from the store, scored by similarity of meaning to the whole question."""
        ids = [chunk_id for chunk_id, _ in chosen]
        similarity = self.keyword.similarity(ids, vector)
        hits = {hit.chunk_id: hit for hit in self.store.fetch(ids, None if similarity else vector)}
        documents = []
        for chunk_id, fused in chosen:
            if chunk_id in hits:  # a chunk deleted since the keyword index was saved is skipped
                hit = hits[chunk_id]
                score = similarity.get(chunk_id, hit.score)
                metadata = {**hit.metadata, "score": score, "fused": fused, "chunk_id": chunk_id}
                documents.append(Document(page_content=hit.text, metadata=metadata))
        return documents

    def _by_recency(self, ranked: list[tuple[str, float]], kind: str, reference: int | None) -> list:
        if reference is None:
            return ranked
        published = self.keyword.field("published_ts", [chunk_id for chunk_id, _ in ranked])

        def boosted(chunk_id: str, score: float) -> float:
            when = published.get(chunk_id, -1)
            if when < 0:  # unknown date: neither preferred nor pushed back
                return score
            age = max(0.0, (reference - when) / _DAY)
            if kind == "week":
                return score * (1.0 + (1.0 if age <= 7 else 0.5 * math.exp(-age / self.recency_days)))
            return score * (1.0 + math.exp(-age / self.recency_days))

        rescored = [(chunk_id, boosted(chunk_id, score)) for chunk_id, score in ranked]
        return sorted(rescored, key=lambda item: item[1], reverse=True)

    def _diverse(self, ranked: list[tuple[str, float]]) -> list[tuple[str, float]]:
        """At most `per_article` chunks of one article, unless there is nothing else to show."""
        article_of = self.keyword.field("article_id", [chunk_id for chunk_id, _ in ranked])
        chosen, held_back = [], []
        per_article: dict[str, int] = defaultdict(int)
        for chunk_id, score in ranked:
            article_id = article_of.get(chunk_id, chunk_id)
            if self.per_article and per_article[article_id] >= self.per_article:
                held_back.append((chunk_id, score))
                continue
            per_article[article_id] += 1
            chosen.append((chunk_id, score))
            if len(chosen) == self.k:
                return chosen
        return chosen + held_back[: self.k - len(chosen)]


@dataclass
class _Plan:
    """One search: its text, and the outlets and publication window it is restricted to."""

    text: str
    sources: set[str]
    start: int | None
    end: int | None

    @property
    def filtered(self) -> bool:
        return bool(self.sources) or self.start is not None or self.end is not None


def _round_robin(rankings: list[list[tuple[str, float]]]) -> list[tuple[str, float]]:
    """First of each ranking, then the second of each, ...; each chunk once, scored by its merged position."""
    merged: list[str] = []
    seen: set[str] = set()
    for depth in range(max(len(r) for r in rankings)):
        for ranking in rankings:
            if depth < len(ranking) and ranking[depth][0] not in seen:
                seen.add(ranking[depth][0])
                merged.append(ranking[depth][0])
    return [(chunk_id, 1.0 / (position + 1)) for position, chunk_id in enumerate(merged)]


def _min(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


def _timestamp(day: date | None) -> int | None:
    return None if day is None else int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) + _DAY - 1
