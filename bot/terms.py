"""Words as search terms: stemmed (Snowball), stopwords dropped, entertainment role words folded together."""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer

STOPWORDS = frozenset(
    """
    a an the and or but if of to in on at by for with from as is are was were be been being am do does
    did has have had having it its it's this that these those there their them they he she his her him i
    me my we our you your what which who whom whose when where why how about into over under than then
    so not no nor can could will would shall should may might must also just more most other some such
    only own same too very s t tell know said says say one ones any all each both few many much up down
    out off again further once here get got go going
    """.split()  # noqa: SIM905
)
WORD = re.compile(r"[\w'’-]+")

# Different words news writers use for the same role, folded onto one stem.
_ROLE_SYNONYMS = {
    "director": "direct",
    "helm": "direct",
    "filmmak": "direct",
    "cast": "star",
    "premier": "releas",
    "debut": "releas",
    "air": "releas",
    "writer": "write",
    "pen": "write",
    "author": "write",
    "novelist": "write",
}
_stemmer = Stemmer.Stemmer("english")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    word = word.lower().strip("'’-")
    for suffix in ("'s", "’s"):
        word = word.removesuffix(suffix)
    stemmed = _stemmer.stemWord(word)
    return _ROLE_SYNONYMS.get(stemmed, stemmed)


def terms(text: str) -> set[str]:
    """Stemmed content words of a text."""
    return {stem(w) for w in WORD.findall(text) if w.lower() not in STOPWORDS}


def question_terms(question: str) -> tuple[set[str], set[str]]:
    """(content terms, terms from capitalised words: names and titles) of a question."""
    words = WORD.findall(question)
    content = {stem(w) for w in words if w.lower() not in STOPWORDS and len(w) > 1}
    names = {stem(w) for i, w in enumerate(words) if i > 0 and w[0].isupper() and w.lower() not in STOPWORDS}
    return content, names
