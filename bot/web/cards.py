"""An Answer as the chat message's HTML: the short answer on its own bold line, the supporting quotes under it
(clickable [n] markers), then one card per source (title linked, outlet when known, date, the quoted
sentence highlighted in a short excerpt of its passage).

The Chatbot renders Markdown and HTML, so every piece of article or user text goes through `_text`: HTML
escaped, Markdown and LaTeX characters turned into entities, line breaks flattened (a blank line would end
the HTML block and let Markdown in). Styles are inline: the message carries its own look (the page's CSS is ui.CSS).
"""

from __future__ import annotations

import html
import re
import uuid
from dataclasses import dataclass

from ..answer import Answer, Citation
from ..store.chroma import NewsStore

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}
_INERT = str.maketrans({**_ESCAPES, **{char: f"&#{ord(char)};" for char in "\\`*_[]#|~$"}})
_MARKERS = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_CONTEXT = 160  # characters of the passage shown on each side of a quote

_CARD = "border:1px solid rgba(128,128,128,.35);border-radius:8px;padding:6px 10px;margin:6px 0"
_MARK = "background:rgba(255,213,79,.55);color:inherit;padding:0 2px;border-radius:3px"
_SMALL = "font-size:.85em;opacity:.75;margin-top:6px"
_SHORT_STYLE = "font-weight:700;font-size:1.15em;line-height:1.35;margin:0 0 6px"
_QUOTE_STYLE = "margin:0 0 4px"


def _text(value: str) -> str:
    """Article or user text as inert HTML text, on one line."""
    return re.sub(r"\s+", " ", value).translate(_INERT)


def inert(value: str) -> str:
    """User or article text for a Markdown or HTML component: shown as typed, never acted on."""
    return _text(value)


def _href(url: str) -> str | None:
    """Only http(s) links are followed; anything else (javascript:, data:) stays text."""
    url = url.strip()
    return html.escape(url, quote=True) if url.lower().startswith(("http://", "https://")) else None


@dataclass(frozen=True)
class Excerpt:
    """A stretch of a source's passage: (text, quoted?) parts in reading order, and whether it was cut."""

    parts: tuple[tuple[str, bool], ...]
    cut_before: bool = False
    cut_after: bool = False


def excerpts(answer: Answer, store: NewsStore, context: int = _CONTEXT) -> dict[int, list[Excerpt]]:
    """Per citation number: its quotes highlighted inside the passage (chunk) they were taken from."""
    found: dict[int, list[Excerpt]] = {}
    for citation in answer.citations:
        chunks = [
            (hit.metadata["start"], hit.metadata["end"], hit.text) for hit in store.article_chunks(citation.article_id)
        ]
        found[citation.n] = _citation_excerpts(citation, chunks, context)
    return found


def _citation_excerpts(citation: Citation, chunks: list[tuple[int, int, str]], context: int) -> list[Excerpt]:
    spans = [(q.start, q.end) for q in citation.quotes]
    result: list[Excerpt] = []
    for start, end in _merge(spans, context):
        chunk = next((c for c in chunks if c[0] <= start and end <= c[1]), None)
        if chunk is None:
            continue
        result.append(_excerpt(chunk, [(s, e) for s, e in spans if start <= s and e <= end], context))
    return result or _quotes_alone(citation)


def _quotes_alone(citation: Citation) -> list[Excerpt]:
    """When the passage is unknown (an older index, a rewritten article): the quotes by themselves."""
    quotes = [q.text for q in citation.quotes] or [citation.quote]
    return [Excerpt(((quote, True),)) for quote in quotes if quote.strip()]


def _merge(spans: list[tuple[int, int]], context: int) -> list[tuple[int, int]]:
    """Quotes close enough to share one excerpt are shown together."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start - merged[-1][1] <= context:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


def _excerpt(chunk: tuple[int, int, str], quotes: list[tuple[int, int]], context: int) -> Excerpt:
    base, _, text = chunk
    first, last = quotes[0][0] - base, quotes[-1][1] - base
    left, right = max(0, first - context), min(len(text), last + context)
    if left > 0:  # start and end on word boundaries
        space = text.find(" ", left, first)
        left = space + 1 if space != -1 else left
    if right < len(text):
        space = text.rfind(" ", last, right)
        right = space if space != -1 else right
    parts: list[tuple[str, bool]] = []
    position = left
    for start, end in quotes:
        start, end = start - base, end - base
        if start > position:
            parts.append((text[position:start], False))
        parts.append((text[max(start, position) : end], True))
        position = max(position, end)
    if right > position:
        parts.append((text[position:right], False))
    return Excerpt(tuple(parts), cut_before=left > 0, cut_after=right < len(text))


def new_key() -> str:
    """A per-message prefix for element ids, so that [1] of one answer never jumps to another's source."""
    return uuid.uuid4().hex[:8]


def anchor_id(key: str, n: int) -> str:
    return f"nb-{key}-src-{n}"


def short_answer(answer: Answer) -> tuple[str, list[str]]:
    """(the short answer with its marker, or "" when there is none; the supporting quotes, one per item).

    The extractive answerer sets `Answer.short_answer` and opens `answer` with it; other answers (an LLM's
    prose, a refusal) have none and are one item."""
    text = answer.answer.strip()
    if answer.abstained or answer.backend != "extractive":
        return "", [text] if text else []
    short = answer.short_answer.strip()
    if short and text.startswith(short):
        text = text[len(short) :].lstrip(".").strip()
    return short, _quote_items(text)


def _quote_items(text: str) -> list[str]:
    """The quotes of an extractive answer, each ending with its [n] marker (a break after each marker)."""
    items, start = [], 0
    for match in _MARKERS.finditer(text):
        if match.end() < len(text) and text[match.end()].isspace() and not _MARKERS.match(text, match.end() + 1):
            items.append(text[start : match.end()].strip())
            start = match.end()
    items.append(text[start:].strip())
    return [item for item in items if item]


def _answer_html(answer: Answer, numbers: set[int], key: str) -> str:
    """The short answer as a bold line of its own, then the supporting quotes, one paragraph each."""
    short, quotes = short_answer(answer)
    parts = [f'<p class="nb-short" style="{_SHORT_STYLE}">{_answer_text(short, numbers, key)}</p>'] if short else []
    parts += [f'<p class="nb-support" style="{_QUOTE_STYLE}">{_answer_text(q, numbers, key)}</p>' for q in quotes]
    return "".join(parts)


def _answer_text(text: str, numbers: set[int], key: str) -> str:
    """The answer, escaped, with each [n] of a known source turned into a link to that source's card."""
    pieces, position = [], 0
    for match in _MARKERS.finditer(text):
        pieces.append(_text(text[position : match.start()]))
        cited = [int(n) for n in re.findall(r"\d+", match.group(1))]
        if all(n in numbers for n in cited):
            links = "".join(
                f'<a href="#{anchor_id(key, n)}" class="nb-cite" style="text-decoration:none;font-weight:600">[{n}]</a>'
                for n in cited
            )
            pieces.append(links)
        else:
            pieces.append(_text(match.group()))
        position = match.end()
    pieces.append(_text(text[position:]))
    return "".join(pieces)


def _excerpt_html(excerpt: Excerpt) -> str:
    body = "".join(
        f'<mark class="nb-quote" style="{_MARK}">{_text(part)}</mark>' if quoted else _text(part)
        for part, quoted in excerpt.parts
    )
    return ("… " if excerpt.cut_before else "") + body + (" …" if excerpt.cut_after else "")


def _card(citation: Citation, found: list[Excerpt], key: str) -> str:
    title = _text(citation.title.strip()) or "Untitled"
    href = _href(citation.url)
    link = f'<a href="{href}" target="_blank" rel="noopener noreferrer">{title}</a>' if href else title
    known = [_text(citation.source.strip()), _text(citation.published.strip()) or "date unknown"]
    byline = " · ".join(part for part in known if part)  # an unknown outlet is left out, not named
    quote = _text((citation.quote or (citation.quotes[0].text if citation.quotes else "")).strip())
    context = "".join(f'<p style="margin:4px 0">{_excerpt_html(excerpt)}</p>' for excerpt in found)
    return (
        f'<details class="nb-source" style="{_CARD}">'
        f'<summary style="cursor:pointer"><strong>[{citation.n}]</strong> {link}'
        f' <span class="nb-byline" style="opacity:.75">· {byline}</span>'
        f'<br><mark class="nb-quote" style="{_MARK}">{quote}</mark></summary>'
        f'<div id="{anchor_id(key, citation.n)}" class="nb-excerpt" style="margin-top:4px">'
        f'<div style="{_SMALL};margin-top:0">In its passage:</div>{context}</div>'
        "</details>"
    )


def meta_lines(answer: Answer) -> list[str]:
    """What the user should know besides the answer: the rewritten search, filters read, notes."""
    lines = []
    if answer.searched and answer.searched != answer.question:
        lines.append(f"Searched for: {answer.searched}")
    lines += [f"Understood: {line}" for line in answer.understood]
    lines += [f"Note: {note}" for note in answer.notes]
    return lines


def render_chat_answer(answer: Answer, found: dict[int, list[Excerpt]] | None = None, key: str | None = None) -> str:
    """The final chat message: answer with [n] links, the small meta line, then the source cards."""
    key = key or new_key()
    found = found or {}
    numbers = {citation.n for citation in answer.citations}
    parts = [f'<div class="nb-answer">{_answer_html(answer, numbers, key)}</div>']
    parts += [f'<div class="nb-meta" style="{_SMALL}">{_text(line)}</div>' for line in meta_lines(answer)]
    if answer.citations:
        cards = "".join(_card(c, found.get(c.n) or _quotes_alone(c), key) for c in answer.citations)
        parts.append(f'<div class="nb-sources" style="margin-top:10px"><strong>Sources</strong>{cards}</div>')
    return "<div>" + "".join(parts) + "</div>"


def render_pending(text: str, status: str) -> str:
    """A message while the answer is being written: the provisional text, then what is going on."""
    shown = f'<div class="nb-answer">{_text(text)}</div>' if text else ""
    return f'<div>{shown}<div class="nb-meta" style="{_SMALL}">{_text(status)}</div></div>'


def render_notice(text: str) -> str:
    """A message that is not an answer (an empty or too long question), shown as text."""
    return f'<div class="nb-notice">{_text(text)}</div>'
