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
            for candidate in sorted(path.rglob("*")):
                relative = candidate.relative_to(path).parts
                if any(part.startswith(".") for part in relative) or not candidate.is_file():
                    continue
                if candidate.suffix.lower() in SUPPORTED and candidate.stem.lower() not in _NOT_ARTICLES:
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


def _decode(path: Path, data: bytes) -> str:
    if not data.strip():
        raise IngestError(f"{path}: the file is empty")
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):  # before UTF-16: same first two bytes
        return data.decode("utf-32")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # e.g. Notepad's "Unicode"; full of NUL bytes
        return data.decode("utf-16")
    if b"\x00" in data[:65536]:
        raise IngestError(f"{path}: binary file (contains NUL bytes), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        matches = from_bytes(data)
        best = matches.best()
        if best is None:
            raise IngestError(f"{path}: not text in any known encoding (binary file?)") from None
        # Short texts often tie between code pages (cp1250 would turn "Núñez" into "Núńez"): prefer Western cp1252.
        western = [m for m in matches if "cp1252" in m.could_be_from_charset and m.chaos <= best.chaos]
        return str(western[0] if western and western[0].coherence >= best.coherence else best)


def read_file(path: Path) -> FileResult:
    """Never raises for bad input: the reasons end up in FileResult.errors."""
    result = FileResult(path)
    try:
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
