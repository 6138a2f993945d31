"""Errors every surface (CLI, API, UI) catches; kept apart so that importing them loads no database."""

from __future__ import annotations


class IndexUnusable(RuntimeError):
    """The index cannot be used as it is; the message says how to fix it."""


class StoreUnreachable(IndexUnusable):
    """The Chroma server cannot be reached (stopped, restarting, network down). Temporary: the API answers 503,
    and the next call connects again by itself."""

    def __init__(self, url: str, reason: str = ""):
        super().__init__(f"The news index (Chroma at {url}) is not reachable; try again shortly.")
        self.url = url
        self.reason = reason
