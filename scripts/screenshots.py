"""Take the README's screenshots of the web app: a cited answer with a source opened, the same answer on a
phone-width screen (390 px), and the timeline tab.

    .venv/bin/python scripts/screenshots.py        # writes docs/screenshots/ui.png, ui-mobile.png, timeline.png

The shipped corpus is indexed into a temporary folder (nothing else is touched), the whole app of `newsbot serve`
is served on a free port, and Debian's Chromium (/usr/bin/chromium, through Playwright) does what a user does.
Offline.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from bot.chain import NewsBot  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.store.indexing import ingest  # noqa: E402
from tests.browser import launch  # noqa: E402
from tests.ui_helpers import served  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
QUESTION = "Who stars in What Comes After Love?"
PHONE = {"width": 390, "height": 844}


def _ask(page, question: str) -> None:
    box = page.locator("#newsbot-question textarea")
    box.fill(question)
    box.press("Enter")
    page.locator("#newsbot-chat details.nb-source").first.wait_for(timeout=60_000)


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(index=Path(folder) / "index", corpus=ROOT / "corpus")
        print(ingest([settings.corpus], settings, progress=False))
        with served(NewsBot(settings)) as url, sync_playwright() as driver:
            browser = launch(driver)
            page = browser.new_page(viewport={"width": 1100, "height": 1150})
            page.goto(url)
            _ask(page, QUESTION)
            cite = page.locator("#newsbot-chat a.nb-cite", has_text="[1]").first
            cite.click()
            expect(page.locator(cite.get_attribute("href"))).to_be_visible()  # its card opened
            page.locator("#newsbot-chat .nb-answer").last.evaluate("e => e.parentElement.scrollIntoView()")
            page.screenshot(path=str(OUT / "ui.png"))

            page.get_by_role("tab", name="What was reported when").click()
            page.get_by_label("Title or person").fill("Taylor Swift")
            page.get_by_role("button", name="Show", exact=True).click()
            expect(page.locator("img[src^='data:image/png']")).to_have_count(1, timeout=60_000)
            page.screenshot(path=str(OUT / "timeline.png"), full_page=True)

            phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()
            phone.goto(url)
            _ask(phone, QUESTION)
            phone.locator("#newsbot-chat .nb-answer").last.evaluate("e => e.scrollIntoView()")
            phone.screenshot(path=str(OUT / "ui-mobile.png"))
            browser.close()
    print(f"wrote {OUT / 'ui.png'}, {OUT / 'ui-mobile.png'} and {OUT / 'timeline.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
