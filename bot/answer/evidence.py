"""What says a sentence holds the answer: the pieces of evidence the extractive answerer weighs (meaning, the
question's words and names, the kind of thing asked for, recency, place in the article...), their fitted
weights, and the trained reader's blend."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from langchain_core.documents import Document

from ..ingest.article import iso_to_timestamp
from ..search.terms import WORD, question_terms, stem
from ..search.terms import terms as content_terms
from . import entities

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

_NAME = re.compile(r"\b[A-Z][a-z]+(?:[- ][A-Z][a-z]+)+\b")

# A sentence that opens like this is about whatever the sentence before it named.
_REFERS_BACK = re.compile(
    r"^\W*(?:The (?:series|show|drama|film|movie|album|song|book|novel|project|actor|actress|singer|star|director|couple|band|group)|He|She|It|They|His|Her|Their|Its)\b"
)

_RECENCY_DAYS = 30.0
LEAD_CHARACTERS = 1000.0  # news puts the facts first: "lead" fades over about this many characters
LONG_SENTENCE = 60  # words; "length" grows up to this

# How much each piece of evidence says a sentence holds the answer (a sentence's score is the weighted sum).
# Fitted by scripts/train/fit_sentence_weights.py on the tuning half of RealTime QA: a listwise logistic regression
# over every candidate sentence of the retrieved chunks, labelled by whether it holds a gold answer; then
# scaled so that "meaning" keeps its old weight of 0.55, which the score margins below are measured in.
# On the held-out half the best sentence holds a gold answer for 0.179 of questions, against 0.134 with the
# hand-set weights these replaced (docs/benchmarks.md).
SENTENCE_WEIGHTS: dict[str, float] = {
    "meaning": 0.550,  # cosine similarity of the sentence and the question (the model)
    "words": 0.404,  # the question's words in the sentence; its names may be in the sentence before
    "retrieval": 0.295,  # the similarity of the sentence's chunk to the question
    "typed": 0.348,  # spaCy finds a name, date, number... of the kind asked for, not named in the question
    "kind": 0.173,  # what the question word asks for is there (kind_bonus: a date for "when", a number...)
    "recency": 0.189,  # 1 for the newest retrieved article, fading over _RECENCY_DAYS
    "lead": 0.211,  # 1 at the top of the article, fading over LEAD_CHARACTERS
    "length": 0.103,  # longer sentences say more, up to LONG_SENTENCE words
    "rank": -0.119,  # the chunk's place in the retrieved list: 0 for the first, 1/8 more for each after it
    "question": -0.162,  # the sentence is itself a question: it asks rather than tells
}

# With NEWSBOT_READER=trained, the trained reader (bot/answer/reader.py) reads the best sentences by the cheap
# evidence (extractive.py's _READ_CANDIDATES instead of _EMBEDDED_CANDIDATES), and a sentence's score becomes
#   READER_BLEND["features"] x (the weighted sum above) + READER_BLEND["reader"] x (the reader's logit).
# {"features": 1.0, "reader": w} adds the reader as one more, strong piece of evidence; {"features": 0.0,
# "reader": s} replaces the hand-weighted score by the reader's (s scales its logits to the margins above).
# scripts/train/train_reader.py reports both kinds on its validation questions (training data, never 2023): the best
# sentence holds a gold answer for 0.214 of them with the hand-weighted score, 0.208 with the reader alone,
# 0.220 / 0.223 / 0.223 / 0.231 / 0.237 with it added at 0.05 / 0.1 / 0.2 / 0.3 / 0.5 (bot/answer/reader_model/MODEL.md).
READER_BLEND: dict[str, float] = {"features": 1.0, "reader": 0.5}


@dataclass
class SentenceCandidate:
    document: Document
    start: int  # offsets into the article body
    end: int
    text: str
    context: str  # the sentence before it, for "The series, helmed by ..." after a sentence naming the series
    rank: int = 0  # of its chunk among the retrieved ones
    features: dict[str, float] = field(default_factory=dict)
    score: float = 0.0
    reader: float | None = None  # the trained reader's logit, when it read this sentence

    def rescore(self) -> None:
        self.score = sum(SENTENCE_WEIGHTS[name] * value for name, value in self.features.items())
        if self.reader is not None:
            self.score = READER_BLEND["features"] * self.score + READER_BLEND["reader"] * self.reader


def answer_kind(question: str) -> str:
    """when / number / who / where / other, from the entity labels that can answer the question (wherever
    its question word stands: "... at the home of which high-profile Republican?" asks for a person)."""
    return kind_of(entities.expected_labels(question))


def kind_of(labels: frozenset[str]) -> str:
    if labels & entities.NUMBER:
        return "number"
    for kind, wanted in (("when", entities.WHEN), ("who", entities.PERSON), ("where", entities.PLACE)):
        if labels == wanted:
            return kind
    return "other"


def about(candidate: SentenceCandidate, names: set[str]) -> bool:
    """Whether a sentence, the sentence before it or its title names everything the question names."""
    meta = candidate.document.metadata
    return not names - content_terms(f"{meta.get('title', '')} {candidate.context} {candidate.text}")


def says_it(question: str, candidate: SentenceCandidate, names: set[str], labels: frozenset[str]) -> bool:
    """Whether the sentence a short answer comes from is about everything the question names (in it, the
    sentence before it or its title) and, for a who-question, says what it asks about ("composed", "stars")."""
    if not about(candidate, names):
        return False
    if labels != entities.PERSON:
        return True
    predicate = question_terms(question)[0] - names
    return not predicate or bool(predicate & entities.terms_said(candidate.text))


def coverage(wanted: set[str], present: set[str]) -> float:
    return len(wanted & present) / len(wanted) if wanted else 0.0


def lexical_match(terms: set[str], names: set[str], sentence: str, context: str) -> float:
    """Names and titles (the topic) may come from the sentence before one that refers back to it; the
    other words of the question (what is asked: directs, stars, released) must be in the sentence itself."""
    own = {stem(w) for w in WORD.findall(sentence)}
    around = own | {stem(w) for w in WORD.findall(context)}
    topic_own = coverage(names, own)
    topic = max(topic_own, (0.9 if _REFERS_BACK.match(sentence) else 0.7) * coverage(names, around))
    asked = terms - names
    if not names:
        return coverage(asked, own)
    if not asked:
        return topic
    return 0.5 * topic + 0.5 * coverage(asked, own)


def kind_bonus(kind: str, text: str, question_words: set[str]) -> float:
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


def recency_bonus(documents: list[Document]) -> dict[str, float]:
    """Per publication date, 1 for the newest retrieved article, fading with age: news questions are mostly
    about the latest report. A year or month counts from its first day (as the index's date filters count it);
    unknown dates get none."""
    days = {}
    for document in documents:
        published = document.metadata.get("published", "")
        try:
            timestamp = iso_to_timestamp(published)
        except ValueError:
            continue
        if timestamp is not None:
            days[published] = timestamp / 86400
    if not days:
        return {}
    newest = max(days.values())
    return {text: math.exp(-(newest - day) / _RECENCY_DAYS) for text, day in days.items()}
