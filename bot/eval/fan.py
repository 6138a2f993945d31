"""Fan questions over made-up articles: does the short answer name the right kind of thing, and does a
lookalike question the articles do not answer get "the articles don't say" instead of a confident name?

The articles (tests/fan_articles/) and the questions (tests/fan_questions.jsonl) are written for this
project: invented shows, people and countries, so that no model or benchmark has seen them. Each row is
one question (with the earlier turns of its conversation in `history`) and what counts as right:
  expect   any one of these strings in the short answer (the bold line), case-insensitive;
  refuse   the answer is a refusal, or says plainly that the articles do not name what was asked;
  clarify  the reply asks which film, show or person is meant (needs_clarification).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..answer.types import Answer

REPO = Path(__file__).resolve().parents[2]
FAN_ARTICLES = REPO / "tests" / "fan_articles"
FAN_QUESTIONS = REPO / "tests" / "fan_questions.jsonl"
NOT_NAMED = "The articles don't name"  # how an answer without a short answer of the asked kind opens


@dataclass
class FanQuestion:
    id: str
    kind: str
    question: str
    history: list[str] = field(default_factory=list)
    expect: list[str] = field(default_factory=list)
    refuse: bool = False
    clarify: bool = False


def load_questions(path: Path = FAN_QUESTIONS) -> list[FanQuestion]:
    """The rows of the table; a malformed row names its line."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = FanQuestion(**json.loads(line))
        except (json.JSONDecodeError, TypeError) as error:
            raise ValueError(f"{path}:{number}: not a fan question row ({error})") from error
        if sum((bool(row.expect), row.refuse, row.clarify)) != 1:
            raise ValueError(f"{path}:{number}: give exactly one of expect, refuse, clarify")
        rows.append(row)
    return rows


def judge(row: FanQuestion, answer: Answer) -> tuple[bool, str]:
    """(right, what the bot said that decided it)."""
    if row.clarify:
        return answer.needs_clarification, f"needs_clarification={answer.needs_clarification}"
    if row.refuse:
        honest = answer.abstained or answer.answer.startswith(NOT_NAMED)
        return honest, "refused" if honest else f"answered {answer.short_answer or answer.answer[:80]!r}"
    right = bool(set(map(_plain, row.expect)) & set(_named_parts(answer.short_answer)))
    return right, f"short answer {answer.short_answer!r}" if answer.short_answer else "no short answer"


def _plain(text: str) -> str:
    return re.sub(r"^(?:the|a|an) ", "", text.strip(" .,;:\"'“”").lower())


def _named_parts(short_answer: str) -> list[str]:
    """The short answer whole and each thing it lists ("A and B", "Sunday, February 2"), without its [n]:
    a longer name that merely contains the expected one ("X: Southern Seas" for "X") is not it."""
    text = re.sub(r"\s*\[\d+\]", "", short_answer)
    return [_plain(part) for part in [text, *re.split(r",\s*|\s+and\s+|\s+&\s+", text)] if part.strip()]


def ask(bot, row: FanQuestion) -> Answer:
    """Ask the row's conversation turn by turn, as a chat would, and return the last answer."""
    turns: list[dict[str, str]] = []
    for question in row.history:
        earlier = bot.ask(question, history=turns or None)
        turns += [{"role": "user", "content": question}, {"role": "assistant", "content": earlier.answer}]
    return bot.ask(row.question, history=turns or None)
