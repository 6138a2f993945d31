"""`newsbot watch`: poll RSS/Atom feeds and ingest what is new, with nobody in the loop (a terminal, cron, a service).

What a feed already gave is remembered by the index itself, not by a state file that could drift from it: an
entry whose link is already stored as an article is not fetched again, unless the feed dates the entry later
than what is stored (the date the feed gave when the page was last fetched, else the article's publication
day), or only the feed's own text of it is stored because its page could not be fetched then.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the heavy modules load when a poll starts, not when `--every` is parsed
    from ..ingest.fetch import FeedEntry, Fetcher
    from ..settings import Settings
    from .chroma import NewsStore
    from .embedding import LocalEmbeddings

log = logging.getLogger(__name__)

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([smhd])", re.I)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """Seconds in '90s', '15m', '1h', '1h30m', '1d' or a bare number of seconds; ValueError saying what is accepted."""
    compact = "".join(str(text).split()).lower()
    if re.fullmatch(r"\d+(?:\.\d+)?", compact):
        compact += "s"
    parts = _DURATION_PART.findall(compact)
    if not parts or "".join(number + unit for number, unit in parts) != compact:
        raise ValueError(f"invalid duration '{text}': use a number with s, m, h or d, such as 90s, 15m or 1h")
    seconds = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)
    if seconds <= 0:
        raise ValueError(f"invalid duration '{text}': it must be longer than 0 s")
    return seconds


def format_duration(seconds: float) -> str:
    """The shortest of '90s', '15m', '1h' that says it exactly."""
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


@dataclass
class FeedCycle:
    """What one poll of one feed did: the line printed for it."""

    feed: str
    new: int = 0
    updated: int = 0
    unchanged: int = 0  # including entries not fetched because the index already has them
    failed: int = 0
    fetched: int = 0  # entry pages downloaded
    seconds: float = 0.0

    def __str__(self) -> str:
        return (
            f"{self.feed}: {self.new} new, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.failed} failed; {self.seconds:.1f} s"
        )


def _index_view(store: NewsStore) -> tuple[dict[str, dict], dict[str, dict]]:
    """The first-chunk metadata of every stored article, by article id and by path (where it came from)."""
    by_id: dict[str, dict] = {}
    for _, _, metadata in store.all_chunks(where={"chunk": 0}, with_text=False):
        known = by_id.get(metadata["article_id"])  # two versions only after an interrupted run: keep the newer
        if known is None or metadata.get("feed_updated", "") >= known.get("feed_updated", ""):
            by_id[metadata["article_id"]] = metadata
    by_path = {metadata.get("path", ""): metadata for metadata in by_id.values() if metadata.get("path")}
    return by_id, by_path


def needs_fetch(entry: FeedEntry, feed: str, by_id: Mapping[str, dict], by_path: Mapping[str, dict]) -> bool:
    """Whether an entry's page must be fetched: it is not in the index, only the feed's text of it is, or the
    feed now dates it later than what the index holds (a feed without dates never triggers a refetch)."""
    known = by_path.get(entry.link) or by_id.get(entry.id)
    if known is None or known.get("path") == feed:
        return True
    if not entry.stamp:
        return False
    seen = known.get("feed_updated", "")
    if seen:
        return entry.stamp > seen
    return entry.stamp[:10] > (known.get("published") or "")


def poll_feed(
    feed: str,
    fetcher: Fetcher,
    settings: Settings,
    embeddings: LocalEmbeddings,
    store: NewsStore,
    report: Callable[[str], None],
) -> FeedCycle:
    """Fetch one feed and the pages of its new or updated entries, and store what changed."""
    from ..ingest.fetch import read_url
    from .indexing import IngestSummary, store_articles

    started = time.perf_counter()
    by_id, by_path = _index_view(store)
    index = {article_id: metadata.get("path", "") for article_id, metadata in by_id.items()}
    result = read_url(
        feed,
        fetcher,
        feeds_only=True,
        index=index,
        skip_entry=lambda entry: not needs_fetch(entry, feed, by_id, by_path),
    )
    for error in result.errors:
        report(error)
    summary = IngestSummary()
    store_articles(result.articles, settings, embeddings, store, summary)
    for entry in result.skipped:
        log.debug("%s: already in the index, not fetched again", entry.link)
    return FeedCycle(
        feed,
        new=summary.added,
        updated=summary.updated,
        unchanged=summary.unchanged + len(result.skipped),
        failed=len(result.errors),
        fetched=sum(1 for a in result.articles if a.path != feed),
        seconds=time.perf_counter() - started,
    )


def run_cycle(
    feeds: Iterable[str],
    settings: Settings,
    embeddings: LocalEmbeddings,
    store: NewsStore,
    fetcher: Fetcher,
    report: Callable[[str], None],
    out: Callable[[str], None],
) -> list[FeedCycle]:
    """One poll of every feed, one printed line each; the keyword index is refreshed once at the end."""
    from .indexing import refresh_keyword_index

    cycles = []
    for feed in dict.fromkeys(feeds):
        try:
            cycle = poll_feed(feed, fetcher, settings, embeddings, store, report)
        except Exception as error:  # an unattended loop outlives one bad poll (a locked or full disk...)
            log.debug("polling %s failed", feed, exc_info=True)
            report(f"{feed}: polling failed: {type(error).__name__}: {error}")
            cycle = FeedCycle(feed, failed=1)
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {cycle}"
        log.info("%s (%d entry pages fetched)", line, cycle.fetched)
        out(line)
        cycles.append(cycle)
    try:
        refresh_keyword_index(store)
    except Exception as error:  # searches still work on the old one; the next cycle or ingest rebuilds it
        report(f"keyword index not refreshed: {type(error).__name__}: {error}")
        cycles.append(FeedCycle("(keyword index)", failed=1))
    return cycles


def watch(
    feeds: list[str],
    settings: Settings,
    every: float = 900.0,
    once: bool = False,
    embeddings: LocalEmbeddings | None = None,
    report: Callable[[str], None] = lambda line: log.warning(line),
    out: Callable[[str], None] = lambda line: print(line, flush=True),
    sleep: Callable[[float], None] | None = None,
) -> int:
    """Poll `feeds` every `every` seconds until interrupted (KeyboardInterrupt propagates), or once.

    Returns the exit status of `--once`: 1 when some feed or entry failed, else 0. A cycle starts `every`
    seconds after the previous one started; one that overran starts the next at once.
    """
    from ..ingest.fetch import Fetcher
    from .embedding import LocalEmbeddings
    from .indexing import open_store

    embeddings = embeddings or LocalEmbeddings.from_settings(settings)
    store = open_store(settings, embeddings)
    with Fetcher(settings) as fetcher:
        while True:
            started = time.monotonic()
            cycles = run_cycle(feeds, settings, embeddings, store, fetcher, report, out)
            if once:
                return 1 if any(cycle.failed for cycle in cycles) else 0
            (sleep or time.sleep)(max(0.0, every - (time.monotonic() - started)))
