"""Screenshots of the embeddable widget on a host page, with a cited answer: docs/screenshots/widget.png (desktop)
and widget-mobile.png (375 px wide).

Indexes the shipped corpus/ into a temporary folder (or uses --index), serves newsbot and a host page on free
ports of 127.0.0.1, and drives Debian's chromium (/usr/bin/chromium) with Playwright. Nothing is downloaded.
Run after `scripts/install.sh test`: python scripts/screenshot_widget.py
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import threading
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import uvicorn  # noqa: E402

from bot.chain import NewsBot  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.web.api import create_app  # noqa: E402
from tests.browser import launch  # noqa: E402

QUESTION = "What did Taylor Swift say about Travis Kelce?"
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>The Daily Marquee</title>
<style>body { font: 17px/1.6 Georgia, serif; margin: 0; color: #222; } header { background: #111; color: #fff;
padding: 18px 32px; font: 700 26px Georgia, serif; } main { max-width: 640px; padding: 24px 32px; }</style>
</head><body><header>The Daily Marquee</header><main><h2>Film, television and music news</h2>
<p>An example news site. The chat bubble in the corner is newsbot's widget, added with one script tag:
it answers questions about the news by quoting articles, with numbered sources.</p></main>
<script src="{api}/widget.js" data-site="demo" async></script>
</body></html>
"""


class HostPage(BaseHTTPRequestHandler):
    def __init__(self, *args, page: bytes, **kwargs):
        self.page = page
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(self.page)

    def log_message(self, *args) -> None:
        pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", help="an existing index to answer from (default: corpus/ in a temporary folder)")
    parser.add_argument("--out", default=str(REPO / "docs" / "screenshots"), help="folder of the PNG files")
    parser.add_argument("--question", default=QUESTION)
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        api_port = free_port()
        page_server = ThreadingHTTPServer(("127.0.0.1", 0), HostPage)
        host = f"http://127.0.0.1:{page_server.server_address[1]}"
        html = PAGE.replace("{api}", f"http://127.0.0.1:{api_port}").encode()
        page_server.RequestHandlerClass = partial(HostPage, page=html)
        threading.Thread(target=page_server.serve_forever, daemon=True).start()

        index = Path(args.index) if args.index else Path(folder) / "index"
        settings = Settings(index=index, corpus=REPO / "corpus", sites={"demo": [host]}, rate_per_minute=0)
        bot = NewsBot(settings)
        bot.ensure_index()
        app = create_app(settings, bot, ui=False)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=api_port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started and thread.is_alive():
            thread.join(0.05)

        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as playwright:
            browser = launch(playwright)
            for name, viewport in [("widget.png", (1100, 760)), ("widget-mobile.png", (375, 700))]:
                context = browser.new_context(
                    viewport={"width": viewport[0], "height": viewport[1]}, is_mobile=viewport[0] < 500
                )
                page = context.new_page()
                page.goto(host)
                page.locator("#newsbot-widget .bubble").click()
                page.locator("#newsbot-widget input").fill(args.question)
                page.locator("#newsbot-widget .send").click()
                page.locator("#newsbot-widget .sources li").first.wait_for(timeout=120_000)
                page.screenshot(path=str(out / name))
                print(f"wrote {out / name}")
                context.close()
            browser.close()
        server.should_exit = True
        thread.join(timeout=30)
        page_server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
