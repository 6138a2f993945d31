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
    "play": "star",
    "premier": "releas",
    "debut": "releas",
    "air": "releas",
    "writer": "write",
    "pen": "write",
    "author": "write",
    "novelist": "write",
    "wrote": "write",
    "written": "write",
    "won": "win",
    "winner": "win",
    "chairman": "chair",
    "chairwoman": "chair",
    "chairperson": "chair",
}
_stemmer = Stemmer.Stemmer("english")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    word = word.lower().strip("'’-")
    for suffix in ("'s", "’s"):
        word = word.removesuffix(suffix)
    stemmed = _stemmer.stemWord(word)
    return _ROLE_SYNONYMS.get(stemmed, stemmed)


def is_stopword(word: str) -> bool:
    """A stopword however a fan types it: "Who's", "it’s", "What's" are "who", "it", "what"."""
    plain = word.lower().replace("’", "'")
    return plain in STOPWORDS or plain.removesuffix("'s") in STOPWORDS or plain.removesuffix("'re") in STOPWORDS


def terms(text: str) -> set[str]:
    """Stemmed content words of a text."""
    return {stem(w) for w in WORD.findall(text) if not is_stopword(w)}


def question_terms(question: str) -> tuple[set[str], set[str]]:
    """(content terms, terms from capitalised words: names and titles) of a question. The first word counts
    as a name when a title goes on after it ("Harbor of Glass's director?"): otherwise it is capitalised only
    because it starts the question."""
    words = WORD.findall(question)
    content = {stem(w) for w in words if not is_stopword(w) and len(w) > 1}

    def title_goes_on(i: int) -> bool:
        following = words[i + 1 : i + 3]
        return bool(following) and (
            following[0][0].isupper() or (following[0].lower() in ("of", "the") and following[-1][0].isupper())
        )

    names = {
        stem(w) for i, w in enumerate(words) if w[0].isupper() and not is_stopword(w) and (i > 0 or title_goes_on(i))
    }
    return content, names
