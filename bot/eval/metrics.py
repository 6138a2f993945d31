"""Retrieval and answer metrics, each exactly as its benchmark defines it."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path


def _squash(text: str) -> str:
    """MultiHop-RAG compares evidence with retrieved text after removing spaces and newlines."""
    return text.replace(" ", "").replace("\n", "")


def multihop_metrics(retrieved: Sequence[str], gold: Sequence[str]) -> dict[str, float]:
    """One query's Hits@4/@10, AP@10 and RR@10 as MultiHop-RAG's retrieval_evaluate.py computes them (a hit
    is a retrieved chunk containing a gold evidence sentence), plus all-evidence@4/@10: every gold
    sentence is somewhere in the top k."""
    gold_squashed = [_squash(g) for g in gold]
    chunks = [_squash(r) for r in retrieved[:10]]
    first_hit = None
    found: list[str] = []
    precision_sum = 0.0
    for rank, chunk in enumerate(chunks, 1):
        if any(g in chunk for g in gold_squashed):
            first_hit = first_hit or rank
            new = [g for g in gold_squashed if g in chunk and g not in found]
            found.extend(new)
            precision_sum += len(new) / rank

    return {
        "Hits@4": float(first_hit is not None and first_hit <= 4),
        "Hits@10": float(first_hit is not None),
        "MAP@10": precision_sum / min(len(gold_squashed), 10) if gold_squashed else 0.0,
        "MRR@10": 1.0 / first_hit if first_hit else 0.0,
        "all-evidence@4": all_evidence(retrieved, gold, 4),
        "all-evidence@10": all_evidence(retrieved, gold, 10),
    }


def all_evidence(retrieved: Sequence[str], gold: Sequence[str], k: int) -> float:
    """1.0 when every gold evidence sentence is in one of the top k chunks."""
    top = [_squash(chunk) for chunk in retrieved[:k]]
    return float(all(any(_squash(g) in chunk for chunk in top) for g in gold))


@cache
def shared_scorer(shared: Path):
    """The shared answer-scoring module (`datasets/realtimeqa-2023/score.py`), used unchanged."""
    path = Path(shared) / "datasets" / "realtimeqa-2023" / "score.py"
    spec = importlib.util.spec_from_file_location("newsbot_shared_score", path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"no scoring rule at {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def answer_in_chunks(golds: Sequence[str], chunks: Sequence[str], norm) -> bool:
    """A normalised gold answer occurs, as whole words, in one of the chunks."""
    wanted = [f" {norm(g)} " for g in golds if norm(g)]
    return any(w in f" {norm(chunk)} " for chunk in chunks for w in wanted)


def recall_at(golds: Sequence[str], chunks: Sequence[str], norm, ks: Sequence[int]) -> dict[str, float]:
    return {f"recall@{k}": float(answer_in_chunks(golds, chunks[:k], norm)) for k in ks}


def mean(rows: list[dict[str, float]]) -> dict[str, float]:
    if not rows:
        return {}
    return {key: sum(row[key] for row in rows) / len(rows) for key in rows[0]}


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    position = (len(ordered) - 1) * share
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
