"""The `newsbot` command: ingest articles, ask questions, serve the chat app."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import textwrap
from pathlib import Path
from typing import TextIO

from pydantic import ValidationError

from . import __version__
from .errors import IndexUnusable
from .settings import Settings, load_settings

EXAMPLE = 'newsbot ask "Who stars in What Comes After Love?"'
DESCRIPTION = f"""\
Ask questions about entertainment news and get short answers quoted from the articles, with numbered
citations (title, outlet, date, link). Works offline; no LLM needed.

  newsbot ingest corpus/    # index the sample articles (or your own files)
  {EXAMPLE}
  newsbot serve             # chat in the browser at http://127.0.0.1:7860

Every option can also be set as an environment variable NEWSBOT_<NAME> (for example NEWSBOT_INDEX).
"""
HELP_WIDTH = 80  # every help screen wraps here, whatever the terminal's width (COLUMNS)


class CliError(Exception):
    """A user error: printed as one line, exit status 2."""


class HelpFormatter(argparse.HelpFormatter):
    """One layout for `newsbot --help` and every subcommand's: HELP_WIDTH columns (argparse alone would follow
    the terminal's width, so each screen came out differently); paragraphs are re-wrapped, and a paragraph
    with indented lines (examples) is kept line for line."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24, width: int | None = None):
        super().__init__(prog, indent_increment, max_help_position, width=HELP_WIDTH)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        paragraphs = []
        for paragraph in text.strip("\n").split("\n\n"):
            lines = paragraph.splitlines()
            if any(line.startswith(" ") for line in lines):
                paragraphs.append("\n".join(indent + line for line in lines))
            else:
                paragraphs.append(
                    textwrap.fill(" ".join(paragraph.split()), width, initial_indent=indent, subsequent_indent=indent)
                )
        return "\n\n".join(paragraphs)


class Parser(argparse.ArgumentParser):
    """Every parser of the command, subcommands included (argparse makes them of the same class), uses
    HelpFormatter."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)


def _settings(args: argparse.Namespace) -> Settings:
    try:
        settings = load_settings(
            index=getattr(args, "index", None),
            top_k=getattr(args, "top_k", None),
            host=getattr(args, "host", None),
            port=getattr(args, "port", None),
        )
    except ValidationError as error:  # one line per bad setting; the value itself is never echoed (secrets)
        raise CliError(
            "; ".join(f"NEWSBOT_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in error.errors())
        ) from None
    # Every message names the index as the user can find it, whatever folder the command was run from.
    return settings.model_copy(update={"index": settings.index.absolute()})


def _index_hint(settings: Settings) -> str:
    """How to build this index: the default one needs no --index (and was not mistyped)."""
    if settings.index == Path(Settings.model_fields["index"].default).absolute():
        return "`newsbot ingest corpus/` (or your own article folders)"
    return f"`newsbot ingest corpus/ --index {settings.index}` (or your own article folders), or check --index"


def _require_index(settings: Settings) -> None:
    """Commands that only read (ask, chat) never create an index: a missing or mistyped folder is a user error.
    With a Chroma server the chunks are there, and NEWSBOT_INDEX holds only this machine's derived cache."""
    from .store.chroma import is_index

    if settings.chroma_url or is_index(settings.index):
        return
    if not settings.index.exists():
        state = "no such folder"
    elif settings.index.is_dir():
        state = "the folder holds no index yet"
    else:
        state = "not a folder"
    raise CliError(f"no index at {settings.index} ({state}): build it with {_index_hint(settings)}")


def _open_bot(settings: Settings):
    """The bot over the existing index (opened, never created)."""
    from .chain import NewsBot
    from .store.embedding import LocalEmbeddings
    from .store.indexing import open_store

    _require_index(settings)
    embeddings = LocalEmbeddings.from_settings(settings)
    return NewsBot(settings, embeddings=embeddings, store=open_store(settings, embeddings, create=False))


def _print_answer(answer, out: TextIO, explain: bool = False) -> None:
    if explain:
        out.write(f"Searched for: {answer.searched or answer.question}\n")
        for line in answer.understood:
            out.write(f"Understood: {line}\n")
        out.write(f"Answered by: {answer.backend}\n")
        for line in answer.dropped:
            out.write(f"Dropped (its citation did not hold up): {line}\n")
        out.write("\n")
    for note in answer.notes:
        out.write(f"Note: {note}\n")
    text, short = answer.answer, answer.short_answer
    if short and text.startswith(short):  # the short answer on a line of its own, as the chat shows it
        text = f"{short}\n{text[len(short) :].lstrip('.').strip()}"
    out.write(text + "\n")
    if answer.citations:
        out.write("\nSources:\n")
    for citation in answer.citations:
        when = citation.published or "date unknown"
        details = f"{citation.source}, {when}" if citation.source else when  # an unknown outlet is left out
        out.write(f"[{citation.n}] {citation.title} ({details})\n")
        if citation.url:
            out.write(f"    {citation.url}\n")
        for quote in [q.text for q in citation.quotes] or [citation.quote]:
            out.write(f"    “{quote.strip()}”\n")


def cmd_ingest(args: argparse.Namespace) -> int:
    from .store.indexing import ingest

    if args.verbose:
        logging.getLogger("bot").setLevel(logging.INFO)
    settings = _settings(args)
    summary = ingest(
        args.paths,
        settings,
        prune=args.prune,
        progress=not args.quiet and sys.stderr.isatty(),
        report=_error_line,
    )
    print(summary)
    if summary.failed:
        print(f"{summary.failed} file(s) or record(s) could not be ingested (see the lines above).", file=sys.stderr)
        return 1
    return 0


def _duration(text: str) -> float:
    """argparse type of --every: its error names the flag and the accepted forms."""
    from .store.watch import parse_duration

    try:
        return parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def cmd_watch(args: argparse.Namespace) -> int:
    """Poll until Ctrl-C or SIGTERM, which are the normal way to stop (status 0); --once: 1 if anything failed."""
    import signal
    import threading

    from .store.watch import format_duration, watch

    if args.verbose:
        logging.getLogger("bot").setLevel(logging.INFO)
    for feed in args.feeds:
        if not feed.lower().startswith(("http://", "https://")):
            raise CliError(f"{feed} is not an http(s) feed URL (for files, use `newsbot ingest`)")
    settings = _settings(args)
    if not args.once:
        print(f"watching {len(args.feeds)} feed(s) every {format_duration(args.every)}; Ctrl-C stops.", file=sys.stderr)

    def stop(signum, frame):  # a service manager's SIGTERM stops as cleanly as Ctrl-C
        raise KeyboardInterrupt

    main_thread = threading.current_thread() is threading.main_thread()  # signal handlers can only be set there
    previous = signal.signal(signal.SIGTERM, stop) if main_thread else None
    try:
        return watch(
            args.feeds,
            settings,
            every=args.every,
            once=args.once,
            report=_error_line,
        )
    except IndexUnusable as error:
        raise CliError(str(error)) from error
    except KeyboardInterrupt:
        print("newsbot: stopped watching.", file=sys.stderr)
        return 0
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)


def _read_batch(path: str) -> list[tuple[int, dict | str]]:
    """(line number, request or error message) for every non-blank line."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines() if path != "-" else sys.stdin.read().splitlines()
    except OSError as error:
        raise CliError(f"cannot read the batch file {path}: {error.strerror or error}") from error
    except UnicodeDecodeError as error:
        raise CliError(f"the batch file {path} is not UTF-8 text") from error
    requests: list[tuple[int, dict | str]] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            request = json.loads(line)
        except json.JSONDecodeError as error:
            requests.append((number, f"{path}:{number}: invalid JSON: {error.msg}"))
            continue
        if not isinstance(request, dict) or "question" not in request:
            requests.append((number, f'{path}:{number}: expected an object with a "question" field'))
            continue
        requests.append((number, request))
    return requests


def _read_history(path: str | None) -> list | None:
    if not path:
        return None
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise CliError(f"cannot read the history file {path}: {error.strerror or error}") from error
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CliError(f"the history file {path} is not JSON: {error}") from error


def cmd_chat(args: argparse.Namespace) -> int:
    """A conversation in the terminal: follow-ups ("when does it come out?") use the earlier turns."""
    from .chain import QuestionError

    bot = _open_bot(_settings(args))  # missing: status 2; damaged: IndexUnusable, one line and status 1 (main)
    print(f"Ask about the news (empty line or Ctrl-D to quit). For example: {EXAMPLE}")
    history: list[dict] = []
    while True:
        try:
            question = input("\n> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not question:
            return 0
        try:
            answer = bot.ask(question, as_of=args.as_of, history=history[-bot.settings.max_history_turns :])
        except QuestionError as error:
            print(f"error: {error}", file=sys.stderr)
            continue
        _print_answer(answer, sys.stdout, explain=args.explain or bool(answer.searched and answer.searched != question))
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": answer.answer}]


def cmd_ask(args: argparse.Namespace) -> int:
    from .chain import QuestionError, check_question

    settings = _settings(args)
    if args.batch:
        if args.question:
            raise CliError("give either a QUESTION or --batch FILE, not both")
        requests = _read_batch(args.batch)
    else:
        if args.question is None:
            raise CliError(f"no question given; for example: {EXAMPLE}")
        try:  # fail fast, before the model loads
            check_question(args.question, settings.max_question_chars)
        except QuestionError as error:
            raise CliError(str(error)) from error
        requests = []

    bot = _open_bot(settings)  # missing: status 2; damaged: IndexUnusable, one line and status 1 (main)

    if not args.batch:
        try:
            answer = bot.ask(args.question, as_of=args.as_of, history=_read_history(args.history))
        except QuestionError as error:
            raise CliError(str(error)) from error
        if args.json:
            print(json.dumps(answer.public(), ensure_ascii=False, indent=2))
        else:
            _print_answer(answer, sys.stdout, explain=args.explain)
        return 0

    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
    failures = 0
    try:
        for number, request in requests:
            if isinstance(request, str):
                record = {"id": None, "line": number, "error": request}
            else:
                try:
                    answer = bot.ask(
                        request["question"], as_of=request.get("as_of") or args.as_of, history=request.get("history")
                    )
                    record = {"id": request.get("id"), **answer.public()}
                    record["retrieved"] = [r.model_dump() for r in answer.retrieved]
                except QuestionError as error:
                    record = {"id": request.get("id"), "line": number, "error": str(error)}
            failures += "error" in record
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            out.flush()
    finally:
        if out is not sys.stdout:
            out.close()
    if failures:
        print(f'{failures} of {len(requests)} batch line(s) failed: see their "error" field.', file=sys.stderr)
    return 1 if failures else 0


def cmd_eval(args: argparse.Namespace) -> int:
    from .eval import datasets
    from .eval.report import BENCHMARKS
    from .eval.run import (
        CONFIGS,
        answers_report,
        evaluate_answers,
        evaluate_retrieval,
        plot_recall,
        prepare,
        publish,
        retrieval_report,
        section_name,
    )

    try:
        dataset = datasets.load(args.dataset, Path(args.shared))
    except (ValueError, FileNotFoundError) as error:
        raise CliError(str(error)) from error
    configs = [c.strip() for c in args.configs.split(",")] if args.configs else list(CONFIGS)
    unknown = [c for c in configs if c not in CONFIGS]
    if unknown:
        raise CliError(f"unknown configuration(s) {', '.join(unknown)}: choose from {', '.join(CONFIGS)}")
    # Always a local evaluation index: benchmark articles must never land in a shared Chroma server.
    settings = load_settings(index=args.index or Path(".eval-index") / args.dataset, chroma_url="")
    bot = prepare(dataset, settings, progress=sys.stderr.isatty())
    progress = sys.stderr.isatty()
    if args.what == "retrieval":
        results = evaluate_retrieval(dataset, bot, configs, args.limit, progress)
        plot = None
        if args.write:
            name = section_name("retrieval", dataset, settings)
            plot = plot_recall(
                dataset, results, BENCHMARKS.parent / f"recall-{name.removeprefix('eval_retrieval_')}.png"
            )
        section = retrieval_report(dataset, results, settings, plot)
        publish(section, section_name("retrieval", dataset, settings), args.write)
    elif args.what == "followups":
        from .eval.followups import evaluate_followups, followups_report

        if dataset.name != "realtimeqa":
            raise CliError("follow-up conversations are built from realtimeqa's questions: use --dataset realtimeqa")
        results = evaluate_followups(dataset, bot, args.limit, progress)
        publish(followups_report(dataset, results, settings), section_name("followups", dataset, settings), args.write)
    else:
        results = evaluate_answers(dataset, bot, args.limit, progress)
        publish(answers_report(dataset, results, settings), section_name("answers", dataset, settings), args.write)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .web.api import serve

    serve(_settings(args))
    return 0


def cmd_feedback(args: argparse.Namespace) -> int:
    """Export the chat's thumbs up/down (INDEX/feedback.sqlite3) for review."""
    from .web.feedback import FILENAME, FeedbackStore

    settings = _settings(args)
    if not settings.index.is_dir():  # a mistyped --index: say so rather than "no feedback yet"
        raise CliError(
            f"no index at {settings.index} (no such folder), so no feedback there "
            f"(it is kept in INDEX/{FILENAME}): check --index"
        )
    path = settings.index / FILENAME
    if not path.is_file():
        print(f"No feedback yet: {path} does not exist (votes in the chat create it).", file=sys.stderr)
        return 0
    try:
        out = open(args.output, "w", encoding="utf-8", newline="") if args.output else sys.stdout  # noqa: SIM115
    except OSError as error:
        raise CliError(f"cannot write {args.output}: {error.strerror or error}") from error
    try:
        count = FeedbackStore(path).export(out, args.format)
    finally:
        if out is not sys.stdout:
            out.close()
    print(f"{count} feedback row(s) exported.", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    defaults = Settings.model_fields
    parser = Parser(prog="newsbot", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"newsbot {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def with_index(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--index", metavar="DIR", help=f"{defaults['index'].description} Default: index/ (NEWSBOT_INDEX)."
        )

    ingest = commands.add_parser(
        "ingest",
        help="add or update articles in the index",
        description="Index article files and folders (recursively): .txt, .md (YAML front matter), .json, "
        ".jsonl, .html, and RSS/Atom feeds (.xml, .rss, .atom); and http(s) URLs of article pages (main text "
        "extracted) and of RSS/Atom feeds (each entry's page fetched). Only new or changed articles are embedded; "
        "rerunning after an interruption completes the index.",
    )
    ingest.add_argument(
        "paths",
        nargs="+",
        metavar="PATH_OR_URL",
        help="article files or folders, or http(s) URLs of article pages or RSS/Atom feeds",
    )
    ingest.add_argument(
        "--prune",
        action="store_true",
        help="also remove articles whose file is gone, or no longer holds them (files under PATH)",
    )
    ingest.add_argument("--quiet", action="store_true", help="no progress bar")
    ingest.add_argument("--verbose", action="store_true", help="log every batch written to the index")
    with_index(ingest)
    ingest.set_defaults(handler=cmd_ingest)

    watch = commands.add_parser(
        "watch",
        help="poll RSS/Atom feeds and ingest their new articles",
        description="Poll RSS/Atom feeds and ingest the pages of new or updated entries, one line per feed and "
        "cycle, until Ctrl-C. Entries already in the index are not fetched again. For cron: --once.",
    )
    watch.add_argument("feeds", nargs="+", metavar="FEED_URL", help="http(s) URLs of RSS or Atom feeds")
    watch.add_argument(
        "--every",
        type=_duration,
        default="15m",
        metavar="DURATION",
        help="time between polls, such as 90s, 15m or 1h (default: 15m)",
    )
    watch.add_argument("--once", action="store_true", help="poll once and exit (status 1 if a feed or entry failed)")
    watch.add_argument("--verbose", action="store_true", help="log every page fetched and batch written")
    with_index(watch)
    watch.set_defaults(handler=cmd_watch)

    ask = commands.add_parser(
        "ask",
        help="answer a question from the indexed news, with citations",
        description=f"Answer a question from the indexed articles. Example: {EXAMPLE}",
    )
    ask.add_argument("question", nargs="?", metavar="QUESTION", help="the question, in quotes")
    ask.add_argument("--json", action="store_true", help="print the answer and its citations as one JSON object")
    ask.add_argument(
        "--batch",
        metavar="FILE",
        help='answer every JSON line {"id", "question", "as_of"?, "history"?} of FILE (- for stdin), history being '
        'earlier turns [{"role": "user"|"assistant", "content": "..."}]; write one JSON object per line, with the '
        "retrieved chunks",
    )
    ask.add_argument(
        "--history",
        metavar="FILE",
        help='earlier turns of the conversation, a JSON list [{"role": "user"|"assistant", "content": "..."}]',
    )
    ask.add_argument(
        "--explain", action="store_true", help="also show what was searched (a follow-up rewritten to stand alone)"
    )
    ask.add_argument("--output", metavar="FILE", help="with --batch: write the results to FILE instead of stdout")
    ask.add_argument("--as-of", metavar="DATE", help="answer from articles published up to DATE (YYYY-MM-DD)")
    ask.add_argument("--top-k", type=int, metavar="N", help=defaults["top_k"].description)
    with_index(ask)
    ask.set_defaults(handler=cmd_ask)

    chat = commands.add_parser(
        "chat",
        help="a conversation in the terminal, with follow-up questions",
        description="Ask one question after another; follow-ups such as “when does it come out?” are "
        "understood from the earlier turns. Example first question: " + EXAMPLE,
    )
    chat.add_argument("--as-of", metavar="DATE", help="answer from articles published up to DATE (YYYY-MM-DD)")
    chat.add_argument("--explain", action="store_true", help="show what was searched for every question")
    with_index(chat)
    chat.set_defaults(handler=cmd_chat)

    evaluate = commands.add_parser(
        "eval",
        help="measure retrieval or answers on a benchmark in ../shared/datasets",
        description="Benchmarks: ingest the dataset's articles into an evaluation index (incrementally), run its "
        "questions, print a Markdown table (with --write: into docs/benchmarks.md, with a recall@k plot).",
    )
    evaluate.add_argument(
        "what",
        choices=["retrieval", "answers", "followups"],
        help="what to measure (followups: realtimeqa questions asked as follow-ups, with and without the conversation)",
    )
    evaluate.add_argument("--dataset", required=True, choices=["multihop", "realtimeqa"], help="which benchmark")
    evaluate.add_argument(
        "--configs", help="retrieval configurations to compare, comma-separated (default: all of them)"
    )
    evaluate.add_argument("--limit", type=int, metavar="N", help="only the first N questions (quick runs)")
    evaluate.add_argument("--shared", default="../shared", metavar="DIR", help="the shared data folder")
    evaluate.add_argument("--write", action="store_true", help="write the results into docs/benchmarks.md")
    evaluate.add_argument("--index", metavar="DIR", help="evaluation index (default: .eval-index/DATASET)")
    evaluate.set_defaults(handler=cmd_eval)

    serve = commands.add_parser(
        "serve",
        help="start the chat web app, HTTP API and widget",
        description="Start the chat web app at /, the HTTP API at /api (docs at /docs) and the embeddable widget "
        "at /widget.js on one port (builds the index from the sample corpus first if it is empty).",
    )
    serve.add_argument("--host", help=f"{defaults['host'].description} Default: 127.0.0.1.")
    serve.add_argument("--port", type=int, help=f"{defaults['port'].description} Default: 7860.")
    with_index(serve)
    serve.set_defaults(handler=cmd_serve)

    feedback = commands.add_parser(
        "feedback",
        help="export the thumbs up/down given to the chat's answers",
        description="The chat's thumbs up/down, with the question, the answer, its citations and the optional "
        "comment, as kept in INDEX/feedback.sqlite3.",
    )
    feedback_commands = feedback.add_subparsers(dest="feedback_command", metavar="ACTION", required=True)
    export = feedback_commands.add_parser(
        "export", help="print every feedback row", description="Print every feedback row, oldest first."
    )
    export.add_argument(
        "--format", choices=["jsonl", "csv"], default="jsonl", help="JSON lines (default) or CSV (citations as JSON)"
    )
    export.add_argument("--output", metavar="FILE", help="write to FILE instead of stdout")
    with_index(export)
    export.set_defaults(handler=cmd_feedback)
    return parser


def _error_line(line: str) -> None:
    """One `error:` line on stderr, above a progress bar rather than through it."""
    from tqdm import tqdm

    tqdm.write(f"error: {line}", file=sys.stderr)


class _ConsoleHandler(logging.Handler):
    """Log lines on stderr, written above a progress bar (tqdm.write): printed through one, each line left a
    copy of the bar behind it (`ingest --verbose`)."""

    def emit(self, record: logging.LogRecord) -> None:
        from tqdm import tqdm

        try:
            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:
            self.handleError(record)


def _own_or_warning(record: logging.LogRecord) -> bool:
    """Libraries' own logging shows from WARNING up, even when a library sets its logger to DEBUG (bm25s printed
    "Building index from tokens" on every ingest); newsbot's shows at the level its logger is set to (--verbose)."""
    return record.levelno >= logging.WARNING or record.name == "bot" or record.name.startswith("bot.")


def main(argv: list[str] | None = None) -> int:
    handler = _ConsoleHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(_own_or_warning)
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except CliError as error:
        print(f"newsbot: error: {error}", file=sys.stderr)
        return 2
    except IndexUnusable as error:  # a damaged index, another model's index, or a Chroma server that is down
        print(f"newsbot: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if args.command == "serve":  # Ctrl-C is how a server is stopped
            print("newsbot: stopped.", file=sys.stderr)
            return 0
        if args.command == "ingest":
            print("newsbot: interrupted; rerun the same command to complete the index.", file=sys.stderr)
        else:
            print("newsbot: interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
