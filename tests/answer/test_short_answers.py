"""The default answerer's short answer (entities of the asked-for kind) and its time-aware ordering."""

import math
from datetime import date

import pytest
from langchain_core.documents import Document

from bot.answer import entities, evidence, extractive
from bot.answer.extractive import ExtractiveAnswerer
from bot.search import terms
from tests.conftest import SEED_2023, SEED_2024


@pytest.mark.parametrize(
    ("question", "labels"),
    [
        ("Who stars in What Comes After Love?", entities.PERSON),
        ("When does What Comes After Love come out?", entities.WHEN),
        ("How many episodes does the series have?", entities.NUMBER),
        ("Where was it filmed?", entities.PLACE),
        ("He is a valued member of which team?", entities.ORG),
        ("Which streaming service will air the drama?", entities.WATCH),
        ("Where can I stream The Late Lantern?", entities.WATCH),
        ("Harbor of Glass's director?", entities.PERSON),
        ("Director of Harbor of Glass?", entities.PERSON),
        ("Which country sent tanks?", entities.PLACE),
        ("Which film won Best Picture?", entities.WORK),
        ("Why did the show end?", frozenset()),
        ("Which singer-songwriter got a spooky surprise on stage?", entities.PERSON),
        ("Documents were found at the home of which high-profile Republican?", entities.PERSON),
    ],
)
def test_the_kind_of_answer_is_read_from_the_question(question, labels):
    assert entities.expected_labels(question) == labels


@pytest.mark.parametrize(
    ("demonym", "country"),
    [
        ("Velorians", "Veloria"),  # named in the retrieved sentences
        ("Morlander", "Morland"),
        ("South Korean", "South Korea"),
        ("Kastian", "Kastia"),  # not named anywhere: read by its ending
        ("Norwegians", "Norway"),  # irregular
        ("Swiss", "Switzerland"),
        ("Blorpish", None),  # no ending to read
    ],
)
def test_a_demonym_points_to_its_country(demonym, country):
    assert entities.country_of(demonym, ["Port Ardent", "Veloria", "Morland", "South Korea"]) == country


@pytest.mark.parametrize(
    ("sentence", "platforms"),
    [
        ("Tidewater will air on the Velorian channel VTV1 and stream on Lumen outside Veloria.", ["VTV1", "Lumen"]),
        ("It will be available to stream on its own app, Crestline Plus.", ["Crestline Plus"]),
        ("The streaming service Lumen has ordered the series.", ["Lumen"]),
        ("It aired on Sunday, February 2, on VTV1.", ["VTV1"]),
    ],
)
def test_where_a_show_is_watched_is_what_follows_on(sentence, platforms):
    assert entities.platforms_in(sentence) == platforms


def test_the_way_a_fan_types_does_not_change_what_the_question_names():
    typed = [
        "Who's the director of Harbor of Glass?",
        "Who is the director of Harbor of Glass?",
        "Harbor of Glass's director?",
    ]
    assert {frozenset(terms.question_terms(q)[0]) for q in typed} == {frozenset({"direct", "harbor", "glass"})}
    assert {frozenset(terms.question_terms(q)[1]) for q in typed} == {frozenset({"harbor", "glass"})}
    assert terms.question_terms("Netflix said what?")[1] == set()  # a first word alone is just capitalised


@pytest.mark.parametrize(
    ("question", "opening"),
    [
        (
            "Who composed the music for Harbor of Glass?",
            "The articles don't name who composed the music for Harbor of Glass",
        ),
        ("What is the title of the Ravel Twins' new album?", "The articles don't name the title"),
        ("Which streaming service carries Tidewater?", "The articles don't name the streaming service"),
        ("How much did Copper Bells make at the box office?", "The articles don't name the figure"),
        ("When did filming start?", "The articles don't name the date"),
    ],
)
def test_an_answer_the_articles_do_not_give_says_what_is_missing(question, opening):
    assert extractive.not_named(question) == opening


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Who directed the film?", "who"),
        ("Documents were found at the home of which high-profile Republican?", "who"),
        ("Jacinda Ardern has served as prime minister since when?", "when"),
        ("Title 42 is set to expire in which month?", "when"),
        ("Rapper Drake performed at which iconic venue?", "where"),
        ("How old is the actor?", "number"),
        ("Which airline will give miles to passengers who were stranded?", "other"),
        ("Which film won Best Picture?", "other"),
    ],
)
def test_the_kind_bonus_follows_the_question_word_wherever_it_stands(question, kind):
    """A relative "who" ("passengers who were stranded") does not make the question ask for a person."""
    assert evidence.answer_kind(question) == kind


def test_the_entity_the_question_names_is_not_its_answer():
    sentences = ["Damar Hamlin, a safety for the Buffalo Bills, collapsed on Monday.", "The Bills won."]
    best = entities.best_entities("Damar Hamlin plays for which team?", sentences, [1.0, 0.5], entities.ORG)
    assert [c.text for c in best] == ["the Buffalo Bills"]


def test_people_listed_together_are_answered_together():
    sentence = "Emma Stone and Ryan Gosling star in La La Land, which Damien Chazelle wrote and directed."
    best = entities.best_entities("Who stars in La La Land?", [sentence], [1.0], entities.PERSON)
    assert sorted(c.text for c in best) == ["Emma Stone", "Ryan Gosling"]
    best = entities.best_entities("Who directed La La Land?", [sentence], [1.0], entities.PERSON)
    assert [c.text for c in best] == ["Damien Chazelle"]


def test_a_name_written_in_either_order_is_one_answer():
    """Japanese and Korean names come in both orders; split, the votes for one person lost to another."""
    sentences = [
        "Korean actress Lee Se-young will play the lead.",
        "The drama stars Sakaguchi Kentaro as a novelist.",
        "Japanese actor Kentaro Sakaguchi will play the writer.",
    ]
    ranked = entities.rank_entities("Who plays the writer?", sentences, [1.0, 0.7, 0.7], entities.PERSON)
    assert [(c.text, c.sentences) for c in ranked] == [("Sakaguchi Kentaro", [1, 2]), ("Lee Se-young", [0])]
    assert entities.mentions("The drama stars Kentaro Sakaguchi.", "Sakaguchi Kentaro")
    assert not entities.mentions("The drama stars Kentaro Tanaka.", "Sakaguchi Kentaro")


def test_the_short_answer_cites_the_newest_report_that_names_them_in_either_order(corpus_bot):
    """The 2023 seed writes "Sakaguchi Kentaro", the 2024 one "Kentaro Sakaguchi": the newer report is cited."""
    answer = corpus_bot.ask("Who stars in What Comes After Love?")
    first = answer.answer.split(". ")[0]
    assert "Sakaguchi Kentaro" in first and "Lee Se-young" in first
    assert first.endswith("[1]") and answer.citations[0].article_id == SEED_2024


def test_a_short_answer_leads_and_cites_the_sentence_that_says_it(corpus_bot):
    answer = corpus_bot.ask("When does What Comes After Love come out?")
    assert answer.answer.startswith("Sept. 27 [1]. ")
    assert answer.citations[0].article_id == SEED_2024


def test_the_newest_report_leads_and_the_older_one_says_when(corpus_bot):
    """2024: slated for Sept. 27; 2023-07-25: in talks, filming in 2024. The story moved on."""
    answer = corpus_bot.ask("When does What Comes After Love come out?")
    assert [c.article_id for c in answer.citations] == [SEED_2024, SEED_2023]
    assert "[1] Earlier (2023-07-25): " in answer.answer
    assert answer.answer.index("Sept. 27. [1]") < answer.answer.index("Earlier (2023-07-25)")


def test_reports_of_different_dates_are_ordered_newest_first(embeddings):
    def doc(article_id: str, published: str, text: str) -> Document:
        meta = {"article_id": article_id, "title": "Midnight Harbor", "source": "Polygon", "url": "",
                "published": published, "start": 0, "score": 0.6}  # fmt: skip
        return Document(page_content=text, metadata=meta)

    older = doc("a", "2023-03-01", "Midnight Harbor will premiere in the autumn, its studio said in March.")
    newer = doc("b", "2023-10-18", "Midnight Harbor will premiere on November 3, its studio said on Wednesday.")
    answer = ExtractiveAnswerer(embeddings, 0.3)("When will Midnight Harbor premiere?", [older, newer])
    assert [c.article_id for c in answer.citations] == ["b", "a"]
    assert "Earlier (Polygon, 2023-03-01): Midnight Harbor will premiere in the autumn" in answer.answer


def test_sources_compared_in_the_question_are_shown_side_by_side(corpus_bot):
    answer = corpus_bot.ask("What did Polygon and The Independent say about Taylor Swift?")
    lines = answer.answer.split("\n")
    assert lines[0].startswith("The Independent - Life and Style (2023-") and lines[0].endswith("[1]")
    assert "Swift" in lines[0]
    assert lines[1] == "Polygon: none of the articles I found from it is about this."
    assert [c.source for c in answer.citations] == ["The Independent - Life and Style"]


def test_a_name_said_once_among_several_gets_no_short_answer():
    """Three people, one sentence each, none dominant: a guess, so no short line."""
    sentences = ["Ann Lee spoke at the gala on Friday.", "Bob Stone arrived at the gala late.", "Cara Diaz left early."]
    question = "Who hosted the gala?"
    assert entities.best_entities(question, sentences, [1.0, 0.9, 0.8], entities.PERSON) == []
    # said again in another sentence, the same name is worth a short line
    sentences.append("The evening belonged to Ann Lee, who hosted the gala.")
    best = entities.best_entities(question, sentences, [1.0, 0.9, 0.8, 0.9], entities.PERSON)
    assert [c.text for c in best] == ["Ann Lee"]


def test_newer_articles_get_the_recency_bonus_and_undated_ones_none():
    def doc(published: str) -> Document:
        return Document(page_content="x", metadata={"published": published})

    bonus = evidence.recency_bonus([doc("2023-10-18"), doc("2023-09-18"), doc(""), doc("2023-10"), doc("2024")])
    assert bonus["2024"] == 1.0  # the newest; a year counts from its first day
    days = (date(2024, 1, 1) - date(2023, 10, 18)).days
    assert bonus["2023-10-18"] == pytest.approx(math.exp(-days / evidence._RECENCY_DAYS))
    assert bonus["2023-10"] > bonus["2023-09-18"] > 0 and "" not in bonus


def test_the_lead_of_an_article_outranks_the_same_words_deep_in_another(embeddings):
    """News states its facts first: of two equal sentences, the one opening its article wins, even from the
    chunk retrieved second."""
    sentence = "Midnight Harbor stars Lee Se-young and Kentaro Sakaguchi as a couple in Seoul."

    def doc(article_id: str, start: int) -> Document:
        meta = {"article_id": article_id, "title": "Midnight Harbor", "source": "Polygon", "url": "",
                "published": "2023-10-18", "start": start, "score": 0.6}  # fmt: skip
        return Document(page_content=sentence, metadata=meta)

    answerer = ExtractiveAnswerer(embeddings, 0.3)
    ranked, _ = answerer.rank_sentences("Who stars in Midnight Harbor?", [doc("deep", 6000), doc("lead", 0)])
    assert [c.document.metadata["article_id"] for c in ranked] == ["lead", "deep"]
    assert ranked[0].features["lead"] == 1.0 and ranked[1].features["rank"] == 0.0


def test_a_sentence_that_asks_scores_below_one_that_tells(embeddings):
    answerer = ExtractiveAnswerer(embeddings, 0.3)
    meta = {"article_id": "a", "title": "", "source": "", "url": "", "published": "", "start": 0, "score": 0.6}
    text = "Will Midnight Harbor return for a second season? Midnight Harbor will return for a second season."
    ranked, _ = answerer.rank_sentences("Will Midnight Harbor return?", [Document(page_content=text, metadata=meta)])
    assert [c.text for c in ranked] == [
        "Midnight Harbor will return for a second season.",
        "Will Midnight Harbor return for a second season?",
    ]  # the asking one opens the article and is nearer the question in meaning, but it tells nothing
    assert ranked[1].features["question"] == 1.0 and ranked[0].features["question"] == 0.0


def test_a_newer_unrelated_article_does_not_answer_for_the_story_asked_about(embeddings):
    """A newer article's lead about another film names a director too; the answer stays on the story asked
    about."""

    def doc(article_id: str, published: str, title: str, text: str, score: float) -> Document:
        meta = {"article_id": article_id, "title": title, "source": "Polygon", "url": "", "published": published,
                "start": 0 if article_id == "other" else 2400, "score": score}  # fmt: skip
        return Document(page_content=text, metadata=meta)

    story = doc("story", "2024-01-10", "Japanese-Korean romances", "Romantic Anonymous began filming in March. "
                "The series, helmed by director Sho Tsukikawa, is set for Netflix in 2025.", 0.55)  # fmt: skip
    other = doc("other", "2024-03-02", "Festival awards", "The Zorblax Film Festival gave its top prize to "
                "director Mira Holt for the film Glass Orchard.", 0.35)  # fmt: skip
    answer = ExtractiveAnswerer(embeddings, 0.3)("Who is directing Romantic Anonymous?", [story, other])
    assert answer.answer.startswith("Sho Tsukikawa [1].")
    assert [c.article_id for c in answer.citations] == ["story"] and "Mira Holt" not in answer.answer


def test_a_release_question_gets_the_release_date_not_the_filming_date(corpus_bot):
    """ "... reportedly began filming in first quarter of 2024, and is set to be released on Netflix in 2025." """
    answer = corpus_bot.ask("When does Romantic Anonymous come out?")
    assert answer.short_answer == "2025 [1]" and answer.citations[0].article_id == SEED_2024


@pytest.mark.parametrize(
    ("text", "duration"), [("six years", True), ("two weeks", True), ("Sunday, February 2", False), ("2025", False)]
)
def test_a_when_question_is_not_answered_with_a_duration(text, duration):
    assert bool(entities._DURATION.match(text)) is duration
