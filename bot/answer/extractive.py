"""The default answerer: no LLM. It quotes the sentences of the retrieved articles that best answer the
question, so every word of an answer can be traced to an article.

It scores every sentence by weighted evidence (evidence.py), keeps to those about what the question names, leads
with a short answer (entities.py), quotes the best sentences with their corroboration, and refuses when nothing
relevant was retrieved or no article names what was asked."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path

from langchain_core.documents import Document

from ..search.terms import WORD, question_terms, stem
from ..search.terms import terms as content_terms
from ..store.chunking import sentence_spans
from ..store.embedding import LocalEmbeddings
from . import entities
from .evidence import (
    LEAD_CHARACTERS,
    LONG_SENTENCE,
    SentenceCandidate,
    about,
    answer_kind,
    coverage,
    kind_bonus,
    kind_of,
    lexical_match,
    recency_bonus,
    says_it,
)
from .types import Answer, Citation, Quote, Retrieved

_MAX_SENTENCES = 3
_MAX_WORDS = 90
_TYPED_SENTENCES = 12  # the best sentences checked for an entity of the expected kind
_ENTITY_SENTENCES = 6  # the best sentences whose names, dates and numbers vote for the short answer
_EMBEDDED_CANDIDATES = 24  # sentences scored by the model per question; the rest lose on cheap evidence

# Score margins below the best sentence, in the units of SENTENCE_WEIGHTS (evidence.py).
_CORROBORATION_MARGIN = 0.4  # another article's sentence this close is quoted beside the best one
# (tuning-half accuracy by this margin: 0.2 0.309, 0.3 0.321, 0.4 0.325, 0.5 0.324)
_MORE_MARGIN = 0.1  # another sentence of the same articles this close is quoted too
_VOTE_TEMPERATURE = 0.05  # how fast a sentence's vote for the short answer fades with its score
# (with the trained reader, all three are multiplied by its reader.json's margin_scale)

# With NEWSBOT_READER=trained, the reader reads this many of the best sentences by the cheap evidence (instead of
# _EMBEDDED_CANDIDATES); evidence.py's READER_BLEND says how its score joins theirs.
_READ_CANDIDATES = 48


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


def _quoted_names(question: str, names: set[str]) -> str:
    """The question's own words for the names it was searched by, as the user wrote them."""
    words = list(dict.fromkeys(w for w in WORD.findall(question) if stem(w) in names))
    return ", ".join(f"“{w}”" for w in words)


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
            return coverage(names, content_terms(text)) if names else 1.0

        def same_story(candidate: SentenceCandidate) -> bool:
            """Whether a sentence is about what the question names (in it, before it, or in its title)."""
            return (
                named_in(f"{candidate.document.metadata.get('title', '')} {candidate.context} {candidate.text}") >= 0.5
            )

        def related(candidate: SentenceCandidate) -> bool:
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
    ) -> tuple[list[SentenceCandidate], list[SentenceCandidate]]:
        """(the sentences scored in full, best first; the rest, which lost on the cheap evidence). The model and
        the entity tagger are costly, so they only see the sentences that can still win, unless `everything`
        (for fitting SENTENCE_WEIGHTS)."""
        terms, names = question_terms(question)
        candidates = self._candidates(documents)
        recency = recency_bonus(documents)
        labels = entities.expected_labels(question)
        kind = kind_of(labels)
        for candidate in candidates:
            meta = candidate.document.metadata
            candidate.features = {
                "words": lexical_match(terms, names, candidate.text, candidate.context),
                "retrieval": float(meta.get("score", 0.0)),
                "kind": kind_bonus(kind, candidate.text, terms),
                "recency": recency.get(meta.get("published", ""), 0.0),
                "lead": math.exp(-candidate.start / LEAD_CHARACTERS),
                "length": min(len(candidate.text.split()), LONG_SENTENCE) / LONG_SENTENCE,
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

    def _read(self, question: str, candidates: list[SentenceCandidate]) -> None:
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
        ranked: list[SentenceCandidate],
        retrieved: list[Retrieved],
        same_story: Callable[[SentenceCandidate], bool],
    ) -> Answer:
        """The best sentence of each named outlet about what the question names, labelled with the outlet and
        date, in the question's order; an outlet with nothing on it says so."""
        chosen: list[SentenceCandidate] = []
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
        question: str, ranked: list[SentenceCandidate], names: set[str], margin_scale: float = 1.0
    ) -> tuple[tuple[SentenceCandidate, list[str]] | None, bool]:
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
        on_story = [about(c, names) for c in top]
        focused = entities.focused(question)  # a quiz's many clues are never all in one sentence
        ranked_entities = entities.rank_entities(question, texts, weights, labels, on_story)
        if not ranked_entities:
            return None, focused
        found = entities.best_of(ranked_entities, texts)
        if not found:
            return None, False
        sentence = top[found[0].sentences[0]]
        if focused and not says_it(question, sentence, names, labels):
            return None, True
        return (sentence, [entity.text for entity in found]), False

    def _unread_reason(self, ranked: list[SentenceCandidate]) -> str:
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
    def _candidates(documents: list[Document]) -> list[SentenceCandidate]:
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
                    candidates.append(
                        SentenceCandidate(document, offset + start, offset + end, sentence, previous, rank)
                    )
                previous = sentence
        return candidates

    @staticmethod
    def _choose(
        ranked: list[SentenceCandidate],
        first: SentenceCandidate | None = None,
        same_story: Callable[[SentenceCandidate], bool] = bool,
        margin_scale: float = 1.0,
    ) -> list[SentenceCandidate]:
        """The best sentence (or the one the direct answer comes from); the best one of each other article
        about the same story close behind it (corroboration from several sources); then more of the same
        articles if they score nearly as well."""
        if not ranked:
            return []
        best = ranked[0].score
        chosen = [first or ranked[0]]

        def fits(candidate: SentenceCandidate) -> bool:
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
        chosen: list[SentenceCandidate],
        retrieved: list[Retrieved],
        direct: tuple[SentenceCandidate, list[str]] | None = None,
        same_story: Callable[[SentenceCandidate], bool] = bool,
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
