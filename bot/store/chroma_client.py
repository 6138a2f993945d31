"""chromadb's client as the store needs it: which errors mean the server is down, credentials as headers, a bounded
wait on every request, and Chroma's errors on a damaged folder turned into messages that say how to rebuild.
Two of these reach into chromadb's private state; each is skipped if that ever changes."""

from __future__ import annotations

import base64
import contextlib
import logging
from pathlib import Path
from typing import Any

import httpx
from chromadb.errors import InternalError

from ..errors import IndexUnusable

log = logging.getLogger(__name__)
CONNECT_SECONDS = 5.0  # a server that does not accept a connection in this time counts as down


def connection_lost(error: BaseException) -> bool:
    """Whether `error` means the server could not be reached (as opposed to a request it refused)."""
    if isinstance(error, httpx.TransportError):
        return True
    if isinstance(error, httpx.HTTPStatusError) and error.response.status_code in (502, 503, 504):
        return True  # a proxy in front of a server that is down
    if isinstance(error, RuntimeError) and "client has been closed" in str(error):
        return True  # a call in flight on a connection that another thread found broken and replaced
    # chromadb turns a refused connection while creating a client into this ValueError
    return isinstance(error, ValueError) and isinstance(error.__context__, httpx.TransportError)


def forget_client(index_dir: Path) -> None:
    """chromadb keeps one client per folder for the whole process, even one whose start failed: every later open
    of the folder would then fail with "'RustBindingsAPI' object has no attribute 'bindings'" instead of the real
    reason (and keep failing after the folder is repaired). Drop it. Uses chromadb's private cache: skipped if
    that ever changes."""
    from chromadb.api.client import SharedSystemClient

    with contextlib.suppress(AttributeError, TypeError):
        SharedSystemClient._identifier_to_system.pop(str(index_dir), None)


class LocalCollection:
    """The embedded collection as NewsStore callers use it: Chroma's InternalError (a damaged chroma.sqlite3 or
    vector index, found on first use rather than at open) becomes IndexUnusable naming the folder and the fix."""

    def __init__(self, collection: Any, index_dir: Path):
        self._collection = collection
        self._index_dir = index_dir

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._collection, name)
        if not callable(attribute):
            return attribute

        def method(*args: Any, **kwargs: Any) -> Any:
            try:
                return attribute(*args, **kwargs)
            except InternalError as error:
                raise IndexUnusable(
                    f"the index at {self._index_dir} cannot be read ({type(error).__name__}: {error}); "
                    "if it is damaged, delete the folder and rebuild it with `newsbot ingest corpus/`"
                ) from error

        return method


def auth_headers(token: str, user: str, password: str) -> dict[str, str] | None:
    """The token as `Authorization: Bearer`; else a user and password from the URL as `Authorization: Basic`
    (what Chroma's own basic-auth client sends), so that they need not stay in the URL."""
    if token:
        return {"Authorization": f"Bearer {token}"}
    if user or password:
        return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")}
    return None


def limit_wait(client: Any, seconds: float) -> None:
    """Bound every request to the server (chromadb's HTTP client waits forever by default, so a hung server
    would hold a worker thread for good). Uses chromadb's private session: skipped if that ever changes."""
    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client):
        session.timeout = httpx.Timeout(seconds, connect=min(seconds, CONNECT_SECONDS))
    else:  # pragma: no cover - depends on chromadb internals
        log.warning("cannot set a timeout on the Chroma client: a hung server will make requests wait")
