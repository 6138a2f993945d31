"""Article -> sentence-aligned chunks that remember where they stand in the article, so quotes are exact."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from blingfire import text_to_sentences_and_offsets

from ..ingest import Article

TokenCounter = Callable[[Sequence[str]], list[int]]

# blingfire ends a sentence after these; they almost never end one in news prose.
_ABBREVIATION_END = re.compile(r"(?:^|\s)(?:Mr|Mrs|Ms|Dr|Prof|St|Jr|Sr|Gen|Sen|Rep|Gov|Lt|Col|Capt|Rev|No|vs)\.$")


@dataclass(frozen=True)
class Chunk:
    article_id: str
    number: int
    start: int  # character offsets into Article.body; text == body[start:end]
    end: int
    text: str


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every sentence; paragraph breaks always end a sentence."""
    spans: list[tuple[int, int]] = []
    for paragraph in re.finditer(r"[^\n]+", text):
        base = paragraph.start()
        _, offsets = text_to_sentences_and_offsets(paragraph.group())
        for start, end in offsets:
            start, end = base + start, base + end
            if spans and spans[-1][1] >= base and _ABBREVIATION_END.search(text[spans[-1][0] : spans[-1][1]]):
                spans[-1] = (spans[-1][0], end)
            else:
                spans.append((start, end))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def _split_long(text: str, start: int, end: int, tokens: int, limit: int) -> list[tuple[int, int]]:
    """A sentence longer than a chunk: cut at spaces into pieces of about `limit` tokens."""
    pieces = -(-tokens // limit)
    words = [m.span() for m in re.finditer(r"\S+", text[start:end])]
    per_piece = -(-len(words) // pieces)
    return [
        (start + words[i][0], start + words[min(i + per_piece, len(words)) - 1][1])
        for i in range(0, len(words), per_piece)
    ]


def chunk_article(
    article: Article, count_tokens: TokenCounter, max_tokens: int = 200, overlap_tokens: int = 48
) -> list[Chunk]:
    body = article.body
    spans = sentence_spans(body)
    if not spans:
        return []
    counts = count_tokens([body[s:e] for s, e in spans])
    units: list[tuple[int, int, int]] = []
    for (start, end), tokens in zip(spans, counts, strict=True):
        if tokens > max_tokens:
            pieces = _split_long(body, start, end, tokens, max_tokens)
            units.extend((s, e, -(-tokens // len(pieces))) for s, e in pieces)
        else:
            units.append((start, end, tokens))

    chunks: list[Chunk] = []
    first = 0
    while first < len(units):
        last, total = first, units[first][2]
        while last + 1 < len(units) and total + units[last + 1][2] <= max_tokens:
            last += 1
            total += units[last][2]
        start, end = units[first][0], units[last][1]
        chunks.append(Chunk(article.id, len(chunks), start, end, body[start:end]))
        if last + 1 >= len(units):
            break
        # Carry whole trailing sentences (within the overlap budget) into the next chunk.
        next_first, carried = last + 1, 0
        while next_first - 1 > first and carried + units[next_first - 1][2] <= overlap_tokens:
            next_first -= 1
            carried += units[next_first][2]
        first = next_first
    return chunks
