"""The web app's parts without a browser: answer cards, feedback, the timeline, the admin page's login."""

from __future__ import annotations

import csv
import io
import json
import re
import sys

import gradio as gr
import pytest

from bot.answer import Answer, Citation, Quote
from bot.cli import main
from bot.cli.commands import _print_answer
from bot.settings import Settings
from bot.web.admin import admin_login, safe_name, save_uploads, token_ok
from bot.web.api import create_app
from bot.web.cards import Excerpt, excerpts, render_chat_answer, short_answer
from bot.web.chat import FOOTER, Chat, build_app, render_answer
from bot.web.feedback import FeedbackStore
from bot.web.limits import ClientLimits
from bot.web.timeline import (
    NameMatcher,
    Report,
    Timeline,
    reported_when,
    timeline_figure,
    timeline_rows,
    timeline_status,
)
from tests.conftest import SEED_2023, SEED_2024

HOSTILE_TEXT = "<script>alert(1)</script> <img src=x onerror=alert(2)> [click](javascript:alert(3)) **b** $$x$$"


def _citation(n: int, **fields: object) -> Citation:
    values = {
        "n": n,
        "article_id": f"a{n}",
        "title": f"Title {n}",
        "source": "Polygon",
        "url": f"https://example.org/{n}",
        "published": "2023-10-18",
        "quote": f"Quote {n}.",
    }
    return Citation(**{**values, **fields})


# --- answer cards ---------------------------------------------------------------------------------


def test_hostile_article_text_is_shown_as_text():
    answer = Answer(
        question="q",
        answer=f"{HOSTILE_TEXT}\n\nsecond paragraph [1]",
        abstained=False,
        citations=[_citation(1, title="<b>T</b>", source="<i>S</i>", url="javascript:alert(4)", quote=HOSTILE_TEXT)],
        notes=["<img src=y onerror=alert(5)>"],
    )
    found = {1: [Excerpt((("before <script>x()</script> ", False), (HOSTILE_TEXT, True)), cut_before=True)]}
    rendered = render_chat_answer(answer, found, key="k")
    assert not re.search(r"<(script|img|b|i)[ >]", rendered)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered and "&lt;img src=x onerror=alert(2)&gt;" in rendered
    assert "&lt;b&gt;T&lt;/b&gt;" in rendered and "&lt;i&gt;S&lt;/i&gt;" in rendered
    assert "javascript:alert(4)" not in rendered  # only http(s) links become links; this one is not even shown
    assert "&#91;click&#93;" in rendered and "&#42;&#42;b&#42;&#42;" in rendered and "&#36;&#36;x" in rendered
    assert "\n" not in rendered  # a blank line would end the HTML block and let Markdown act on the text


def test_cards_and_citation_anchors():
    citations = [_citation(1), _citation(2, source="", published="", url="")]
    answer = Answer(
        question="q", answer="One [1]. Two [2]. Both [1, 2]. Not a source [7].", abstained=False, citations=citations
    )
    rendered = render_chat_answer(answer, key="abc")
    assert rendered.count('<details class="nb-source"') == 2
    targets = re.findall(r'href="#([\w-]+)"', rendered)
    assert targets == ["nb-abc-src-1", "nb-abc-src-2", "nb-abc-src-1", "nb-abc-src-2"]
    for target in set(targets):  # each [n] points at an element of the same message, inside its card
        assert f'id="{target}"' in rendered
    assert "Not a source &#91;7&#93;" in rendered  # a number that is no source stays text
    assert '<a href="https://example.org/1" target="_blank" rel="noopener noreferrer">Title 1</a>' in rendered
    assert (
        "· Polygon · 2023-10-18" in rendered
        and '<span class="nb-byline" style="opacity:.75">· date unknown' in rendered
    )
    assert "outlet unknown" not in rendered  # an unknown outlet is left out, not named
    assert render_chat_answer(answer) != render_chat_answer(answer)  # ids never collide between two messages


EXTRACTIVE = (
    'Sakaguchi Kentaro and Lee Se-young [1]. "What Comes After Love," based on the popular novel, narrates the '
    "story of Choi Hong (Lee Se-young) and Aoki Jungo (Kentaro Sakaguchi). [1] Earlier (2023-07-25): Newsen "
    "reported that Lee Se-young and Sakaguchi Kentaro are in talks to star. [2]"
)


def test_the_short_answer_is_a_bold_line_above_the_quotes():
    citations = [_citation(1, source="", published="2024"), _citation(2, source="", published="2023-07-25")]
    answer = Answer(
        question="Who stars in What Comes After Love?",
        answer=EXTRACTIVE,
        abstained=False,
        citations=citations,
        short_answer="Sakaguchi Kentaro and Lee Se-young [1]",
    )
    short, quotes = short_answer(answer)
    assert short == "Sakaguchi Kentaro and Lee Se-young [1]"
    assert quotes[0].startswith('"What Comes After Love,"') and quotes[0].endswith("Sakaguchi). [1]")
    assert quotes[1].startswith("Earlier (2023-07-25): ") and len(quotes) == 2
    rendered = render_chat_answer(answer, key="k")
    lead = re.search(r'<p class="nb-short" style="([^"]*)">(.*?)</p>', rendered)
    assert lead and "font-weight:700" in lead.group(1)
    assert lead.group(2).startswith('Sakaguchi Kentaro and Lee Se-young <a href="#nb-k-src-1"')
    assert rendered.index("nb-short") < rendered.index("nb-support") < rendered.index("nb-sources")
    assert rendered.count('<p class="nb-support"') == 2  # each supporting quote on a line of its own

    dated = answer.model_copy(
        update={
            "answer": "Sept. 27 [1]. It is slated to hit small screens on Sept. 27. [1]",
            "short_answer": "Sept. 27 [1]",
        }
    )
    assert short_answer(dated) == ("Sept. 27 [1]", ["It is slated to hit small screens on Sept. 27. [1]"])


@pytest.mark.parametrize(
    "update",
    [
        {"answer": '"What Comes After Love," based on the novel, narrates a story. [1] Earlier (2023): More. [2]'},
        {"answer": "They star in it [1]. Filming began in 2024 [2].", "backend": "openai"},  # an LLM's prose
        {"answer": "They star in it [1]. Filming began in 2024 [2].", "backend": "openai", "short_answer": "They"},
        {"answer": "I could not find an answer to that [1].", "abstained": True},
        {"answer": "Lee Se-young [1]. More. [1]"},  # the answerer named no short answer: none is guessed
    ],
)
def test_no_short_answer_is_made_up(update):
    answer = Answer(question="q", answer="", abstained=False, citations=[_citation(1), _citation(2)]).model_copy(
        update=update
    )
    assert short_answer(answer)[0] == ""
    assert "nb-short" not in render_chat_answer(answer, key="k")


def test_the_real_answer_leads_with_its_short_answer(corpus_bot):
    answer = corpus_bot.ask("Who stars in What Comes After Love?")
    short, quotes = short_answer(answer)
    assert "Lee Se-young" in short and "Sakaguchi Kentaro" in short and short.endswith("[1]")
    assert all(not quote.startswith(short) for quote in quotes) and len(quotes) >= 2


def test_an_unknown_outlet_is_never_named(capsys):
    answer = Answer(
        question="q", answer="A [1]. B [2]", abstained=False, citations=[_citation(1, source=""), _citation(2)]
    )
    markdown = render_answer(answer)
    assert "1. [Title 1](https://example.org/1) (2023-10-18)" in markdown and "(Polygon, 2023-10-18)" in markdown
    _print_answer(answer, sys.stdout)
    printed = capsys.readouterr().out
    assert "[1] Title 1 (2023-10-18)" in printed and "[2] Title 2 (Polygon, 2023-10-18)" in printed
    for shown in (markdown, printed, render_chat_answer(answer, key="k")):
        assert "outlet unknown" not in shown


def test_the_footer_leads_to_the_api_docs():
    assert "](/docs)" in FOOTER  # the FastAPI app's OpenAPI page (tests/web/test_browser_ui.py follows the link)


def test_searched_and_notes_are_shown_as_a_small_line():
    answer = Answer(
        question="When does it come out?",
        answer="Sept. 27 [1]",
        abstained=False,
        searched="When does What Comes After Love come out?",
        notes=["The LLM was unreachable; this answer is quoted from the articles."],
        citations=[_citation(1)],
    )
    rendered = render_chat_answer(answer, key="k")
    assert '<div class="nb-meta"' in rendered
    assert "Searched for: When does What Comes After Love come out?" in rendered
    assert "Note: The LLM was unreachable; this answer is quoted from the articles." in rendered
    same = answer.model_copy(update={"searched": answer.question, "notes": []})
    assert "nb-meta" not in render_chat_answer(same, key="k")


def test_quote_is_highlighted_in_its_passage(corpus_bot):
    answer = corpus_bot.ask("Who stars in What Comes After Love?")
    found = excerpts(answer, corpus_bot.store)
    assert set(found) == {c.n for c in answer.citations}
    for citation in answer.citations:
        quoted = "".join(text for excerpt in found[citation.n] for text, marked in excerpt.parts if marked)
        assert citation.quote in quoted  # the highlighted text is the quote, verbatim
        around = [text for excerpt in found[citation.n] for text, marked in excerpt.parts if not marked]
        assert sum(len(text) for text in around) > 40  # with some of its passage around it
        assert all(len(text) <= 170 for text in around)  # but only a short excerpt
    rendered = render_chat_answer(answer, found, key="k")
    assert rendered.count('<mark class="nb-quote"') >= 2 * len(answer.citations)  # in the card and its passage


def test_quote_without_offsets_is_shown_alone():
    citation = _citation(1, quotes=[Quote(text="Gone.", start=10_000, end=10_005)])
    store = type("Store", (), {"article_chunks": lambda self, article_id: []})()
    found = excerpts(Answer(question="q", answer="a [1]", abstained=False, citations=[citation]), store)
    assert found == {1: [Excerpt((("Gone.", True),))]}


# --- the chat's handlers ----------------------------------------------------------------------------


def test_chat_streams_then_replaces_with_the_answer_and_understands_follow_ups(corpus_bot, tmp_path):
    chat = Chat(corpus_bot, FeedbackStore(tmp_path / "feedback.sqlite3"), ClientLimits(corpus_bot.settings))
    steps = list(chat.respond("Who stars in What Comes After Love?", [], [], {}))
    assert "Searching the articles" in steps[0][1][-1]["content"]  # shown before the answer is ready
    textbox, messages, turns, records = steps[-1]
    assert textbox == "" and len(messages) == 2 and '<details class="nb-source"' in messages[1]["content"]
    assert [turn["role"] for turn in turns] == ["user", "assistant"] and "[1]" in turns[1]["content"]
    assert records[1]["question"] == "Who stars in What Comes After Love?" and records[1]["citations"]

    *_, (_, messages, turns, records) = chat.respond("When does it come out?", messages, turns, records)
    assert "Searched for: When does What Comes After Love come out?" in messages[3]["content"]
    assert "Sept. 27" in messages[3]["content"] and len(turns) == 4 and set(records) == {1, 3}

    *_, (_, messages, turns, _) = chat.respond("   ", messages, turns, records)
    assert "The question is empty" in messages[-1]["content"] and len(turns) == 4


def test_votes_and_comments_are_stored(corpus_bot, tmp_path):
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    chat = Chat(corpus_bot, store, ClientLimits(corpus_bot.settings))
    *_, (_, messages, _, records) = chat.respond("Who is directing Romantic Anonymous?", [], [], {})
    records, row, shown = chat.vote(gr.LikeData(None, {"index": 1, "value": [], "liked": False}), records)
    assert shown["visible"] is True and records[1]["feedback_id"] == row
    records, same_row, _ = chat.vote(gr.LikeData(None, {"index": 1, "value": [], "liked": True}), records)
    assert same_row == row  # a changed mind updates the vote
    chat.comment("  Right director, <b>thanks</b>  ", row)
    [saved] = store.rows()
    assert saved["vote"] == "up" and saved["comment"] == "Right director, <b>thanks</b>"
    assert saved["question"] == "Who is directing Romantic Anonymous?" and "Sho Tsukikawa" in saved["answer"]
    assert saved["citations"][0]["article_id"] == SEED_2024
    records, row, shown = chat.vote(gr.LikeData(None, {"index": 1, "value": [], "liked": ""}), records)
    assert store.rows() == [] and row is None and shown["visible"] is False  # the vote was taken back
    _, row, _ = chat.vote(gr.LikeData(None, {"index": 0, "value": [], "liked": True}), records)
    assert row is None and store.rows() == []  # the user's own message is not an answer


# --- feedback store and its export command ------------------------------------------------------------


def test_feedback_store_and_export_command(tmp_path, capsys):
    index = tmp_path / "index"
    store = FeedbackStore.beside(index)
    first = store.record("Who?", "Her [1].", [{"n": 1, "title": "T"}], "down", created_at="2024-01-02T03:04:05+00:00")
    second = store.record("Why, “really”?", 'Because, "x"\nnewline [1].', "[]", "up")
    assert store.update(first, comment="wrong person") and not store.update(999, comment="x")
    with pytest.raises(ValueError):
        store.record("q", "a", [], "meh")

    assert main(["feedback", "export", "--index", str(index)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["id"] for row in lines] == [first, second]
    assert lines[0] == {
        "id": first,
        "created_at": "2024-01-02T03:04:05+00:00",
        "vote": "down",
        "question": "Who?",
        "answer": "Her [1].",
        "citations": [{"n": 1, "title": "T"}],
        "comment": "wrong person",
    }

    out = tmp_path / "feedback.csv"
    assert main(["feedback", "export", "--index", str(index), "--format", "csv", "--output", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [row["vote"] for row in rows] == ["down", "up"] and rows[1]["answer"] == 'Because, "x"\nnewline [1].'
    assert json.loads(rows[0]["citations"]) == [{"n": 1, "title": "T"}]

    assert main(["feedback", "export", "--index", str(tmp_path / "none")]) == 2
    assert "no index at" in capsys.readouterr().err and not (tmp_path / "none").exists()


# --- what was reported when --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["What Comes After Love", "Things That Come After Love", "things that come after love"]
)
def test_timeline_finds_both_seed_articles_by_either_title(corpus_bot, name):
    timeline = reported_when(corpus_bot, name)
    assert [report.article_id for report in timeline.dated] == [SEED_2023, SEED_2024]  # oldest first
    assert timeline.undated == []
    first, second = timeline.dated
    assert first.published == "2023-07-25" and second.published == "2024"
    assert "Come After Love" in first.sentence or "Comes After Love" in first.sentence
    assert "What Comes After Love" in second.sentence
    figure = timeline_figure(timeline)
    assert figure is not None and len(figure.axes[0].get_yticklabels()) == 2
    labels = [label.get_text() for label in figure.axes[0].get_yticklabels()]  # the seeds have no outlet
    assert labels[0].startswith("Lee Se-young and Sakaguchi Kentaro") and not any("unknown" in x for x in labels)
    rows = timeline_rows(timeline.dated)
    assert [row[0] for row in rows] == ["2023-07-25", "2024"] and rows[0][1] == "—" and rows[0][3] == ""


def test_timeline_status_counts_in_words():
    report = Report("a", "T", "", "", "2024", "s")
    one, two = Timeline("X", dated=[report]), Timeline("X", dated=[report, report], undated=[report])
    assert timeline_status(one, "X") == "**1 article** names “X”."
    assert timeline_status(two, "X") == (
        "**3 articles** name “X”; 1 without a publication date is listed below the table."
    )
    two.undated.append(report)
    assert "; 2 without a publication date are listed" in timeline_status(two, "X")
    assert timeline_status(Timeline("X"), "X") == "No article names “X”."
    assert "(s)" not in timeline_status(one, "X") + timeline_status(two, "X")


def test_timeline_of_a_person_and_of_nothing(corpus_bot):
    timeline = reported_when(corpus_bot, "Travis Kelce")
    assert len(timeline) >= 3
    assert all("kelce" in (r.title + r.sentence).lower() for r in timeline.dated)
    assert [r.published for r in timeline.dated] == sorted(r.published for r in timeline.dated)
    assert timeline_rows(timeline.dated)[0][3].startswith("[open ↗](https://")
    nothing = reported_when(corpus_bot, "Zorblax Quintessence")
    assert len(nothing) == 0 and timeline_figure(nothing) is None


def test_name_matching_needs_the_name_not_a_stray_phrase():
    matcher = NameMatcher("What Comes After Love")
    assert matcher.names("Things That Come After Love is based on a novel.")  # stemmed: Comes ~ Come
    assert not matcher.names("What comes after the vote is unclear.")  # only one of its content words
    assert not matcher.names("Love comes after everything.")  # the words, but not in the name's order
    assert NameMatcher("Lee Se-young").names("Lee Se Young will star.")
    assert NameMatcher("Lee Se-young").names("SeYoung fans") is False  # written as one word: not found


# --- the admin page ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("story.txt", "story.txt"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\evil.JSON", "evil.json"),
        (".hidden.md", "hidden.md"),
        ("..", "upload"),
        ("", "upload"),
        ("Crème brûlée & <script>.html", "Creme_brulee_script.html"),
        ("a" * 300 + ".txt", "a" * 80 + ".txt"),
    ],
)
def test_upload_names_are_sanitized(name, safe):
    assert safe_name(name) == safe


def test_uploads_stay_in_their_folder_and_respect_the_size_limit(tmp_path):
    sources = tmp_path / "in"
    sources.mkdir()
    small, large = sources / "small.txt", sources / "large.txt"
    small.write_text("Title\nBody.", encoding="utf-8")
    large.write_bytes(b"x" * 5000)
    saved, errors = save_uploads([small, small, large], tmp_path / "index", max_bytes=2000)
    folder = saved[0].parent
    assert folder.parent == tmp_path / "index" / "uploads"
    assert [path.name for path in saved] == ["small.txt", "small-2.txt"]
    assert errors == [
        "large.txt: 0.0 MB is larger than the upload limit of 0.0 MB (NEWSBOT_UPLOAD_MAX_BYTES); it was not ingested"
    ]
    again, _ = save_uploads([small], tmp_path / "index", max_bytes=2000)
    assert again[0].parent != folder  # every upload gets its own folder


def test_admin_token_checks():
    secret = "s3cret-token-value"
    configured = Settings(admin_token=secret)
    assert token_ok(secret, configured)
    for wrong in ["", None, "s3cret", secret + " ", 12345]:
        assert not token_ok(wrong, configured)
    assert not token_ok("", Settings()) and not token_ok("anything", Settings(admin_token=""))
    login = admin_login(configured)
    assert login("admin", secret) and not login("root", secret) and not login("admin", "guess")


def test_the_admin_page_exists_only_with_a_token(corpus_bot):
    def paths(settings: Settings) -> set[str]:
        app = create_app(settings, bot=corpus_bot)
        return {getattr(route, "path", "") for route in app.routes}

    assert "/admin" not in paths(corpus_bot.settings)
    assert "/admin" in paths(
        corpus_bot.settings.model_copy(update={"admin_token": Settings(admin_token="t").admin_token})
    )
    assert not {"admin_upload", "admin_urls"} & {fn.api_name for fn in build_app(corpus_bot).fns.values()}
