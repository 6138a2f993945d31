"""The `newsbot` command: ingest articles, ask questions, serve the chat app.

parser.py says what it accepts (and every --help screen); commands.py does each subcommand; main() runs one and
turns user errors into one line and an exit status."""

from __future__ import annotations

import logging
import sys

from ..errors import IndexUnusable
from .commands import CliError
from .parser import build_parser


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
