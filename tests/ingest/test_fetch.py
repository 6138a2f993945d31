"""Articles and feeds fetched over http(s): `ingest URL`, `watch`, and every way a fetch fails, named per URL.

Offline and deterministic: a small web site is served by http.server on 127.0.0.1 (a free port, in a thread),
which NEWSBOT_FETCH_ALLOW_NETWORKS lets the fetcher reach (loopback is refused otherwise: see "refused addresses");
the real model embeds (session fixture), with tiny fetch limits so that the failures are fast.
"""

from __future__ import annotations

import http.server
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from bot.chain import NewsBot
from bot.cli import main
from bot.ingest.addresses import AddressPolicy, address_refusal
from bot.ingest.fetch import Fetcher, read_url
from bot.settings import Settings, load_settings
from bot.store.chroma import NewsStore
from bot.store.indexing import ingest
from bot.store.watch import parse_duration, watch
from bot.web.admin import ingest_urls

TIMEOUT = 0.5  # seconds: NEWSBOT_FETCH_TIMEOUT for these tests
MAX_BYTES = 20_000


class Site:
    """A tiny web site on 127.0.0.1 (or another loopback address): path -> response, counting the requests each
    path gets."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, tuple[int, dict[str, str], bytes, float]] = {}
        self.hits: Counter[str] = Counter()
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.hits[self.path] += 1
                status, headers, body, delay = site.routes.get(self.path, (404, {}, b"", 0.0))
                if delay:
                    time.sleep(delay)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        class Server(http.server.ThreadingHTTPServer):
            def handle_error(self, request, client_address) -> None:
                pass  # the client hung up (a timeout, a size limit): expected here

        self.server = Server((host, 0), Handler)
        self.port = self.server.server_address[1]
        self.base = f"http://{host}:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def url(self, path: str) -> str:
        return self.base + path

    def serve(
        self,
        path: str,
        body: str | bytes,
        content_type: str = "text/html; charset=utf-8",
        status: int = 200,
        length: bool = True,
        delay: float = 0.0,
    ) -> str:
        data = body.encode() if isinstance(body, str) else body
        headers = {"Content-Type": content_type}
        if length:
            headers["Content-Length"] = str(len(data))
        self.routes[path] = (status, headers, data, delay)
        return self.url(path)

    def redirect(self, path: str, to: str, status: int = 302) -> str:
        self.routes[path] = (status, {"Location": to, "Content-Length": "0"}, b"", 0.0)
        return self.url(path)

    def gone(self, path: str) -> None:
        self.routes.pop(path, None)


@pytest.fixture
def site(monkeypatch) -> Iterator[Site]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)  # httpx honours proxies from the environment
    server = Site()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def web_settings(tmp_path: Path, monkeypatch) -> Settings:
    monkeypatch.setenv("NEWSBOT_FETCH_TIMEOUT", str(TIMEOUT))  # also for the CLI, which reads the environment
    monkeypatch.setenv("NEWSBOT_FETCH_MAX_BYTES", str(MAX_BYTES))
    monkeypatch.setenv("NEWSBOT_FETCH_ALLOW_NETWORKS", '["127.0.0.1/32"]')  # the test site; 127.0.0.2 stays refused
    return load_settings(index=tmp_path / "index")


def page(title: str, *paragraphs: str, head: str = "") -> str:
    body = "".join(f"<p>{p}</p>\n" for p in paragraphs)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title} | Example News</title>
<meta property="og:title" content="{title}"><meta property="og:site_name" content="Example News">{head}</head>
<body><header><nav><a href="/">Home</a> <a href="/subscribe">Subscribe now</a></nav></header>
<main><article><h1>{title}</h1>
{body}</article></main>
<footer><p>Copyright Example News. All rights reserved.</p></footer></body></html>"""


ERAS = page(
    "Taylor Swift concert film breaks records",
    "The Eras Tour concert film earned an estimated 96 million dollars in its opening weekend in North America, "
    "setting a record for a concert film release.",
    "AMC Theatres, which distributed the film, said advance ticket sales had already passed 100 million dollars "
    "worldwide before the premiere in Los Angeles.",
)
JURY = page(
    "Venice names its festival jury",
    "The Venice film festival named its competition jury on Tuesday, led by the director Damien Chazelle, who "
    "will hand out the Golden Lion at the closing ceremony.",
    "Organisers said the competition would include twenty-three films from fourteen countries this year.",
)
TOUR = page(
    "Band announces reunion tour",
    "The band will reunite for a twenty-date stadium tour across Europe next summer, its first shows in a decade.",
    "Tickets go on sale on Friday through the band's website, with a limit of four per customer.",
)
TOUR_UPDATED = page(
    "Band announces reunion tour",
    "The band will reunite for a twenty-date stadium tour across Europe next summer, its first shows in a decade.",
    "Update: two more dates were added in Dublin after the first shows sold out within minutes.",
)
LATE = page(
    "Composer wins film score award",
    "The composer Hildur Gudnadottir won the award for best original film score at the ceremony in London.",
    "She thanked the orchestra that recorded the score in Reykjavik over three weeks in the spring.",
)


def rss(site: Site, *items: tuple[str, str, str]) -> str:
    """An RSS feed of (title, link path, pubDate) items, each with a short teaser as its description."""
    entries = "".join(
        f"<item><title>{title}</title><link>{site.url(link)}</link><pubDate>{date}</pubDate>"
        f"<description>Teaser: {title.lower()}.</description></item>\n"
        for title, link, date in items
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Example Entertainment</title><link>{site.url("/")}</link>
<description>News</description>
{entries}</channel></rss>"""


JURY_ITEM = ("Venice names its festival jury", "/news/venice-jury?utm_source=rss", "Tue, 01 Aug 2023 09:30:00 GMT")
TOUR_ITEM = ("Band announces reunion tour", "/news/reunion-tour", "Wed, 02 Aug 2023 10:00:00 GMT")
FEED_TYPE = "application/rss+xml; charset=utf-8"


def stored(settings: Settings) -> dict[str, dict]:
    """article id -> first-chunk metadata, with the article's text."""
    store = NewsStore(settings.index, settings.collection)
    articles = {}
    for _, _, metadata in store.all_chunks(where={"chunk": 0}, with_text=False):
        chunks = store.article_chunks(metadata["article_id"])
        articles[metadata["article_id"]] = {**metadata, "text": " ".join(c.text for c in chunks)}
    return articles


def chunk_ids(settings: Settings) -> set[str]:
    return set(NewsStore(settings.index, settings.collection).chunk_ids())


CYCLE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (\S+): (.*); \d+\.\d s$")


def cycle_counts(lines: list[str]) -> list[tuple[str, str]]:
    """(feed, 'N new, N updated, N unchanged, N failed') of each printed cycle line."""
    matches = [CYCLE.match(line) for line in lines]
    assert all(matches), lines
    return [(m.group(1), m.group(2)) for m in matches]


# --- one article page ------------------------------------------------------------------------------


def test_article_url_is_ingested_and_answers_a_question(site, web_settings, embeddings):
    url = site.serve("/2023/10/18/eras-film", ERAS)
    summary = ingest([url], web_settings, embeddings, progress=False)
    assert summary.ok and summary.added == 1, summary.errors

    (article,) = stored(web_settings).values()
    assert article["article_id"] == article["url"] == url  # no canonical link: the page's own URL
    assert article["title"] == "Taylor Swift concert film breaks records"
    assert article["published"] == "2023-10-18"  # from the URL: the page gives no date
    assert article["source"] == "Example News"
    assert article["path"] == url
    assert "96 million dollars in its opening weekend" in article["text"]
    assert "Subscribe now" not in article["text"] and "All rights reserved" not in article["text"]

    answer = NewsBot(web_settings, embeddings=embeddings).ask("How much did the Eras Tour concert film earn?")
    assert not answer.abstained
    assert answer.citations[0].url == url and "96 million dollars" in answer.answer


def test_canonical_link_gives_the_id_and_the_date(site, web_settings):
    canonical = '<link rel="canonical" href="/2023/10/19/eras-film-record?utm_source=twitter">'
    url = site.serve("/amp/eras?ref=home", page("Eras film record", "The film broke a record again.", head=canonical))
    with Fetcher(web_settings) as fetcher:
        result = read_url(url, fetcher)
    assert result.errors == [] and result.kind == "article"
    (article,) = result.articles
    assert article.id == article.url == site.url("/2023/10/19/eras-film-record")  # relative, tracking stripped
    assert article.published == "2023-10-19" and article.path == url


# --- feeds -----------------------------------------------------------------------------------------


def test_feed_url_ingests_the_page_of_each_entry(site, web_settings, embeddings):
    site.serve("/news/venice-jury?utm_source=rss", JURY)
    site.serve("/news/reunion-tour", TOUR)
    feed = site.serve("/feed.xml", rss(site, JURY_ITEM, TOUR_ITEM), FEED_TYPE)

    summary = ingest([feed], web_settings, embeddings, progress=False)
    assert summary.ok and summary.added == 2, summary.errors
    articles = stored(web_settings)
    jury = articles[site.url("/news/venice-jury")]  # the id drops the feed's tracking parameter
    assert jury["title"] == "Venice names its festival jury"
    assert jury["published"] == "2023-08-01"  # the page has no date: the entry's
    assert jury["path"] == site.url("/news/venice-jury?utm_source=rss")
    assert "led by the director Damien Chazelle" in jury["text"] and "Teaser" not in jury["text"]  # the full page
    tour = articles[site.url("/news/reunion-tour")]
    assert tour["published"] == "2023-08-02" and "twenty-date stadium tour" in tour["text"]


def test_watch_fetches_only_new_or_updated_entries(site, web_settings, embeddings):
    site.serve("/news/venice-jury?utm_source=rss", JURY)
    site.serve("/news/reunion-tour", TOUR)
    feed = site.serve("/feed.xml", rss(site, JURY_ITEM, TOUR_ITEM), FEED_TYPE)
    lines: list[str] = []
    errors: list[str] = []

    def cycle() -> int:
        lines.clear()
        return watch([feed], web_settings, once=True, embeddings=embeddings, report=errors.append, out=lines.append)

    assert cycle() == 0
    assert cycle_counts(lines) == [(feed, "2 new, 0 updated, 0 unchanged, 0 failed")]
    before = chunk_ids(web_settings)

    assert cycle() == 0
    assert cycle_counts(lines) == [(feed, "0 new, 0 updated, 2 unchanged, 0 failed")]
    assert site.hits["/feed.xml"] == 2
    assert site.hits["/news/venice-jury?utm_source=rss"] == site.hits["/news/reunion-tour"] == 1  # not again
    assert chunk_ids(web_settings) == before  # nothing embedded

    # The feed dates one entry later and adds another: only those two pages are fetched.
    site.serve("/news/reunion-tour", TOUR_UPDATED)
    site.serve("/news/score-award", LATE)
    later = (TOUR_ITEM[0], TOUR_ITEM[1], "Fri, 04 Aug 2023 08:00:00 GMT")
    new = ("Composer wins film score award", "/news/score-award", "Sat, 05 Aug 2023 08:00:00 GMT")
    site.serve("/feed.xml", rss(site, new, JURY_ITEM, later), FEED_TYPE)
    assert cycle() == 0
    assert cycle_counts(lines) == [(feed, "1 new, 1 updated, 1 unchanged, 0 failed")]
    assert site.hits["/news/venice-jury?utm_source=rss"] == 1
    assert (site.hits["/news/reunion-tour"], site.hits["/news/score-award"]) == (2, 1)
    tour = stored(web_settings)[site.url("/news/reunion-tour")]
    assert "two more dates were added in Dublin" in tour["text"] and tour["published"] == "2023-08-04"

    assert cycle() == 0  # and that date is remembered: nothing is fetched again
    assert cycle_counts(lines) == [(feed, "0 new, 0 updated, 3 unchanged, 0 failed")]
    assert (site.hits["/news/reunion-tour"], site.hits["/news/score-award"]) == (2, 1)
    assert errors == []


def test_entry_whose_page_fails_falls_back_to_the_feed_text_until_the_page_comes(site, web_settings, embeddings):
    site.serve("/news/reunion-tour", TOUR)
    feed = site.serve("/feed.xml", rss(site, JURY_ITEM, TOUR_ITEM), FEED_TYPE)
    jury_link, jury_id = site.url(JURY_ITEM[1]), site.url("/news/venice-jury")
    lines: list[str] = []
    errors: list[str] = []

    def cycle() -> int:
        lines.clear()
        errors.clear()
        return watch([feed], web_settings, once=True, embeddings=embeddings, report=errors.append, out=lines.append)

    assert cycle() == 1
    assert errors == [
        f"{jury_link}: HTTP 404 Not Found (stored the feed's own text of the entry instead; the full page is "
        "preferred and is tried again next time)"
    ]
    assert cycle_counts(lines) == [(feed, "2 new, 0 updated, 0 unchanged, 1 failed")]
    jury = stored(web_settings)[jury_id]
    assert jury["text"] == "Teaser: venice names its festival jury." and jury["path"] == feed

    site.serve("/news/venice-jury?utm_source=rss", JURY)  # the page is back: fetched, and preferred
    assert cycle() == 0 and errors == []
    assert cycle_counts(lines) == [(feed, "0 new, 1 updated, 1 unchanged, 0 failed")]
    jury = stored(web_settings)[jury_id]
    assert "Damien Chazelle" in jury["text"] and jury["path"] == jury_link

    # The feed updates the entry but its page fails: the full page already stored is kept, not the teaser.
    site.gone("/news/venice-jury?utm_source=rss")
    updated = (JURY_ITEM[0], JURY_ITEM[1], "Thu, 03 Aug 2023 09:30:00 GMT")
    site.serve("/feed.xml", rss(site, updated, TOUR_ITEM), FEED_TYPE)
    assert cycle() == 1
    assert errors == [f"{jury_link}: HTTP 404 Not Found (kept the full page already in the index)"]
    assert cycle_counts(lines) == [(feed, "0 new, 0 updated, 1 unchanged, 1 failed")]
    assert "Damien Chazelle" in stored(web_settings)[jury_id]["text"]


# --- failures --------------------------------------------------------------------------------------


def test_every_failure_is_named_per_url_and_nothing_stored_is_lost(site, web_settings, embeddings, capsys):
    first = site.serve("/2023/10/18/eras-film", ERAS)
    ingest([first], web_settings, embeddings, progress=False)
    before = chunk_ids(web_settings)
    site.gone("/2023/10/18/eras-film")  # a stored article whose page is now gone keeps its place

    site.serve("/news/reunion-tour", TOUR)
    site.redirect("/r1", "/r2", status=301)
    site.redirect("/r2", site.url("/2023/08/01/venice-jury"))
    site.serve("/2023/08/01/venice-jury", JURY)
    site.redirect("/loop-a", "/loop-b")
    site.redirect("/loop-b", "/loop-a")
    site.serve("/slow", ERAS, delay=5 * TIMEOUT)
    site.serve("/report.pdf", b"%PDF-1.7 not an article", "application/pdf")
    site.serve("/huge", page("Huge", "x " * MAX_BYTES))
    site.serve("/huge-stream", page("Huge", "x " * MAX_BYTES), length=False)  # no Content-Length: streamed
    site.serve("/empty", "<html><head><title>App</title></head><body><div id='root'></div></body></html>")
    urls = [site.url(p) for p in ("/news/reunion-tour", "/r1", "/loop-a", "/slow", "/report.pdf", "/huge")]
    urls += [site.url(p) for p in ("/huge-stream", "/empty", "/2023/10/18/eras-film")]
    urls += ["file:///etc/hostname", "ftp://ftp.example.com/news.html"]

    code = main(["ingest", *urls, "--quiet", "--index", str(web_settings.index)])
    captured = capsys.readouterr()
    assert code == 1
    errors = [line for line in captured.err.splitlines() if line.startswith("error: ")]
    limit = f"larger than the {MAX_BYTES:,}-byte limit (NEWSBOT_FETCH_MAX_BYTES)"
    scheme = "(only http:// and https:// URLs are fetched; give local files as paths)"
    assert errors == [
        f"error: {site.url('/loop-a')}: too many redirects (a redirect loop)",
        f"error: {site.url('/slow')}: cannot be fetched (the address is not allowed or did not answer)",
        f"error: {site.url('/report.pdf')}: not an article or feed (content type application/pdf)",
        f"error: {site.url('/huge')}: {limit}",
        f"error: {site.url('/huge-stream')}: {limit}",
        f"error: {site.url('/empty')}: no article text found in the HTML page",
        f"error: {site.url('/2023/10/18/eras-film')}: HTTP 404 Not Found",
        f"error: file:///etc/hostname: unsupported URL scheme 'file' {scheme}",
        f"error: ftp://ftp.example.com/news.html: unsupported URL scheme 'ftp' {scheme}",
    ]
    assert "articles: 2 added, 0 updated, 0 unchanged, 0 removed, 9 failed" in captured.out
    articles = stored(web_settings)
    assert set(articles) == {first, site.url("/news/reunion-tour"), site.url("/2023/08/01/venice-jury")}
    redirected = articles[site.url("/2023/08/01/venice-jury")]  # the final URL: id, date, link
    assert redirected["published"] == "2023-08-01" and redirected["path"] == site.url("/r1")
    assert before < chunk_ids(web_settings)


def test_redirect_to_another_scheme_and_too_many_redirects(site, web_settings):
    site.redirect("/to-file", "file:///etc/passwd")
    for hop in range(8):
        site.redirect(f"/hop{hop}", f"/hop{hop + 1}")
    with Fetcher(web_settings) as fetcher:
        assert read_url(site.url("/to-file"), fetcher).errors == [
            f"{site.url('/to-file')}: redirected to an unsupported URL (file:///etc/passwd)"
        ]
        assert read_url(site.url("/hop0"), fetcher).errors == [f"{site.url('/hop0')}: too many redirects"]


def test_empty_and_unknown_responses(site, web_settings):
    blank = site.serve("/blank", "")
    data = site.serve("/data", b"\x00\x01 binary", "application/octet-stream")
    feed = site.serve("/empty-feed.xml", '<?xml version="1.0"?><rss version="2.0"><channel></channel></rss>', FEED_TYPE)
    with Fetcher(web_settings) as fetcher:
        assert read_url(blank, fetcher).errors == [f"{blank}: the response is empty"]
        assert read_url(data, fetcher).errors == [
            f"{data}: not an article or feed (content type application/octet-stream)"
        ]
        assert read_url(feed, fetcher).errors == [f"{feed}: not an RSS/Atom feed with entries"]


def test_prune_never_removes_articles_fetched_from_urls(site, web_settings, embeddings, tmp_path):
    url = site.serve("/2023/10/18/eras-film", ERAS)
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "note.txt").write_text("A premiere date\nThe premiere is set for May at the festival.\n", "utf-8")
    ingest([url, folder], web_settings, embeddings, progress=False)
    (folder / "note.txt").unlink()
    summary = ingest([folder], web_settings, embeddings, prune=True, progress=False)
    assert summary.removed == 1
    assert set(stored(web_settings)) == {url}


def test_watch_refuses_a_web_page_that_is_not_a_feed(site, web_settings):
    url = site.serve("/2023/10/18/eras-film", ERAS)
    with Fetcher(web_settings) as fetcher:
        result = read_url(url, fetcher, feeds_only=True)
    assert result.errors == [f"{url}: not an RSS or Atom feed but a web page (use `newsbot ingest` for one article)"]


# --- refused addresses (server-side request forgery) -----------------------------------------------

REFUSED = "cannot be fetched (the address is not allowed or did not answer)"  # also a closed port's message


class FakeDns:
    """Made-up host names -> the addresses each lookup answers (the last answer repeats); counts lookups.

    Other names resolve as usual, except *.example, which does not exist (offline: no real lookup is made).
    """

    def __init__(self, monkeypatch) -> None:
        self.answers: dict[str, list[list[str]]] = {}
        self.lookups: Counter[str] = Counter()
        real = socket.getaddrinfo

        def getaddrinfo(host, port, *args, **kwargs):
            name = host.decode() if isinstance(host, bytes) else host
            self.lookups[name] += 1
            if name in self.answers:
                answers = self.answers[name]
                addresses = answers.pop(0) if len(answers) > 1 else answers[0]
                return [info for address in addresses for info in real(address, port, *args, **kwargs)]
            if isinstance(name, str) and name.endswith(".example"):
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return real(host, port, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

    def add(self, name: str, *answers: list[str]) -> None:
        self.answers[name] = list(answers)


@pytest.fixture
def dns(monkeypatch) -> FakeDns:
    return FakeDns(monkeypatch)


@pytest.fixture
def other(monkeypatch) -> Iterator[Site]:
    """A second site, on 127.0.0.2: loopback too, but outside the tests' allowed 127.0.0.1/32."""
    try:
        server = Site("127.0.0.2")
    except OSError:  # Linux routes all of 127.0.0.0/8 to loopback; some systems only 127.0.0.1
        pytest.skip("127.0.0.2 is not a loopback address here")
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def closed_port() -> int:
    with socket.socket() as probe:  # bound, read and closed: nothing listens there
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def strict_settings(tmp_path: Path, allow: list[str] | None = None) -> Settings:
    """Settings without the test site in the allowlist (unless `allow` names it), whatever the environment says."""
    return Settings(index=tmp_path / "index", fetch_timeout=TIMEOUT, fetch_allow_networks=allow or [])


def test_loopback_is_refused_before_any_request(site, dns, tmp_path, embeddings):
    site.serve("/internal", ERAS)
    feed = site.serve("/feed.xml", rss(site, TOUR_ITEM), FEED_TYPE)
    port = site.port
    urls = [
        site.url("/internal"),
        f"http://localhost:{port}/internal",  # a name for loopback: refused once resolved
        f"http://[::1]:{port}/internal",
        f"http://[::ffff:127.0.0.1]:{port}/internal",  # IPv4-mapped IPv6
        f"http://2130706433:{port}/internal",  # 127.0.0.1 as one number, resolved by the system
        f"http://0.0.0.0:{port}/internal",
    ]
    settings = strict_settings(tmp_path)
    with Fetcher(settings) as fetcher:
        for url in urls:
            assert read_url(url, fetcher).errors == [f"{url}: {REFUSED}"]
        assert read_url(feed, fetcher, feeds_only=True).errors == [f"{feed}: {REFUSED}"]

    admin = ingest_urls(SimpleNamespace(settings=settings, embeddings=embeddings, store=None), "\n".join(urls))
    assert admin.errors == [f"{url}: {REFUSED}" for url in urls] and admin.summary.added == 0
    errors: list[str] = []
    assert watch([feed], settings, once=True, embeddings=embeddings, report=errors.append, out=lambda line: None) == 1
    assert errors == [f"{feed}: {REFUSED}"]
    assert sum(site.hits.values()) == 0  # not one request reached the internal server


def test_a_host_name_is_judged_by_the_address_it_resolves_to(site, dns, tmp_path):
    site.serve("/2023/10/18/eras-film", ERAS)
    dns.add("news.example", ["127.0.0.1"])
    url = f"http://news.example:{site.port}/2023/10/18/eras-film"
    with Fetcher(strict_settings(tmp_path)) as fetcher:
        assert read_url(url, fetcher).errors == [f"{url}: {REFUSED}"]
    assert sum(site.hits.values()) == 0
    with Fetcher(strict_settings(tmp_path, allow=["127.0.0.0/30"])) as fetcher:  # the operator allows it
        result = read_url(url, fetcher)
    assert result.errors == [] and result.articles[0].url == url
    assert site.hits["/2023/10/18/eras-film"] == 1


def test_the_checked_address_is_the_one_connected_to(site, other, dns, web_settings):
    """DNS rebinding: a second lookup would answer 127.0.0.2; the connection goes to the address checked."""
    site.serve("/story", ERAS)
    other.serve("/story", JURY)
    dns.add("rebind.example", ["127.0.0.1"], ["127.0.0.2"])
    with Fetcher(web_settings) as fetcher:
        page = fetcher.get(f"http://rebind.example:{site.port}/story")
    assert b"Eras Tour" in page.body
    assert dns.lookups["rebind.example"] == 1
    assert site.hits["/story"] == 1 and other.hits["/story"] == 0


@pytest.mark.parametrize("target", ["http://127.0.0.2:{port}/secret", "http://internal.example:{port}/secret"])
def test_a_redirect_to_a_refused_address_is_not_followed(site, other, dns, web_settings, target):
    dns.add("internal.example", ["127.0.0.2"])
    other.serve("/secret", JURY)
    start = site.redirect("/go", target.format(port=other.port))
    with Fetcher(web_settings) as fetcher:
        assert read_url(start, fetcher).errors == [f"{start}: {REFUSED}"]
    assert site.hits["/go"] == 1 and other.hits["/secret"] == 0


def test_feed_entries_on_refused_addresses_are_not_fetched(site, other, dns, web_settings):
    dns.add("internal.example", ["127.0.0.2"])
    other.serve("/news/venice-jury", JURY)
    other.serve("/news/reunion-tour", TOUR)
    literal = f"{other.base}/news/venice-jury"
    named = f"http://internal.example:{other.port}/news/reunion-tour"
    items = "".join(
        f"<item><title>{title}</title><link>{link}</link><description>Teaser: {title}.</description></item>"
        for title, link in (("Venice jury", literal), ("Reunion tour", named))
    )
    feed = site.serve(
        "/feed.xml",
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>F</title>{items}</channel></rss>',
        FEED_TYPE,
    )
    with Fetcher(web_settings) as fetcher:
        result = read_url(feed, fetcher)
    fallback = (
        "(stored the feed's own text of the entry instead; the full page is preferred and is tried again next time)"
    )
    assert result.kind == "feed"
    assert result.errors == [f"{literal}: {REFUSED} {fallback}", f"{named}: {REFUSED} {fallback}"]
    assert [article.body for article in result.articles] == ["Teaser: Venice jury.", "Teaser: Reunion tour."]
    assert site.hits["/feed.xml"] == 1 and sum(other.hits.values()) == 0


def test_a_refused_address_reads_exactly_like_a_closed_port(site, dns, web_settings):
    dns.add("intranet.example", ["10.1.2.3"])
    closed = f"http://127.0.0.1:{closed_port()}/page"  # allowed (127.0.0.1/32), but nothing listens
    urls = [
        closed,
        "http://10.1.2.3/page",  # refused before connecting
        "http://intranet.example/page",  # refused once resolved
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://no-such-host.example/page",  # no DNS answer
    ]
    with Fetcher(web_settings) as fetcher:
        errors = [read_url(url, fetcher).errors for url in urls]
    assert errors == [[f"{url}: cannot be fetched (the address is not allowed or did not answer)"] for url in urls]


def test_the_reason_is_logged_for_the_operator_without_credentials(dns, web_settings, caplog):
    caplog.set_level("INFO", logger="bot.ingest.fetch")
    dns.add("intranet.example", ["10.1.2.3"])
    with Fetcher(web_settings) as fetcher:
        read_url("http://user:hunter2@intranet.example/page?token=s3cr3t", fetcher)
    assert "intranet.example resolves to 10.1.2.3, a private address" in caplog.text
    assert "hunter2" not in caplog.text and "s3cr3t" not in caplog.text


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a certificate")
def test_tls_checks_the_host_name_while_connecting_to_the_checked_address(dns, web_settings, tmp_path, monkeypatch):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2"]
        + ["-subj", "/CN=news.example", "-addext", "subjectAltName=DNS:news.example"],
        check=True,
        capture_output=True,
    )
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # httpx trusts it: this certificate only
    server = Site()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server.server.socket = context.wrap_socket(server.server.socket, server_side=True)
    server.serve("/story", ERAS)
    server.thread.start()
    dns.add("news.example", ["127.0.0.1"])
    try:
        with Fetcher(web_settings) as fetcher:
            assert b"Eras Tour" in fetcher.get(f"https://news.example:{server.port}/story").body  # SNI: the name
            by_address = f"https://127.0.0.1:{server.port}/story"  # the certificate does not name the address
            assert read_url(by_address, fetcher).errors == [f"{by_address}: {REFUSED}"]
    finally:
        server.server.shutdown()
        server.server.server_close()
    assert server.hits["/story"] == 1


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("10.0.0.1", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("100.64.0.1", "shared (carrier-grade NAT)"),
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("fec0::1", "site-local"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("2002:7f00:1::", "loopback"),  # 6to4 around 127.0.0.1
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("240.0.0.1", "private"),  # reserved too; Python counts 240.0.0.0/4 as private
        ("255.255.255.255", "private"),
        ("93.184.216.34", ""),
        ("2606:4700::1111", ""),
        ("8.8.8.8", ""),
    ],
)
def test_address_rule(address, reason):
    assert address_refusal(address) == reason
    assert AddressPolicy().refusal(address) == reason


def test_allowed_networks_open_only_themselves():
    policy = AddressPolicy(Settings(fetch_allow_networks=["10.0.0.0/8", "fd00::/8", "127.0.0.1"]).fetch_allow_networks)
    assert policy.refusal("10.20.30.40") == policy.refusal("::ffff:10.20.30.40") == ""
    assert policy.refusal("fd12::1") == policy.refusal("127.0.0.1") == ""
    assert policy.refusal("127.0.0.2") == "loopback" and policy.refusal("192.168.1.1") == "private"
    assert policy.refusal("169.254.169.254") == "link-local" and policy.refusal("93.184.216.34") == ""


def test_allowed_networks_setting_is_validated(monkeypatch):
    monkeypatch.setenv("NEWSBOT_FETCH_ALLOW_NETWORKS", '["10.0.0.0/8", "192.168.1.7"]')
    assert Settings().fetch_allow_networks == ["10.0.0.0/8", "192.168.1.7/32"]
    assert Settings(fetch_allow_networks=[]).fetch_allow_networks == []
    for bad in ("intranet", "10.0.0.1/8", "10.0.0.0/33"):
        with pytest.raises(ValueError, match=f"NEWSBOT_FETCH_ALLOW_NETWORKS: '{re.escape(bad)}' is not a network"):
            Settings(fetch_allow_networks=[bad])


# --- the watch command -----------------------------------------------------------------------------


def test_watch_once_through_the_cli(site, web_settings, capsys):
    site.serve("/news/venice-jury?utm_source=rss", JURY)
    site.serve("/news/reunion-tour", TOUR)
    feed = site.serve("/feed.xml", rss(site, JURY_ITEM, TOUR_ITEM), FEED_TYPE)
    command = ["watch", feed, "--once", "--index", str(web_settings.index)]
    assert main(command) == 0
    assert cycle_counts(capsys.readouterr().out.splitlines()) == [(feed, "2 new, 0 updated, 0 unchanged, 0 failed")]
    assert main(command) == 0
    assert cycle_counts(capsys.readouterr().out.splitlines()) == [(feed, "0 new, 0 updated, 2 unchanged, 0 failed")]


def test_watch_polls_until_interrupted_and_exits_cleanly(site, web_settings, capsys, monkeypatch):
    feed = site.serve("/feed.xml", rss(site, TOUR_ITEM), FEED_TYPE)
    site.serve("/news/reunion-tour", TOUR)
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) >= 2:
            raise KeyboardInterrupt  # Ctrl-C during the second wait

    clock = SimpleNamespace(monotonic=time.monotonic, perf_counter=time.perf_counter, strftime=time.strftime)
    monkeypatch.setattr("bot.store.watch.time", SimpleNamespace(**vars(clock), sleep=sleep))  # watch's sleep only
    assert main(["watch", feed, "--every", "1m30s", "--index", str(web_settings.index)]) == 0
    captured = capsys.readouterr()
    assert len(cycle_counts(captured.out.splitlines())) == 2
    assert len(waits) == 2 and all(80 < wait <= 90 for wait in waits)
    assert "watching 1 feed(s) every 90s; Ctrl-C stops." in captured.err
    assert "stopped watching" in captured.err


def test_bad_every_value_names_the_flag(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["watch", "https://example.com/feed.xml", "--every", "15 minutes", "--once"])
    assert exit_info.value.code == 2
    assert (
        "argument --every: invalid duration '15 minutes': use a number with s, m, h or d, such as 90s, 15m or 1h"
        in capsys.readouterr().err
    )


def test_watch_takes_only_http_feed_urls(capsys):
    assert main(["watch", "news.rss", "--once"]) == 2
    assert "news.rss is not an http(s) feed URL (for files, use `newsbot ingest`)" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("1h", 3600), ("1h30m", 5400), ("2.5m", 150), ("1d", 86400), ("45", 45), ("15M", 900)],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "m", "15 minutes", "1x", "-5m", "0s", "15m30", "inf"])
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)
