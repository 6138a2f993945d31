"""The default answerer: no LLM. It quotes the sentences of the retrieved articles that best answer the
question, so every word of an answer can be traced to an article."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from langchain_core.documents import Document

from ..chunking import sentence_spans
from ..embedding import LocalEmbeddings
from ..ingest.article import iso_to_timestamp
from ..terms import WORD, question_terms, stem
from . import entities
from .types import Answer, Citation, Quote, Retrieved

_MONTHS = (
    r"Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sept?(?:ember)?|"
    r"Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?"
)
_DATE_LIKE = re.compile(
    rf"\b(?:(?:{_MONTHS})\.?\s+\d{{1,2}}|\d{{1,2}}\s+(?:{_MONTHS})|(?:19|20)\d{{2}}|"
    r"Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|today|tomorrow|yesterday|next (?:week|month|year))\b"
)
_NUMBER = re.compile(
    r"\b\d[\d,.]*\b|\b(?:two|three|four|five|six|seven|eight|nine|ten|dozen|hundred|thousand|million|billion)\b",
    re.I,
)
_TITLE_RUN = re.compile(r"\b[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)+")
_NAME = re.compile(r"\b[A-Z][a-z]+(?:[- ][A-Z][a-z]+)+\b")
# A sentence that opens like this is about whatever the sentence before it named.
_REFERS_BACK = re.compile(
    r"^\W*(?:The (?:series|show|drama|film|movie|album|song|book|novel|project|actor|actress|singer|star|director|couple|band|group)|He|She|It|They|His|Her|Their|Its)\b"
)
_MAX_SENTENCES = 3
_MAX_WORDS = 90
_TYPED_SENTENCES = 12  # the best sentences checked for an entity of the expected kind
_TYPED_BONUS = 0.15  # 0.06 -> 0.15 raised first-half RealTime QA accuracy 0.280 -> 0.290
_ENTITY_SENTENCES = 6  # the best sentences whose names, dates and numbers vote for the short answer
_EMBEDDED_CANDIDATES = 24  # sentences scored by the model per question; the rest lose on cheap evidence
_RECENCY_BONUS = 0.05  # newest retrieved article, fading with age: first-half accuracy 0.269 -> 0.280
_RECENCY_DAYS = 30.0


@dataclass
class _Candidate:
    document: Document
    start: int  # offsets into the article body
    end: int
    text: str
    context: str  # the sentence before it, for "The series, helmed by ..." after a sentence naming the series
    score: float = 0.0


def answer_kind(question: str) -> str:
    q = question.lower().strip()
    if re.match(r"(when|what (date|day|time|year|month)|how long ago)\b", q):
        return "when"
    if re.match(r"how (many|much|old)\b|what (number|percentage|share)\b", q):
        return "number"
    if re.match(r"(who|whom|whose)\b|which (actor|actress|director|star|singer|person|player)\b", q) or re.search(
        r"\b(who|whom)\b", q
    ):
        return "who"
    if re.match(r"where\b", q):
        return "where"
    return "other"


def _outlets_named(question: str, documents: list[Document]) -> list[str]:
    """The outlets of the retrieved articles that the question names, in the order it names them."""
    lowered = question.lower()
    brands = {_brand(d.metadata.get("source", "")) for d in documents}
    named = [(lowered.find(b.lower()), b) for b in brands if len(b) > 2 and b.lower() in lowered]
    return [brand for _, brand in sorted(named)]


_COMPARISON = re.compile(
    r"^\W*(?:did|does|do|is|are|was|were|has|have|had)\b|\b(?:compare[sd]?|comparison|differ\w*|disagree\w*|agree\w*|"
    r"versus|vs\.?|contradict\w*|consistent\w*|same|what did .+ say)\b",
    re.I,
)


def _compares(question: str) -> bool:
    """A question that sets sources against each other (yes/no, "differ", "agree", "what did X and Y say")
    rather than one that asks for a fact several sources combine to give ("Which company, reported by ...")."""
    return bool(_COMPARISON.search(question))


def _brand(outlet: str) -> str:
    """ "FOX News - Lifestyle" -> "FOX News": a section belongs to its outlet."""
    return outlet.split(" - ")[0].strip()


def _coverage(wanted: set[str], present: set[str]) -> float:
    return len(wanted & present) / len(wanted) if wanted else 0.0


def lexical_match(terms: set[str], names: set[str], sentence: str, context: str) -> float:
    """Names and titles (the topic) may come from the sentence before one that refers back to it; the
    other words of the question (what is asked: directs, stars, released) must be in the sentence itself."""
    own = {stem(w) for w in WORD.findall(sentence)}
    around = own | {stem(w) for w in WORD.findall(context)}
    topic_own = _coverage(names, own)
    topic = max(topic_own, (0.9 if _REFERS_BACK.match(sentence) else 0.7) * _coverage(names, around))
    asked = terms - names
    if not names:
        return _coverage(asked, own)
    if not asked:
        return topic
    return 0.5 * topic + 0.5 * _coverage(asked, own)


def title_phrases(question: str) -> list[str]:
    """Runs of two or more capitalised words, as a title or name is written: 'What Comes After Love'."""
    return [m.group().lower() for m in _TITLE_RUN.finditer(question) if m.start() > 0 or " " in m.group()]


def _quoted_names(question: str, names: set[str]) -> str:
    """The question's own words for the names it was searched by, as the user wrote them."""
    words = list(dict.fromkeys(w for w in WORD.findall(question) if stem(w) in names))
    return ", ".join(f"“{w}”" for w in words)


def _shouting(text: str) -> bool:
    words = [w for w in re.findall(r"[A-Za-z]{2,}", text)]
    return len(words) >= 4 and sum(w.isupper() for w in words) / len(words) > 0.3


def _kind_bonus(kind: str, text: str, question_words: set[str]) -> float:
    if kind == "when":
        return 0.08 if _DATE_LIKE.search(text) else 0.0
    if kind == "number":
        return 0.08 if _NUMBER.search(text) else 0.0
    if kind == "who":
        new_names = [n for n in _NAME.findall(text) if not {stem(p) for p in re.split(r"[- ]", n)} <= question_words]
        return min(0.12, 0.04 * len(set(new_names)))
    if kind == "where":
        return 0.05 if re.search(r"\b(?:in|at) [A-Z]", text) else 0.0
    return 0.0


def _recency(documents: list[Document]) -> dict[str, float]:
    """Bonus per publication date: news questions are mostly about the latest report, so among the
    retrieved articles the newest is preferred, gently. A year or month counts from its first day (as the
    index's date filters count it); unknown dates get none."""
    days = {}
    for document in documents:
        published = document.metadata.get("published", "")
        try:
            timestamp = iso_to_timestamp(published)
        except ValueError:
            continue
        if timestamp is not None:
            days[published] = timestamp / 86400
    if not days or not _RECENCY_BONUS:
        return {}
    newest = max(days.values())
    return {text: _RECENCY_BONUS * math.exp(-(newest - day) / _RECENCY_DAYS) for text, day in days.items()}


class ExtractiveAnswerer:
    """Scores every sentence of the retrieved chunks by meaning, shared words and answer type."""

    def __init__(self, embeddings: LocalEmbeddings, min_relevance: float = 0.3):
        self.embeddings = embeddings
        self.min_relevance = min_relevance

    def __call__(self, question: str, documents: list[Document], history: object = None) -> Answer:
        """`history` is accepted for the answerers' common signature; the question already stands alone."""
        retrieved = [Retrieved.of(d) for d in documents]
        terms, names = question_terms(question)
        reason = self._refusal_reason(question, documents, names)
        if reason:
            return Answer(question=question, answer=reason, abstained=True, retrieved=retrieved)

        candidates = self._candidates(documents)
        recency = _recency(documents)
        kind = answer_kind(question)
        phrases = title_phrases(question)
        for candidate in candidates:  # the cheap evidence first, for every sentence
            lexical = lexical_match(terms, names, candidate.text, candidate.context)
            around = (candidate.context + " " + candidate.text).lower()
            exact_title = any(phrase in around for phrase in phrases)
            candidate.score = (
                0.35 * lexical
                + 0.10 * float(candidate.document.metadata.get("score", 0.0))
                + _kind_bonus(kind, candidate.text, terms)
                + (0.05 if exact_title else 0.0)
                + recency.get(candidate.document.metadata.get("published", ""), 0.0)
                - (0.1 if _shouting(candidate.text) else 0.0)
            )
        # Meaning, the costly part, only for the sentences that can still win.
        candidates = sorted(candidates, key=lambda c: c.score, reverse=True)
        candidates, cheap = candidates[:_EMBEDDED_CANDIDATES], candidates[_EMBEDDED_CANDIDATES:]
        vectors = self.embeddings.encode([question] + [c.text for c in candidates])
        for candidate, similarity in zip(candidates, vectors[1:] @ vectors[0], strict=True):
            candidate.score += 0.55 * float(similarity)
        ranked = sorted(candidates, key=lambda c: c.score, reverse=True)
        # A sentence that names a person, date, number... of the kind asked for is likelier to hold the answer.
        labels = entities.expected_labels(question)
        top = ranked[:_TYPED_SENTENCES]
        for candidate, typed in zip(top, entities.answers_in(question, [c.text for c in top], labels), strict=True):
            candidate.score += _TYPED_BONUS if typed else 0.0
        ranked = sorted(candidates, key=lambda c: c.score, reverse=True)
        direct = self._direct(question, ranked)

        def same_story(candidate: _Candidate) -> bool:
            """Whether a sentence is about what the question names (in it, before it, or in its title)."""
            if not names:
                return True
            around = f"{candidate.document.metadata.get('title', '')} {candidate.context} {candidate.text}"
            return _coverage(names, {stem(w) for w in WORD.findall(around)}) >= 0.5

        outlets = _outlets_named(question, documents)
        if len(outlets) >= 2 and _compares(question):  # "Did Polygon and The Verge agree ...": each one's words
            return self._side_by_side(question, outlets, ranked + cheap, retrieved, same_story)
        chosen = self._choose(ranked, direct[0] if direct else None, same_story)
        return self._compose(question, chosen, retrieved, direct, same_story)

    def _side_by_side(
        self,
        question: str,
        outlets: list[str],
        ranked: list[_Candidate],
        retrieved: list[Retrieved],
        same_story: Callable[[_Candidate], bool],
    ) -> Answer:
        """The best sentence of each named outlet about what the question names, labelled with the outlet and
        date, in the question's order; an outlet with nothing on it says so."""
        chosen: list[_Candidate] = []
        silent: list[str] = []
        for outlet in outlets:
            own = [c for c in ranked if _brand(c.document.metadata.get("source", "")) == outlet and same_story(c)]
            if own:
                chosen.append(own[0])
            else:
                silent.append(outlet)
        answer = self._compose(question, chosen, retrieved)
        lines = []
        for candidate in chosen:
            meta = candidate.document.metadata
            when = meta.get("published") or "date unknown"
            number = next(c.n for c in answer.citations if c.article_id == meta["article_id"])
            lines.append(f"{meta['source']} ({when}): {candidate.text.strip()} [{number}]")
        lines += [f"{outlet}: none of the articles I found from it is about this." for outlet in silent]
        return answer.model_copy(update={"answer": "\n".join(lines)})

    @staticmethod
    def _direct(question: str, ranked: list[_Candidate]) -> tuple[_Candidate, list[str]] | None:
        """The name, date or number that answers the question, with the best sentence that says it."""
        labels = entities.expected_labels(question)
        top = ranked[:_ENTITY_SENTENCES]
        if not labels or not top:
            return None
        newest = max((c.document.metadata.get("published", "") for c in top), default="")
        weights = [
            math.exp((c.score - top[0].score) / 0.05)
            * (1.15 if newest and c.document.metadata.get("published") == newest else 1.0)
            for c in top
        ]
        found = entities.best_entities(question, [c.text for c in top], weights, labels)
        if not found:
            return None
        return top[found[0].sentences[0]], [entity.text for entity in found]

    def _refusal_reason(self, question: str, documents: list[Document], names: set[str]) -> str:
        best = max((float(d.metadata.get("score", 0.0)) for d in documents), default=-1.0)
        nearest = list(dict.fromkeys(d.metadata.get("title", "") for d in documents if d.metadata.get("title")))
        hint = ""
        if nearest:
            hint = " The closest articles I have are: " + "; ".join(f"“{t}”" for t in nearest[:3]) + "."
        not_found = "I could not find an answer to that in the indexed news articles."
        if best < self.min_relevance:
            return not_found + hint
        if names:
            text = " ".join(
                f"{d.page_content} {d.metadata.get('title', '')} {d.metadata.get('source', '')}" for d in documents
            )
            present = {stem(w) for w in WORD.findall(text)}
            if not names & present:
                return not_found + " None of them mentions " + _quoted_names(question, names) + "." + hint
        return ""

    @staticmethod
    def _candidates(documents: list[Document]) -> list[_Candidate]:
        seen: set[tuple[str, int]] = set()
        candidates = []
        for document in documents:
            text, offset = document.page_content, int(document.metadata.get("start", 0))
            previous = ""
            for start, end in sentence_spans(text):
                sentence = text[start:end]
                key = (document.metadata["article_id"], offset + start)
                if key not in seen and len(WORD.findall(sentence)) >= 3:
                    seen.add(key)
                    candidates.append(_Candidate(document, offset + start, offset + end, sentence, previous))
                previous = sentence
        return candidates

    @staticmethod
    def _choose(
        ranked: list[_Candidate], first: _Candidate | None = None, same_story: Callable[[_Candidate], bool] = bool
    ) -> list[_Candidate]:
        """The best sentence (or the one the direct answer comes from); the best one of each other article
        about the same story close behind it (corroboration from several sources); then more of the same
        articles if they score nearly as well."""
        if not ranked:
            return []
        best = ranked[0].score
        chosen = [first or ranked[0]]

        def fits(candidate: _Candidate) -> bool:
            words = sum(len(c.text.split()) for c in chosen) + len(candidate.text.split())
            repeated = any(candidate.text.strip() == c.text.strip() for c in chosen)  # syndicated copies
            return len(chosen) < _MAX_SENTENCES and words <= _MAX_WORDS and not repeated

        articles = {chosen[0].document.metadata["article_id"]}
        for candidate in ranked:
            article_id = candidate.document.metadata["article_id"]
            close = candidate.score >= best - 0.2 and same_story(candidate)
            if close and article_id not in articles and fits(candidate):
                chosen.append(candidate)
                articles.add(article_id)
        for candidate in ranked:
            if candidate.score >= best - 0.1 and candidate not in chosen and fits(candidate):
                chosen.append(candidate)
        return chosen

    @staticmethod
    def _compose(
        question: str,
        chosen: list[_Candidate],
        retrieved: list[Retrieved],
        direct: tuple[_Candidate, list[str]] | None = None,
        same_story: Callable[[_Candidate], bool] = bool,
    ) -> Answer:
        """A short answer first (when there is one), then the quotes. When reports of the same story have
        different dates, the newest leads and the older ones say when they were reported: the story may
        have moved on ("in talks" in 2023, "slated for September 27" in 2024)."""
        story = [c for c in chosen if same_story(c)]
        dates = {c.document.metadata.get("published", "") for c in story}
        moved_on = len({d for d in dates if d}) >= 2
        if moved_on:  # newest report first; quotes about something else after them
            newest_first = sorted(story, key=lambda c: c.document.metadata.get("published", ""), reverse=True)
            chosen = newest_first + [c for c in chosen if c not in story]
        numbers: dict[str, int] = {}
        citations: dict[str, Citation] = {}
        for candidate in chosen:
            meta = candidate.document.metadata
            article_id = meta["article_id"]
            if article_id not in numbers:
                numbers[article_id] = len(numbers) + 1
                citations[article_id] = Citation.of(numbers[article_id], meta, candidate.text)
            citations[article_id].quotes.append(Quote(text=candidate.text, start=candidate.start, end=candidate.end))
        parts = []
        if direct:
            names = direct[1]
            short = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
            # cite the first (newest) quote that says it, else the sentence it was found in
            saying = [c for c in chosen if names[0] in c.text] or [direct[0]]
            parts.append(f"{short} [{numbers[saying[0].document.metadata['article_id']]}].")
        newest = max((d for d in dates if d), default="")
        for candidate in chosen:
            meta = candidate.document.metadata
            prefix = ""
            if moved_on and candidate in story and meta.get("published") and meta["published"] != newest:
                outlet = f"{meta['source']}, " if meta.get("source") else ""
                prefix = f"Earlier ({outlet}{meta['published']}): "
            parts.append(f"{prefix}{candidate.text.strip()} [{numbers[meta['article_id']]}]")
        return Answer(
            question=question,
            answer=" ".join(parts),
            abstained=False,
            citations=list(citations.values()),
            retrieved=retrieved,
        )
