"""RSS and Atom feed files: each entry becomes an article."""

import time
from pathlib import Path

import feedparser
import trafilatura

from .article import Article, IngestError, make_article


def looks_like_feed(text: str) -> bool:
    head = text.lstrip()[:2000].lower()
    return (
        head.startswith("<?xml")
        and ("<rss" in head or "<feed" in head or "<rdf:rdf" in head)
        or (head.startswith("<rss") or head.startswith("<feed"))
    )


def _html_text(fragment: str) -> str:
    # html2txt returns "" for a bare fragment such as "<p>...</p>": it only reads a document's <body>.
    return trafilatura.html2txt(f"<html><body>{fragment}</body></html>")


def _entry_text(entry) -> str:
    for part in entry.get("content") or []:
        if part.get("value"):
            return _html_text(part["value"]) if "html" in part.get("type", "html") else part["value"]
    summary = entry.get("summary") or entry.get("description") or ""
    return _html_text(summary) if "<" in summary else summary


def _entry_date(entry) -> object:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        if entry.get(key):
            return time.strftime("%Y-%m-%d", entry[key])
    return entry.get("published") or entry.get("updated") or ""


def read_feed(path: Path, text: str) -> tuple[list[Article], list[str]]:
    parsed = feedparser.parse(text)
    if not parsed.entries:
        reason = f": {parsed.bozo_exception}" if parsed.get("bozo") else ""
        raise IngestError(f"{path}: not an RSS/Atom feed with entries{reason}")
    feed_title = parsed.feed.get("title", "")
    articles, errors = [], []
    for number, entry in enumerate(parsed.entries, 1):
        where = f"{path} entry {number}"
        try:
            articles.append(
                make_article(
                    title=entry.get("title", ""),
                    body=_entry_text(entry),
                    # feedparser copies an entry's id into a missing link, even a "urn:uuid:..." that is no URL
                    url=entry.get("link", "") if entry.get("link", "").startswith(("http://", "https://")) else "",
                    source=entry.get("source", {}).get("title") or feed_title,
                    published=_entry_date(entry),
                    author=entry.get("author", ""),
                    category=(entry.get("tags") or [{}])[0].get("term", ""),
                    tags=[tag.get("term", "") for tag in entry.get("tags") or []],
                    external_id=entry.get("id", ""),
                    path=str(path),
                    where=where,
                )
            )
        except IngestError as error:
            errors.append(str(error))
    if not articles:
        raise IngestError(f"{path}: no feed entry has any text ({errors[0]})")
    return articles, errors
