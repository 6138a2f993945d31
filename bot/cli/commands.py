"""What each `newsbot` subcommand does, from its parsed arguments to its exit status."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import TextIO

from pydantic import ValidationError

from ..errors import IndexUnusable
from ..settings import Settings, load_settings

EXAMPLE = 'newsbot ask "Who stars in What Comes After Love?"'


class CliError(Exception):
    """A user error: printed as one line, exit status 2."""


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
    from ..store.chroma import is_index

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
    from ..chain import NewsBot
    from ..store.embedding import LocalEmbeddings
    from ..store.indexing import open_store

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
    from ..store.indexing import ingest

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


def cmd_watch(args: argparse.Namespace) -> int:
    """Poll until Ctrl-C or SIGTERM, which are the normal way to stop (status 0); --once: 1 if anything failed."""
    import signal
    import threading

    from ..store.watch import format_duration, watch

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
    from ..chain import QuestionError

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
    from ..chain import QuestionError, check_question

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
    from ..eval import datasets
    from ..eval.report import BENCHMARKS
    from ..eval.run import (
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
        from ..eval.followups import evaluate_followups, followups_report

        if dataset.name != "realtimeqa":
            raise CliError("follow-up conversations are built from realtimeqa's questions: use --dataset realtimeqa")
        results = evaluate_followups(dataset, bot, args.limit, progress)
        publish(followups_report(dataset, results, settings), section_name("followups", dataset, settings), args.write)
    else:
        results = evaluate_answers(dataset, bot, args.limit, progress)
        publish(answers_report(dataset, results, settings), section_name("answers", dataset, settings), args.write)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from ..web.api import serve

    serve(_settings(args))
    return 0


def cmd_feedback(args: argparse.Namespace) -> int:
    """Export the chat's thumbs up/down (INDEX/feedback.sqlite3) for review."""
    from ..web.feedback import FILENAME, FeedbackStore

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


def _error_line(line: str) -> None:
    """One `error:` line on stderr, above a progress bar rather than through it."""
    from tqdm import tqdm

    tqdm.write(f"error: {line}", file=sys.stderr)
