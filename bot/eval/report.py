"""Writing benchmark results where the project keeps them: one marked section each in docs/benchmarks.md."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BENCHMARKS = REPO / "docs" / "benchmarks.md"


def command_line() -> str:
    """How this run was started, as a newcomer would type it."""
    program, *arguments = sys.argv
    if Path(program).name == "newsbot":
        head = "newsbot"
    elif Path(program).resolve().is_relative_to(REPO):
        head = "python " + str(Path(program).resolve().relative_to(REPO))
    else:
        head = "python " + program
    return " ".join([head, shlex.join(arguments)]).strip()


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def write_section(section: str, name: str, path: Path = BENCHMARKS) -> None:
    """Replace the section between the markers named `name` (append it when absent); `section` includes them."""
    start, end = markers(name)
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end) + r"\n?", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)
