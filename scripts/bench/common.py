"""What the measurement scripts of this folder share: the repository on sys.path, timing, summaries (median,
p95, ratios), the head of the section each one writes into docs/benchmarks.md, and printing or writing it.

Each script imports it before anything of the bot: run as `python scripts/bench/NAME.py`, this folder is first
on sys.path, so `from common import ...` finds this file, which then puts the repository root in front.
The percentile and the section writing are bot.eval's (metrics.percentile, report.write_section); this module
only spells out how the scripts use them.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ParamSpec, TypeVar

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"  # the datasets, read at run time (never stored in the repository)
sys.path.insert(0, str(REPO))

from bot.eval.metrics import percentile  # noqa: E402
from bot.eval.report import command_line, markers, write_section  # noqa: E402

P = ParamSpec("P")
R = TypeVar("R")


def timed(call: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> tuple[R, float]:
    """What `call(*args, **kwargs)` returned, and the wall seconds it took (time.perf_counter)."""
    started = time.perf_counter()
    result = call(*args, **kwargs)
    return result, time.perf_counter() - started


def p95(values: Sequence[float]) -> float:
    """95th percentile, linear interpolation between the closest ranks (numpy's default method)."""
    return percentile(values, 0.95)


def median_p95_max(values: Sequence[float], digits: int) -> str:
    """The median, p95 and max of `values` as Markdown table cells: "0.12 | 0.34 | 0.56" for digits=2."""
    return " | ".join(f"{value:.{digits}f}" for value in (statistics.median(values), p95(values), max(values)))


def ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, or nan when there is nothing to divide by."""
    return numerator / denominator if denominator else float("nan")


def load_average() -> str:
    """The 1/5/15-minute load average as "0.52 / 0.61 / 0.70" ("unknown" where the system has none)."""
    try:
        return " / ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def script_path(file: str | Path) -> str:
    """A script's path from the repository root (scripts/bench/NAME.py): script_path(__file__)."""
    return Path(file).resolve().relative_to(REPO).as_posix()


def section_head(name: str, title: str, file: str | Path, from_root: bool = False) -> tuple[list[str], str]:
    """The first lines of a section of docs/benchmarks.md (its start marker, the heading naming the script, a
    blank line, the command that ran it) and its end marker, to close it with."""
    start, end = markers(name)
    command = f"- Command: `{command_line()}`" + (" (from the repository root)" if from_root else "")
    return [start, f"## {title} (`{script_path(file)}`)", "", command], end


def show(section: str, name: str, write: bool) -> None:
    """Print the section; with --write also put it between its markers in docs/benchmarks.md."""
    print(section)
    if write:
        write_section(section, name)
