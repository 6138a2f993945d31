"""The connection to a Chroma server (NEWSBOT_CHROMA_URL), shared by every process: made on first use, re-made
after it is lost, and every call tried once more on a new connection; a server that cannot be reached becomes
StoreUnreachable naming its URL, never an httpx error (and never with the password or token in it)."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import chromadb
import httpx
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import NotFoundError

from ..errors import IndexUnusable, StoreUnreachable
from ..redact import scrub
from ..settings import server_address
from .chroma_client import CONNECT_SECONDS, connection_lost, limit_wait

log = logging.getLogger(__name__)
T = TypeVar("T")


class ServerConnection:
    """One collection on one server: `connected()` gives (client, collection), connecting when there is no live
    connection; `call(f)` runs `f(collection)` and survives one lost connection. `check(collection)` refuses a
    collection this process cannot use (built with another embedding model) by raising IndexUnusable."""

    def __init__(
        self,
        url: str,
        name: str,
        *,
        create: bool,
        metadata: dict,
        headers: dict[str, str] | None,
        timeout: float,
        secrets: tuple[str, ...],
        check: Callable[[Any], None],
    ):
        self.url = url  # without credentials: the one every message names
        self.name = name
        self.create = create
        self.metadata = metadata  # of a collection created here
        self.headers = headers
        self.timeout = timeout
        self.secrets = secrets  # never in a message, whatever an error from below quotes
        self.check = check
        self.max_batch = 0
        self._lock = threading.Lock()
        self._client: Any = None
        self._collection: Any = None

    def connected(self) -> tuple[Any, Any]:
        """(client, collection) on the server, connecting first when there is no live connection."""
        with self._lock:
            if self._collection is None:
                self._connect()
            return self._client, self._collection

    def _scrub(self, error: BaseException) -> str:
        """An error's text as a message may show it: without the password or token."""
        return scrub(str(error), *self.secrets)

    def _connect(self) -> None:
        host, port, ssl = server_address(self.url)
        headers = self.headers
        try:
            # chromadb's client makes its first requests without a timeout: a bounded heartbeat first, so that a
            # server that does not answer is reported within seconds rather than holding the caller for minutes
            wait = httpx.Timeout(self.timeout, connect=min(self.timeout, CONNECT_SECONDS))
            httpx.get(f"{self.url}/api/v2/heartbeat", headers=headers, timeout=wait).raise_for_status()
            client = chromadb.HttpClient(
                host=host, port=port, ssl=ssl, headers=headers, settings=ChromaSettings(anonymized_telemetry=False)
            )
            limit_wait(client, self.timeout)
            if self.create:
                collection = client.get_or_create_collection(
                    self.name,
                    configuration={"hnsw": {"space": "cosine"}},
                    metadata=self.metadata,
                    embedding_function=None,
                )
            else:
                collection = client.get_collection(self.name, embedding_function=None)
            max_batch = client.get_max_batch_size()
        except Exception as error:
            if connection_lost(error):
                log.warning("Chroma at %s unreachable: %s", self.url, self._scrub(error))
                raise StoreUnreachable(self.url, self._scrub(error)) from error
            if isinstance(error, NotFoundError):
                raise IndexUnusable(
                    f"there is no collection '{self.name}' on the Chroma server at {self.url} "
                    f"(NEWSBOT_CHROMA_URL, NEWSBOT_COLLECTION): build it with `newsbot ingest corpus/`"
                ) from error
            if isinstance(error, httpx.HTTPStatusError) and error.response.status_code in (401, 403):
                raise IndexUnusable(
                    f"the Chroma server at {self.url} refused the request ({error.response.status_code}): "
                    "check NEWSBOT_CHROMA_TOKEN"
                ) from error
            raise IndexUnusable(
                f"cannot use the collection '{self.name}' on the Chroma server at {self.url} "
                f"(NEWSBOT_CHROMA_URL; {type(error).__name__}: {self._scrub(error)})"
            ) from error
        try:
            self.check(collection)
        except IndexUnusable:
            with contextlib.suppress(Exception):
                client.close()
            raise
        self._client, self._collection, self.max_batch = client, collection, max_batch

    def _disconnect(self, broken: Any) -> None:
        """Forget a connection that failed (unless another thread has replaced it already)."""
        with self._lock:
            if self._collection is broken:
                client, self._client, self._collection = self._client, None, None
                with contextlib.suppress(Exception):  # closing a dead connection may fail too; dropped either way
                    client.close()

    def call(self, call: Callable[[Any], T]) -> T:
        """`call(collection)`, on a new connection when the last one was lost; a call that loses the connection
        is tried once more on a new one (every call is idempotent: get, query, count, upsert, update, delete)."""
        for attempt in (1, 2):
            _, collection = self.connected()
            try:
                return call(collection)
            except Exception as error:
                if not connection_lost(error):
                    raise
                self._disconnect(collection)
                if attempt == 2 or isinstance(error, httpx.TimeoutException):  # a hung server: do not wait twice
                    log.warning("Chroma at %s unreachable: %s", self.url, self._scrub(error))
                    raise StoreUnreachable(self.url, self._scrub(error)) from error
        raise AssertionError("unreachable")  # pragma: no cover


class ServerCollection:
    """The server's collection as NewsStore callers use it (`store.collection.get(...)`), each method call
    going through ServerConnection.call: reconnection and a clear StoreUnreachable instead of an httpx error."""

    def __init__(self, connection: ServerConnection):
        self._connection = connection

    def __getattr__(self, name: str) -> Any:
        _, collection = self._connection.connected()
        if not callable(getattr(collection, name)):
            return getattr(collection, name)  # metadata, configuration: read when connected

        def method(*args: Any, **kwargs: Any) -> Any:
            return self._connection.call(lambda current: getattr(current, name)(*args, **kwargs))

        return method
