"""The default answerer: no LLM. It quotes the sentences of the retrieved articles that best answer the
question, so every word of an answer can be traced to an article."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.documents import Document

from ..ingest.article import iso_to_timestamp
from ..search.terms import WORD, question_terms, stem
from ..search.terms import terms as content_terms
from ..store.chunking import sentence_spans
from ..store.embedding import LocalEmbeddings
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
_NAME = re.compile(r"\b[A-Z][a-z]+(?:[- ][A-Z][a-z]+)+\b")
# A sentence that opens like this is about whatever the sentence before it named.
_REFERS_BACK = re.compile(
    r"^\W*(?:The (?:series|show|drama|film|movie|album|song|book|novel|project|actor|actress|singer|star|director|couple|band|group)|He|She|It|They|His|Her|Their|Its)\b"
)
_MAX_SENTENCES = 3
_MAX_WORDS = 90
_TYPED_SENTENCES = 12  # the best sentences checked for an entity of the expected kind
_ENTITY_SENTENCES = 6  # the best sentences whose names, dates and numbers vote for the short answer
_EMBEDDED_CANDIDATES = 24  # sentences scored by the model per question; the rest lose on cheap evidence
_RECENCY_DAYS = 30.0
_LEAD_CHARACTERS = 1000.0  # news puts the facts first: "lead" fades over about this many characters
_LONG_SENTENCE = 60  # words; "length" grows up to this

# How much each piece of evidence says a sentence holds the answer (a sentence's score is the weighted sum).
# Fitted by scripts/fit_sentence_weights.py on the tuning half of RealTime QA: a listwise logistic regression
# over every candidate sentence of the retrieved chunks, labelled by whether it holds a gold answer; then
# scaled so that "meaning" keeps its old weight of 0.55, which the score margins below are measured in.
# On the held-out half the best sentence holds a gold answer for 0.179 of questions, against 0.134 with the
# hand-set weights these replaced (docs/benchmarks.md).
SENTENCE_WEIGHTS: dict[str, float] = {
    "meaning": 0.550,  # cosine similarity of the sentence and the question (the model)
    "words": 0.404,  # the question's words in the sentence; its names may be in the sentence before
    "retrieval": 0.295,  # the similarity of the sentence's chunk to the question
    "typed": 0.348,  # spaCy finds a name, date, number... of the kind asked for, not named in the question
    "kind": 0.173,  # what the question word asks for is there (_kind_bonus: a date for "when", a number...)
    "recency": 0.189,  # 1 for the newest retrieved article, fading over _RECENCY_DAYS
    "lead": 0.211,  # 1 at the top of the article, fading over _LEAD_CHARACTERS
    "length": 0.103,  # longer sentences say more, up to _LONG_SENTENCE words
    "rank": -0.119,  # the chunk's place in the retrieved list: 0 for the first, 1/8 more for each after it
    "question": -0.162,  # the sentence is itself a question: it asks rather than tells
}
# Score margins below the best sentence, in the units of SENTENCE_WEIGHTS.
_CORROBORATION_MARGIN = 0.4  # another article's sentence this close is quoted beside the best one
# (tuning-half accuracy by this margin: 0.2 0.309, 0.3 0.321, 0.4 0.325, 0.5 0.324)
_MORE_MARGIN = 0.1  # another sentence of the same articles this close is quoted too
_VOTE_TEMPERATURE = 0.05  # how fast a sentence's vote for the short answer fades with its score
# (with the trained reader, all three are multiplied by its reader.json's margin_scale)

# With NEWSBOT_READER=trained, the trained reader (bot/answer/reader.py) reads the best _READ_CANDIDATES sentences
# by the cheap evidence (instead of _EMBEDDED_CANDIDATES), and a sentence's score becomes
#   READER_BLEND["features"] x (the weighted sum above) + READER_BLEND["reader"] x (the reader's logit).
# {"features": 1.0, "reader": w} adds the reader as one more, strong piece of evidence; {"features": 0.0,
# "reader": s} replaces the hand-weighted score by the reader's (s scales its logits to the margins above).
# scripts/train_reader.py reports both kinds on its validation questions (training data, never 2023): the best
# sentence holds a gold answer for 0.214 of them with the hand-weighted score, 0.208 with the reader alone,
# 0.220 / 0.223 / 0.223 / 0.231 / 0.237 with it added at 0.05 / 0.1 / 0.2 / 0.3 / 0.5 (bot/answer/reader_model/MODEL.md).
READER_BLEND: dict[str, float] = {"features": 1.0, "reader": 0.5}
_READ_CANDIDATES = 48


@dataclass
class _Candidate:
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
    return _kind_of(entities.expected_labels(question))


def _kind_of(labels: frozenset[str]) -> str:
    if labels & entities.NUMBER:
        return "number"
    for kind, wanted in (("when", entities.WHEN), ("who", entities.PERSON), ("where", entities.PLACE)):
        if labels == wanted:
            return kind
    return "other"


def _about(candidate: _Candidate, names: set[str]) -> bool:
    """Whether a sentence, the sentence before it or its title names everything the question names."""
    meta = candidate.document.metadata
    return not names - content_terms(f"{meta.get('title', '')} {candidate.context} {candidate.text}")


def _says_it(question: str, candidate: _Candidate, names: set[str], labels: frozenset[str]) -> bool:
    """Whether the sentence a short answer comes from is about everything the question names (in it, the
    sentence before it or its title) and, for a who-question, says what it asks about ("composed", "stars")."""
    if not _about(candidate, names):
        return False
    if labels != entities.PERSON:
        return True
    predicate = question_terms(question)[0] - names
    return not predicate or bool(predicate & entities.terms_said(candidate.text))


def _closest_articles(titles: list[str]) -> str:
    """The end of a refusal: the first three titles, or nothing when there are none."""
    return " The closest articles I have are: " + "; ".join(f"“{t}”" for t in titles[:3]) + "." if titles else ""


_WHAT_KIND = {"when": "the date", "number": "the figure", "where": "the place", "who": "the person"}


def not_named(question: str) -> str:
    """The opening of an answer whose articles do not name what was asked: "The articles don't name who
    composed the music for Harbor of Glass" (a short who-question restated), else the kind of thing."""
    asked = question.strip().rstrip("?").strip()
    words = asked.split()
    if words and words[0].lower() == "who" and len(words) <= 12:
        return f"The articles don't name who {' '.join(words[1:])}"
    head = entities.asked_thing(asked)
    thing = f"the {head}" if head else _WHAT_KIND.get(answer_kind(question), "what was asked")
    return f"The articles don't name {thing}"


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


def _quoted_names(question: str, names: set[str]) -> str:
    """The question's own words for the names it was searched by, as the user wrote them."""
    words = list(dict.fromkeys(w for w in WORD.findall(question) if stem(w) in names))
    return ", ".join(f"“{w}”" for w in words)


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


class ExtractiveAnswerer:
    """Scores every sentence of the retrieved chunks by meaning, shared words and answer type."""

    def __init__(
        self,
        embeddings: LocalEmbeddings,
        min_relevance: float = 0.3,
        reader: str = "features",
        reader_model: Path | None = None,
    ):
        """`reader`: "features" (the hand-weighted evidence alone) or "trained" (the reader model in
        `reader_model`, default bot/answer/reader.py's model_dir(), loaded now: a missing file fails here)."""
        self.embeddings = embeddings
        self.min_relevance = min_relevance
        if reader not in ("features", "trained"):
            raise ValueError(f"unknown reader {reader!r}: use features or trained")
        self.reader = None
        if reader == "trained":
            from . import reader as reader_module

            self.reader = reader_module.load(reader_model)
        # the margins below the best score, widened for the reader's wider scores (its reader.json's margin_scale)
        self.margin_scale = self.reader.margin_scale if self.reader is not None else 1.0

    def __call__(self, question: str, documents: list[Document], history: object = None) -> Answer:
        """`history` is accepted for the answerers' common signature; the question already stands alone."""
        retrieved = [Retrieved.of(d) for d in documents]
        names = question_terms(question)[1]
        reason = self._refusal_reason(question, documents, names)
        if reason:
            return Answer(question=question, answer=reason, abstained=True, retrieved=retrieved)

        def named_in(text: str) -> float:
            """The share of what the question names that `text` names too (1 when the question names nothing)."""
            return _coverage(names, content_terms(text)) if names else 1.0

        def same_story(candidate: _Candidate) -> bool:
            """Whether a sentence is about what the question names (in it, before it, or in its title)."""
            return (
                named_in(f"{candidate.document.metadata.get('title', '')} {candidate.context} {candidate.text}") >= 0.5
            )

        def related(candidate: _Candidate) -> bool:
            """Whether a sentence's chunk (or its title) names anything the question names."""
            return named_in(f"{candidate.document.metadata.get('title', '')} {candidate.document.page_content}") > 0

        ranked, cheap = self.rank_sentences(question, documents)
        # Only sentences of chunks that name something the question names, when there are any: the weights
        # were fitted on retrievals nearly all on the story, and would let a newer, unrelated article's lead
        # win. (Requiring the sentence itself to be on the story cost 0.09 on MultiHop-RAG's inference
        # questions, whose long questions name outlets and more.)
        ranked = [c for c in ranked if related(c)] or ranked
        direct, unnamed = self._direct(question, ranked, names, self.margin_scale)

        outlets = _outlets_named(question, documents)
        if len(outlets) >= 2 and _compares(question):  # "Did Polygon and The Verge agree ...": each one's words
            return self._side_by_side(question, outlets, ranked + cheap, retrieved, same_story)
        unread = self._unread_reason(ranked)
        if unread:
            return Answer(question=question, answer=unread, abstained=True, retrieved=retrieved)
        chosen = self._choose(ranked, direct[0] if direct else None, same_story, self.margin_scale)
        answer = self._compose(question, chosen, retrieved, direct, same_story)
        if unnamed and chosen:
            answer = answer.model_copy(update={"answer": f"{not_named(question)}, but: {answer.answer}"})
        return answer

    def rank_sentences(
        self, question: str, documents: list[Document], everything: bool = False
    ) -> tuple[list[_Candidate], list[_Candidate]]:
        """(the sentences scored in full, best first; the rest, which lost on the cheap evidence). The model and
        the entity tagger are costly, so they only see the sentences that can still win, unless `everything`
        (for fitting SENTENCE_WEIGHTS)."""
        terms, names = question_terms(question)
        candidates = self._candidates(documents)
        recency = _recency(documents)
        labels = entities.expected_labels(question)
        kind = _kind_of(labels)
        for candidate in candidates:
            meta = candidate.document.metadata
            candidate.features = {
                "words": lexical_match(terms, names, candidate.text, candidate.context),
                "retrieval": float(meta.get("score", 0.0)),
                "kind": _kind_bonus(kind, candidate.text, terms),
                "recency": recency.get(meta.get("published", ""), 0.0),
                "lead": math.exp(-candidate.start / _LEAD_CHARACTERS),
                "length": min(len(candidate.text.split()), _LONG_SENTENCE) / _LONG_SENTENCE,
                "rank": candidate.rank / 8,
                "question": float(candidate.text.rstrip().endswith("?")),
            }
            candidate.rescore()
        candidates.sort(key=lambda c: c.score, reverse=True)
        limit = len(candidates) if everything else _READ_CANDIDATES if self.reader else _EMBEDDED_CANDIDATES
        candidates, cheap = candidates[:limit], candidates[limit:]
        vectors = self.embeddings.encode([question] + [c.text for c in candidates])
        for candidate, similarity in zip(candidates, vectors[1:] @ vectors[0], strict=True):
            candidate.features["meaning"] = float(similarity)
            candidate.rescore()
        if self.reader is not None:
            self._read(question, candidates)
        candidates.sort(key=lambda c: c.score, reverse=True)
        # A sentence that names a person, date, number... of the kind asked for is likelier to hold the answer.
        top = candidates if everything else candidates[:_TYPED_SENTENCES]
        typed = entities.answers_in(question, [c.text for c in top], labels)
        for candidate, found in zip(top, typed, strict=True):
            candidate.features["typed"] = float(found)
            candidate.rescore()
        candidates.sort(key=lambda c: c.score, reverse=True)
        return candidates, cheap

    def _read(self, question: str, candidates: list[_Candidate]) -> None:
        """The trained reader's logit for each candidate, blended into its score (READER_BLEND)."""
        from .reader import Passage

        passages = [
            Passage(c.text, c.document.metadata.get("title", ""), c.document.metadata.get("published", ""), c.context)
            for c in candidates
        ]
        for candidate, logit in zip(candidates, self.reader.score(question, passages), strict=True):
            candidate.reader = logit
            candidate.rescore()

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
    def _direct(
        question: str, ranked: list[_Candidate], names: set[str], margin_scale: float = 1.0
    ) -> tuple[tuple[_Candidate, list[str]] | None, bool]:
        """(the name, date or number that answers the question, with the best sentence that says it; whether
        the articles plainly do not name it). Not named: no sentence read names anything of the kind asked
        for, or the best candidate's sentence is about something else or does not say what was asked ("Who
        composed the music for Harbor of Glass?" and the only names are its cast)."""
        labels = entities.expected_labels(question)
        top = ranked[:_ENTITY_SENTENCES]
        if not labels or not top:
            return None, False
        newest = max((c.document.metadata.get("published", "") for c in top), default="")
        weights = [
            math.exp((c.score - top[0].score) / (_VOTE_TEMPERATURE * margin_scale))
            * (1.15 if newest and c.document.metadata.get("published") == newest else 1.0)
            for c in top
        ]
        texts = [c.text for c in top]
        on_story = [_about(c, names) for c in top]
        focused = entities.focused(question)  # a quiz's many clues are never all in one sentence
        ranked_entities = entities.rank_entities(question, texts, weights, labels, on_story)
        if not ranked_entities:
            return None, focused
        found = entities.best_of(ranked_entities, texts)
        if not found:
            return None, False
        sentence = top[found[0].sentences[0]]
        if focused and not _says_it(question, sentence, names, labels):
            return None, True
        return (sentence, [entity.text for entity in found]), False

    def _unread_reason(self, ranked: list[_Candidate]) -> str:
        """With the trained reader: a refusal when no sentence it read scores (blended, READER_BLEND) at its
        model's refuse_below or above (reader.json; the articles are on the topic but none says the answer),
        else ""."""
        threshold = self.reader.refuse_below if self.reader is not None else None
        scores = [c.score for c in ranked if c.reader is not None]
        if threshold is None or not scores or max(scores) >= threshold:
            return ""
        titles = list(dict.fromkeys(c.document.metadata["title"] for c in ranked if c.document.metadata.get("title")))
        return "I could not find a sentence that answers that in the indexed news articles." + _closest_articles(titles)

    def _refusal_reason(self, question: str, documents: list[Document], names: set[str]) -> str:
        best = max((float(d.metadata.get("score", 0.0)) for d in documents), default=-1.0)
        # what each article (its title and chunk) names, read once for the three checks below
        named = [content_terms(f"{d.metadata.get('title', '')} {d.page_content}") for d in documents]
        # An article naming everything the question names is on topic however far its meaning seems: the
        # embedding model knows nothing of a new show's or person's name ("Who chaired the Fjordlight jury?").
        named_whole = bool(names) and any(not names - terms for terms in named)
        mentioned = bool(names & set().union(*named, *(content_terms(d.metadata.get("source", "")) for d in documents)))
        if (best >= self.min_relevance or named_whole) and (not names or mentioned):
            return ""
        # only articles that share something the question names: the nearest by meaning alone are noise
        nearest = list(
            dict.fromkeys(
                d.metadata["title"]
                for d, terms in zip(documents, named, strict=True)
                if d.metadata.get("title") and names & terms
            )
        )
        hint = _closest_articles(nearest)
        not_found = "I could not find an answer to that in the indexed news articles."
        if best < self.min_relevance and not named_whole:
            return not_found + hint
        return not_found + " None of them mentions " + _quoted_names(question, names) + "." + hint

    @staticmethod
    def _candidates(documents: list[Document]) -> list[_Candidate]:
        seen: set[tuple[str, int]] = set()
        candidates = []
        for rank, document in enumerate(documents):
            text, offset = document.page_content, int(document.metadata.get("start", 0))
            previous = ""
            for start, end in sentence_spans(text):
                sentence = text[start:end]
                key = (document.metadata["article_id"], offset + start)
                if key not in seen and len(WORD.findall(sentence)) >= 3:
                    seen.add(key)
                    candidates.append(_Candidate(document, offset + start, offset + end, sentence, previous, rank))
                previous = sentence
        return candidates

    @staticmethod
    def _choose(
        ranked: list[_Candidate],
        first: _Candidate | None = None,
        same_story: Callable[[_Candidate], bool] = bool,
        margin_scale: float = 1.0,
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
            close = candidate.score >= best - _CORROBORATION_MARGIN * margin_scale and same_story(candidate)
            if close and article_id not in articles and fits(candidate):
                chosen.append(candidate)
                articles.add(article_id)
        for candidate in ranked:
            if candidate.score >= best - _MORE_MARGIN * margin_scale and candidate not in chosen and fits(candidate):
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
        parts, short_answer = [], ""
        if direct:
            names = direct[1]
            short = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
            # cite the first (newest) quote that says it, else the sentence it was found in
            saying = [c for c in chosen if entities.mentions(c.text, names[0])] or [direct[0]]
            short_answer = f"{short} [{numbers[saying[0].document.metadata['article_id']]}]"
            parts.append(f"{short_answer}.")
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
            short_answer=short_answer,
        )
