"""Benchmark: fan questions over made-up articles, scored per kind of question.

  python scripts/bench/fan_questions.py            # print the table
  python scripts/bench/fan_questions.py --write    # and update its section of docs/benchmarks.md

The 12 invented articles of tests/fan_articles/ are indexed into a temporary index with every setting at its
default, and each row of tests/fan_questions.jsonl is asked (with its earlier turns, as a chat would); bot/eval/
fan.py judges it: the short answer names what was expected; a question the articles do not answer is refused
or answered "The articles don't name ..."; a follow-up with nothing to refer to gets a question back. The same
rows are tests/answer/test_fan_questions.py, where today's wrong ones are strict xfails.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from common import section_head, timed

from bot.chain import NewsBot
from bot.eval.fan import FAN_ARTICLES, ask, judge, load_questions
from bot.eval.run import publish
from bot.settings import Settings
from bot.store.embedding import LocalEmbeddings
from bot.store.indexing import ingest

NAME = "fan_questions"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="update the section in docs/benchmarks.md")
    arguments = parser.parse_args()
    rows = load_questions()
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(index=Path(folder) / "index")
        embeddings = LocalEmbeddings.from_settings(settings)
        summary = ingest([FAN_ARTICLES], settings, embeddings, progress=False)
        bot = NewsBot(settings, embeddings=embeddings)
        bot.ask("warm up")
        by_kind: dict[str, list[bool]] = defaultdict(list)
        wrong: list[str] = []
        seconds = []
        for row in rows:
            answer, took = timed(ask, bot, row)
            seconds.append(took)
            right, said = judge(row, answer)
            by_kind[row.kind].append(right)
            if not right:
                wrong.append(f"`{row.id}` ({row.question}): {said}")
    right_of = {kind: (sum(values), len(values)) for kind, values in by_kind.items()}
    total = sum(r for r, _ in right_of.values()), sum(n for _, n in right_of.values())
    lines, end = section_head(NAME, "Fan questions over made-up articles", __file__, from_root=True)
    lines += [
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; every setting at its default (reader "
        f"`{settings.reader}`, answerer extractive); index: tests/fan_articles/ ({summary.added} articles)",
        f"- {len(rows)} questions of tests/fan_questions.jsonl, judged by bot/eval/fan.py (the expected name, date "
        'or number in the short answer; a refusal or "The articles don\'t name ..." for questions the articles '
        "do not answer; a question back for a follow-up with nothing to refer to)",
        "",
        "| kind of question | right | of |",
        "| --- | --: | --: |",
        *[f"| {kind} | {r} | {n} |" for kind, (r, n) in right_of.items()],
        f"| **all** | **{total[0]}** | **{total[1]}** |",
        "",
        f"Time per question (with its earlier turns): median {statistics.median(seconds) * 1000:.0f} ms, "
        f"max {max(seconds) * 1000:.0f} ms.",
        "",
        "Wrong today:",
        "",
        *[f"- {line}" for line in wrong],
        end,
    ]
    publish("\n".join(lines) + "\n", NAME, arguments.write)


if __name__ == "__main__":
    main()
