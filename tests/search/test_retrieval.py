"""Retrieval capabilities, each shown on a small real corpus with the real model: take the capability away
and its test fails."""

from __future__ import annotations

import json

import pytest

from bot.chain import NewsBot
from bot.search.query import facets, find_outlets, parse_query
from bot.settings import Settings
from bot.store.indexing import ingest, refresh_keyword_index
from bot.store.keyword import KeywordIndex, fingerprint
from tests.conftest import CORPUS, SEED_2023, SEED_2024

FILLER = (
    "The evening drew a large crowd of fans and critics. Organisers said tickets sold out within hours. "
    "Reviews praised the staging, the lighting and the music."
)
ARTICLES = [
    # A rare name buried in an article about something else: words, not meaning, find it.
    {
        "id": "rare",
        "title": "Autumn food fair opens downtown",
        "published_at": "2023-10-02",
        "source": "The Verge",
        "body": "The autumn food fair opened with stalls from forty cities. Among the cooks was Quenteroo Vask, who "
        "served dumplings. " + FILLER,
    },
    {
        "id": "polygon",
        "title": "Midnight Harbor premiere dazzles",
        "published_at": "2023-10-10",
        "source": "Polygon",
        "body": "The premiere of the series Midnight Harbor took place in Los Angeles. " + FILLER,
    },
    {
        "id": "verge",
        "title": "Midnight Harbor premiere dazzles critics",
        "published_at": "2023-10-10",
        "source": "The Verge",
        "body": "The premiere of the series Midnight Harbor took place in Los Angeles on Monday. " + FILLER,
    },
    {
        "id": "lumen-oct",
        "title": "Lumen Festival announces lineup",
        "published_at": "2023-10-18",
        "source": "The Verge",
        "body": "The Lumen Festival announced its lineup, led by the band Copper Kites. " + FILLER,
    },
    {
        "id": "lumen-nov",
        "title": "Lumen Festival adds headliner",
        "published_at": "2023-11-20",
        "source": "The Verge",
        "body": "The Lumen Festival added the singer Ada Vale as a headliner. " + FILLER,
    },
    {
        "id": "tour-long",
        "title": "Glimmerstone tour diary",
        "published_at": "2023-09-01",
        "source": "Polygon",
        "body": " ".join(
            f"Night {i} of the Glimmerstone tour brought a new city and a new encore. {FILLER}" for i in range(12)
        ),
    },
    {
        "id": "tour-a",
        "title": "Glimmerstone tour adds dates",
        "published_at": "2023-09-05",
        "source": "Polygon",
        "body": "The Glimmerstone tour added dates in Europe. " + FILLER,
    },
    {
        "id": "tour-b",
        "title": "Glimmerstone tour sells out",
        "published_at": "2023-09-07",
        "source": "The Verge",
        "body": "Every date of the Glimmerstone tour sold out. " + FILLER,
    },
]


@pytest.fixture(scope="module")
def small_bot(tmp_path_factory, embeddings):
    folder = tmp_path_factory.mktemp("retrieval")
    (folder / "articles.jsonl").write_text("\n".join(json.dumps(a) for a in ARTICLES) + "\n", encoding="utf-8")
    for seed in (CORPUS / "seeds").iterdir():
        (folder / seed.name).write_text(seed.read_text(encoding="utf-8"), encoding="utf-8")
    settings = Settings(index=folder / "index", top_k=4)
    assert ingest([folder], settings, embeddings, progress=False).ok
    return NewsBot(settings, embeddings=embeddings)


def ids(documents) -> list[str]:
    return [d.metadata["article_id"] for d in documents]


def search(bot, question, as_of=None, **overrides):
    return bot.retriever.model_copy(update=overrides).search(question, as_of)[0]


def test_a_rare_name_is_found_by_keywords_where_meaning_misses_it(small_bot):
    question = "Which tour did Quenteroo Vask join?"  # the meaning points at the tour articles
    assert ids(search(small_bot, question, mode="bm25"))[0] == "id:rare"
    assert ids(search(small_bot, question, mode="hybrid"))[0] == "id:rare"
    assert ids(search(small_bot, question, mode="dense", use_metadata=False))[0] != "id:rare"


def test_an_outlet_named_in_the_question_filters(small_bot):
    question = "What did Polygon report about the Midnight Harbor premiere?"
    assert ids(search(small_bot, question))[0] == "id:polygon"
    assert ids(search(small_bot, question.replace("Polygon", "The Verge")))[0] == "id:verge"
    unfiltered = search(small_bot, question, use_metadata=False)
    assert {"id:polygon", "id:verge"} <= set(ids(unfiltered)[:2])


def test_a_publication_date_in_the_question_filters(small_bot):
    question = "What did the article published on October 18th say about the Lumen Festival?"
    assert ids(search(small_bot, question, as_of="2023-12-31"))[0] == "id:lumen-oct"
    later = "What did the article published on November 20, 2023 say about the Lumen Festival?"
    assert ids(search(small_bot, later))[0] == "id:lumen-nov"


def test_latest_prefers_the_newer_report(small_bot):
    assert ids(search(small_bot, "What is the latest Lumen Festival news?", as_of="2023-11-30"))[0] == "id:lumen-nov"


def test_as_of_excludes_what_was_published_later(small_bot):
    found = ids(search(small_bot, "Lumen Festival headliner", as_of="2023-11-01"))
    assert "id:lumen-nov" not in found and "id:lumen-oct" in found


def test_either_title_of_the_drama_finds_both_reports(small_bot):
    for title in ("Things That Come After Love", "What Comes After Love"):
        found = ids(search(small_bot, f"Who stars in {title}?"))
        assert {SEED_2023, SEED_2024} <= set(found[:3]), (title, found)


def test_at_most_two_chunks_of_one_article(small_bot):
    question = "Glimmerstone tour"
    capped = ids(search(small_bot, question, per_article=2, k=6))
    assert capped.count("id:tour-long") == 2 and {"id:tour-a", "id:tour-b"} <= set(capped)
    uncapped = ids(search(small_bot, question, per_article=0, k=6))
    assert uncapped.count("id:tour-long") == 4


def test_keyword_index_follows_the_store(small_bot, tmp_path, embeddings):
    settings = Settings(index=tmp_path / "index")
    articles = tmp_path / "a.jsonl"
    articles.write_text("\n".join(json.dumps(a) for a in ARTICLES[:3]) + "\n", encoding="utf-8")
    ingest([articles], settings, embeddings, progress=False)
    bot = NewsBot(settings, embeddings=embeddings)
    assert bot.retriever.keyword.stamp == fingerprint(bot.store.chunk_ids())
    articles.write_text(json.dumps(ARTICLES[1]) + "\n", encoding="utf-8")
    ingest([articles], settings, embeddings, prune=True, progress=False)
    saved = KeywordIndex.load(settings.index)
    assert saved.stamp == fingerprint(bot.store.chunk_ids()) and len(saved) == bot.store.count()
    assert {hit.chunk_id.split("|")[0] for hit in saved.search("Quenteroo dumplings", 5)} == set()
    # A keyword index left behind by an ingest that died before rebuilding it is rebuilt on open.
    (settings.index / "bm25.json").unlink()
    assert refresh_keyword_index(bot.store).stamp == saved.stamp


def test_reading_questions():
    outlets = ["The Verge", "TechCrunch", "The Age", "The Independent - Life and Style", "The Independent - Sports"]
    assert find_outlets("He was on the verge of tears at the age of 22", outlets) == set()
    assert find_outlets("according to the Verge and TechCrunch", outlets) == {"The Verge", "TechCrunch"}
    assert find_outlets("the report from The Independent - Life and Style", outlets) == {
        "The Independent - Life and Style"
    }
    from datetime import date

    intent = parse_query("the TechCrunch article published on October 18th", outlets, date(2023, 12, 31))
    assert intent.days == [date(2023, 10, 18)] and intent.sources == {"TechCrunch"}
    assert parse_query("What happened on October 18th?", outlets, date(2023, 12, 31)).days == []
    assert facets(
        "Which company, reported by TechCrunch, faces antitrust cases over search defaults, "
        "influencing app distribution markets, and impacting news publishers' revenue?"
    ) == [
        "faces antitrust cases over search defaults",
        "influencing app distribution markets",
        "impacting news publishers' revenue",
    ]
    assert facets("Who stars in What Comes After Love?") == []
