"""What the user sees of the model's prose: each sentence kept only if it cites a source it was given and a
sentence of that source says the same (MiniLM embeddings); kept sentences renumbered by article, with quotes."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from langchain_core.documents import Document

from ...store.chunking import sentence_spans
from ...store.embedding import LocalEmbeddings
from ..types import Citation, Quote, Retrieved
from .prompt import MARKER, instruction_like

_LEADING_MARKERS = re.compile(rf"^\s*(?:{MARKER.pattern}\s*)+", re.I)
_MARKERS_AFTER_STOP = re.compile(rf"(?<=\w)([.!?]+)((?:\s*{MARKER.pattern})+)", re.I)
THINK_BLOCK = re.compile(r"<think>.*?(?:</think>|$)", re.S | re.I)

# A sentence that claims nothing about the news, only that the sources lack (part of) the answer: it needs no
# citation. Strict, since it is kept unchecked: one clause, no "but ..." that could carry a claim.
_NOT_FOUND_LIKE = re.compile(
    r"(?:I\s+)?(?:could not|couldn't|cannot|can't|can not|was unable to|am unable to|did not|didn't)\s+find\b"
    r"[^,;:]{0,80}?\b(?:in|among)\s+(?:the\s+)?(?:indexed news(?: articles)?|(?:provided |given |news )?"
    r"(?:sources?|articles?))\W*|"
    r"(?:The|These)\s+(?:provided\s+|given\s+)?(?:sources?|articles?)\s+(?:do(?:es)?\s+not|don't|doesn't)\s+"
    r"(?:say|mention|contain|state|include|specify|report)\b[^,;:]{0,80}",
    re.I,
)

_CONTRAST = re.compile(r"\b(?:but|however|although|though|yet|while|whereas)\b", re.I)


def _numbers(group: str) -> list[int]:
    """'1, 2' -> [1, 2]; '2-4' -> [2, 3, 4] (a range of at most 10)."""
    numbers: list[int] = []
    for part in re.split(r"\s*(?:[,;]|and)\s*", re.sub(r"(?i)sources?", "", group)):
        bounds = [int(b) for b in re.findall(r"\d+", part)]
        if len(bounds) == 2 and re.search(r"[-–]", part) and 0 <= bounds[1] - bounds[0] <= 10:
            numbers.extend(range(bounds[0], bounds[1] + 1))
        else:
            numbers.extend(bounds)
    return numbers


def split_answer(text: str) -> list[str]:
    """Sentences of the model's answer, each with the citation markers that belong to it. A model often puts '[1]'
    after the full stop, where a sentence splitter gives it to the next sentence (or misses the break): such markers
    move before the stop, 'It airs in May. [1]' -> 'It airs in May [1].'"""
    text = _MARKERS_AFTER_STOP.sub(lambda m: " " + " ".join(m.group(2).split()) + m.group(1), text)
    pieces = [text[s:e].strip() for s, e in sentence_spans(text)]
    sentences: list[str] = []
    for piece in pieces:
        leading = _LEADING_MARKERS.match(piece)
        if leading and sentences:
            sentences[-1] += " " + leading.group().strip()
            piece = piece[leading.end() :].strip()
        if piece:
            sentences.append(piece)
    return sentences


def claim_text(sentence: str) -> str:
    """The sentence without its citation markers: what the sources must support."""
    return " ".join(MARKER.sub(" ", sentence).split())


@dataclass(frozen=True)
class Evidence:
    """A piece of a source that may support a claim, and the verbatim sentence quoted when it does."""

    text: str  # what the claim is compared with: a sentence, a clause of a long sentence, or the title
    quote: str  # the whole sentence (or the title)
    span: tuple[int, int] | None  # the sentence's offsets into the article body; None for the title


_CLAUSE_BREAK = re.compile(r"\s*(?:[,;:()]|\s[-–—]\s|[“”\"])\s*")
_MIN_CLAUSE_WORDS = 4


def evidence_sentences(text: str, title: str = "", offset: int = 0, clauses: bool = True) -> list[Evidence]:
    """What may support a claim citing a source: each sentence of its text, each clause of a sentence that has
    several (a model often restates one clause of a long news sentence), and its title; never a sentence addressed
    to an AI system."""
    found: list[Evidence] = []
    for start, end in sentence_spans(text):
        sentence = text[start:end]
        if instruction_like(sentence):
            continue
        span = (offset + start, offset + end)
        found.append(Evidence(sentence, sentence, span))
        if clauses:
            parts = [p.strip() for p in _CLAUSE_BREAK.split(sentence) if len(p.split()) >= _MIN_CLAUSE_WORDS]
            if len(parts) > 1:
                found.extend(Evidence(part, sentence, span) for part in parts)
    title = " ".join(title.split())
    if title and not instruction_like(title):
        found.append(Evidence(title, title, None))
    return found


@dataclass
class _Evidence:
    """Everything of one source that can support a claim, and where it sits in the shared embedding matrix."""

    items: list[Evidence]
    first: int = 0  # row of items[0]


def _evidence(document: Document) -> _Evidence:
    meta = document.metadata
    return _Evidence(evidence_sentences(document.page_content, str(meta.get("title", "")), int(meta.get("start", 0))))


@dataclass
class _Checked:
    sentence: str
    kind: str  # "claim", "not_found", "dropped"
    support: dict[int, tuple[float, int]] = field(default_factory=dict)  # source n -> (similarity, quoted row)


@dataclass
class SupportCheck:
    """What survived the citation check, and why the rest did not."""

    kept: list[_Checked]
    dropped: list[str]
    invalid_numbers: list[int]


def check_support(
    text: str, documents: Sequence[Document], embeddings: LocalEmbeddings, threshold: float
) -> tuple[SupportCheck, list[_Evidence]]:
    """Keep a sentence only if it cites a source that was given and a sentence of that source is at least
    `threshold` similar in meaning; its markers shrink to the sources that pass."""
    sentences = split_answer(THINK_BLOCK.sub("", text))
    evidence = [_evidence(d) for d in documents]
    rows = 0
    for item in evidence:
        item.first, rows = rows, rows + len(item.items)
    checked: list[_Checked] = []
    claims: list[str] = []
    invalid: list[int] = []
    for sentence in sentences:
        numbers = [n for group in MARKER.findall(sentence) for n in _numbers(group)]
        claim = claim_text(sentence)
        if not re.search(r"\w", claim):
            continue  # stray markers or punctuation
        if _NOT_FOUND_LIKE.fullmatch(claim) and not _CONTRAST.search(claim):
            checked.append(_Checked(claim, "not_found"))  # any marker on it would point at nothing
            continue
        if not numbers:
            checked.append(_Checked(sentence, "dropped"))
            continue
        invalid.extend(n for n in numbers if not 1 <= n <= len(documents))
        valid = sorted({n for n in numbers if 1 <= n <= len(documents)})
        checked.append(_Checked(sentence, "claim", {n: (-1.0, -1) for n in valid}))
        claims.append(claim)
    texts = [e.text for item in evidence for e in item.items]
    if claims and texts:
        vectors = embeddings.encode(texts + claims)
        similarity = vectors[len(texts) :] @ vectors[: len(texts)].T
        claim_rows = iter(range(len(claims)))
        for item in checked:
            if item.kind != "claim":
                continue
            row = similarity[next(claim_rows)]
            for n in list(item.support):
                source = evidence[n - 1]
                if source.items:
                    window = row[source.first : source.first + len(source.items)]
                    best = int(np.argmax(window))
                    # Quote the article's own sentence when one holds up; the title only when nothing else does.
                    body = [i for i, e in enumerate(source.items) if e.span is not None]
                    quoted = max(body, key=lambda i: window[i]) if body else best
                    item.support[n] = (float(window[best]), quoted if window[quoted] >= threshold else best)
    kept: list[_Checked] = []
    dropped: list[str] = []
    for item in checked:
        if item.kind == "claim":
            item.support = {n: s for n, s in item.support.items() if s[0] >= threshold}
            if not item.support:
                item.kind = "dropped"
        if item.kind == "dropped":
            dropped.append(item.sentence)
        else:
            kept.append(item)
    return SupportCheck(kept, dropped, sorted(set(invalid))), evidence


def as_retrieved(documents: Sequence[Document]) -> list[Retrieved]:
    return [Retrieved.of(d) for d in documents]


def compose(check: SupportCheck, documents: Sequence[Document], evidence: list[_Evidence]) -> tuple[str, list]:
    """Answer text and citations, renumbered 1, 2, ... by article in order of first citation (several chunks of one
    article share its number), so that the [n] in the text and Citation.n always agree."""
    numbers: dict[str, int] = {}
    citations: dict[str, Citation] = {}
    parts: list[str] = []
    for item in check.kept:
        if item.kind == "not_found":
            parts.append(item.sentence)
            continue
        display: dict[int, int] = {}
        for n, (_, row) in sorted(item.support.items()):
            document = documents[n - 1]
            meta = document.metadata
            article_id = meta["article_id"]
            if article_id not in numbers:
                numbers[article_id] = len(numbers) + 1
                citations[article_id] = Citation.of(numbers[article_id], meta)
            display[n] = numbers[article_id]
            citation = citations[article_id]
            source = evidence[n - 1]
            piece = source.items[row]
            if piece.span is not None and all(q.start != piece.span[0] for q in citation.quotes):
                citation.quotes.append(Quote(text=piece.quote, start=piece.span[0], end=piece.span[1]))

        def renumber(match: re.Match, display: dict[int, int] = display) -> str:
            kept = sorted({display[n] for n in _numbers(match.group(1)) if n in display})
            return "".join(f"[{k}]" for k in kept)

        sentence = MARKER.sub(renumber, item.sentence)
        sentence = re.sub(r"\s+([.,;:!?])", r"\1", re.sub(r"[ \t]{2,}", " ", sentence)).strip()
        if not MARKER.search(sentence):  # every marker was in the middle and went: cite at the end
            sentence += " " + "".join(f"[{k}]" for k in sorted(set(display.values())))
        parts.append(sentence)
    for citation in citations.values():
        # Verbatim body sentence; an article cited only for what its title says quotes the title.
        citation.quote = citation.quotes[0].text if citation.quotes else citation.title
    return " ".join(parts), list(citations.values())
