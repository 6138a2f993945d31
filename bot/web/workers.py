"""The bot's CPU-bound calls from async endpoints: in worker threads, at most `size` at once, since more would only
share the same cores; the event loop stays free to accept requests, serve /healthz and stream answers."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

T = TypeVar("T")
_END = object()


class Workers:
    def __init__(self, size: int):
        self.slots = threading.BoundedSemaphore(size)
        self._producers: set[asyncio.Future] = set()  # strong references: the loop keeps only weak ones

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        def call() -> T:
            with self.slots:
                return function(*args)

        return await run_in_threadpool(call)

    async def stream(self, make: Callable[[], Iterator[T]]) -> AsyncIterator[T]:
        """The items of `make()`, produced in one thread that holds one slot from the first item to the last (a
        streamed answer does not queue again between its pieces). An exception is raised where it happened:
        before the first item, that is before any response was sent."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[Any, BaseException | None]] = asyncio.Queue()
        stop = threading.Event()  # the client went away: stop between items

        def put(item: Any, error: BaseException | None = None) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, (item, error))
            except RuntimeError:  # the loop closed (shutdown): nobody is listening
                stop.set()

        def produce() -> None:
            with self.slots:
                try:
                    for item in make():
                        put(item)
                        if stop.is_set():
                            break
                except Exception as error:
                    put(None, error)
                finally:
                    put(_END)

        producer = asyncio.ensure_future(run_in_threadpool(produce))
        self._producers.add(producer)
        producer.add_done_callback(self._producers.discard)
        try:
            while True:
                item, error = await queue.get()
                if error is not None:
                    raise error
                if item is _END:
                    return
                yield item
        finally:
            stop.set()  # the producer finishes on its own: a thread cannot be interrupted
