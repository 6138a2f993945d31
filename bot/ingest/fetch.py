"""Article pages and RSS/Atom feeds fetched over http(s), read by the same readers as saved files.

Fetching fails in ways files do not (status codes, redirects, timeouts, huge or non-text bodies): each failure
becomes one line naming the URL and the reason, never an exception that stops the other URLs.

Only public addresses are fetched (addresses.py checks every connection). A refused address, a closed port, a
failed DNS lookup, a TLS failure and a timeout all read the same (`unreachable`), so that error messages cannot
map an internal network; the reason is logged.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal
from urllib.parse import urljoin, urlsplit

import feedparser
import httpx
import lxml.etree
import lxml.html

from ..settings import Settings
from . import _decode
from .addresses import AddressPolicy, GuardedTransport
from .article import Article, IngestError, make_article, normalise_url
from .feed import _entry_date, _entry_text, looks_like_feed
from .html import read_html

log = logging.getLogger(__name__)

HTML_TYPES = {"text/html", "application/xhtml+xml"}
FEED_TYPES = {
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/x-rss+xml",
    "application/xml",
    "text/xml",
}

# Served by misconfigured sites for pages and feeds alike: what the body starts with decides.
SNIFFED_TYPES = {"", "text/plain", "application/octet-stream"}
_ACCEPT = "text/html,application/xhtml+xml,application/rss+xml,application/atom+xml,application/xml;q=0.9,*/*;q=0.5"
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_ERRNO = re.compile(r"^\[Errno -?\d+\]\s*")


class FetchError(IngestError):
    """One URL could not be fetched; the message starts with the URL and says why."""


def unreachable(url: str) -> str:
    """The one message for a URL whose address is refused or that did not answer (refused, DNS, TLS, timeout)."""
    return f"{url}: cannot be fetched (the address is not allowed or did not answer)"


def _for_log(url: str) -> str:
    """The URL without credentials (user:password@, the query) for the server log."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{host}{port}{parts.path}{'?...' if parts.query else ''}"


def looks_like_url(text: object) -> bool:
    """Whether an `ingest` argument is a URL (any scheme, so that file:// gets a clear refusal, not 'no such file')."""
    return isinstance(text, str) and bool(_SCHEME.match(text.strip()))


def _is_http(url: str) -> bool:
    return urlsplit(url).scheme.lower() in ("http", "https")


@dataclass(frozen=True)
class Page:
    url: str  # as requested
    final_url: str  # after redirects
    content_type: str  # lower case, without parameters
    charset: str  # from the Content-Type header, "" when absent
    body: bytes

    def text(self) -> str:
        """The body as text: the header's charset when it names a known one, else detected like a file's."""
        if not self.body.strip():
            raise FetchError(f"{self.url}: the response is empty")
        if self.charset:
            try:
                return self.body.decode(self.charset, errors="replace")
            except LookupError:
                pass
        return _decode(self.url, self.body)  # the "path" only names the URL in its messages


class Fetcher:
    """One HTTP client for many URLs (connections are reused), with the limits from the settings."""

    def __init__(self, settings: Settings, transport: httpx.BaseTransport | None = None):
        """`transport` replaces the guarded one (tests): its connections are then not checked, only IP literals."""
        self.timeout = settings.fetch_timeout
        self.max_bytes = settings.fetch_max_bytes
        self.max_redirects = settings.fetch_max_redirects
        self.policy = AddressPolicy(settings.fetch_allow_networks)
        self.client = httpx.Client(
            timeout=httpx.Timeout(self.timeout),
            headers={"User-Agent": settings.user_agent, "Accept": _ACCEPT},
            follow_redirects=False,  # followed by hand: bounded, loops named, every hop's scheme and address checked
            transport=transport if transport is not None else GuardedTransport(self.policy),
        )

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.client.close()

    def get(self, url: str, accept: set[str] | None = None) -> Page:
        """The page at `url` after redirects; FetchError unless it is a success of an acceptable content type.

        The content type is checked before the body is read, and the body is streamed and abandoned past the
        size limit, so that a video or an endless response costs nothing.
        """
        accept = accept if accept is not None else HTML_TYPES | FEED_TYPES | SNIFFED_TYPES
        if not _is_http(url):
            scheme = urlsplit(url).scheme or "(none)"
            raise FetchError(
                f"{url}: unsupported URL scheme '{scheme}' (only http:// and https:// URLs are fetched; "
                f"give local files as paths)"
            )
        if not urlsplit(url).hostname:
            raise FetchError(f"{url}: not a valid URL (no host name)")
        started = time.monotonic()
        current = url
        visited = [url]
        try:
            for _ in range(self.max_redirects + 1):
                self._refuse_ip_literal(url, current)
                with self.client.stream("GET", current) as response:
                    if response.is_redirect:
                        target = urljoin(current, response.headers["location"])
                        if not _is_http(target):
                            raise FetchError(f"{url}: redirected to an unsupported URL ({target})")
                        visited.append(target)
                        current = target
                        continue
                    where = url if current == url else f"{url} (redirected to {current})"
                    if not response.is_success:
                        raise FetchError(f"{where}: HTTP {response.status_code} {response.reason_phrase}".rstrip())
                    header = response.headers.get("content-type", "")
                    content_type = header.split(";", 1)[0].strip().lower()
                    if content_type not in accept:
                        raise FetchError(f"{where}: not an article or feed (content type {content_type})")
                    body = self._read_body(where, response, started)
                    charset = response.charset_encoding or ""
                    log.info(
                        "fetched %s (%s, %d bytes) in %.1f s",
                        _for_log(current),
                        content_type,
                        len(body),
                        self._since(started),
                    )
                    return Page(url, current, content_type, charset, body)
            loop = " (a redirect loop)" if len(set(visited)) < len(visited) else ""
            raise FetchError(f"{url}: too many redirects{loop}")
        except httpx.InvalidURL as error:
            raise FetchError(f"{url}: not a valid URL ({error})") from None
        except httpx.TimeoutException:
            log.info("%s: not fetched: timed out after %g s", _for_log(current), self.timeout)
            raise FetchError(unreachable(url)) from None
        except httpx.HTTPError as error:  # refused address or connection, DNS, TLS, a connection reset...
            reason = _ERRNO.sub("", str(error)) or type(error).__name__
            log.info("%s: not fetched: %s", _for_log(current), reason)
            raise FetchError(unreachable(url)) from None

    def _refuse_ip_literal(self, url: str, current: str) -> None:
        """An address written in the URL is judged before connecting (the backend would refuse it too)."""
        host = urlsplit(current).hostname or ""
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return  # a host name (or an odd form such as 2130706433): checked once resolved, at connection time
        reason = self.policy.refusal(address)
        if reason:
            log.info(
                "%s: not fetched: %s is a %s address (not in the allowed networks)", _for_log(current), host, reason
            )
            raise FetchError(unreachable(url))

    def _read_body(self, where: str, response: httpx.Response, started: float) -> bytes:
        limit = f"larger than the {self.max_bytes:,}-byte limit (NEWSBOT_FETCH_MAX_BYTES)"
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchError(f"{where}: {limit}")
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self.max_bytes:
                raise FetchError(f"{where}: {limit}")
            if self._since(started) > self.timeout:  # a server that trickles bytes never trips the read timeout
                raise httpx.ReadTimeout("deadline")
            chunks.append(chunk)
        return b"".join(chunks)

    @staticmethod
    def _since(started: float) -> float:
        return time.monotonic() - started


@dataclass(frozen=True)
class FeedEntry:
    """One feed entry: its link, its date, and the article the feed itself gives (a summary, often)."""

    number: int
    link: str  # absolute http(s) URL as the feed gives it, or ""
    id: str  # the normalised link: the article id its page is expected to get
    stamp: str  # updated (else published) time, ISO 8601 UTC ("2024-05-01T09:30:00Z"), or ""
    summary: Article | None  # the entry's own text as an article, when it has any
    problem: str = ""  # why `summary` is None


@dataclass
class UrlResult:
    url: str
    kind: Literal["article", "feed", ""] = ""  # "" when the URL could not be read at all
    articles: list[Article] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    skipped: list[FeedEntry] = field(default_factory=list)  # entries whose page was not fetched (skip_entry)


def read_url(
    url: str,
    fetcher: Fetcher,
    *,
    feeds_only: bool = False,
    index: Mapping[str, str] | None = None,
    skip_entry: Callable[[FeedEntry], bool] | None = None,
) -> UrlResult:
    """The articles at an article page's URL or in a feed's entries. Never raises for bad input.

    A feed entry's page is fetched and extracted, because feeds often carry only a teaser; when that fails,
    the error is reported and the entry's own text is used instead, unless `index` (article id -> path of
    what the index holds) shows the full page is already stored. `skip_entry` lets `watch` leave out entries
    it already has.
    """
    result = UrlResult(url)
    url = url.strip()
    try:
        page = fetcher.get(url)
        kind = _kind(page)
        if kind is None:
            raise FetchError(f"{url}: not an article or feed (content type {page.content_type or 'not given'})")
        if kind == "article" and feeds_only:
            raise FetchError(f"{url}: not an RSS or Atom feed but a web page (use `newsbot ingest` for one article)")
        result.kind = kind
        if kind == "article":
            result.articles.append(article_from_page(page))
        else:
            _read_feed(page, fetcher, result, index or {}, skip_entry)
    except IngestError as error:
        result.errors.append(str(error))
    except Exception as error:  # a library choking on hostile input must not stop the other URLs
        result.errors.append(f"{url}: cannot parse: {type(error).__name__}: {error}")
    return result


def _kind(page: Page) -> Literal["article", "feed"] | None:
    head = page.body[:4096].decode("utf-8", errors="replace").lstrip("\ufeff")
    if looks_like_feed(head) or page.content_type in FEED_TYPES:
        return "feed"
    if page.content_type in HTML_TYPES or re.match(r"\s*<(!doctype html|html)", head, re.I):
        return "article"
    return None


def article_from_page(page: Page) -> Article:
    """trafilatura's article, with the canonical URL (else the final one) as its URL, id and date source."""
    article = read_html(page.url, page.text())[0]  # the "path" names the URL in messages and becomes its path
    canonical = article.url or _canonical_link(page.text()) or page.final_url
    canonical = urljoin(page.final_url, canonical)
    # A canonical link to the home page (a common template bug) would merge every story of the site into one.
    if urlsplit(canonical).path in ("", "/") and urlsplit(page.final_url).path not in ("", "/"):
        canonical = page.final_url
    if normalise_url(canonical) != article.url:
        article = make_article(
            title=article.title,
            body=article.body,
            url=canonical,
            source=article.source,
            published=article.published,
            author=article.author,
            category=article.category,
            tags=article.tags,
            path=page.url,
            where=page.url,
        )
    return replace(article, path=page.url)


def _canonical_link(html: str) -> str:
    """The page's canonical link as written, relative ones included (trafilatura drops those: it has no base)."""
    try:
        tree = lxml.html.fromstring(html)
    except (ValueError, lxml.etree.LxmlError):
        return ""
    found = tree.xpath("//link[@rel='canonical']/@href | //meta[@property='og:url']/@content")
    return str(found[0]).strip() if found else ""


def _read_feed(
    page: Page,
    fetcher: Fetcher,
    result: UrlResult,
    index: Mapping[str, str],
    skip_entry: Callable[[FeedEntry], bool] | None,
) -> None:
    headers = {"content-location": page.final_url}
    if page.charset:
        headers["content-type"] = f"{page.content_type}; charset={page.charset}"
    parsed = feedparser.parse(page.body, response_headers=headers)  # bytes: never taken for a URL to fetch
    if not parsed.entries:
        reason = f": {parsed.bozo_exception}" if parsed.get("bozo") else ""
        raise FetchError(f"{page.url}: not an RSS/Atom feed with entries{reason}")
    stored_paths = set(index.values())
    for number, raw in enumerate(parsed.entries, 1):
        entry = feed_entry(raw, number, parsed.feed.get("title", ""), page)
        if not entry.link:
            if entry.summary:
                result.articles.append(entry.summary)
            else:
                result.errors.append(entry.problem)
            continue
        if skip_entry is not None and skip_entry(entry):
            result.skipped.append(entry)
            continue
        try:
            linked = fetcher.get(entry.link, accept=HTML_TYPES | SNIFFED_TYPES)
            if _kind(linked) != "article":
                raise FetchError(
                    f"{entry.link}: not an article page (content type {linked.content_type or 'not given'})"
                )
            article = article_from_page(linked)
        except IngestError as error:
            page_stored = entry.link in stored_paths or (
                entry.id in index and not _from_a_feed(index[entry.id], entry.link)
            )
            if page_stored:
                result.errors.append(f"{error} (kept the full page already in the index)")
            elif entry.summary is not None:
                result.errors.append(
                    f"{error} (stored the feed's own text of the entry instead; the full page is preferred "
                    f"and is tried again next time)"
                )
                result.articles.append(entry.summary)
            else:
                result.errors.append(str(error))
            continue
        result.articles.append(_completed(article, entry))


def _from_a_feed(path: str, link: str) -> bool:
    """A stored article whose path is a URL other than its own link came from a feed's summary."""
    return looks_like_url(path) and path != link


def feed_entry(raw: Mapping, number: int, feed_title: str, page: Page) -> FeedEntry:
    """An entry's link, date and own text, as the feed readers of saved files read them."""
    link = raw.get("link", "") or ""
    if link and not looks_like_url(link):
        link = urljoin(page.final_url, link)
    if not _is_http(link):  # feedparser copies an id such as "urn:uuid:..." into a missing link
        link = ""
    stamp = ""
    for key in ("updated_parsed", "published_parsed", "created_parsed"):
        parsed = dict.get(raw, key)  # not raw.get: feedparser maps a missing updated_parsed to published, warning
        if parsed:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", parsed)
            break
    try:
        summary, problem = (
            make_article(
                title=raw.get("title", ""),
                body=_entry_text(raw),
                url=link,
                source=(raw.get("source") or {}).get("title") or feed_title,
                published=_entry_date(raw),
                author=raw.get("author", ""),
                category=(raw.get("tags") or [{}])[0].get("term", ""),
                tags=[tag.get("term", "") for tag in raw.get("tags") or []],
                external_id=raw.get("id", ""),
                path=page.url,
                where=link or f"{page.url} entry {number}",
            ),
            "",
        )
    except IngestError as error:
        summary, problem = None, str(error)
    return FeedEntry(number, link, normalise_url(link), stamp, summary, problem)


def _completed(article: Article, entry: FeedEntry) -> Article:
    """The page's article, with what it lacks taken from its feed entry, and the entry's date remembered."""
    fallback = entry.summary
    changes: dict[str, object] = {"path": entry.link}
    if entry.stamp:  # stored beside the article, so that `watch` fetches the page again only when this changes
        changes["extra"] = {**article.extra, "feed_updated": entry.stamp}
    if fallback is not None:
        if not article.published and fallback.published:
            changes["published"] = fallback.published
        if not article.author and fallback.author:
            changes["author"] = fallback.author
        if not article.category and not article.tags and fallback.tags:
            changes["category"], changes["tags"] = fallback.category, fallback.tags
    return replace(article, **changes)
