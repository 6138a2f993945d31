"""The embeddable widget in a real browser (Debian's chromium, driven by Playwright): the real server on one port,
host pages on others, as a news site would embed it."""

from __future__ import annotations

import json
import shutil
import socket
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
import uvicorn

from bot.chain import NewsBot
from bot.settings import Settings
from bot.store.indexing import ingest
from bot.web.api import create_app
from tests.browser import CHROMIUM, launch
from tests.conftest import CORPUS

MARIO_URL = "https://www.polygon.com/reviews/23920680/super-mario-bros-wonder-review-nintendo-switch"
HOSTILE = {
    "title": 'Zebra parade <img src=x onerror="window.__pwned=3"> returns',
    "source": "The Hostile Times",
    "url": "https://hostile.example/zebra-parade",
    "published_at": "2023-11-02",
    "body": 'The zebra parade in Lisbon drew 40,000 people on Sunday <img src=x onerror="window.__pwned=1"> according '
    "to the organisers. Organisers closed the zebra parade with fireworks and <script>window.__pwned=2</script> "
    "a concert.",
}
HOST_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>The Daily Marquee</title>
<style>/* a page whose styles would wreck the widget if they reached it */
  body { font: 16px Georgia, serif; margin: 2rem; } button, .panel, input { display: none !important; }</style>
</head><body><h1>The Daily Marquee</h1><p>Film, television and music news.</p>
<script src="{api}/widget.js" data-site="demo" async></script>
</body></html>
"""

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium: scripts/test.sh installs it"
)


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _HostPage(SimpleHTTPRequestHandler):
    def __init__(self, *args, page: bytes, **kwargs):
        self.page = page
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(self.page)))
        self.end_headers()
        self.wfile.write(self.page)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def sites(tmp_path_factory, embeddings) -> Iterator[dict[str, str]]:
    """The newsbot server (uvicorn in a thread) over a small index with a hostile article, and two host pages:
    one on an origin listed for the site key "demo", one not."""
    folder = tmp_path_factory.mktemp("widget")
    articles = folder / "articles"
    shutil.copytree(CORPUS / "seeds", articles / "seeds")
    lines = (CORPUS / "multihop-rag-entertainment.jsonl").read_text(encoding="utf-8").splitlines()[:6]
    (articles / "news.jsonl").write_text("\n".join([*lines, json.dumps(HOSTILE)]) + "\n", encoding="utf-8")

    page_servers = [ThreadingHTTPServer(("127.0.0.1", 0), _HostPage) for _ in range(2)]
    allowed, other = (f"http://127.0.0.1:{server.server_address[1]}" for server in page_servers)
    api_port = _port()
    api = f"http://127.0.0.1:{api_port}"
    page = HOST_PAGE.replace("{api}", api).encode()
    for server in page_servers:
        server.RequestHandlerClass = partial(_HostPage, page=page)
        threading.Thread(target=server.serve_forever, daemon=True).start()

    settings = Settings(index=folder / "index", sites={"demo": [allowed]}, rate_per_minute=0)
    summary = ingest([articles], settings, embeddings, progress=False)
    assert summary.ok and summary.added == 9, summary
    app = create_app(settings, NewsBot(settings, embeddings=embeddings))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=api_port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            pytest.fail("the newsbot server did not start")
        thread.join(0.05)
    yield {"api": api, "allowed": allowed, "other": other}
    server.should_exit = True
    thread.join(timeout=30)
    for page_server in page_servers:
        page_server.shutdown()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    page = context.new_page()
    yield page
    context.close()


def ask(page, question: str):
    """Open the panel if needed, ask, and wait for the answer (or the refusal) to replace the dots."""
    panel = page.locator("#newsbot-widget .panel")
    if not panel.is_visible():
        page.locator("#newsbot-widget .bubble").click()
    answered = page.locator("#newsbot-widget .msg.bot").count()
    page.locator("#newsbot-widget input").fill(question)
    page.locator("#newsbot-widget .send").click()
    page.wait_for_function(
        """(before) => {
            const replies = document.querySelector('#newsbot-widget').shadowRoot.querySelectorAll('.msg.bot');
            return replies.length > before && !replies[replies.length - 1].hasAttribute('aria-busy');
        }""",
        arg=answered,
        timeout=60_000,
    )
    last = page.locator("#newsbot-widget .msg.bot").last
    return last


def test_the_widget_streams_a_cited_answer_and_carries_the_conversation(sites, page):
    bodies = []
    page.on("request", lambda request: bodies.append(request.post_data) if "/api/chat" in request.url else None)
    page.goto(sites["allowed"])
    page.locator("#newsbot-widget .bubble").click()
    assert page.locator("#newsbot-widget .panel").is_visible()  # the page's `.panel {display: none}` cannot reach it
    answer = ask(page, "What do Wonder Seeds do in Super Mario Bros. Wonder?")
    assert "the levels themselves collapse and contort" in answer.locator(".text").inner_text()
    source = answer.locator(".sources li").first
    link = source.locator("a")
    assert link.inner_text() == "Super Mario Bros. Wonder is a perfect end for the Switch"
    assert link.get_attribute("href") == MARIO_URL and link.get_attribute("rel") == "noopener noreferrer"
    assert source.locator(".meta").inner_text().strip() == "(Polygon, 2023-10-18)"

    follow_up = ask(page, "Who is directing Romantic Anonymous?")
    assert "Sho Tsukikawa" in follow_up.locator(".text").inner_text()
    sent = [json.loads(body) for body in bodies]
    assert sent[0]["history"] == []
    assert [turn["role"] for turn in sent[1]["history"]] == ["user", "assistant"]
    assert sent[1]["history"][0]["content"] == "What do Wonder Seeds do in Super Mario Bros. Wonder?"


def test_a_page_on_an_origin_not_listed_for_the_key_is_refused(sites, page):
    statuses = []
    page.on("response", lambda response: statuses.append(response.status) if "/api/" in response.url else None)
    page.goto(sites["other"])
    refusal = ask(page, "What do Wonder Seeds do in Super Mario Bros. Wonder?")
    assert statuses == [403]
    assert "error" in refusal.get_attribute("class")
    assert refusal.inner_text().startswith(f"This site ({sites['other']}) may not use newsbot with the site key 'demo'")


def test_article_markup_shows_as_text_and_never_runs(sites, page):
    page.goto(sites["allowed"])
    answer = ask(page, "How did the zebra parade end?")
    text = answer.locator(".text").inner_text()
    assert '<img src=x onerror="window.__pwned=1">' in text
    assert "<script>window.__pwned=2</script>" in text
    title = answer.locator(".sources li a").first.inner_text()
    assert title == 'Zebra parade <img src=x onerror="window.__pwned=3"> returns'
    widget_elements = page.evaluate(
        "() => document.querySelector('#newsbot-widget').shadowRoot.querySelectorAll('img, script').length"
    )
    assert widget_elements == 0
    assert page.evaluate("() => window.__pwned") is None


def test_on_a_phone_the_panel_fills_the_width(sites, browser):
    context = browser.new_context(viewport={"width": 375, "height": 700}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        page.goto(sites["allowed"])
        page.locator("#newsbot-widget .bubble").click()
        box = page.locator("#newsbot-widget .panel").bounding_box()
        assert box["x"] == 0 and box["width"] == 375 and box["height"] <= 700
        answer = ask(page, "Who is directing Romantic Anonymous?")
        assert answer.bounding_box()["width"] <= 375
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 375  # nothing sticks out sideways
    finally:
        context.close()


def test_the_api_docs_render_without_the_network(sites, page):
    outside = []

    def local_only(route) -> None:
        if route.request.url.startswith(sites["api"]):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", local_only)
    page.goto(sites["api"] + "/docs")
    page.locator(".opblock-summary-path", has_text="/api/chat").wait_for(timeout=30_000)
    assert outside == []
