"""Run a benchmark over the real pipeline, compare configurations in one invocation, write the results."""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from tqdm import tqdm

from ..chain import NewsBot
from ..settings import Settings
from ..store.embedding import LocalEmbeddings
from ..store.indexing import ingest, open_store
from .datasets import Dataset, Query
from .metrics import mean, multihop_metrics, percentile, recall_at, shared_scorer
from .report import BENCHMARKS, command_line, markers, write_section

# Each configuration is a set of retrieval settings; every other setting is the product's default.
CONFIGS: dict[str, dict] = {
    "dense": {"retrieval": "dense", "use_metadata": False, "per_article": 0},
    "bm25": {"retrieval": "bm25", "use_metadata": False, "per_article": 0},
    "hybrid": {"retrieval": "hybrid", "use_metadata": False, "per_article": 0},
    "hybrid+meta": {"retrieval": "hybrid", "use_metadata": True, "per_article": 0},
    "hybrid+meta+diverse": {"retrieval": "hybrid", "use_metadata": True, "per_article": 2},
    "hybrid+meta+diverse+facets3": {
        "retrieval": "hybrid",
        "use_metadata": True,
        "per_article": 2,
        "facet_clauses": 3,
    },
    "hybrid+meta+diverse+nofacets": {
        "retrieval": "hybrid",
        "use_metadata": True,
        "per_article": 2,
        "facet_clauses": 0,
    },
}
DEPTH = 10


def prepare(dataset: Dataset, settings: Settings, progress: bool = True) -> NewsBot:
    """The dataset's articles in the index (incremental: nothing is embedded twice), and a bot over it."""
    # Store first, bot after: a bot opened before the ingest would build a keyword index only to rebuild it.
    embeddings = LocalEmbeddings.from_settings(settings)
    store = open_store(settings, embeddings)
    summary = ingest([dataset.articles], settings, embeddings, progress=progress, store=store)
    if summary.failed:
        raise RuntimeError(f"{summary.failed} records of {dataset.articles} failed to ingest: {summary.errors[:3]}")
    return NewsBot(settings, embeddings=embeddings, store=store)


def _retriever(bot: NewsBot, config: dict):
    """The bot's retriever with this configuration's settings (their names are the retriever's fields,
    except `retrieval`, which is its `mode`)."""
    update = {("mode" if key == "retrieval" else key): value for key, value in config.items()}
    return bot.retriever.model_copy(update={"k": DEPTH, **update})


def _score_rows(dataset: Dataset, query: Query, chunks: list[str], norm) -> dict[str, float]:
    if dataset.name == "multihop":
        row = multihop_metrics(chunks, query.golds)
        row.update(
            {f"all-evidence@{k}": multihop_metrics(chunks[:k], query.golds)["all-evidence@10"] for k in (1, 2, 6, 8)}
        )
        return row
    return recall_at(query.golds, chunks, norm, range(1, DEPTH + 1))


def evaluate_retrieval(
    dataset: Dataset, bot: NewsBot, configs: list[str], limit: int | None = None, progress: bool = True
) -> dict:
    queries = [q for q in dataset.queries if q.golds]  # multihop's null queries have no evidence: skipped
    queries = queries[:limit] if limit else queries
    norm = shared_scorer(dataset.folder.parent.parent).norm
    results: dict = {"queries": len(queries), "configs": {}}
    for name in configs:
        retriever = _retriever(bot, CONFIGS[name])
        retriever.search("warm up", None)
        rows: dict[str, list[dict[str, float]]] = defaultdict(list)
        seconds = []
        for query in tqdm(queries, desc=name, unit="q", disable=not progress, leave=False):
            started = time.perf_counter()
            documents, _ = retriever.search(query.question, query.as_of)
            seconds.append(time.perf_counter() - started)
            row = _score_rows(dataset, query, [d.page_content for d in documents], norm)
            for group in ["all", *query.groups]:
                rows[group].append(row)
        results["configs"][name] = {
            "metrics": {group: mean(group_rows) for group, group_rows in rows.items()},
            "counts": {group: len(group_rows) for group, group_rows in rows.items()},
            "latency_ms": {"median": percentile(seconds, 0.5) * 1000, "p95": percentile(seconds, 0.95) * 1000},
        }
    return results


def gpt3_baseline(dataset: Dataset) -> dict[str, str]:
    """Question id -> what GPT-3 answered given the web-search articles ({} for a dataset without one)."""
    baseline_file = dataset.folder / "baseline_gpt3_gcs.json"
    if not baseline_file.exists():
        return {}
    return json.loads(baseline_file.read_text(encoding="utf-8"))["gpt3_gcs"]


def evaluate_answers(dataset: Dataset, bot: NewsBot, limit: int | None = None, progress: bool = True) -> dict:
    scorer = shared_scorer(dataset.folder.parent.parent)
    queries = dataset.queries[:limit] if limit else dataset.queries
    rows: dict[str, list[float]] = defaultdict(list)
    baseline_rows: dict[str, list[float]] = defaultdict(list)
    baseline = gpt3_baseline(dataset)
    refused = 0
    seconds = []
    for query in tqdm(queries, desc="answers", unit="q", disable=not progress, leave=False):
        started = time.perf_counter()
        answer = bot.ask(query.question, as_of=query.as_of)
        seconds.append(time.perf_counter() - started)
        refused += answer.abstained
        correct = float(scorer.correct(answer.answer, query.answers))
        for group in ["all", *query.groups]:
            rows[group].append(correct)
            if query.id in baseline:
                baseline_rows[group].append(float(scorer.correct(baseline[query.id], query.answers)))
    return {
        "queries": len(queries),
        "accuracy": {group: sum(v) / len(v) for group, v in rows.items()},
        "counts": {group: len(v) for group, v in rows.items()},
        "baseline": {group: sum(v) / len(v) for group, v in baseline_rows.items()},
        "refused": refused / max(1, len(queries)),
        "latency_ms": {"median": percentile(seconds, 0.5) * 1000, "p95": percentile(seconds, 0.95) * 1000},
    }


def _header(title: str, name: str, settings: Settings, extra: list[str]) -> list[str]:
    start, _ = markers(name)
    return [
        start,
        f"## {title}",
        "",
        f"- Command: `{command_line()}`",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; model all-MiniLM-L6-v2 (CPU, {settings.embedding_backend}); "
        f"chunks of at most "
        f"{settings.chunk_tokens} tokens; top_k for answers {settings.top_k}",
        "- Load average at the end (1/5/15 min, 2 cores): "
        + " / ".join(f"{x:.2f}" for x in os.getloadavg())
        + (" (other work shared the CPU: latencies are pessimistic)" if os.getloadavg()[1] > 1.2 else ""),
        *extra,
        "",
    ]


def section_name(kind: str, dataset: Dataset, settings: Settings) -> str:
    """Where a run's figures go in docs/benchmarks.md: one section per benchmark, dataset and embedding backend
    (the unsuffixed sections are torch's, the first backend; a run with another adds its own section)."""
    suffix = "" if settings.embedding_backend == "torch" else f"_{settings.embedding_backend}"
    return f"eval_{kind}_{dataset.name}{suffix}"


def _backend_title(settings: Settings) -> str:
    return f", embedding backend {settings.embedding_backend}"


def retrieval_report(dataset: Dataset, results: dict, settings: Settings, plot: Path | None) -> str:
    name = section_name("retrieval", dataset, settings)
    if dataset.name == "multihop":
        columns = ["Hits@4", "Hits@10", "MAP@10", "MRR@10", "all-evidence@4", "all-evidence@10"]
        what = "non-null queries; a hit is a retrieved chunk containing a gold evidence sentence (spaces removed)"
    else:
        columns = ["recall@1", "recall@5", "recall@10"]
        what = (
            "all questions, each with its as_of date; a hit is a gold answer (normalised as score.py does) in a chunk"
        )
    lines = _header(
        f"Retrieval on {dataset.name}{_backend_title(settings)} (`newsbot eval retrieval`)",
        name,
        settings,
        [f"- {results['queries']} {what}"],
    )
    configs = results["configs"]
    groups = list(next(iter(configs.values()))["metrics"])
    for group in groups:
        count = next(iter(configs.values()))["counts"][group]
        lines += [f"**{group}** (n={count})", "", "| config | " + " | ".join(columns) + " |"]
        lines.append("| --- | " + " | ".join("--:" for _ in columns) + " |")
        for config, data in configs.items():
            values = data["metrics"][group]
            lines.append(f"| {config} | " + " | ".join(f"{values[c]:.3f}" for c in columns) + " |")
        lines.append("")
    lines += ["Retrieval latency per question (warm, model loaded):", "", "| config | median ms | p95 ms |"]
    lines.append("| --- | --: | --: |")
    for config, data in configs.items():
        lines.append(f"| {config} | {data['latency_ms']['median']:.1f} | {data['latency_ms']['p95']:.1f} |")
    lines.append("")
    lines.append("Configurations: " + "; ".join(f"`{c}` = {CONFIGS[c]}" for c in configs) + ".")
    if plot:
        lines += ["", f"![recall@k per configuration]({plot.relative_to(BENCHMARKS.parent)})"]
    lines.append(markers(name)[1])
    return "\n".join(lines) + "\n"


def answers_report(dataset: Dataset, results: dict, settings: Settings) -> str:
    name = section_name("answers", dataset, settings)
    lines = _header(
        f"Answer accuracy on {dataset.name}{_backend_title(settings)} (`newsbot eval answers`)",
        name,
        settings,
        [
            f"- {results['queries']} questions, scored by `../shared/datasets/realtimeqa-2023/score.py` unchanged "
            "(a normalised gold answer within the first 60 words of the answer); retrieval: "
            f"{settings.retrieval}, metadata {'on' if settings.use_metadata else 'off'}, per_article {settings.per_article}"
        ],
    )
    has_baseline = bool(results["baseline"])
    lines.append("| group | n | newsbot | " + ("GPT-3 + web search baseline |" if has_baseline else ""))
    lines.append("| --- | --: | --: | " + ("--: |" if has_baseline else ""))
    for group, accuracy in results["accuracy"].items():
        row = f"| {group} | {results['counts'][group]} | {accuracy:.3f} | "
        if has_baseline:
            row += f"{results['baseline'].get(group, float('nan')):.3f} |"
        lines.append(row)
    lines += [
        "",
        f"Refused (abstained): {results['refused']:.3f} of the questions. Latency per answer: median "
        f"{results['latency_ms']['median']:.0f} ms, p95 {results['latency_ms']['p95']:.0f} ms.",
        markers(name)[1],
    ]
    return "\n".join(lines) + "\n"


def plot_recall(dataset: Dataset, results: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    prefix = "all-evidence@" if dataset.name == "multihop" else "recall@"
    figure, axes = plt.subplots(figsize=(6.4, 4.0), dpi=110)
    for config, data in results["configs"].items():
        metrics = data["metrics"]["all"]
        ks = sorted(int(key.split("@")[1]) for key in metrics if key.startswith(prefix))
        axes.plot(ks, [metrics[f"{prefix}{k}"] for k in ks], marker="o", label=config)
    axes.set_xlabel("k (chunks retrieved)")
    axes.set_ylabel(prefix.rstrip("@") + "@k")
    axes.set_title(f"{dataset.name}: {prefix.rstrip('@')}@k per configuration")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path


def publish(section: str, name: str, write: bool, echo: Callable[[str], None] = print) -> None:
    echo(section)
    if write:
        write_section(section, name)
        echo(f"updated {BENCHMARKS}")
