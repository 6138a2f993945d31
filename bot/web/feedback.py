"""Thumbs up/down (and an optional comment) on the chat's answers, kept in SQLite beside the index, so that
whoever runs the bot can read what users found wrong: `newsbot feedback export`."""

from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, TextIO

Vote = Literal["up", "down"]
FIELDS = ("id", "created_at", "vote", "question", "answer", "citations", "comment")
FILENAME = "feedback.sqlite3"

_SCHEMA = """
create table if not exists feedback (
    id integer primary key autoincrement,
    created_at text not null,
    vote text not null check (vote in ('up', 'down')),
    question text not null,
    answer text not null,
    citations text not null,  -- JSON list of the answer's citations
    comment text not null default ''
)
"""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class FeedbackStore:
    """One row per answer a user voted on; a changed vote or a comment updates that row."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as connection:
            connection.execute(_SCHEMA)

    @classmethod
    def beside(cls, index_dir: Path) -> FeedbackStore:
        """The store of an index: INDEX/feedback.sqlite3."""
        return cls(Path(index_dir) / FILENAME)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection per call: the web app votes from several threads; committed on success."""
        with closing(sqlite3.connect(self.path, timeout=10)) as connection, connection:
            yield connection

    def record(
        self,
        question: str,
        answer: str,
        citations: list[dict] | str,
        vote: Vote,
        comment: str = "",
        created_at: str | None = None,
    ) -> int:
        """A new vote; returns its row id (to change the vote or add a comment later)."""
        if vote not in ("up", "down"):
            raise ValueError(f"vote must be 'up' or 'down', got {vote!r}")
        cited = citations if isinstance(citations, str) else json.dumps(citations, ensure_ascii=False)
        with self._connect() as connection:
            cursor = connection.execute(
                "insert into feedback (created_at, vote, question, answer, citations, comment) values (?, ?, ?, ?, ?, ?)",
                (created_at or _now(), vote, question, answer, cited, comment),
            )
            return int(cursor.lastrowid)

    def update(self, row_id: int, vote: Vote | None = None, comment: str | None = None) -> bool:
        """Change a vote or set its comment; False when the row does not exist."""
        if vote is not None and vote not in ("up", "down"):
            raise ValueError(f"vote must be 'up' or 'down', got {vote!r}")
        with self._connect() as connection:
            cursor = connection.execute(
                "update feedback set vote = coalesce(?, vote), comment = coalesce(?, comment) where id = ?",
                (vote, comment, row_id),
            )
            return cursor.rowcount == 1

    def delete(self, row_id: int) -> None:
        """A vote taken back."""
        with self._connect() as connection:
            connection.execute("delete from feedback where id = ?", (row_id,))

    def rows(self) -> list[dict]:
        """Every vote, oldest first; `citations` decoded."""
        with self._connect() as connection:
            connection.row_factory = sqlite3.Row
            found = connection.execute(f"select {', '.join(FIELDS)} from feedback order by id").fetchall()
        return [{**dict(row), "citations": json.loads(row["citations"] or "[]")} for row in found]

    def export(self, out: TextIO, format: Literal["jsonl", "csv"] = "jsonl") -> int:
        """Write every row as JSON lines or CSV (citations as a JSON string); returns the number of rows."""
        rows = self.rows()
        if format == "csv":
            writer = csv.DictWriter(out, fieldnames=FIELDS)
            writer.writeheader()
            for row in rows:
                writer.writerow({**row, "citations": json.dumps(row["citations"], ensure_ascii=False)})
        elif format == "jsonl":
            for row in rows:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            raise ValueError(f"format must be 'jsonl' or 'csv', got {format!r}")
        return len(rows)
