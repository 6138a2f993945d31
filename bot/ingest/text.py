"""Plain text: the first line is the title; a leading `date YYYY-MM-DD` marker is the publication date."""

import re
from pathlib import Path

from blingfire import text_to_sentences_and_offsets

from .article import Article, make_article

_DATE_MARKER = re.compile(r"^\s*date\s+(\d{4}-\d{2}-\d{2})\b[\s:]*", re.I)
_MAX_TITLE = 200


def _title_from_paragraph(paragraph: str) -> str:
    """A first line that is really a paragraph: its first sentence, cut at a word, stands as the title."""
    _, offsets = text_to_sentences_and_offsets(paragraph)
    first = paragraph[: offsets[0][1]] if offsets else paragraph
    if len(first) <= _MAX_TITLE:
        return first.strip()
    return first[:_MAX_TITLE].rsplit(" ", 1)[0].strip() + "…"


def read_text(path: Path, text: str) -> list[Article]:
    published = ""
    marker = _DATE_MARKER.match(text)
    if marker:
        published = marker.group(1)
        text = text[marker.end() :]
    text = text.strip()
    first_line, _, rest = text.partition("\n")
    first_line = first_line.strip()
    if len(first_line) <= _MAX_TITLE and rest.strip():
        title, body = first_line, rest.strip()
    else:  # no separate title line: keep every word in the body
        title, body = _title_from_paragraph(first_line), text
    return [make_article(title=title, body=body, published=published, path=str(path), where=str(path))]
