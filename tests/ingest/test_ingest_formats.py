"""Every input format becomes Articles with normalised metadata; bad input is named with its file and reason.

Offline and fast: no embedding model, only small files in tmp_path and the real files in ../shared.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bot.ingest import SUPPORTED, Article, discover, read_file
from bot.ingest.article import date_from_url, make_article, normalise_url, parse_date

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
SEEDS = SHARED / "seeds"
MULTIHOP = SHARED / "datasets" / "multihop-rag" / "articles.jsonl"
REALTIMEQA = SHARED / "datasets" / "realtimeqa-2023" / "corpus.jsonl"
HASH_ID = re.compile(r"^sha256:[0-9a-f]{20}$")
KNOWN = ", ".join(sorted(SUPPORTED))


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def read_ok(path: Path) -> list[Article]:
    result = read_file(path)
    assert result.errors == [], result.errors
    assert result.articles
    return result.articles


def read_one(path: Path) -> Article:
    articles = read_ok(path)
    assert len(articles) == 1, articles
    return articles[0]


def only_error(path: Path) -> str:
    """The file was unusable as a whole: no articles and exactly one error line."""
    result = read_file(path)
    assert result.articles == [], result.articles
    assert result.failed
    assert len(result.errors) == 1, result.errors
    return result.errors[0]


def meta(article: Article) -> dict:
    """Every normalised field except the body (checked separately) and the file path."""
    return {
        "id": article.id,
        "title": article.title,
        "url": article.url,
        "source": article.source,
        "published": article.published,
        "author": article.author,
        "category": article.category,
        "tags": article.tags,
    }


# --- plain text -----------------------------------------------------------------------------------


def test_txt_first_line_is_the_title_and_the_rest_the_body(tmp_path):
    path = write(
        tmp_path, "premiere.txt", "Film festival opens\n\nThe festival opened on Friday.\n\nTickets sold out.\n"
    )
    article = read_one(path)
    assert article.title == "Film festival opens"
    assert article.body == "The festival opened on Friday.\n\nTickets sold out."
    assert HASH_ID.match(article.id)
    assert (article.url, article.source, article.published, article.author, article.category, article.tags) == (
        "",
        "",
        "",
        "",
        "",
        (),
    )
    assert article.path == str(path)


def test_txt_leading_date_marker_becomes_published(tmp_path):
    path = write(tmp_path, "dated.txt", " date 2023-07-25 Casting news\nThe actress is reviewing the offer.\n")
    article = read_one(path)
    assert (article.title, article.body, article.published) == (
        "Casting news",
        "The actress is reviewing the offer.",
        "2023-07-25",
    )


def test_txt_first_line_that_is_a_paragraph_keeps_all_its_words_in_the_body(tmp_path):
    text = "The drama was confirmed on Monday. Filming starts next year in Seoul and Tokyo."
    article = read_one(write(tmp_path, "paragraph.txt", f"date 2023-07-25 {text}\n"))
    assert article.title == "The drama was confirmed on Monday."
    assert article.body == text
    assert article.published == "2023-07-25"


def test_txt_real_seed_with_date_marker_and_paragraph_first_line():
    path = SEEDS / "004_d2598d121b673ebe.txt"
    assert path.read_text(encoding="utf-8").startswith(" date 2023-07-25 On July 25, 2023, ")
    article = read_one(path)
    assert article.published == "2023-07-25"
    # The first sentence is longer than a title may be: it is cut at a word and marked.
    assert article.title == (
        "On July 25, 2023, the South Korean media outlet, Newsen, reported that Lee Se-young and Sakaguchi "
        "Kentaro are reportedly in talks to star in the upcoming drama Things That Come After Love, based on…"
    )
    # Nothing of the first line is lost: the body starts right after the marker.
    assert article.body.startswith(
        "On July 25, 2023, the South Korean media outlet, Newsen, reported that Lee Se-young and Sakaguchi "
        "Kentaro are reportedly in talks to star in the upcoming drama Things That Come After Love, based on "
        "the best-selling novel of the same name. Prain TPC, the agency"
    )
    assert "date 2023-07-25" not in article.body
    assert "\n\nHowever, no final decision has been made yet." in article.body
    assert HASH_ID.match(article.id)
    assert (article.url, article.source, article.author) == ("", "", "")


def test_txt_real_seed_without_marker_has_no_date():
    article = read_one(SEEDS / "000_a4473a96e4f5caf0.txt")
    assert article.published == ""
    assert article.title == (
        "Dramas depicting intercultural romances between Japanese and Korean characters are all the rage "
        "right now, amid efforts to draw in a broader audience and leverage larger production budgets, "
        "according…"
    )
    assert article.body.startswith("Dramas depicting intercultural romances between Japanese and Korean")


# --- markdown -------------------------------------------------------------------------------------

FRONT_MATTER_MD = """---
title: "Eras Tour film breaks records"
source: Variety
url: https://variety.com/2023/film/box-office/eras-tour-1235759000/?utm_source=newsletter&utm_medium=email#comments
published: 2023-10-18
author: Jane Reporter
category: Film
tags: [Taylor Swift, box office]
---
The concert film earned 96 million dollars.

Analysts called it a record.
"""


def test_md_front_matter_fields(tmp_path):
    article = read_one(write(tmp_path, "eras.md", FRONT_MATTER_MD))
    url = "https://variety.com/2023/film/box-office/eras-tour-1235759000/"
    assert meta(article) == {
        "id": url,
        "title": "Eras Tour film breaks records",
        "url": url,
        "source": "Variety",
        "published": "2023-10-18",
        "author": "Jane Reporter",
        "category": "film",
        "tags": ("Taylor Swift", "box office"),
    }
    assert article.body == "The concert film earned 96 million dollars.\n\nAnalysts called it a record."


def test_md_front_matter_with_explicit_id_datetime_and_bare_year(tmp_path):
    with_id = write(tmp_path, "a.md", "---\nid: seed-1\ntitle: T\npublished: 2023-10-18T23:30:00+02:00\n---\nBody\n")
    assert (read_one(with_id).id, read_one(with_id).published) == ("id:seed-1", "2023-10-18")
    # Unquoted, YAML reads 2024 as a number: it is a year, not 2024 seconds after 1970.
    bare_year = write(tmp_path, "b.md", "---\ntitle: T\npublished: 2024\ntags: awards, oscars\n---\nBody\n")
    article = read_one(bare_year)
    assert (article.published, article.published_ts, article.tags) == ("2024", 1704067200, ("awards", "oscars"))


def test_md_without_front_matter_takes_the_title_from_a_leading_heading(tmp_path):
    article = read_one(write(tmp_path, "heading.md", "# Band announces reunion tour\n\nTwenty dates.\n\nMore.\n"))
    assert article.title == "Band announces reunion tour"
    assert article.body == "Twenty dates.\n\nMore."
    assert HASH_ID.match(article.id)
    assert (article.url, article.source, article.published) == ("", "", "")


def test_md_heading_after_text_is_not_the_title(tmp_path):
    article = read_one(write(tmp_path, "later.md", "Intro line.\n\n# Later heading\n\nMore.\n"))
    assert (article.title, article.body) == ("Intro line.", "Intro line.\n\n# Later heading\n\nMore.")


def test_md_windows_line_endings(tmp_path):
    article = read_one(write(tmp_path, "crlf.md", b"---\r\ntitle: T\r\n---\r\nBody\r\n\r\nMore\r\n"))
    assert (article.title, article.body) == ("T", "Body\n\nMore")


# --- JSON and JSON Lines --------------------------------------------------------------------------

NEWSAPI_RECORD = {
    "source": {"id": "the-verge", "name": "The Verge"},
    "author": "David Pierce",
    "title": "Apple defends Google Search deal in court",
    "description": "A short summary.",
    "url": "https://www.theverge.com/2023/9/26/23891037/apple-eddy-cue?utm_source=newsapi&page=2#comments",
    "urlToImage": "https://cdn.example.com/image.jpg",
    "publishedAt": "2023-09-26T17:01:22Z",
    "content": "The Justice Department is focused on the deals Google makes.",
}
NEWSAPI_META = {
    "id": "https://www.theverge.com/2023/9/26/23891037/apple-eddy-cue?page=2",
    "title": "Apple defends Google Search deal in court",
    "url": "https://www.theverge.com/2023/9/26/23891037/apple-eddy-cue?page=2",
    "source": "The Verge",
    "published": "2023-09-26",
    "author": "David Pierce",
    "category": "",
    "tags": (),
}
OTHER_RECORD = {
    "id": 42,
    "headline": "Singer wins award",
    "text": "The singer won the award on Wednesday.",
    "date": "October 18, 2023",
    "section": "Music",
    "keywords": "awards, pop,, ",
    "byline": ["Ann One", "Bob Two"],
}
OTHER_META = {
    "id": "id:42",
    "title": "Singer wins award",
    "url": "",
    "source": "",
    "published": "2023-10-18",
    "author": "Ann One, Bob Two",
    "category": "music",
    "tags": ("awards", "pop"),
}


def test_json_single_newsapi_object(tmp_path):
    article = read_one(write(tmp_path, "one.json", json.dumps(NEWSAPI_RECORD)))
    assert meta(article) == NEWSAPI_META
    assert article.body == "The Justice Department is focused on the deals Google makes."  # content before description


def test_json_list_of_records(tmp_path):
    articles = read_ok(write(tmp_path, "list.json", json.dumps([NEWSAPI_RECORD, OTHER_RECORD])))
    assert [meta(a) for a in articles] == [NEWSAPI_META, OTHER_META]
    assert articles[1].body == "The singer won the award on Wednesday."


def test_json_articles_wrapper(tmp_path):
    response = {"status": "ok", "totalResults": 2, "articles": [NEWSAPI_RECORD, OTHER_RECORD]}
    articles = read_ok(write(tmp_path, "newsapi.json", json.dumps(response)))
    assert [meta(a) for a in articles] == [NEWSAPI_META, OTHER_META]


def test_json_body_given_as_a_list_of_paragraphs(tmp_path):
    record = {"title": "T", "body": ["First paragraph.", "Second paragraph."]}
    assert read_one(write(tmp_path, "paras.json", json.dumps(record))).body == "First paragraph.\n\nSecond paragraph."


def test_jsonl_records_and_blank_lines(tmp_path):
    lines = [json.dumps(NEWSAPI_RECORD), "", json.dumps(OTHER_RECORD), "   "]
    articles = read_ok(write(tmp_path, "feed.jsonl", "\n".join(lines) + "\n"))
    assert [meta(a) for a in articles] == [NEWSAPI_META, OTHER_META]


def test_ndjson_is_json_lines(tmp_path):
    assert meta(read_one(write(tmp_path, "one.ndjson", json.dumps(OTHER_RECORD) + "\n"))) == OTHER_META


def test_multihop_rag_articles_all_read():
    result = read_file(MULTIHOP)
    assert result.errors == []
    assert len(result.articles) == 326
    assert len({a.id for a in result.articles}) == 326
    first = result.articles[0]
    url = "https://www.theverge.com/2023/9/26/23891037/apple-eddy-cue-testimony-us-google"
    assert meta(first) == {
        "id": url,
        "title": "Apple defends Google Search deal in court: ‘There wasn’t a valid alternative’",
        "url": url,
        "source": "The Verge",
        "published": "2023-09-26",
        "author": "David Pierce",
        "category": "technology",
        "tags": (),
    }
    assert first.body.startswith("The Justice Department is focused on the deals Google makes")
    # Tracking parameters go, other query parameters stay; published_at wins over the date in the URL.
    second = result.articles[1]
    assert second.id == (
        "https://www.theage.com.au/technology/"
        "is-google-search-better-than-the-rest-and-is-that-fair-20231012-p5ebsk.html?ref=rss"
    )
    assert (second.source, second.published) == ("The Age", "2023-10-22")
    assert all(a.published for a in result.articles)


def test_realtimeqa_corpus_all_read_with_dates_from_urls():
    result = read_file(REALTIMEQA)
    assert result.errors == []
    assert len(result.articles) == 6732
    first = result.articles[0]
    url = (
        "https://www.usatoday.com/story/sports/nfl/2023/01/05/"
        "damar-hamlin-health-updates-what-we-know-thursday/10991034002/"
    )
    assert meta(first) == {
        "id": url,  # the URL wins over the record's own "id": "rtqa-0"
        "title": "Damar Hamlin updates: Buffalo Bills player asked in writing if team ...",
        "url": url,
        "source": "usatoday.com",
        "published": "2023-01-05",  # the records have no date field: it comes from /2023/01/05/
        "author": "",
        "category": "",
        "tags": (),
    }
    assert first.body.startswith("Editor's note: On Friday morning")
    assert sum(1 for a in result.articles if a.published) == 6388
    # Two records differ only by utm_* parameters: they are one story with one id.
    assert len({a.id for a in result.articles}) == 6731


# --- HTML -----------------------------------------------------------------------------------------

PAGE = """<!DOCTYPE html>
<html lang="en"><head>
<meta charset="utf-8">
<title>Taylor Swift concert film breaks records | Example News</title>
<meta property="og:title" content="Taylor Swift concert film breaks records">
<meta property="og:site_name" content="Example News">
<meta property="article:published_time" content="2023-10-18T10:00:00Z">
<meta name="author" content="Jane Reporter">
<link rel="canonical" href="https://news.example.com/2023/10/18/taylor-swift-eras-film/?utm_source=twitter">
</head><body>
<header><nav><ul>
<li><a href="/">Home</a></li><li><a href="/music">Music</a></li><li><a href="/subscribe">Subscribe now</a></li>
</ul></nav></header>
<main><article>
<h1>Taylor Swift concert film breaks records</h1>
<p>The Eras Tour concert film earned an estimated 96 million dollars in its opening weekend in North America,
setting a record for a concert film release in October.</p>
<p>AMC Theatres, which distributed the film, said advance ticket sales had already passed 100 million dollars
worldwide before the premiere in Los Angeles last week.</p>
<p>Industry analysts said the result showed that event releases could draw large audiences to cinemas during a
slow autumn season for studio films.</p>
</article></main>
<footer><p>Copyright 2023 Example News. All rights reserved.</p><a href="/privacy">Privacy policy</a></footer>
</body></html>
"""


@pytest.mark.parametrize("suffix", [".html", ".htm"])
def test_html_page_main_text_and_metadata(tmp_path, suffix):
    article = read_one(write(tmp_path, f"page{suffix}", PAGE))
    url = "https://news.example.com/2023/10/18/taylor-swift-eras-film/"
    assert meta(article) == {
        "id": url,
        "title": "Taylor Swift concert film breaks records",
        "url": url,
        "source": "Example News",
        "published": "2023-10-18",
        "author": "Jane Reporter",
        "category": "",
        "tags": (),
    }
    body = " ".join(article.body.split())
    for sentence in (
        "The Eras Tour concert film earned an estimated 96 million dollars in its opening weekend",
        "said advance ticket sales had already passed 100 million dollars worldwide",
        "slow autumn season for studio films.",
    ):
        assert sentence in body
    for boilerplate in ("Home", "Subscribe now", "Copyright", "All rights reserved", "Privacy policy"):
        assert boilerplate not in body


# --- feeds ----------------------------------------------------------------------------------------

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>
<title>Example Entertainment</title><link>https://ent.example.com/</link><description>News</description>
<item>
<title>Film festival opens with premiere</title>
<link>https://ent.example.com/2023/10/film-festival-opens?utm_source=rss#top</link>
<guid isPermaLink="false">ent-101</guid>
<pubDate>Wed, 18 Oct 2023 09:30:00 GMT</pubDate>
<dc:creator>Jane Critic</dc:creator>
<category>Film</category><category>Festivals</category>
<description><![CDATA[<p>The festival <b>opened</b> on Wednesday.</p><p>Tickets sold out.</p>]]></description>
</item>
<item>
<title>Second story</title>
<link>https://ent.example.com/second</link>
<pubDate>Thu, 19 Oct 2023 23:30:00 -0500</pubDate>
<author>desk@example.com (News Desk)</author>
<description>Plain text summary.</description>
</item>
</channel></rss>
"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
<title>Atom Music News</title>
<link href="https://music.example.org/"/>
<updated>2023-10-20T08:00:00Z</updated>
<id>urn:uuid:feed-1</id>
<entry>
<title>Band announces reunion tour</title>
<link rel="alternate" href="https://music.example.org/news/reunion-tour"/>
<id>urn:uuid:entry-1</id>
<updated>2023-10-20T08:00:00Z</updated>
<author><name>Sam Writer</name></author>
<category term="music"/><category term="tours"/>
<content type="html">&lt;p&gt;The band will play &lt;em&gt;twenty&lt;/em&gt; dates.&lt;/p&gt;&lt;p&gt;Tickets on sale Friday.&lt;/p&gt;</content>
</entry>
<entry>
<title>Entry without a link</title>
<id>urn:uuid:entry-2</id>
<published>2023-10-19T08:00:00Z</published>
<summary>Just a summary.</summary>
</entry>
</feed>
"""


@pytest.mark.parametrize("name", ["news.rss", "news.xml", "news.txt"])
def test_rss_items_become_articles(tmp_path, name):
    first, second = read_ok(write(tmp_path, name, RSS))
    assert meta(first) == {
        "id": "https://ent.example.com/2023/10/film-festival-opens",
        "title": "Film festival opens with premiere",
        "url": "https://ent.example.com/2023/10/film-festival-opens",
        "source": "Example Entertainment",
        "published": "2023-10-18",
        "author": "Jane Critic",
        "category": "film",
        "tags": ("Film", "Festivals"),
    }
    assert first.body == "The festival opened on Wednesday. Tickets sold out."  # HTML converted to text
    assert meta(second) == {
        "id": "https://ent.example.com/second",
        "title": "Second story",
        "url": "https://ent.example.com/second",
        "source": "Example Entertainment",
        "published": "2023-10-20",  # feedparser gives pubDate in UTC
        "author": "desk@example.com (News Desk)",  # RSS <author> as written, e-mail included
        "category": "",
        "tags": (),
    }
    assert second.body == "Plain text summary."


def test_atom_entries_become_articles(tmp_path):
    first, second = read_ok(write(tmp_path, "music.atom", ATOM))
    assert meta(first) == {
        "id": "https://music.example.org/news/reunion-tour",
        "title": "Band announces reunion tour",
        "url": "https://music.example.org/news/reunion-tour",
        "source": "Atom Music News",
        "published": "2023-10-20",
        "author": "Sam Writer",
        "category": "music",
        "tags": ("music", "tours"),
    }
    assert first.body == "The band will play twenty dates. Tickets on sale Friday."
    # No link: the entry id is an id, not a URL to cite.
    assert meta(second) == {
        "id": "id:urn:uuid:entry-2",
        "title": "Entry without a link",
        "url": "",
        "source": "Atom Music News",
        "published": "2023-10-19",
        "author": "",
        "category": "",
        "tags": (),
    }
    assert second.body == "Just a summary."


def test_feed_entry_without_text_is_reported_and_the_others_kept(tmp_path):
    rss = RSS.replace("<description>Plain text summary.</description>", "")
    path = write(tmp_path, "partial.rss", rss)
    result = read_file(path)
    assert [a.title for a in result.articles] == ["Film festival opens with premiere"]
    assert result.errors == [f"{path} entry 2: no article text (expected a body, text or content field)"]


# --- ids ------------------------------------------------------------------------------------------


def test_id_is_the_normalised_url_when_there_is_one():
    article = make_article(
        body="b",
        url="HTTPS://WWW.Example.COM/News/Story?utm_source=x&b=1&UTM_Medium=y&fbclid=z#part-2",
        external_id="7",
    )
    assert article.id == article.url == "https://www.example.com/News/Story?b=1"
    assert article.source == "example.com"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://x.com/a?utm_source=rss&utm_campaign=c", "https://x.com/a"),
        ("https://x.com/a?gclid=1&mc_cid=2&mc_eid=3&id=9", "https://x.com/a?id=9"),
        ("https://x.com/a#comments", "https://x.com/a"),
        ("https://x.com/story.php?1001", "https://x.com/story.php?1001"),  # a key without value is kept
        ("https://x.com/a?q=a%20b&flag=", "https://x.com/a?q=a%20b&flag="),  # kept as written
        ("  https://x.com/a  ", "https://x.com/a"),
        ("not a url", "not a url"),
        ("", ""),
    ],
)
def test_normalise_url(url, expected):
    assert normalise_url(url) == expected


def test_distinct_query_only_urls_stay_distinct():
    assert normalise_url("https://x.com/story.php?1001") != normalise_url("https://x.com/story.php?1002")


def test_id_is_the_explicit_id_without_a_url(tmp_path):
    record = {"id": "abc-123", "title": "T", "body": "B"}
    assert read_one(write(tmp_path, "id.json", json.dumps(record))).id == "id:abc-123"
    assert make_article(body="B", external_id=" abc  123 ").id == "id:abc 123"


def test_id_is_a_stable_content_hash_otherwise(tmp_path):
    one = read_one(write(tmp_path, "one.txt", "Same title\nSame body.\n"))
    again = read_one(write(tmp_path / "elsewhere", "copy.txt", "Same title\nSame body.\n"))
    other_body = read_one(write(tmp_path, "two.txt", "Same title\nOther body.\n"))
    other_title = read_one(write(tmp_path, "three.txt", "Other title\nSame body.\n"))
    assert HASH_ID.match(one.id)
    assert one.id == again.id == make_article(title="Same title", body="Same body.").id
    assert len({one.id, other_body.id, other_title.id}) == 3
    # Pinned: changing the hash would give every stored article a new id.
    assert one.id == "sha256:882f97635c2fb1d39242"


# --- dates ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.usatoday.com/story/sports/nfl/2023/01/05/damar-hamlin/10991034002/", "2023-01-05"),
        ("https://www.theverge.com/2023/9/26/23891037/apple", "2023-09-26"),
        ("https://www.theage.com.au/technology/is-google-better-20231012-p5ebsk.html", "2023-10-12"),
        ("https://example.com/news/2023-10-18-premiere", "2023-10-18"),
        ("https://example.com/2023/10/premiere-night", "2023-10"),
        ("https://example.com/a/2023/02/30/b", "2023-02"),  # no such day: month precision
        ("https://example.com/a/2023/13/40/b", ""),
        ("https://example.com/story/10991034002/", ""),
        ("https://example.com/?date=2023/01/05/", ""),  # only the path counts
        ("", ""),
    ],
)
def test_date_from_url(url, expected):
    assert date_from_url(url) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2023-10-18T10:00:00Z", "2023-10-18"),
        ("2023-10-18T10:00:00+02:00", "2023-10-18"),
        ("2023-10-18T23:30:00-05:00", "2023-10-18"),  # the date as written, not converted to UTC
        ("2023-10-18", "2023-10-18"),
        ("October 18, 2023", "2023-10-18"),
        ("18 October 2023", "2023-10-18"),
        ("Wed, 18 Oct 2023 09:30:00 GMT", "2023-10-18"),
        ("2024", "2024"),
        ("2023-10", "2023-10"),
        (" 2024 ", "2024"),
        (2024, "2024"),
        (1697623200, "2023-10-18"),
        (1697623200000, "2023-10-18"),
        ("2023-13", ""),
        ("2023-02-30", ""),
        ("1697623200", "2023-10-18"),
        ("18 octobre 2023", "2023-10-18"),
        ("garbage", ""),
        ("not a date at all", ""),
        # Nothing that would be filled in from today's clock:
        ("N/A", ""),
        ("n/a", ""),
        ("yesterday", ""),
        ("2 days ago", ""),
        ("Monday", ""),
        ("October 18", ""),
        ("12", ""),
        ("", ""),
        (None, ""),
    ],
)
def test_parse_date(value, expected):
    assert parse_date(value) == expected


def test_published_falls_back_to_the_url_date():
    article = make_article(body="b", url="https://x.com/2023/10/story", published="garbage")
    assert (article.published, article.published_ts) == ("2023-10", 1696118400)
    assert make_article(body="b", url="https://x.com/2023/01/05/s", published="2022-12-31").published == "2022-12-31"
    assert make_article(body="b", url="https://x.com/2023/01/05/s", published="N/A").published == "2023-01-05"


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize("content", [b"", b"  \n\t\r\n  ", b"\xef\xbb\xbf  \n"], ids=["empty", "whitespace", "bom"])
def test_empty_files(tmp_path, content):
    path = write(tmp_path, "empty.txt", content)
    assert only_error(path) == f"{path}: the file is empty"


def test_binary_file(tmp_path):
    path = write(tmp_path, "photo.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00")
    assert only_error(path) == f"{path}: binary file (contains NUL bytes), not text"


def test_malformed_json_names_line_and_column(tmp_path):
    path = write(tmp_path, "broken.json", '{"title": "a",\n  "body": }\n')
    assert only_error(path) == f"{path}: invalid JSON at line 2 column 11: Expecting value"


@pytest.mark.parametrize(
    ("content", "reason"),
    [("[]", "the JSON list holds no articles"), ("42", "expected a JSON object or a list of objects, got int")],
)
def test_json_without_records(tmp_path, content, reason):
    path = write(tmp_path, "odd.json", content)
    assert only_error(path) == f"{path}: {reason}"


def test_jsonl_bad_line_among_good_ones(tmp_path):
    lines = [json.dumps(NEWSAPI_RECORD), "", '{"title": "broken",', json.dumps(OTHER_RECORD)]
    path = write(tmp_path, "mixed.jsonl", "\n".join(lines) + "\n")
    result = read_file(path)
    assert [meta(a) for a in result.articles] == [NEWSAPI_META, OTHER_META]
    assert result.errors == [f"{path}:3: invalid JSON at column 20: Expecting property name enclosed in double quotes"]
    assert not result.failed


def test_jsonl_with_only_bad_lines(tmp_path):
    path = write(tmp_path, "bad.jsonl", '{"title": "no text"}\n[1, 2]\n')
    assert only_error(path) == (
        f"{path}: no valid article (2 bad records; first: {path}:1: no article text "
        "(expected a body, text or content field))"
    )


def test_json_record_without_a_text_field(tmp_path):
    path = write(tmp_path, "notext.json", json.dumps({"title": "Only a title", "url": "https://x.com/a"}))
    assert only_error(path) == (
        f"{path}: no valid article (1 bad records; first: {path} item 1: no article text "
        "(expected a body, text or content field))"
    )
    mixed = write(tmp_path, "mixed.json", json.dumps([{"title": "T", "body": "B"}, {"title": "Only a title"}]))
    result = read_file(mixed)
    assert [a.title for a in result.articles] == ["T"]
    assert result.errors == [f"{mixed} item 2: no article text (expected a body, text or content field)"]


def test_json_text_field_of_the_wrong_type(tmp_path):
    path = write(tmp_path, "number.json", json.dumps({"title": "T", "body": 123}))
    assert only_error(path) == (
        f"{path}: no valid article (1 bad records; first: {path} item 1: field for the article text must be a string)"
    )


def test_malformed_yaml_front_matter(tmp_path):
    path = write(tmp_path, "broken.md", "---\ntitle: [unclosed\n---\nBody\n")
    assert only_error(path) == (
        f'{path}: malformed YAML front matter: while parsing a flow sequence in "<unicode string>", line 2, '
        "column 8 did not find expected ',' or ']' in \"<unicode string>\", line 3, column 1"
    )


@pytest.mark.parametrize(
    ("front", "kind"), [("- a\n- b", "list"), ("A short intro paragraph.", "str")], ids=["list", "prose"]
)
def test_front_matter_that_is_not_a_mapping_is_reported_not_dropped(tmp_path, front, kind):
    path = write(tmp_path, "odd.md", f"---\n{front}\n---\nThe body.\n")
    assert only_error(path) == f"{path}: front matter must be a mapping of fields, got {kind}"


def test_markdown_with_front_matter_but_no_body(tmp_path):
    path = write(tmp_path, "meta-only.md", "---\ntitle: Only meta\n---\n")
    assert only_error(path) == f"{path}: no article text (expected a body, text or content field)"


def test_xml_that_is_not_a_feed(tmp_path):
    path = write(tmp_path, "config.xml", '<?xml version="1.0"?><config><a>1</a></config>')
    assert only_error(path) == f"{path}: XML file is not an RSS or Atom feed"


def test_feed_without_entries(tmp_path):
    path = write(
        tmp_path, "empty.rss", '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
    )
    assert only_error(path) == f"{path}: not an RSS/Atom feed with entries"


@pytest.mark.parametrize(
    "page",
    [
        "<html><head><title>Nothing here</title></head><body></body></html>",
        "<html><head><title>App</title></head><body><div id='root'></div><script>render()</script></body></html>",
    ],
    ids=["empty-body", "script-only"],
)
def test_html_without_article_text(tmp_path, page):
    path = write(tmp_path, "empty.html", page)
    assert only_error(path) == f"{path}: no article text found in the HTML page"


def test_discover_reports_unsupported_and_missing_paths(tmp_path):
    good = write(tmp_path, "good.txt", "T\nB\n")
    image = write(tmp_path, "photo.png", b"\x89PNG")
    bare = write(tmp_path, "Makefile", "all:\n")
    missing = tmp_path / "nope.txt"
    files, errors = discover([image, missing, good, bare, str(good)])
    assert files == [good.resolve()]  # the same file twice is read once
    assert errors == [
        f"{image}: unsupported file type '.png' (supported: {KNOWN})",
        f"{missing}: no such file or folder",
        f"{bare}: unsupported file type '(none)' (supported: {KNOWN})",
    ]


def test_discover_names_paths_that_are_neither_file_nor_folder():
    assert discover(["/dev/null"]) == ([], ["/dev/null: not a regular file or folder"])


def test_folder_walk_skips_hidden_and_housekeeping_files(tmp_path):
    for name in [
        "a.txt",
        "b.md",
        "sub/c.json",
        "sub/deep/d.jsonl",
        "README.md",
        "LICENSE.txt",
        "sub/NOTICE.md",
        "sub/readme.txt",
        "CHANGELOG.md",
        ".hidden.txt",
        ".git/objects.txt",
        "sub/.cache/e.json",
        "image.png",
        "notes.csv",
    ]:
        write(tmp_path, name, "x\n")
    files, errors = discover([tmp_path])
    root = tmp_path.resolve()
    assert files == [root / "a.txt", root / "b.md", root / "sub/c.json", root / "sub/deep/d.jsonl"]
    assert errors == []
    # Named explicitly, a README is read like any other file.
    assert discover([tmp_path / "README.md"]) == ([root / "README.md"], [])


def test_folder_walk_reads_what_it_finds(tmp_path):
    write(tmp_path, "a.txt", "Title A\nBody A.\n")
    write(tmp_path, "b.json", json.dumps(OTHER_RECORD))
    write(tmp_path, "README.md", "# About this folder\n\nNot an article.\n")
    files, _ = discover([tmp_path])
    titles = [a.title for path in files for a in read_ok(path)]
    assert titles == ["Title A", "Singer wins award"]


# --- encodings ------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
def test_legacy_western_encodings_are_decoded(tmp_path, encoding):
    text = "Café owner wins prize\n\nThe café in Zürich, run by José Núñez, won the prize for crème brûlée.\n"
    article = read_one(write(tmp_path, "legacy.txt", text.encode(encoding)))
    assert article.title == "Café owner wins prize"
    assert article.body == "The café in Zürich, run by José Núñez, won the prize for crème brûlée."


def test_cp1252_typographic_punctuation_is_decoded(tmp_path):
    text = "“Quoted” title – with dash\n\nBody — em dash, ‘single’ quotes and the € sign.\n"
    article = read_one(write(tmp_path, "smart.txt", text.encode("cp1252")))
    assert (article.title, article.body) == (
        "“Quoted” title – with dash",
        "Body — em dash, ‘single’ quotes and the € sign.",
    )


def test_other_legacy_encoding_is_not_forced_to_cp1252(tmp_path):
    text = "Новости кино\n\nФильм вышел в прокат в пятницу и собрал много денег.\n"
    article = read_one(write(tmp_path, "cyrillic.txt", text.encode("cp1251")))
    assert (article.title, article.body) == ("Новости кино", "Фильм вышел в прокат в пятницу и собрал много денег.")


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-be-bom", "utf-32"])
def test_unicode_files_with_a_byte_order_mark(tmp_path, encoding):
    text = "Café title\n\nBody with é.\n"
    data = ("\ufeff" + text).encode("utf-16-be") if encoding == "utf-16-be-bom" else text.encode(encoding)
    article = read_one(write(tmp_path, "bom.txt", data))
    assert (article.title, article.body) == ("Café title", "Body with é.")
