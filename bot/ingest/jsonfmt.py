"""JSON and JSON Lines with the field names news data sets commonly use."""

import json
from pathlib import Path

from .article import Article, IngestError, make_article

_FIELDS = {
    "title": ("title", "headline", "name"),
    "body": ("body", "text", "content", "article", "maintext", "description", "summary"),
    "url": ("url", "link", "canonical_url", "href"),
    "source": ("source", "outlet", "publisher", "site", "source_name", "sitename"),
    "published": ("published_at", "published", "date", "publishedAt", "pubDate", "datetime", "date_publish"),
    "author": ("author", "authors", "byline"),
    "category": ("category", "section", "topic"),
    "tags": ("tags", "keywords"),
    "external_id": ("id", "_id", "uuid", "guid"),
}
_LIST_KEYS = ("articles", "items", "data", "results", "documents")


def _first(record: dict, names: tuple[str, ...]) -> object:
    for name in names:
        value = record.get(name)
        if value not in (None, "", [], {}):
            return value
    return ""


def article_from_record(record: object, path: Path, where: str) -> Article:
    if not isinstance(record, dict):
        raise IngestError(f"{where}: expected a JSON object with article fields, got {type(record).__name__}")
    values = {field: _first(record, names) for field, names in _FIELDS.items()}
    if isinstance(values["source"], dict):  # NewsAPI style: {"id": ..., "name": ...}
        values["source"] = values["source"].get("name") or values["source"].get("id") or ""
    if isinstance(values["body"], list):
        values["body"] = "\n\n".join(str(part) for part in values["body"])
    if not isinstance(values["body"], str):
        raise IngestError(f"{where}: field for the article text must be a string")
    return make_article(**values, path=str(path), where=where)


def read_json(path: Path, text: str) -> tuple[list[Article], list[str]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise IngestError(f"{path}: invalid JSON at line {error.lineno} column {error.colno}: {error.msg}") from error
    if isinstance(data, dict):
        listed = next((data[key] for key in _LIST_KEYS if isinstance(data.get(key), list)), None)
        records = listed if listed is not None else [data]
    elif isinstance(data, list):
        records = data
    else:
        raise IngestError(f"{path}: expected a JSON object or a list of objects, got {type(data).__name__}")
    if not records:
        raise IngestError(f"{path}: the JSON list holds no articles")
    return _collect(path, ((f"{path} item {i}", record) for i, record in enumerate(records, 1)))


def read_jsonl(path: Path, text: str) -> tuple[list[Article], list[str]]:
    def records():
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                yield where, json.loads(line)
            except json.JSONDecodeError as error:
                yield where, IngestError(f"{where}: invalid JSON at column {error.colno}: {error.msg}")

    return _collect(path, records())


def _collect(path: Path, records) -> tuple[list[Article], list[str]]:
    articles, errors = [], []
    for where, record in records:
        try:
            if isinstance(record, IngestError):
                raise record
            articles.append(article_from_record(record, path, where))
        except IngestError as error:
            errors.append(str(error))
    if not articles and errors:
        raise IngestError(f"{path}: no valid article ({len(errors)} bad records; first: {errors[0]})")
    return articles, errors
