"""The answers a newcomer sees first, from the real model over the shipped corpus."""

import json

import pytest

from bot.chain import QuestionError
from bot.cli import main
from bot.ingest import read_file
from tests.conftest import CORPUS, SEED_2023, SEED_2024


def _body(article_id: str) -> str:
    for path in (CORPUS / "seeds").iterdir():
        for article in read_file(path).articles:
            if article.id == article_id:
                return article.body
    raise KeyError(article_id)


def test_who_stars_names_both_actors_and_cites_the_seed_that_says_so(corpus_bot):
    answer = corpus_bot.ask("Who stars in What Comes After Love?")
    assert not answer.abstained
    assert "Lee Se-young" in answer.answer and "Kentaro Sakaguchi" in answer.answer
    # The sentence naming "Kentaro Sakaguchi" is quoted from the 2024 seed and marked with its number.
    citing = [c for c in answer.citations if any("Kentaro Sakaguchi" in q.text for q in c.quotes)]
    assert [c.article_id for c in citing] == [SEED_2024]
    assert (
        f"(Kentaro Sakaguchi), former lovers who reunite by chance five years after they parted. [{citing[0].n}]"
        in (answer.answer)
    )


def test_quotes_are_verbatim_at_their_offsets(corpus_bot):
    answer = corpus_bot.ask("Who stars in What Comes After Love?")
    assert {c.article_id for c in answer.citations} == {SEED_2024, SEED_2023}
    for citation in answer.citations:
        body = _body(citation.article_id)
        assert citation.quote == citation.quotes[0].text
        for quote in citation.quotes:
            assert body[quote.start : quote.end] == quote.text
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))


def test_who_directs_romantic_anonymous(corpus_bot):
    answer = corpus_bot.ask("Who is directing Romantic Anonymous?")
    assert not answer.abstained
    first_sentence = answer.answer.split(" [")[0]
    assert "Sho Tsukikawa" in first_sentence
    assert answer.citations[0].article_id == SEED_2024
    assert "helmed by star Japanese director Sho Tsukikawa" in answer.citations[0].quote


@pytest.mark.parametrize(
    "question",
    ["Who won the Nobel Prize in Chemistry in 2023?", "What is the capital of Peru?", "Who directed Oppenheimer?"],
)
def test_questions_the_corpus_does_not_cover_are_refused(corpus_bot, question):
    answer = corpus_bot.ask(question)
    assert answer.abstained
    assert answer.answer.startswith("I could not find an answer to that in the indexed news articles.")
    assert answer.citations == []


def test_as_of_answers_from_what_was_published_by_then(corpus_bot):
    answer = corpus_bot.ask("Who stars in What Comes After Love?", as_of="2023-12-31")
    assert {c.article_id for c in answer.citations} == {SEED_2023}
    assert all(r.article_id != SEED_2024 for r in answer.retrieved)


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ("", "The question is empty"),
        ("   \n\t ", "The question is empty"),
        ("x" * 1001, "The question is 1001 characters long; the limit is 1000"),
    ],
)
def test_bad_questions_get_a_clear_message(corpus_bot, question, message):
    with pytest.raises(QuestionError, match=message):
        corpus_bot.ask(question)


def test_bad_as_of_is_named(corpus_bot):
    with pytest.raises(QuestionError, match="as_of must be a date such as 2023-10-18, got 'soon-ish'"):
        corpus_bot.ask("Who stars in What Comes After Love?", as_of="soon-ish")


def test_cli_json_has_the_documented_shape(corpus_bot, corpus_settings, capsys):
    code = main(["ask", "Who is directing Romantic Anonymous?", "--json", "--index", str(corpus_settings.index)])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert set(printed) == {
        "question",
        "answer",
        "abstained",
        "citations",
        "searched",
        "understood",
        "backend",
        "dropped",
        "notes",
        "needs_clarification",
        "short_answer",
    }
    assert printed["searched"] == printed["question"] and printed["backend"] == "extractive"
    citation = printed["citations"][0]
    assert set(citation) >= {"n", "article_id", "title", "source", "url", "published", "quote"}
    assert citation["article_id"] == SEED_2024 and citation["published"] == "2024"


def test_cli_text_output_lists_numbered_sources(corpus_bot, corpus_settings, capsys):
    assert main(["ask", "What did Taylor Swift say about Travis Kelce?", "--index", str(corpus_settings.index)]) == 0
    out = capsys.readouterr().out
    assert "\nSources:\n[1] " in out
    assert "[1]" in out.split("\nSources:")[0]


def test_cli_batch_answers_every_line_and_reports_bad_ones(corpus_bot, corpus_settings, tmp_path, capsys):
    batch = tmp_path / "questions.jsonl"
    batch.write_text(
        '{"id": "q1", "question": "Who is directing Romantic Anonymous?"}\n'
        "not json\n"
        '{"id": "q3", "question": "Who stars in What Comes After Love?", "as_of": "2023-08-01"}\n'
        '{"id": "q4", "question": ""}\n',
        encoding="utf-8",
    )
    code = main(["ask", "--batch", str(batch), "--index", str(corpus_settings.index)])
    captured = capsys.readouterr()
    records = [json.loads(line) for line in captured.out.splitlines()]
    assert code == 1
    assert [r["id"] for r in records] == ["q1", None, "q3", "q4"]
    assert records[0]["citations"][0]["article_id"] == SEED_2024
    assert records[0]["retrieved"] and set(records[0]["retrieved"][0]) == {
        "article_id",
        "title",
        "url",
        "text",
        "score",
    }
    assert records[1]["error"] == f"{batch}:2: invalid JSON: Expecting value"
    assert {c["article_id"] for c in records[2]["citations"]} == {SEED_2023}
    assert records[3]["error"].startswith("The question is empty")
    assert "2 of 4 batch line(s) failed" in captured.err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ask", ""], "newsbot: error: The question is empty"),
        (["ask"], "newsbot: error: no question given; for example: newsbot ask"),
        (["ask", "q" * 1001], "newsbot: error: The question is 1001 characters long; the limit is 1000"),
    ],
)
def test_cli_bad_questions_exit_2_without_traceback(argv, message, capsys, tmp_path):
    assert main([*argv, "--index", str(tmp_path / "unused")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message)
    assert "Traceback" not in err


def test_a_refusal_offers_only_articles_that_share_something_the_question_names(embeddings):
    from langchain_core.documents import Document

    from bot.answer import ExtractiveAnswerer

    def article(article_id: str, title: str, text: str) -> Document:
        meta = {"article_id": article_id, "title": title, "source": "Polygon", "score": 0.2, "start": 0}
        return Document(page_content=text, metadata=meta)

    documents = [
        article("a1", "Summer films", "The film director spoke about the summer blockbuster season."),
        article("a2", "Oppenheimer tops the box office", "Oppenheimer opened with $80 million in North America."),
    ]
    answer = ExtractiveAnswerer(embeddings, min_relevance=0.35)("Who scored Oppenheimer in Tokyo?", documents)
    assert answer.abstained
    assert answer.answer == (
        "I could not find an answer to that in the indexed news articles."
        " The closest articles I have are: “Oppenheimer tops the box office”."
    )


def test_a_name_no_retrieved_article_mentions_is_refused_by_name(embeddings):
    from langchain_core.documents import Document

    from bot.answer import ExtractiveAnswerer

    close_but_unrelated = Document(
        page_content="The film director spoke about the summer blockbuster season.",
        metadata={"article_id": "a1", "title": "Summer films", "source": "Polygon", "score": 0.62, "start": 0},
    )
    answer = ExtractiveAnswerer(embeddings, min_relevance=0.35)("Who directed Oppenheimer?", [close_but_unrelated])
    assert answer.abstained
    # "Summer films" shares nothing the question names: it is not offered as a close article
    assert answer.answer == (
        "I could not find an answer to that in the indexed news articles. None of them mentions “Oppenheimer”."
    )
    # The outlet counts as mentioned: "according to Polygon" is about Polygon's articles.
    answered = ExtractiveAnswerer(embeddings, min_relevance=0.35)(
        "What did Polygon say about films?", [close_but_unrelated]
    )
    assert not answered.abstained and answered.citations[0].article_id == "a1"
