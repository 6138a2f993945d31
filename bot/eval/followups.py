"""A conversation set made from realtimeqa's questions, to measure follow-ups.

For each question that names something (spaCy's entities: a person, an organisation, a place, a title, an
event) that is not its answer, the conversation is: first "What is the latest news about NAME?", then the
question itself with its longest such NAME replaced by a pronoun ("they" for a person, else "it"), as a user would ask it after the first answer. The follow-up
is answered twice: with the conversation (rewritten to stand alone) and without it (as asked). Both are
scored by the shared rule against the question's gold answers.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from dataclasses import dataclass

from tqdm import tqdm

from ..answer import entities
from ..chain import NewsBot
from .datasets import Dataset, Query
from .metrics import percentile, shared_scorer


@dataclass
class FollowUp:
    query: Query
    name: str
    first: str
    follow_up: str


def build_followups(dataset: Dataset) -> list[FollowUp]:
    """One conversation per question that names something other than its answer."""
    scorer = shared_scorer(dataset.folder.parent.parent)
    conversations = []
    for query in dataset.queries:
        answers = [scorer.norm(a) for a in query.answers]
        found = [
            (text, label)
            for text, label in entities.named(query.question)
            if len(text) > 3 and not any(scorer.norm(text) in a or a in scorer.norm(text) for a in answers if a)
        ]
        if not found:
            continue
        name, label = max(found, key=lambda item: len(item[0]))
        pronoun = "they" if label == "PERSON" else "it"
        pattern = rf"(?:\b[Tt]he\s+)?(?<!\w){re.escape(name)}(?:'s|’s)?(?!\w)"
        follow_up = re.sub(pattern, pronoun, query.question, count=1)
        if follow_up == query.question:
            continue
        follow_up = follow_up[0].upper() + follow_up[1:]
        conversations.append(FollowUp(query, name, f"What is the latest news about {name}?", follow_up))
    return conversations


def evaluate_followups(dataset: Dataset, bot: NewsBot, limit: int | None = None, progress: bool = True) -> dict:
    scorer = shared_scorer(dataset.folder.parent.parent)
    conversations = build_followups(dataset)
    available = len(conversations)
    conversations = conversations[:limit] if limit else conversations
    rows: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    seconds: list[float] = []
    rewritten_has_name = 0
    for item in tqdm(conversations, desc="follow-ups", unit="q", disable=not progress, leave=False):
        query = item.query
        first = bot.ask(item.first, as_of=query.as_of)
        history = [{"role": "user", "content": item.first}, {"role": "assistant", "content": first.answer}]
        started = time.perf_counter()
        with_history = bot.ask(item.follow_up, as_of=query.as_of, history=history)
        seconds.append(time.perf_counter() - started)
        alone = bot.ask(item.follow_up, as_of=query.as_of)
        original = bot.ask(query.question, as_of=query.as_of)
        rewritten_has_name += item.name.lower() in with_history.searched.lower()
        for group in ["all", *query.groups]:
            rows[group]["follow-up, rewritten"].append(float(scorer.correct(with_history.answer, query.answers)))
            rows[group]["follow-up as asked"].append(float(scorer.correct(alone.answer, query.answers)))
            rows[group]["original question"].append(float(scorer.correct(original.answer, query.answers)))
    return {
        "available": available,
        "conversations": len(conversations),
        "accuracy": {g: {k: sum(v) / len(v) for k, v in columns.items()} for g, columns in rows.items()},
        "counts": {g: len(next(iter(columns.values()))) for g, columns in rows.items()},
        "name_restored": rewritten_has_name / max(1, len(conversations)),
        "latency_ms": {"median": percentile(seconds, 0.5) * 1000, "p95": percentile(seconds, 0.95) * 1000},
        "examples": [(c.first, c.follow_up) for c in conversations[:3]],
    }


def followups_report(dataset: Dataset, results: dict, settings) -> str:
    from .report import markers
    from .run import _backend_title, _header, section_name

    name = section_name("followups", dataset, settings)
    first, follow_up = results["examples"][0] if results["examples"] else ("", "")
    lines = _header(
        f"Follow-up questions on {dataset.name}{_backend_title(settings)} (`newsbot eval followups`)",
        name,
        settings,
        [
            f"- {results['conversations']} of the {results['available']} conversations that can be built (see "
            "`bot/eval/followups.py`): first “What is the latest news about NAME?”, then the question with NAME "
            f"replaced by a pronoun; e.g. “{first}” then “{follow_up}”. Scored by the shared rule.",
            f"- The rewritten follow-up contained NAME again in {results['name_restored']:.1%} of them.",
        ],
    )
    columns = ["follow-up, rewritten", "follow-up as asked", "original question"]
    lines.append("| group | n | " + " | ".join(columns) + " |")
    lines.append("| --- | --: | " + " | ".join("--:" for _ in columns) + " |")
    for group, accuracy in results["accuracy"].items():
        values = " | ".join(f"{accuracy[c]:.3f}" for c in columns)
        lines.append(f"| {group} | {results['counts'][group]} | {values} |")
    lines += [
        "",
        f"Latency of a rewritten follow-up: median {results['latency_ms']['median']:.0f} ms, "
        f"p95 {results['latency_ms']['p95']:.0f} ms.",
        markers(name)[1],
    ]
    return "\n".join(lines) + "\n"
