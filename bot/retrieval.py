"""Question -> ranked chunks from the store, as a LangChain retriever (dense search for now)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from .embedding import LocalEmbeddings
from .ingest.article import parse_date
from .store import NewsStore


def as_of_filter(as_of: str | date | None) -> dict | None:
    """Only what was published by the end of `as_of`; articles of unknown date stay in."""
    if not as_of:
        return None
    iso = as_of.isoformat() if isinstance(as_of, date) else parse_date(as_of)
    if not iso or len(iso) != 10:
        raise ValueError(f"as_of must be a date such as 2023-10-18, got {as_of!r}")
    end_of_day = int(datetime.fromisoformat(iso).replace(tzinfo=UTC).timestamp()) + 86399
    return {"$or": [{"published_ts": {"$lte": end_of_day}}, {"dated": False}]}


class NewsRetriever(BaseRetriever):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: NewsStore
    embeddings: LocalEmbeddings
    k: int = 8
    as_of: str | None = None

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun | None = None, **_: Any
    ) -> list[Document]:
        vector = self.embeddings.embed_query(query)
        hits = self.store.search(vector, self.k, where=as_of_filter(self.as_of))
        return [
            Document(page_content=hit.text, metadata={**hit.metadata, "score": hit.score, "chunk_id": hit.chunk_id})
            for hit in hits
        ]
