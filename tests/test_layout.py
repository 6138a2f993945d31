"""The folders follow the pipeline (README, "How it is built"): each stage imports only from the stages before it
and from what they all share, so that a change to how answers are served can never break how articles are read."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

# Earlier first. Modules at the top of bot/ that every stage shares come before any stage; chain.py ties the
# stages together, and the web app, the benchmark harness and the command line are built on it.
ORDER = [
    {"bot", "bot.settings", "bot.errors", "bot.redact"},
    {"bot.ingest"},
    {"bot.store"},
    {"bot.search"},
    {"bot.answer"},
    {"bot.chain"},
    {"bot.web", "bot.eval"},
    {"bot.cli"},
]


def stage(module: str) -> int:
    """The index in ORDER of the longest package or module that `module` is, or is inside."""
    parts = module.split(".")
    for length in range(len(parts), 0, -1):
        prefix = ".".join(parts[:length])
        for index, group in enumerate(ORDER):
            if prefix in group:
                return index
    raise AssertionError(f"{module} belongs to no stage in ORDER: add its folder there")


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import of a bot module in `path`, top-level or inside a function."""
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    package = module.split(".")[:-1]  # for __init__.py, the package itself
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
                names = [target] if node.module else [f"{target}.{alias.name}" for alias in node.names]
            else:
                names = [node.module or ""]
            found += [(node.lineno, name) for name in names if name == "bot" or name.startswith("bot.")]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("bot.")]
    return found


def test_no_module_imports_from_a_later_stage():
    upward = []
    for path in sorted((ROOT / "bot").rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for line, target in imports(path):
            if stage(target) > stage(module):
                upward.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert upward == []


def test_the_stage_of_a_module_is_its_folder():
    """The check above is only as good as this mapping (a test that cannot fail is a defect)."""
    assert stage("bot.store.chroma") == 2 and stage("bot.search.retrieval") == 3
    assert stage("bot.settings") == 0 < stage("bot.ingest.fetch") < stage("bot.answer.llm.prompt") < stage("bot.cli")
    assert imports(ROOT / "bot" / "search" / "retrieval.py")[0][1].startswith("bot.")
