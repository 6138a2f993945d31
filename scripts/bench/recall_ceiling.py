"""Benchmark: how much of RealTime QA any retriever over its corpus could find, and where ours loses the rest.

  python scripts/bench/recall_ceiling.py                             # what the data allows (about 2 min)
  python scripts/bench/recall_ceiling.py --index /tmp/rtqa --write   # and where the default retrieval stands

Answer-recall counts a question when a gold answer string (normalised as score.py does) occurs in a retrieved
chunk. That is bounded by the corpus: for some questions no article of corpus.jsonl contains a gold string at
all, or only articles published after the question's as_of date do. Per group, this reports:

  1. in the corpus: a gold string occurs in some article (title or text), whatever its date;
  2. by as_of: ... in some article published by the question's as_of date, or of unknown date (what
     `newsbot eval retrieval` can find, since it applies each question's as_of);
  3. with --index, the default retrieval (NewsRetriever.search, the product's settings) over that full index:
     answer-recall@10 over chunks (the figure of `newsbot eval retrieval`), the same over the whole articles
     those 10 chunks come from (the right article was found, the passage holding the answer was not among the
     10), and answer-recall@50 over chunks.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

from common import SHARED, section_head, show

from bot.eval.datasets import load_realtimeqa
from bot.eval.metrics import answer_in_chunks, shared_scorer
from bot.ingest.article import date_from_url, normalise_url


def _articles(corpus: Path, norm) -> dict[str, tuple[str, str]]:
    """Normalised URL -> (normalised title and text, publication date from the URL or '')."""
    articles = {}
    for line in corpus.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        url = normalise_url(row["url"])
        articles[url] = (norm(f"{row['title']} {row['text']}"), date_from_url(url))
    return articles


def _contains(golds: list[str], text: str) -> bool:
    """Both already normalised."""
    return answer_in_chunks(golds, [text], lambda already: already)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--index", type=Path, help="a full RealTime QA index built by `newsbot ingest`")
    parser.add_argument("--write", action="store_true", help="write the table to docs/benchmarks.md")
    args = parser.parse_args()

    dataset = load_realtimeqa(args.shared)
    norm = shared_scorer(args.shared).norm
    articles = _articles(dataset.articles, norm)
    retriever = None
    if args.index:
        from bot.chain import NewsBot
        from bot.settings import Settings

        retriever = NewsBot(Settings(index=args.index)).retriever.model_copy(update={"k": 50})
        retriever.search("warm up", None)
    counts: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for query in dataset.queries:
        golds = [norm(gold) for gold in query.golds]
        in_corpus = by_as_of = False
        for text, published in articles.values():
            if _contains(golds, text):
                in_corpus = True
                if not published or published <= query.as_of:  # a month (2023-01) counts from its first day
                    by_as_of = True
                    break
        row = {"in the corpus": in_corpus, "by as_of": by_as_of}
        if retriever is not None:
            documents, _ = retriever.search(query.question, query.as_of)
            chunks = [document.page_content for document in documents]
            row["chunks@10"] = answer_in_chunks(query.golds, chunks[:10], norm)
            found = {normalise_url(d.metadata.get("url", "")) for d in documents[:10]}
            row["articles@10"] = any(_contains(golds, articles[url][0]) for url in found if url in articles)
            row["chunks@50"] = answer_in_chunks(query.golds, chunks, norm)
        for group in ["all", *query.groups]:
            counts[group]["n"] += 1
            for key, value in row.items():
                counts[group][key] += float(value)

    columns = ["in the corpus", "by as_of"] + (["chunks@10", "articles@10", "chunks@50"] if retriever else [])
    lines, end = section_head("recall_ceiling", "What limits answer-recall on realtimeqa", __file__)
    lines += [
        "- Share of questions whose gold answer string occurs: in some article of the corpus (any date); in some "
        "article published by the question's as_of date or undated (the most any retriever can find when as_of "
        "is applied); with an index, in the default retrieval's top 10 chunks, in the whole articles of those 10 "
        "chunks, and in its top 50 chunks.",
        "",
        "| group | n | " + " | ".join(columns) + " |",
        "| --- | --: | " + " | ".join("--:" for _ in columns) + " |",
    ]
    for group, row in counts.items():
        n = int(row["n"])
        lines.append(f"| {group} | {n} | " + " | ".join(f"{row[c] / n:.3f}" for c in columns) + " |")
    lines += [end, ""]
    show("\n".join(lines), "recall_ceiling", args.write)


if __name__ == "__main__":
    main()
