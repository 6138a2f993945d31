"""Benchmark: does the bot refuse what the news does not cover, and answer what it does?

MultiHop-RAG (../shared/datasets/multihop-rag) is indexed into a temporary index (its 326 articles), and all
500 questions are asked: its null queries ("Insufficient information") should be refused, the others
answered. Prints, for several values of NEWSBOT_MIN_RELEVANCE, the share of null queries refused and of
answerable queries wrongly refused (by the relevance gate alone), and the same for the full default
answerer, and for the answerer with the trained reader (NEWSBOT_READER=trained), whose own refusal is
calibrated on its best reader logit. With --write, updates its section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from common import SHARED, section_head, show, timed
from tqdm import tqdm

from bot.answer.extractive import ExtractiveAnswerer
from bot.chain import NewsBot
from bot.settings import Settings
from bot.store.embedding import LocalEmbeddings
from bot.store.indexing import ingest

THRESHOLDS = (0.25, 0.30, 0.35, 0.40, 0.45)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", default=str(SHARED), help="the shared data folder")
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args(argv)
    data = Path(args.shared) / "datasets" / "multihop-rag"
    queries = [json.loads(line) for line in (data / "queries.jsonl").read_text(encoding="utf-8").splitlines() if line]

    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(index=Path(folder) / "index")
        embeddings = LocalEmbeddings()
        summary = ingest([data / "articles.jsonl"], settings, embeddings, progress=False)
        bot = NewsBot(settings, embeddings=embeddings)
        trained = NewsBot(settings.model_copy(update={"reader": "trained"}), embeddings=embeddings, store=bot.store)
        reading = ExtractiveAnswerer(embeddings, settings.min_relevance, reader="trained")
        best: dict[str, list[float]] = {"null": [], "answerable": []}
        best_read: dict[str, list[float]] = {"null": [], "answerable": []}  # best blended score of a sentence
        gated: dict[str, list[bool]] = {"null": [], "answerable": []}  # refused by the relevance gate
        refused = {"null": 0, "answerable": 0}
        refused_trained = {"null": 0, "answerable": 0}
        seconds = []
        for query in tqdm(queries, desc="questions", unit="q"):
            kind = "null" if query["question_type"] == "null_query" else "answerable"
            documents = bot.retriever.invoke(query["question"])
            best[kind].append(max((d.metadata["score"] for d in documents), default=0.0))
            answer, took = timed(bot.ask, query["question"])
            gate = answer.abstained  # the default answerer refuses by the gate alone
            refused[kind] += gate
            gated[kind].append(gate)
            seconds.append(took)
            refused_trained[kind] += trained.ask(query["question"]).abstained
            ranked, _ = reading.rank_sentences(query["question"], documents)
            best_read[kind].append(max((c.score for c in ranked if c.reader is not None), default=float("-inf")))

    counts = {kind: len(values) for kind, values in best.items()}
    lines, end = section_head("bench_refusal", "Refusing what the news does not cover", __file__, from_root=True)
    lines += [
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Index: MultiHop-RAG `articles.jsonl`, {summary.added} articles, {summary.chunks} chunks (dense retrieval, "
        f"top_k {settings.top_k}); questions: all {len(queries)} of `queries.jsonl`, {counts['null']} null queries "
        f"(should be refused) and {counts['answerable']} answerable ones",
        "",
        "Relevance gate alone (the best retrieved chunk's cosine similarity below the threshold):",
        "",
        "| NEWSBOT_MIN_RELEVANCE | null queries refused | answerable queries wrongly refused |",
        "| --: | --: | --: |",
    ]
    for threshold in THRESHOLDS:
        null = sum(score < threshold for score in best["null"]) / counts["null"]
        wrong = sum(score < threshold for score in best["answerable"]) / counts["answerable"]
        mark = " (default)" if abs(threshold - settings.min_relevance) < 1e-9 else ""
        lines.append(f"| {threshold:.2f}{mark} | {null:.3f} | {wrong:.3f} |")
    lines += [
        "",
        f"The full default answerer (gate at {settings.min_relevance}, passed also by a chunk that names everything "
        "the question names; and a question naming something that no retrieved chunk mentions is refused): null "
        f"queries refused **{refused['null'] / counts['null']:.3f}**, "
        f"answerable queries wrongly refused **{refused['answerable'] / counts['answerable']:.3f}**. "
        f"Median `ask` {statistics.median(seconds) * 1000:.0f} ms.",
        "",
        "Median best-chunk similarity: null queries "
        f"{statistics.median(best['null']):.3f}, answerable {statistics.median(best['answerable']):.3f}. "
        "The default threshold was chosen from this table: the highest value that wrongly refuses under 1% of "
        "answerable questions.",
        end,
    ]
    threshold = reading.reader.refuse_below

    def with_reader(kind: str, cut: float) -> float:
        """Share of `kind` refused by the answerer with the reader refusing below `cut` (the gate too)."""
        return sum(g or b < cut for g, b in zip(gated[kind], best_read[kind], strict=True)) / counts[kind]

    cuts = np.unique(np.round(best_read["answerable"], 3))
    under = [float(c) for c in cuts if with_reader("answerable", c) < 0.01]
    highest = max(under, default=None)
    quantiles = np.quantile(best_read["answerable"], (0.01, 0.02, 0.05)).round(3)
    shown = sorted(
        {*map(float, quantiles), *([highest] if highest is not None else []), *([threshold] if threshold else [])}
    )
    lines[-1:-1] = [
        "",
        f"With NEWSBOT_READER=trained (the shipped reader, refuse_below {threshold} in its reader.json; None: it "
        "never refuses on its own): the answerer also refuses when no sentence it reads has a blended score "
        "(hand-weighted + reader) at that value or above. Null queries refused "
        f"**{refused_trained['null'] / counts['null']:.3f}**, answerable queries "
        f"wrongly refused **{refused_trained['answerable'] / counts['answerable']:.3f}**. By threshold (the gate "
        "included, the reader's score taken over every sentence read, before the answerer keeps those of chunks naming "
        "what the question names, so a little under what the answerer refuses; the highest that wrongly refuses "
        "under 1% of answerable queries is marked):",
        "",
        "| refuse below (blended score) | null queries refused | answerable queries wrongly refused |",
        "| --: | --: | --: |",
    ]
    for cut in shown:
        marks = [m for m, on in (("highest under 1%", cut == highest), ("shipped", cut == threshold)) if on]
        mark = f" ({', '.join(marks)})" if marks else ""
        lines.insert(
            len(lines) - 1,
            f"| {cut:.3f}{mark} | {with_reader('null', cut):.3f} | {with_reader('answerable', cut):.3f} |",
        )
    show("\n".join(lines) + "\n", "bench_refusal", args.write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
