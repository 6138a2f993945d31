"""The web app in a real browser (Debian's Chromium through Playwright): what a user sees and clicks."""

from __future__ import annotations

import pytest

from bot.web.feedback import FeedbackStore
from tests.browser import CHROMIUM, launch
from tests.ui_helpers import HOSTILE_QUESTION, launched, served, small_bot

playwright = pytest.importorskip("playwright.sync_api")
WAIT = 60_000  # ms: an answer takes well under a second; a slow CI machine gets room
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def app_url(tmp_path_factory, embeddings):
    """The two seeds plus a hostile article, served on a free port for the whole module."""
    bot = small_bot(tmp_path_factory.mktemp("browser"), embeddings, hostile=True)
    with launched(bot) as url:
        yield url, bot


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed: apt-get install -y chromium")
    with playwright.sync_playwright() as driver:
        browser = launch(driver)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, app_url):
    """A fresh tab (a fresh conversation) on the app, with its first screen loaded."""
    yield from _tab(browser, app_url[0], {"width": 1200, "height": 900})


@pytest.fixture
def phone(browser, app_url):
    """The same on a phone-width screen."""
    yield from _tab(browser, app_url[0], PHONE, is_mobile=True, has_touch=True)


def _tab(browser, url: str, viewport: dict, **options):
    context = browser.new_context(viewport=viewport, **options)
    tab = context.new_page()
    tab.dialogs = []
    tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))
    tab.goto(url)
    tab.get_by_text("I know 3 articles").wait_for(timeout=WAIT)
    yield tab
    context.close()


def ask(page, question: str) -> None:
    box = page.locator("#newsbot-question textarea")
    box.fill(question)
    box.press("Enter")


def last_answer(page):
    """The newest bot message, once its final version (with sources or a notice) is shown."""
    messages = page.locator("#newsbot-chat .bot.message, #newsbot-chat .message.bot")
    final = messages.filter(has=page.locator(".nb-answer, .nb-notice")).last
    final.wait_for(timeout=WAIT)
    return final


def test_streamed_answer_with_source_cards_and_citation_reveal(page, app_url, tmp_path):
    page.evaluate(
        """() => {
            window.__statuses = [];
            new MutationObserver(() => document.querySelectorAll('#newsbot-chat .nb-meta')
                .forEach(e => window.__statuses.push(e.textContent)))
                .observe(document.body, {subtree: true, childList: true, characterData: true});
        }"""
    )
    ask(page, "Who stars in What Comes After Love?")
    cards = page.locator("#newsbot-chat details.nb-source")
    cards.first.wait_for(timeout=WAIT)
    assert "Searching the articles…" in page.evaluate("window.__statuses")  # shown while it worked
    answer = page.locator("#newsbot-chat .nb-answer").last
    assert "Lee Se-young" in answer.inner_text()
    assert cards.count() == 2
    summaries = "\n".join(cards.locator("summary").all_inner_texts())
    assert "Lee Se-young and Sakaguchi Kentaro in talks to star in Things That Come After Love" in summaries
    assert "Japanese-Korean romance dramas are all the rage" in summaries
    assert "Things That Come After Love · 2023-07-25" in summaries and "Romantic Anonymous · 2024" in summaries
    assert "outlet unknown" not in summaries  # the seeds have no outlet: it is left out
    short = answer.locator(".nb-short")
    assert {"Sakaguchi Kentaro", "Lee Se-young"} <= set(short.inner_text()[:-4].split(" and "))  # on its own line
    assert int(short.evaluate("e => getComputedStyle(e).fontWeight")) >= 700
    assert short.bounding_box()["y"] < answer.locator(".nb-support").first.bounding_box()["y"]
    assert cards.locator("summary mark.nb-quote").count() == 2  # each card shows its quote, highlighted

    cite = page.locator("#newsbot-chat a.nb-cite", has_text="[2]").first
    target = page.locator(cite.get_attribute("href"))
    assert target.count() == 1 and not target.is_visible()  # the source's passage starts folded
    cite.click()
    playwright.expect(target).to_be_visible()  # the card opened ...
    playwright.expect(target).to_be_in_viewport()  # ... and was scrolled to
    assert target.locator("mark.nb-quote").count() >= 1  # its quote highlighted in the passage
    assert cards.nth(1).evaluate("card => card.open") and not cards.nth(0).evaluate("card => card.open")
    page.screenshot(path=str(tmp_path / "answer.png"))

    ask(page, "When does it come out?")
    page.get_by_text("Searched for: When does What Comes After Love come out?").wait_for(timeout=WAIT)
    assert "Sept. 27" in last_answer(page).inner_text()

    page.locator("#newsbot-chat button[aria-label='Dislike']").last.click()
    comment = page.get_by_label("Add a comment on this answer (optional)")
    comment.wait_for(timeout=WAIT)
    comment.fill("It was <b>late</b>")
    page.get_by_role("button", name="Send comment").click()
    page.get_by_text("your comment was saved").wait_for(timeout=WAIT)
    rows = FeedbackStore.beside(app_url[1].settings.index).rows()
    assert [(row["vote"], row["comment"], row["question"]) for row in rows][-1] == (
        "down",
        "It was <b>late</b>",
        "When does it come out?",
    )


def test_example_question_gets_an_answer(page):
    page.locator("#newsbot-chat").get_by_text("Who is directing Romantic Anonymous?").click()
    answer = last_answer(page)
    assert "Sho Tsukikawa" in answer.inner_text()
    assert answer.locator("details.nb-source").count() == 1


def test_hostile_article_is_shown_literally_and_runs_nothing(page):
    ask(page, HOSTILE_QUESTION)
    answer = last_answer(page)
    answer.locator("details.nb-source").wait_for(timeout=WAIT)
    text = answer.inner_text()
    assert '<img src=x onerror="window.__pwned = 4">' in text
    assert "<script>window.__pwned = 5</script>" in text and "[a triumph](javascript:window.__pwned=6)" in text
    assert "**bold** $$x$$" in text
    summary = answer.locator("details.nb-source summary").inner_text()
    assert "<script>window.__pwned = 1</script>" in summary and "Evil <b>Outlet</b>" in summary
    chat = page.locator("#newsbot-chat")
    assert chat.locator("script, img[src='x'], b, strong:has-text('bold')").count() == 0
    assert chat.locator("a[href^='javascript']").count() == 0

    page.get_by_role("tab", name="What was reported when").click()
    page.get_by_label("Title or person").fill("Zorblax Film Festival")
    page.get_by_role("button", name="Show", exact=True).click()
    page.get_by_text("1 article names").wait_for(timeout=WAIT)
    cells = page.locator("table td")
    playwright.expect(cells.filter(has_text="Zorblax <script>window.__pwned = 1</script> Film")).to_have_count(1)
    playwright.expect(cells.filter(has_text="Evil <b>Outlet</b>")).to_have_count(1)
    assert page.locator("img[src='x']").count() == 0
    assert page.evaluate("typeof window.__pwned") == "undefined" and page.dialogs == []


def test_timeline_tab_plots_both_titles(page):
    page.get_by_role("tab", name="What was reported when").click()
    page.get_by_label("Title or person").fill("Things That Come After Love")
    page.get_by_role("button", name="Show", exact=True).click()
    page.get_by_text("2 articles name").wait_for(timeout=WAIT)
    assert "article(s)" not in page.locator("body").inner_text()
    playwright.expect(page.locator("img[src^='data:image/png']")).to_have_count(1)  # the timeline plot
    table = page.locator("table").first
    playwright.expect(table).to_contain_text("2023-07-25")
    playwright.expect(table).to_contain_text("Japanese-Korean romance dramas are all the rage")
    cell = page.locator(".nb-table").first.get_by_text("Japanese-Korean romance dramas are all the rage").first
    font = cell.evaluate("e => getComputedStyle(e).fontFamily")
    assert font == page.evaluate("getComputedStyle(document.querySelector('.gradio-container')).fontFamily")
    assert "mono" not in font.lower()  # the page's font, not the theme's monospace


def test_on_a_phone_the_answer_and_its_cards_use_the_width(phone):
    ask(phone, "Who stars in What Comes After Love?")
    answer = last_answer(phone)
    cards = answer.locator("details.nb-source")
    cards.first.wait_for(timeout=WAIT)
    width = PHONE["width"]
    for element in [*cards.all(), answer.locator(".nb-answer")]:
        box = element.bounding_box()
        assert box["width"] >= 0.9 * width, box  # no wide margin squeezing the quotes into a column
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
    assert phone.evaluate("document.documentElement.scrollWidth") <= width  # nothing sticks out sideways


@pytest.fixture(scope="module")
def server_url(tmp_path_factory, embeddings):
    """The whole app of `newsbot serve` (FastAPI with its /docs and the widget, the chat mounted at /)."""
    with served(small_bot(tmp_path_factory.mktemp("served"), embeddings)) as url:
        yield url


def test_the_footer_leads_to_the_working_api_docs(browser, server_url):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    tab = context.new_page()
    try:
        tab.goto(server_url)
        link = tab.locator("#newsbot-footer a", has_text="HTTP API documentation")
        link.wait_for(timeout=WAIT)
        assert link.evaluate("a => a.href") == server_url + "docs"
        with context.expect_page() as opened:
            link.click()
        docs = opened.value
        docs.get_by_text("/api/ask").first.wait_for(timeout=WAIT)  # the OpenAPI page, its endpoints listed
        assert "newsbot API" in docs.title()
    finally:
        context.close()


def test_gradio_api_page_is_not_offered(browser, server_url):
    """Gradio's "Use via API" documents its internal endpoints, not the HTTP API: the footer link above replaces it
    (bot/web/api.py mounts the chat with footer_links=[])."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    tab = context.new_page()
    try:
        tab.goto(server_url)
        tab.locator("#newsbot-footer").wait_for(timeout=WAIT)
        assert tab.get_by_text("Use via API").count() == 0
    finally:
        context.close()


def test_the_widget_leads_with_the_short_answer_and_names_only_known_outlets(browser, server_url):
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    tab = context.new_page()
    try:
        tab.goto(server_url + "healthz")  # a page of the server's own origin, which needs no site key
        tab.evaluate(
            """() => { const script = document.createElement('script');
                       script.src = '/widget.js'; script.dataset.site = ''; document.body.appendChild(script); }"""
        )
        tab.locator("#newsbot-widget .bubble").click()
        tab.locator("#newsbot-widget input").fill("Who stars in What Comes After Love?")
        tab.locator("#newsbot-widget .send").click()
        sources = tab.locator("#newsbot-widget .sources li")
        sources.first.wait_for(timeout=WAIT)
        reply = tab.locator("#newsbot-widget .msg.bot").last
        short = reply.locator(".text .short")
        assert {"Sakaguchi Kentaro", "Lee Se-young"} <= set(short.inner_text()[:-4].split(" and "))
        assert short.inner_text().endswith(" [1]")
        assert int(short.evaluate("e => getComputedStyle(e).fontWeight")) >= 700
        meta = sources.locator(".meta").all_inner_texts()
        assert sorted(text.strip() for text in meta) == ["(2023-07-25)", "(2024)"]  # the seeds have no outlet
        assert "outlet unknown" not in reply.inner_text()
    finally:
        context.close()
