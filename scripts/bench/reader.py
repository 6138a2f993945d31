"""Benchmark: the trained reader against the hand-weighted scorer, side by side in one run.

  python scripts/bench/reader.py --index /work/bench-index/realtimeqa --write        # RealTime QA 2023 (dev)
  python scripts/bench/reader.py --dataset multihop --write                           # MultiHop-RAG, a check
  python scripts/bench/reader.py --index DIR --limit 100                              # a quick look
  python scripts/bench/reader.py --index DIR --top-k 8,30 --write                     # reading more chunks

Two bots share one index, one embedding model and the product's retrieval; they differ only in
NEWSBOT_READER: `features` (the hand-weighted evidence, SENTENCE_WEIGHTS) and `trained` (the shipped reader
model, bot/answer/reader_model/, blended as READER_BLEND says). Each question is asked to both, as `newsbot ask`
would (its as_of date, no history), in alternating order so that neither gets the warmer cache. Per group:

  answer right      a normalised gold answer within the first 60 words of the answer (../shared's score.py,
                    unchanged: the figure of `newsbot eval answers`);
  best sentence     a gold answer in the first sentence the answer quotes (the sentence it read as best);
  refused           the answer is a refusal;
  time              the whole `ask` (retrieval and answer), warm, median and p95, with the load average.

The realtimeqa index is a full one built by `newsbot ingest ../shared/datasets/realtimeqa-2023/corpus.jsonl
--index DIR` (about 25 min on 2 cores); multihop's 326 articles are indexed into .eval-index/multihop if DIR is
not given. The first half of RealTime QA's weeks is the one SENTENCE_WEIGHTS were tuned on; the second half
was never looked at while tuning either reader, and is the honest figure. The reader itself never saw 2023.
"""

from __future__ import annotations

import argparse
import statistics
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from common import REPO, SHARED, load_average, p95, ratio, section_head, timed
from tqdm import tqdm

READERS = ("features", "trained")
STAGES = ("answer right", "best sentence", "refused")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=("realtimeqa", "multihop"), default="realtimeqa")
    parser.add_argument("--index", type=Path, help="the dataset's full index (default: .eval-index/DATASET)")
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--limit", type=int, help="only the first N questions (a quick look; not written)")
    parser.add_argument("--write", action="store_true", help="write the table to docs/benchmarks.md")
    parser.add_argument("--readers", default=",".join(READERS), help="which to run (a check of one alone: not written)")
    parser.add_argument(
        "--top-k",
        default="",
        help="chunks retrieved and read, comma-separated (e.g. 8,30: each reader at each; written to its own section)",
    )
    args = parser.parse_args()
    chosen = tuple(r for r in args.readers.split(",") if r in READERS) or READERS
    depths = [int(k) for k in args.top_k.split(",") if k.strip()]
    # a "reader" column below is a bot: NEWSBOT_READER, and with --top-k the chunks it reads ("trained, 30")
    readers = tuple(f"{r}, {k}" for k in depths for r in chosen) if depths else chosen

    from bot.chain import NewsBot
    from bot.eval.datasets import load
    from bot.eval.metrics import answer_in_chunks, percentile, shared_scorer
    from bot.eval.run import prepare, publish
    from bot.settings import Settings
    from bot.store.embedding import LocalEmbeddings
    from bot.store.indexing import open_store

    dataset = load(args.dataset, args.shared)
    scorer = shared_scorer(args.shared)
    index = args.index or REPO / ".eval-index" / args.dataset
    base = Settings(index=index)
    if args.dataset == "multihop":  # its 326 articles, indexed incrementally
        shared = prepare(dataset, base, progress=False)
        embeddings, store = shared.embeddings, shared.store
    elif not (index / "chroma.sqlite3").is_file():
        raise SystemExit(f"no index at {index}: build it with `newsbot ingest {dataset.articles} --index {index}`")
    else:
        embeddings = LocalEmbeddings.from_settings(base)
        store = open_store(base, embeddings)
    bots = {
        reader: NewsBot(
            base.model_copy(
                update={"reader": reader.split(",")[0], **({"top_k": int(reader.split(",")[1])} if depths else {})}
            ),
            embeddings=embeddings,
            store=store,
        )
        for reader in readers
    }
    for bot in bots.values():
        bot.ask("Who stars in What Comes After Love?")  # load everything before timing
    queries = dataset.queries[: args.limit] if args.limit else dataset.queries
    rows: dict[str, dict[str, list[dict[str, float]]]] = {reader: defaultdict(list) for reader in readers}
    seconds: dict[str, list[float]] = {reader: [] for reader in readers}
    load_start = load_average()
    for number, query in enumerate(tqdm(queries, desc="questions", unit="q")):
        order = readers if number % 2 == 0 else readers[::-1]
        for reader in order:
            answer, took = timed(bots[reader].ask, query.question, as_of=query.as_of)
            seconds[reader].append(took)
            quotes = [q.text for c in answer.citations for q in c.quotes]
            # the sentence read as best: the one the short answer came from, else the first quoted
            best = quotes[:1]
            found = {
                "answer right": float(scorer.correct(answer.answer, query.answers)),
                "best sentence": float(bool(best) and answer_in_chunks(query.answers, best, scorer.norm)),
                "refused": float(answer.abstained),
            }
            for group in ["all", *query.groups]:
                rows[reader][group].append(found)

    groups = list(rows[readers[0]])
    section = f"bench_reader_{args.dataset}"
    title = f"The trained reader against the hand-weighted scorer on {args.dataset}" + (
        f", reading {' or '.join(map(str, depths))} chunks" if depths else ""
    )
    lines, end = section_head(section, title, __file__)
    load_end = load_average()
    lines += [
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; index `{index}`; {len(queries)} questions, each asked to "
        + (
            f"each bot ({'; '.join(readers)}: NEWSBOT_READER, then the chunks retrieved and read, top_k; same index "
            "and embedding model)"
            if depths
            else "both bots (same index, embedding model and retrieval; NEWSBOT_READER=features or trained)"
        )
        + ", as `newsbot ask` would, with its as_of date",
        f"- Load average (1/5/15 min, 2 cores): {load_start} at start, {load_end} at end",
        "- answer right: a normalised gold answer in the first 60 words (../shared's score.py, unchanged); best "
        "sentence: a gold answer in the first sentence the answer quotes; refused: the answer is a refusal",
        "",
        "| group | n | " + " | ".join(f"{stage}, {reader}" for stage in STAGES for reader in readers) + " |",
        "| --- | --: | " + " | ".join("--:" for _ in STAGES for _ in readers) + " |",
    ]
    for group in groups:
        cells = []
        for stage in STAGES:
            for reader in readers:
                values = [row[stage] for row in rows[reader][group]]
                cells.append(f"{statistics.fmean(values):.3f}")
        lines.append(f"| {group} | {len(rows[readers[0]][group])} | " + " | ".join(cells) + " |")
    lines += ["", "Time per `ask` (retrieval and answer, warm):", ""]
    lines += ["| reader | median ms | p95 ms | ratio of medians |", "| --- | --: | --: | --: |"]
    baseline = percentile(seconds[readers[0]], 0.5)
    for reader in readers:
        median = percentile(seconds[reader], 0.5)
        lines.append(
            f"| {reader} | {median * 1000:.0f} | {p95(seconds[reader]) * 1000:.0f} | {ratio(median, baseline):.2f} |"
        )
    lines.append(end)
    whole = not args.limit and chosen == READERS
    publish("\n".join(lines) + "\n", section, args.write and whole)


if __name__ == "__main__":
    main()
