"""Benchmark: how much of RealTime QA the default answerer could answer from what it reads, and where it loses the rest.

  python scripts/bench/answer_ceiling.py --index /tmp/rtqa           # about 8 min on 2 cores
  python scripts/bench/answer_ceiling.py --index /tmp/rtqa --write   # and record the table

`newsbot eval answers` gives one figure per group: how often a gold answer (normalised as score.py does) is in
the first 60 words of the answer. This script follows each question through the answerer (the product's
settings, the question's as_of date, over a full index of the corpus built with `newsbot ingest`) and reports,
per group, the share of questions whose gold answer occurs:

  1. read: in the chunks the answerer is given (top_k). A perfect reader of those chunks would score this;
     no answerer built on this retrieval can score more;
  2. scored: in one of the sentences the answerer scores with the model (the rest lost on cheap evidence);
  3. best sentence: in the sentence it scores best;
  4. answer: in the first 60 words of its answer (the figure of `newsbot eval answers`).

The sentences are ranked a second time beside the answer, since the answerer does not return its ranking.

Beside them: the GPT-3 + web search baseline (which read whole articles) and the goal of issue 4 (0.45).
The questions and articles are read from ../shared at run time; nothing of them is stored in the repository.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

from common import SHARED, section_head
from tqdm import tqdm

GOAL = 0.45
STAGES = ("read", "scored", "best sentence", "answer")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, required=True, help="a full RealTime QA index built by `newsbot ingest`")
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--limit", type=int, help="only the first N questions (a quick check)")
    parser.add_argument("--write", action="store_true", help="write the table to docs/benchmarks.md")
    args = parser.parse_args()

    from bot.chain import NewsBot
    from bot.eval.datasets import load_realtimeqa
    from bot.eval.metrics import answer_in_chunks, shared_scorer
    from bot.eval.run import gpt3_baseline, publish
    from bot.settings import Settings

    dataset = load_realtimeqa(args.shared)
    scorer = shared_scorer(args.shared)
    bot = NewsBot(Settings(index=args.index))
    answerer = bot.answerer
    if not hasattr(answerer, "rank_sentences"):
        raise SystemExit("the configured answerer is not the extractive one: unset NEWSBOT_LLM")
    baseline = gpt3_baseline(dataset)
    queries = dataset.queries[: args.limit] if args.limit else dataset.queries
    rows: dict[str, list[dict[str, float]]] = defaultdict(list)
    for query in tqdm(queries, desc="questions", unit="q"):
        documents, _ = bot.retriever.search(query.question, query.as_of)
        answer = answerer(query.question, documents)
        scored = [] if answer.abstained else answerer.rank_sentences(query.question, documents)[0]
        found = {
            "read": answer_in_chunks(query.golds, [d.page_content for d in documents], scorer.norm),
            "scored": answer_in_chunks(query.golds, [c.text for c in scored], scorer.norm),
            "best sentence": answer_in_chunks(query.golds, [c.text for c in scored[:1]], scorer.norm),
            "answer": scorer.correct(answer.answer, query.answers),
            "GPT-3": scorer.correct(baseline.get(query.id, ""), query.answers),
        }
        for group in ["all", *query.groups]:
            rows[group].append({stage: float(value) for stage, value in found.items()})

    lines, end = section_head("answer_ceiling", "What limits answers on realtimeqa", __file__)
    lines += [
        f"- top_k {bot.settings.top_k} chunks per question, the product's settings, each question's as_of date.",
        "- Share of questions whose gold answer occurs: in the chunks the answerer reads (what a perfect reader of "
        "them would score), in a sentence it scores with the model, in the sentence it scores best, in the first "
        "60 words of its answer (the `newsbot eval answers` figure); the GPT-3 + web search baseline (it read whole "
        f"articles); the goal of issue 4 ({GOAL}). The last column is the answer's share of what was read.",
        "",
        "| group | n | " + " | ".join(STAGES) + " | GPT-3 | goal | answer / read |",
        "| --- | --: | " + " | ".join("--:" for _ in STAGES) + " | --: | --: | --: |",
    ]
    for group in sorted(rows, key=lambda g: (g != "all", g)):
        group_rows = rows[group]
        share = {stage: sum(r[stage] for r in group_rows) / len(group_rows) for stage in (*STAGES, "GPT-3")}
        of_read = share["answer"] / share["read"] if share["read"] else 0.0
        figures = " | ".join(f"{share[stage]:.3f}" for stage in (*STAGES, "GPT-3"))
        lines.append(f"| {group} | {len(group_rows)} | {figures} | {GOAL} | {of_read:.2f} |")
    lines += [end, ""]
    publish("\n".join(lines), "answer_ceiling", args.write)


if __name__ == "__main__":
    main()
