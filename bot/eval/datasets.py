"""The benchmark question sets in ../shared/datasets, read as they are."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Query:
    id: str
    question: str
    golds: list[str]  # gold answers, or (multihop retrieval) the gold evidence sentences
    answers: list[str]  # gold answers for answer scoring
    as_of: str | None = None
    groups: list[str] = field(default_factory=list)  # e.g. "type: comparison_query", "entertainment"


@dataclass
class Dataset:
    name: str
    articles: Path  # what is ingested
    queries: list[Query]
    folder: Path


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_multihop(shared: Path) -> Dataset:
    folder = shared / "datasets" / "multihop-rag"
    queries = []
    for row in _lines(folder / "queries.jsonl"):
        groups = [f"type: {row['question_type']}"]
        if any(e.get("category") == "entertainment" for e in row["evidence"]):
            groups.append("entertainment evidence")
        queries.append(
            Query(
                id=str(row["id"]),
                question=row["question"],
                golds=[e["fact"] for e in row["evidence"]],
                answers=[row["answer"]],
                groups=groups,
            )
        )
    return Dataset("multihop", folder / "articles.jsonl", queries, folder)


def load_realtimeqa(shared: Path) -> Dataset:
    folder = shared / "datasets" / "realtimeqa-2023"
    rows = _lines(folder / "questions.jsonl")
    half = len(rows) // 2
    queries = [
        Query(
            id=row["id"],
            question=row["question"],
            golds=row["answers"],
            answers=row["answers"],
            as_of=row["as_of"].replace("/", "-"),
            # The answerer was tuned on the first half only: the second half shows whether that generalises.
            groups=(["entertainment"] if row["topic"] == "entertainment" else [])
            + ["first half (tuning)" if number < half else "second half (held out)"],
        )
        for number, row in enumerate(rows)
    ]
    return Dataset("realtimeqa", folder / "corpus.jsonl", queries, folder)


LOADERS = {"multihop": load_multihop, "realtimeqa": load_realtimeqa}


def load(name: str, shared: Path) -> Dataset:
    if name not in LOADERS:
        raise ValueError(f"unknown dataset {name!r}: choose one of {', '.join(LOADERS)}")
    folder = shared / "datasets"
    if not folder.is_dir():
        raise FileNotFoundError(f"no benchmark data at {folder} (expected ../shared beside the project)")
    return LOADERS[name](shared)
