"""A saved web page: trafilatura finds the main text, title, date and canonical URL."""

from pathlib import Path

import trafilatura

from .article import Article, IngestError, make_article


def read_html(path: Path, text: str) -> list[Article]:
    extracted = trafilatura.bare_extraction(text, with_metadata=True, include_comments=False, favor_recall=True)
    document = extracted.as_dict() if extracted is not None else None
    if not document or not (document.get("text") or "").strip():
        raise IngestError(f"{path}: no article text found in the HTML page")
    categories = document.get("categories") or []
    return [
        make_article(
            title=document.get("title") or "",
            body=document["text"],
            url=document.get("url") or "",
            source=document.get("sitename") or "",
            published=document.get("date") or "",
            author=document.get("author") or "",
            category=categories[0] if categories else "",
            tags=document.get("tags") or (),
            path=str(path),
            where=str(path),
        )
    ]
