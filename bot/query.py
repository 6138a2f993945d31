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
    notes: list[str] = field(default_factory=list)

    @property
    def filters(self) -> bool:
        return bool(self.sources) or self.published_from is not None or self.published_to is not None


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
    found = set()
    compact_question = re.sub(r"[^a-z0-9]", "", question.lower())
    for source in sources:
        for alias in outlet_aliases(source):
            if alias.islower() and "." not in alias:  # a site name written together: "usatoday" for "USA Today"
                hit = len(alias) >= 6 and alias in compact_question
            else:  # as written (capitals included), so "on the verge of" or "at the age of" name no outlet
                hit = re.search(rf"(?<![\w]){re.escape(alias)}(?![\w])", question)
            if hit:
                found.add(source)
                break
    return found


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
        if days:  # one day or several: the span they cover, a day either side for time zones
            intent.published_from = _timestamp(min(days) - timedelta(days=1))
            intent.published_to = _timestamp(max(days) + timedelta(days=2)) - 1
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
