"""Reading article files of every supported format into normalised Article records."""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from charset_normalizer import from_bytes

from .article import Article, IngestError, make_article
from .feed import looks_like_feed, read_feed
from .html import read_html
from .jsonfmt import read_json, read_jsonl
from .markdown import read_markdown
from .text import read_text

__all__ = ["Article", "IngestError", "FileResult", "discover", "read_file", "make_article", "SUPPORTED"]

Reader = Callable[[Path, str], "list[Article] | tuple[list[Article], list[str]]"]

SUPPORTED: dict[str, Reader] = {
    ".txt": read_text,
    ".md": read_markdown,
    ".markdown": read_markdown,
    ".json": read_json,
    ".jsonl": read_jsonl,
    ".ndjson": read_jsonl,
    ".html": read_html,
    ".htm": read_html,
    ".xml": read_feed,
    ".rss": read_feed,
    ".atom": read_feed,
}
# Files a folder usually holds beside its articles; named explicitly, they are read like any file.
_NOT_ARTICLES = {"readme", "license", "licence", "notice", "changelog", "attribution"}


@dataclass
class FileResult:
    path: Path
    articles: list[Article] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """The whole file was unusable (its articles already in the index must be kept)."""
        return not self.articles and bool(self.errors)


def discover(paths: Iterable[str | Path]) -> tuple[list[Path], list[str]]:
    """Files to read under the given files and folders, plus an error line for each bad path."""
    files: list[Path] = []
    errors: list[str] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            root = path.resolve()
            for candidate in sorted(path.rglob("*")):
                relative = candidate.relative_to(path).parts
                if any(part.startswith(".") for part in relative) or not candidate.is_file():
                    continue
                if candidate.suffix.lower() not in SUPPORTED or candidate.stem.lower() in _NOT_ARTICLES:
                    continue
                if not candidate.resolve().is_relative_to(root):
                    # A link in a folder (an upload, a shared drop folder) must not read files from elsewhere.
                    errors.append(
                        f"{candidate}: symbolic link to {candidate.resolve()}, outside {root}; skipped "
                        "(name the file itself to ingest it)"
                    )
                    continue
                files.append(candidate)
        elif path.is_file():
            if path.suffix.lower() in SUPPORTED:
                files.append(path)
            else:
                known = ", ".join(sorted(SUPPORTED))
                errors.append(f"{path}: unsupported file type '{path.suffix or '(none)'}' (supported: {known})")
        elif path.exists():
            errors.append(f"{path}: not a regular file or folder")
        else:
            errors.append(f"{path}: no such file or folder")
    unique = list(dict.fromkeys(file.resolve() for file in files))
    return unique, errors


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 text saved without a byte order mark (some Windows exports): mostly Latin text then has a NUL in
    every other byte, and only there. None when the bytes do not look like that or do not decode."""
    sample = data[:65536]
    if len(data) % 2 or len(sample) < 4:
        return None
    for zeros, other, encoding in (
        (sample[1::2], sample[0::2], "utf-16-le"),
        (sample[0::2], sample[1::2], "utf-16-be"),
    ):
        if zeros.count(0) >= 0.6 * len(zeros) and other.count(0) == 0:
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                return None
            printable = sum(1 for char in text[:4096] if char.isprintable() or char in "\t\r\n")
            return text if printable >= 0.95 * min(len(text), 4096) else None
    return None


def _mostly_utf8(data: bytes) -> str | None:
    """UTF-8 text with a few stray invalid bytes (a bad copy and paste, a truncated download): decoded as UTF-8
    with U+FFFD for the bad bytes, rather than guessed as a legacy code page (mojibake throughout) or refused.
    Needs valid multi-byte sequences outnumbering the bad ones four to one, so cp1252 files are not taken."""
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    good = len(text) - len(text.encode("ascii", "ignore")) - bad  # valid non-ASCII characters
    return text.removeprefix("\ufeff") if good and bad * 4 <= good else None


def _decode(path: Path, data: bytes) -> str:
    if not data.strip():
        raise IngestError(f"{path}: the file is empty")
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):  # before UTF-16: same first two bytes
        return data.decode("utf-32")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # e.g. Notepad's "Unicode"; full of NUL bytes
        return data.decode("utf-16")
    if b"\x00" in data[:65536]:
        utf16 = _utf16_without_bom(data)
        if utf16 is None:
            raise IngestError(f"{path}: binary file (contains NUL bytes), not text")
        return utf16
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        mostly_utf8 = _mostly_utf8(data)
        if mostly_utf8 is not None:
            return mostly_utf8
        matches = from_bytes(data)
        best = matches.best()
        if best is None:
            raise IngestError(f"{path}: not text in any known encoding (binary file?)") from None
        # Short texts often tie between code pages (cp1250 would turn "Núñez" into "Núńez"): prefer Western cp1252.
        western = [m for m in matches if "cp1252" in m.could_be_from_charset and m.chaos <= best.chaos]
        return str(western[0] if western and western[0].coherence >= best.coherence else best)


def read_file(path: Path, max_bytes: int | None = None) -> FileResult:
    """Never raises for bad input: the reasons end up in FileResult.errors. A file larger than `max_bytes` is
    refused before it is read (NEWSBOT_MAX_FILE_BYTES), so one enormous file cannot exhaust the memory."""
    result = FileResult(path)
    try:
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise IngestError(
                f"{path}: the file is {size:,} bytes, larger than the limit of {max_bytes:,} bytes "
                "(NEWSBOT_MAX_FILE_BYTES); it was not ingested"
            )
        data = path.read_bytes()
        text = _decode(path, data)
        if not text.strip():
            raise IngestError(f"{path}: the file is empty")
        reader = SUPPORTED[path.suffix.lower()]
        if reader is read_feed and not looks_like_feed(text):
            raise IngestError(f"{path}: XML file is not an RSS or Atom feed")
        if reader is read_text and path.suffix.lower() == ".txt" and looks_like_feed(text):
            reader = read_feed
        outcome = reader(path, text)
    except IngestError as error:
        result.errors.append(str(error))
        return result
    except OSError as error:
        result.errors.append(f"{path}: cannot read: {error.strerror or error}")
        return result
    except Exception as error:  # a library choking on hostile input must not stop the other files
        result.errors.append(f"{path}: cannot parse: {type(error).__name__}: {error}")
        return result
    articles, errors = outcome if isinstance(outcome, tuple) else (outcome, [])
    result.articles.extend(articles)
    result.errors.extend(errors)
    return result
