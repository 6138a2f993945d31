"""What a question says about the articles it wants: outlets, publication dates, recency.

"the TechCrunch article published on October 18th" -> only TechCrunch, published 17-19 October;
"the latest news on ..." -> newer articles first. Everything found is listed in `notes`, so the user can
see what was searched.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_MONTHS["sept"] = 9
_MONTH = r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
_DAY_MONTH_YEAR = re.compile(
    rf"\b(?:{_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?|(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH})(?:,?\s+((?:19|20)\d{{2}}))?\b",
    re.I,
)
_MONTH_YEAR = re.compile(rf"\b{_MONTH}\s+((?:19|20)\d{{2}})\b", re.I)
# A date in a question filters by publication only when the question is about publication.
_PUBLICATION_CUE = re.compile(
    r"\b(published|publication|article|articles|report|reports|reported|reporting|posted|story|stories|"
    r"piece|coverage|according to|wrote|written)\b",
    re.I,
)
_RECENCY = re.compile(
    r"\b(latest|most recent|recent(?:ly)?|newest|this (?:week|month)|last week|upcoming|currently|right now|"
    r"today|yesterday|so far)\b",
    re.I,
)
_THIS_WEEK = re.compile(r"\b(this week|last week|today|yesterday|past (?:few )?days)\b", re.I)


@dataclass
class QueryIntent:
    sources: set[str] = field(default_factory=set)  # exact `source` values of the index
    published_from: int | None = None  # unix seconds, inclusive
    published_to: int | None = None
    recency: str = ""  # "", "recent" or "week"
    days: list[date] = field(default_factory=list)  # publication days named in the question
    notes: list[str] = field(default_factory=list)

    @property
    def filters(self) -> bool:
        return bool(self.sources) or self.published_from is not None or self.published_to is not None


def day_span(day: date) -> tuple[int, int]:
    """A publication day as a range of unix seconds, with a day either side for time zones."""
    return _timestamp(day - timedelta(days=1)), _timestamp(day + timedelta(days=2)) - 1


def _timestamp(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def outlet_aliases(source: str) -> list[str]:
    """Ways a question names an outlet: 'FOX News - Lifestyle' -> 'FOX News - Lifestyle', 'FOX News', 'Fox News'."""
    aliases = {source}
    brand = source.split(" - ")[0].strip()
    aliases.add(brand)
    if re.fullmatch(r"[\w-]+\.(com|org|net|co\.uk|com\.au|co)", brand):  # a site: cnn.com -> CNN, usatoday -> USA Today
        stem = brand.split(".")[0]
        aliases.update({stem, stem.upper() if len(stem) <= 4 else stem.capitalize()})
    for alias in list(aliases):
        aliases.add(alias.title())
        if alias.startswith("The "):
            aliases.add("the " + alias[4:])  # "according to the Verge"
            if len(alias.split()) > 2:
                aliases.add(alias[4:])
    return sorted(a for a in aliases if len(a) >= 3)


def find_outlets(question: str, sources: list[str]) -> set[str]:
    """Outlets the question names; where it names one section in full ('The Independent - Life and Style'),
    the other sections that merely share the brand are left out."""
    matches: dict[str, tuple[int, int]] = {}
    compact_question = re.sub(r"[^a-z0-9]", "", question.lower())
    for source in sources:
        for alias in sorted(outlet_aliases(source), key=len, reverse=True):
            if alias.islower() and "." not in alias:  # a site name written together: "usatoday" for "USA Today"
                if len(alias) >= 6 and alias in compact_question:
                    matches[source] = (0, 0)
                    break
                continue
            # as written (capitals included), so "on the verge of" or "at the age of" name no outlet
            hit = re.search(rf"(?<![\w]){re.escape(alias)}(?![\w])", question)
            if hit:
                matches[source] = hit.span()
                break
    widest = [span for span in matches.values() if span != (0, 0)]
    return {
        source
        for source, (start, end) in matches.items()
        if not any(s <= start and end <= e and (e - s) > (end - start) for s, e in widest)
    }


def _resolve(month: int, day: int, year: int | None, reference: date) -> date | None:
    try:
        if year:
            return date(year, month, day)
        candidate = date(reference.year, month, day)
        return candidate if candidate <= reference + timedelta(days=1) else date(reference.year - 1, month, day)
    except ValueError:
        return None


def parse_query(question: str, sources: list[str], reference: date) -> QueryIntent:
    """`reference` is "now" for the question: its as_of date, or the newest article of the index."""
    intent = QueryIntent()
    intent.sources = find_outlets(question, sources)
    if intent.sources:
        intent.notes.append("outlet: " + ", ".join(sorted(intent.sources)))

    if _PUBLICATION_CUE.search(question):
        days = []
        for match in _DAY_MONTH_YEAR.finditer(question):
            month_name = match.group(1) or match.group(4)
            day = int(match.group(2) or match.group(3))
            year = int(match.group(5)) if match.group(5) else None
            resolved = _resolve(_MONTHS[month_name.lower().rstrip(".")], day, year, reference)
            if resolved:
                days.append(resolved)
        intent.days = sorted(set(days))
        if days:  # one day or several: the span they cover, a day either side for time zones
            intent.published_from = day_span(min(days))[0]
            intent.published_to = day_span(max(days))[1]
            intent.notes.append("published: " + ", ".join(d.isoformat() for d in sorted(set(days))) + " (±1 day)")
        else:
            months = [(m, int(y)) for m, y in _MONTH_YEAR.findall(question)]
            if months:
                first = min(date(y, _MONTHS[m.lower().rstrip(".")], 1) for m, y in months)
                last = max(date(y, _MONTHS[m.lower().rstrip(".")], 1) for m, y in months)
                end = date(last.year + (last.month == 12), last.month % 12 + 1, 1)
                intent.published_from, intent.published_to = _timestamp(first), _timestamp(end) - 1
                intent.notes.append(f"published: {first:%Y-%m} to {last:%Y-%m}")

    if _RECENCY.search(question):
        intent.recency = "week" if _THIS_WEEK.search(question) else "recent"
        intent.notes.append(f"recency: newer articles first (as of {reference.isoformat()})")
    return intent


# a comma, but not the one in "£15,000"; a colon, but not the one in "10:30"
_CLAUSE_BREAK = re.compile(r"\s*(?:,(?!\d{3}\b)|;|:(?!\d)|\bwhile\b|\bwhereas\b|\bas well as\b)\s*", re.I)
_WORD = re.compile(r"[A-Za-z0-9][\w'’-]*")
_FACET_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "has",
        "have",
        "had",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "which",
        "who",
        "what",
        "whom",
        "whose",
        "when",
        "where",
        "how",
        "does",
        "do",
        "did",
        "also",
        "both",
        "article",
        "articles",
        "reported",
        "report",
        "according",
    ]
)


def facets(question: str, min_words: int = 3, min_parts: int = 2) -> list[str]:
    """The separate things a long question asks about, one clause each ("..., influencing app distribution,
    showcasing new hardware, and impacting news publishers' revenue"); [] when it asks about one thing."""
    parts = []
    for clause in _CLAUSE_BREAK.split(question):
        clause = re.sub(r"^(?:and|but|or)\s+", "", clause.strip(" ?.!"), flags=re.I)
        content = [w for w in _WORD.findall(clause) if w.lower() not in _FACET_STOPWORDS]
        if len(content) >= min_words:
            parts.append(clause)
    return parts if len(parts) >= max(2, min_parts) else []
