"""Markdown with optional YAML front matter (title, source, url, published, author, tags, category)."""

import re
from pathlib import Path

import frontmatter
import yaml

from .article import Article, IngestError, make_article

_HEADING = re.compile(r"^\s*#\s+(.+?)\s*#*\s*$", re.M)


def read_markdown(path: Path, text: str) -> list[Article]:
    # Split by hand: frontmatter.loads silently drops front matter that is not a mapping (text and all).
    text = text.replace("\r\n", "\n").strip()  # as frontmatter.loads did
    handler = frontmatter.detect_format(text, frontmatter.handlers)
    try:
        front, body = handler.split(text) if handler else ("", text)
    except ValueError:  # an opening delimiter without a closing one: no front matter
        front, body = "", text
    try:
        meta = handler.load(front) if front.strip() else {}
    except yaml.YAMLError as error:
        reason = " ".join(str(error).split())
        raise IngestError(f"{path}: malformed YAML front matter: {reason}") from error
    if not isinstance(meta, dict):
        raise IngestError(f"{path}: front matter must be a mapping of fields, got {type(meta).__name__}")
    body = body.strip()
    title = meta.get("title") or ""
    if not title:
        heading = _HEADING.search(body)
        if heading and not body[: heading.start()].strip():
            title = heading.group(1)
            body = body[heading.end() :].strip()
    return [
        make_article(
            title=title,
            body=body,
            url=meta.get("url") or meta.get("link") or "",
            source=meta.get("source") or meta.get("outlet") or "",
            published=meta.get("published") or meta.get("date") or meta.get("published_at") or "",
            author=meta.get("author") or meta.get("authors") or "",
            category=meta.get("category") or "",
            tags=meta.get("tags") or (),
            external_id=meta.get("id") or "",
            path=str(path),
            where=str(path),
        )
    ]
