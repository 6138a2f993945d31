"""The one shape every reader produces, and the normalisation every article goes through."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from urllib.parse import urlsplit, urlunsplit

import dateparser


class IngestError(Exception):
    """A file (or one record in it) that cannot be ingested; the message names where and why."""


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    body: str
    url: str = ""
    source: str = ""
    published: str = ""  # ISO 8601: YYYY-MM-DD, or reduced precision YYYY-MM / YYYY; "" when unknown
    author: str = ""
    category: str = ""
    tags: tuple[str, ...] = ()
    path: str = ""  # the file it came from, for --prune
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def published_ts(self) -> int | None:
        """Unix seconds at the start of the publication day (or month/year), for range filters."""
        return iso_to_timestamp(self.published)

    def content_hash(self) -> str:
        parts = [self.title, self.body, self.url, self.source, self.published, self.author, self.category]
        return hashlib.sha256("\x1f".join(parts + list(self.tags)).encode()).hexdigest()


# Control characters but tab and line breaks: `newsbot ask` prints quotes verbatim, and in a terminal ESC (or the
# 8-bit CSI) starts sequences that rewrite the screen, set the window title or the clipboard; NUL upsets tools.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_TRACKING_PARAMS = re.compile(r"^(utm_\w+|fbclid|gclid|mc_cid|mc_eid)$", re.I)


def normalise_url(url: str) -> str:
    """Drop fragments and tracking parameters so one story keeps one id."""
    url = (url or "").strip()
    if not url:
        return ""
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return url
    # Filter the raw `key=value` pieces: re-encoding would drop valueless keys (`story.php?1001`) and merge stories.
    query = "&".join(p for p in parts.query.split("&") if p and not _TRACKING_PARAMS.match(p.split("=", 1)[0]))
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, query, ""))


def site_of(url: str) -> str:
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.")


_REDUCED_ISO = re.compile(r"^\s*(\d{4})(?:-(\d{2}))?\s*$")
_HAS_YEAR = re.compile(r"(?<!\d)(?:1[89]|20)\d{2}(?!\d)")
_URL_DATES = [
    (re.compile(r"/((?:19|20)\d{2})/(\d{1,2})/(\d{1,2})(?:/|$)"), "day"),
    (re.compile(r"(?<!\d)((?:19|20)\d{2})-(\d{2})-(\d{2})(?!\d)"), "day"),
    (re.compile(r"(?<![\d/])((?:19|20)\d{2})(\d{2})(\d{2})(?!\d)"), "day"),
    (re.compile(r"/((?:19|20)\d{2})/(\d{1,2})/"), "month"),
]


def parse_date(value: object) -> str:
    """Any date a news file may carry -> ISO text ('' when it is not a date)."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int) and 1000 <= value <= 9999:  # a bare year, e.g. YAML `published: 2024`
        value = str(value)
    elif isinstance(value, int | float):
        if value > 10**11:  # milliseconds
            value = value / 1000
        return datetime.fromtimestamp(value, tz=UTC).date().isoformat()
    text = str(value).strip()
    reduced = _REDUCED_ISO.match(text)
    if reduced:
        year, month = reduced.groups()
        if month and not 1 <= int(month) <= 12:
            return ""
        return f"{year}-{month}" if month else year
    try:  # the common case, and far faster than dateparser
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        pass
    # dateparser fills what a text lacks from today's clock ("N/A", "Monday", "2 days ago" became recent dates):
    # only texts naming a year, or a Unix timestamp, are dates, and relative times are not parsed.
    if not _HAS_YEAR.search(text) and not (text.isdigit() and len(text) >= 9):
        return ""
    absolute = {"PREFER_DAY_OF_MONTH": "first", "PARSERS": ["timestamp", "custom-formats", "absolute-time"]}
    parsed = dateparser.parse(text, languages=["en"], settings={**absolute, "STRICT_PARSING": False})
    if parsed is None:
        parsed = dateparser.parse(text, settings=absolute)
    return parsed.date().isoformat() if parsed else ""


def date_from_url(url: str) -> str:
    path = urlsplit(url).path if url else ""
    for pattern, precision in _URL_DATES:
        for match in pattern.finditer(path):
            year, month = int(match.group(1)), int(match.group(2))
            try:
                if precision == "day":
                    return date(year, month, int(match.group(3))).isoformat()
                date(year, month, 1)
                return f"{year:04d}-{month:02d}"
            except ValueError:
                continue
    return ""


def iso_to_timestamp(iso: str) -> int | None:
    if not iso:
        return None
    parts = [int(p) for p in iso.split("-")]
    parts += [1] * (3 - len(parts))
    return int(datetime(parts[0], parts[1], parts[2], tzinfo=UTC).timestamp())


def _clean(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(_clean(v) for v in value if _clean(v))
    return " ".join(_CONTROL.sub("", str(value)).split())


def make_article(
    *,
    body: str,
    title: object = "",
    url: object = "",
    source: object = "",
    published: object = "",
    author: object = "",
    category: object = "",
    tags: object = (),
    external_id: object = "",
    path: str = "",
    where: str = "",
) -> Article:
    """Normalise one record; raises IngestError naming `where` when it holds no article."""
    body = _CONTROL.sub("", body or "").strip() if isinstance(body, str) else _clean(body)
    if not body:
        raise IngestError(f"{where}: no article text (expected a body, text or content field)")
    url_text = normalise_url(_clean(url))
    title_text = _clean(title) or body.split("\n", 1)[0][:120].strip()
    published_iso = parse_date(published) if published not in (None, "") else ""
    if not published_iso:
        published_iso = date_from_url(url_text)
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.split(",")]
    tag_tuple = tuple(_clean(t) for t in (tags or ()) if _clean(t))
    if url_text:
        article_id = url_text
    elif _clean(external_id):
        article_id = f"id:{_clean(external_id)}"
    else:
        digest = hashlib.sha256(f"{title_text}\x1f{body}".encode()).hexdigest()[:20]
        article_id = f"sha256:{digest}"
    return Article(
        id=article_id,
        title=title_text,
        body=body,
        url=url_text,
        source=_clean(source) or site_of(url_text),
        published=published_iso,
        author=_clean(author),
        category=_clean(category).lower(),
        tags=tag_tuple,
        path=path,
    )
