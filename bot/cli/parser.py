"""The command line newsbot accepts, and every --help screen, wrapped the same way at any terminal width."""

from __future__ import annotations

import argparse
import textwrap

from .. import __version__
from ..settings import Settings
from .commands import EXAMPLE, cmd_ask, cmd_chat, cmd_eval, cmd_feedback, cmd_ingest, cmd_serve, cmd_watch

DESCRIPTION = f"""\
Ask questions about entertainment news and get short answers quoted from the articles, with numbered
citations (title, outlet, date, link). Works offline; no LLM needed.

  newsbot ingest corpus/    # index the sample articles (or your own files)
  {EXAMPLE}
  newsbot serve             # chat in the browser at http://127.0.0.1:7860

Every option can also be set as an environment variable NEWSBOT_<NAME> (for example NEWSBOT_INDEX).
"""

HELP_WIDTH = 80  # every help screen wraps here, whatever the terminal's width (COLUMNS)


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


def _duration(text: str) -> float:
    """argparse type of --every: its error names the flag and the accepted forms."""
    from ..store.watch import parse_duration

    try:
        return parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


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
