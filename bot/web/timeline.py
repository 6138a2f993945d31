""" "What was reported when": the articles that mention a title or a person, on a timeline.

The retriever finds the candidates (dense + keyword, so a differently worded title such as "Things That Come
After Love" for "What Comes After Love" is found too); an article is kept when its title or one of its
retrieved passages names it: a run of consecutive words of the name (stemmed, so "Comes" matches "Come")
long enough to be that name and not a stray phrase.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import quote

from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num
from matplotlib.figure import Figure

from ..chain import NewsBot
from ..search.terms import STOPWORDS, stem
from ..store.chunking import sentence_spans

SEARCH_K = 200  # passages searched per name: every mention in a news index of thousands of articles
MAX_NAME_CHARS = 200
_WORD = re.compile(r"\w+")
# Words that do not make a phrase a name: "what comes after" is not "What Comes After Love".
_PREPOSITIONS = "after before during while through without within between against among around behind beyond since"
_FUNCTION = STOPWORDS | frozenset(f"{_PREPOSITIONS} until upon like near across along toward towards onto".split())


@dataclass(frozen=True)
class Report:
    """One article that mentions the name, and its sentence that names it best."""

    article_id: str
    title: str
    source: str
    url: str
    published: str  # ISO text, possibly reduced ("2024", "2024-05"); "" when unknown
    sentence: str


@dataclass
class Timeline:
    name: str
    dated: list[Report] = field(default_factory=list)  # oldest first
    undated: list[Report] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.dated) + len(self.undated)


def _words(text: str) -> list[str]:
    return [stem(word) for word in _WORD.findall(text.lower())]


class NameMatcher:
    """Finds the name in text: enough of its words, in order and side by side (see the module docstring)."""

    def __init__(self, name: str):
        self.words = _words(name)
        content = [w for w in self.words if w not in _FUNCTION]
        count = len(self.words)
        self.needed = count if count <= 2 else max(2, math.ceil(0.6 * count))
        self.needed_content = min(2, len(content))

    def run(self, text: str) -> int:
        """Length of the longest run of the name's words in `text` that has enough of its content words
        (0: none); a run shorter than `needed` is a partial mention, used to pick the best sentence."""
        words = _words(text)
        best = 0
        for i in range(len(words)):
            for j, word in enumerate(self.words):
                if words[i] != word:
                    continue
                length = 0
                while (
                    i + length < len(words)
                    and j + length < len(self.words)
                    and words[i + length] == self.words[j + length]
                ):
                    length += 1
                content = sum(w not in _FUNCTION for w in self.words[j : j + length])
                enough = content >= (self.needed_content if length >= self.needed else 1)
                if length > best and enough:
                    best = length
        return best

    def names(self, text: str) -> bool:
        """Whether `text` names it (see the module docstring)."""
        return bool(self.words) and self.run(text) >= self.needed


def reported_when(bot: NewsBot, name: str, k: int = SEARCH_K) -> Timeline:
    """The articles naming `name`, dated ones oldest first, each with its best sentence."""
    name = " ".join(name.split())[:MAX_NAME_CHARS]
    timeline = Timeline(name)
    matcher = NameMatcher(name)
    if not matcher.words:
        return timeline
    # A wide search without reading the name as filters ("May" is a name here, not a month).
    finder = bot.retriever.model_copy(
        update={"k": k, "candidates": k, "per_article": 0, "use_metadata": False, "facet_clauses": 0}
    )
    documents, _ = finder.search(name)
    best: dict[str, tuple[int, str]] = {}
    articles: dict[str, dict] = {}
    for document in documents:
        meta = document.metadata
        article_id = meta["article_id"]
        articles.setdefault(article_id, meta)
        text = document.page_content
        for start, end in sentence_spans(text):
            run = matcher.run(text[start:end])
            if run > best.get(article_id, (0, ""))[0]:
                best[article_id] = (run, " ".join(text[start:end].split()))
    for article_id, meta in articles.items():
        named = best.get(article_id, (0, ""))[0] >= matcher.needed
        if not named and not matcher.names(meta.get("title", "")):
            continue
        published = meta.get("published") or ""
        report = Report(
            article_id,
            meta.get("title", ""),
            meta.get("source", ""),
            meta.get("url", ""),
            published,
            best.get(article_id, (0, ""))[1],
        )
        (timeline.dated if published and _when(published) else timeline.undated).append(report)
    timeline.dated.sort(key=lambda r: (r.published, r.title))
    timeline.undated.sort(key=lambda r: r.title)
    return timeline


def _when(published: str) -> tuple[date, float] | None:
    """The date to plot and how many days either side it may be: "2024" is mid-2024, give or take half a year.
    None when it is no date (such an article is listed with the undated ones)."""
    try:
        parts = [int(p) for p in published[:10].split("-")[:3]]
        if len(parts) == 1:
            return date(parts[0], 7, 2), 182.0
        if len(parts) == 2:
            return date(parts[0], parts[1], 15), 15.0
        return date(*parts), 0.0
    except ValueError:
        return None


MAX_PLOTTED = 60


def _label(report: Report, width: int = 48) -> str:
    title = report.title if len(report.title) <= width else report.title[: width - 1] + "…"
    return f"{report.source}: {title}" if report.source else title  # an unknown outlet is left out


def timeline_figure(timeline: Timeline) -> Figure | None:
    """One row per dated article, labelled by outlet and title, its marker at the publication date (an open
    marker with a bar when the date is only a year or a month)."""
    reports = timeline.dated[:MAX_PLOTTED]
    if not reports:
        return None
    points = [_when(r.published) for r in reports]
    figure = Figure(figsize=(10, max(2.0, 0.36 * len(reports) + 1.1)), layout="constrained")
    axes = figure.add_subplot()
    for row, (when, spread) in enumerate(points):
        x = date2num(when)
        if spread:
            axes.errorbar([x], [row], xerr=[[spread], [spread]], fmt="o", mfc="white", color="tab:blue", capsize=3)
        else:
            axes.plot([x], [row], "o", color="tab:blue")
    days = [when.toordinal() for when, spread in points] + [
        when.toordinal() + sign * spread for when, spread in points for sign in (-1, 1)
    ]
    low, high = min(days), max(days)
    pad = max(20, (high - low) * 0.05)
    axes.set_xlim(date2num(date.fromordinal(int(low - pad))), date2num(date.fromordinal(int(high + pad))))
    axes.set_ylim(len(reports) - 0.5, -0.5)
    axes.set_yticks(range(len(reports)), labels=[_label(r) for r in reports], fontsize=8)
    axes.tick_params(axis="y", length=0)
    locator = AutoDateLocator()
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    axes.grid(axis="both", alpha=0.3)
    for side in ("left", "right", "top"):
        axes.spines[side].set_visible(False)
    shown = f" (the first {MAX_PLOTTED})" if len(timeline.dated) > MAX_PLOTTED else ""
    axes.set_title(f"Articles naming “{timeline.name}”, by publication date{shown}", fontsize=10, loc="left")
    return figure


def articles(count: int) -> str:
    """ "1 article", "2 articles"."""
    return f"{count} article" if count == 1 else f"{count} articles"


def timeline_status(timeline: Timeline, name: str) -> str:
    """The line above the plot (Markdown; `name` already made inert): how many articles name it, and how many
    of them are undated."""
    if not len(timeline):
        return f"No article names “{name}”."
    verb = "names" if len(timeline) == 1 else "name"
    status = f"**{articles(len(timeline))}** {verb} “{name}”"
    if timeline.undated:
        undated = len(timeline.undated)
        listed = "is listed" if undated == 1 else "are listed"
        status += f"; {undated} without a publication date {listed} below the table"
    return status + "."


TABLE_HEADERS = ["date", "outlet", "title", "link", "best matching sentence"]
TABLE_TYPES = ["str", "str", "str", "markdown", "str"]  # only the link column is Markdown, and made here


def _link(url: str) -> str:
    """A Markdown link to an http(s) URL, its unsafe characters percent-encoded; else nothing."""
    if not url.lower().startswith(("http://", "https://")):
        return ""
    return f"[open ↗]({quote(url, safe=':/?#&=%+,;@~.-_')})"


def timeline_rows(reports: list[Report]) -> list[list[str]]:
    """Table rows: text shown as text (only the link is Markdown)."""
    return [
        [r.published or "undated", r.source or "—", r.title, _link(r.url), r.sentence or "(named in the title)"]
        for r in reports
    ]
