"""The web app in a real browser (Debian's Chromium through Playwright): what a user sees and clicks."""

from __future__ import annotations

import pytest

from bot.feedback import FeedbackStore
from tests.browser import CHROMIUM, launch
from tests.ui_helpers import HOSTILE_QUESTION, launched, small_bot

playwright = pytest.importorskip("playwright.sync_api")
WAIT = 60_000  # ms: an answer takes well under a second; a slow CI machine gets room


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
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    tab = context.new_page()
    tab.dialogs = []
    tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))
    tab.goto(app_url[0])
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
    assert "outlet unknown · 2023-07-25" in summaries and "outlet unknown · 2024" in summaries
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
    page.get_by_text("1 article(s)").wait_for(timeout=WAIT)
    cells = page.locator("table td")
    playwright.expect(cells.filter(has_text="Zorblax <script>window.__pwned = 1</script> Film")).to_have_count(1)
    playwright.expect(cells.filter(has_text="Evil <b>Outlet</b>")).to_have_count(1)
    assert page.locator("img[src='x']").count() == 0
    assert page.evaluate("typeof window.__pwned") == "undefined" and page.dialogs == []


def test_timeline_tab_plots_both_titles(page):
    page.get_by_role("tab", name="What was reported when").click()
    page.get_by_label("Title or person").fill("Things That Come After Love")
    page.get_by_role("button", name="Show", exact=True).click()
    page.get_by_text("2 article(s)").wait_for(timeout=WAIT)
    playwright.expect(page.locator("img[src^='data:image/png']")).to_have_count(1)  # the timeline plot
    table = page.locator("table").first
    playwright.expect(table).to_contain_text("2023-07-25")
    playwright.expect(table).to_contain_text("Japanese-Korean romance dramas are all the rage")
