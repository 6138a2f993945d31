"""Errors every surface (CLI, API, UI) catches; kept apart so that importing them loads no database."""

from __future__ import annotations

from .redact import redacted_url


class IndexUnusable(RuntimeError):
    """The index cannot be used as it is; the message says how to fix it."""


class VectorIndexDamaged(IndexUnusable):
    """Chroma's vector index of an embedded index cannot be read, or finds fewer chunks than the collection holds
    (its files were damaged in a way the checks at open miss; a deleted vector index is refused there). The
    retriever then searches its exact copy of the vectors instead."""


class StoreUnreachable(IndexUnusable):
    """The Chroma server cannot be reached (stopped, restarting, network down). Temporary: the API answers 503,
    and the next call connects again by itself. The message is shown to any client: a password in `url` is not."""

    def __init__(self, url: str, reason: str = ""):
        url = redacted_url(url)
        super().__init__(f"The news index (Chroma at {url}) is not reachable; try again shortly.")
        self.url = url
        self.reason = reason
