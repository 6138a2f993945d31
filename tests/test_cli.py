"""A quiet, truthful command line (issue 17): asking never creates an index, messages name folders as the user
knows them, no library noise, one help layout, an install script that says what it does, a README that shows
what the commands really print."""

from __future__ import annotations

import argparse
import fcntl
import io
import os
import pty
import re
import select
import shlex
import shutil
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from bot.chain import NewsBot
from bot.cli import main
from bot.cli.parser import HELP_WIDTH, build_parser
from bot.ingest.text import read_text
from bot.settings import Settings
from tests.conftest import CORPUS, ROOT

QUESTION = "Who stars in What Comes After Love?"
README = (ROOT / "README.md").read_text(encoding="utf-8")


# --- asking never creates an index ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [["ask", QUESTION], ["ask", "--json", QUESTION], ["ask", "--batch", "BATCH"], ["chat"], ["feedback", "export"]],
    ids=["ask", "ask-json", "ask-batch", "chat", "feedback-export"],
)
def test_a_mistyped_index_is_an_error_and_no_folder_is_created(argv, tmp_path, capsys):
    batch = tmp_path / "questions.jsonl"
    batch.write_text('{"id": 1, "question": "Who?"}\n', encoding="utf-8")
    typo = tmp_path / "indx" / "news"
    argv = [str(batch) if arg == "BATCH" else arg for arg in argv]
    assert main([*argv, "--index", str(typo)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"newsbot: error: no index at {typo} (no such folder)") and err.count("\n") == 1
    assert not (tmp_path / "indx").exists()


def test_a_relative_index_is_named_in_full(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["ask", QUESTION, "--index", "indx"]) == 2
    assert capsys.readouterr().err == (
        f"newsbot: error: no index at {tmp_path / 'indx'} (no such folder): build it with "
        f"`newsbot ingest corpus/ --index {tmp_path / 'indx'}` (or your own article folders), or check --index\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_holds_no_index_is_left_untouched(tmp_path, capsys):
    """Asking with --index pointing at some other folder (or the empty index/ of a fresh checkout) wrote Chroma's
    database into it and answered that "the index is empty"."""
    folder = tmp_path / "Documents"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine\n", encoding="utf-8")
    assert main(["ask", QUESTION, "--index", str(folder)]) == 2
    err = capsys.readouterr().err
    assert f"no index at {folder} (the folder holds no index yet)" in err
    assert f"`newsbot ingest corpus/ --index {folder}`" in err
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]


def test_serve_is_not_refused_a_missing_index(tmp_path, monkeypatch):
    """`newsbot serve` builds a missing or empty index from the corpus, as before: the check is for asking only."""
    import bot.web.api

    served = []
    monkeypatch.setattr(bot.web.api, "serve", served.append)
    assert main(["serve", "--index", str(tmp_path / "new")]) == 0
    assert [settings.index for settings in served] == [tmp_path / "new"]


def _interrupt(*args, **kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize(
    ("argv", "patch", "code", "message"),
    [
        (["serve"], "bot.web.api.serve", 0, "newsbot: stopped.\n"),
        (
            ["ingest", "corpus/"],
            "bot.store.indexing.ingest",
            130,
            "newsbot: interrupted; rerun the same command to complete the index.\n",
        ),
        (["ask", QUESTION], "bot.cli.commands._open_bot", 130, "newsbot: interrupted.\n"),
    ],
    ids=["serve", "ingest", "ask"],
)
def test_ctrl_c_says_what_it_means_for_each_command(argv, patch, code, message, tmp_path, monkeypatch, capsys):
    """Ctrl-C stops a server (status 0); only an interrupted ingest has an index to complete."""
    monkeypatch.setattr(patch, _interrupt)
    assert main([*argv, "--index", str(tmp_path)]) == code
    assert capsys.readouterr().err == message


def test_the_empty_index_message_names_the_folder_in_full(tmp_path, monkeypatch, embeddings, capsys):
    monkeypatch.chdir(tmp_path)
    expected = f"The index at {tmp_path / 'index'} is empty: add articles with `newsbot ingest PATH`."
    bot = NewsBot(Settings(index=Path("index")), embeddings=embeddings)  # an index that exists and is empty
    assert bot.ask(QUESTION).answer == expected
    assert main(["ask", QUESTION, "--index", "index"]) == 0
    assert capsys.readouterr().out == expected + "\n"


# --- no library noise ----------------------------------------------------------------------------------


def _in_terminal(argv: list[str], env: dict[str, str], columns: int = 100, timeout: float = 300) -> tuple[int, str]:
    """Run `argv` with a terminal as stdin, stdout and stderr (so progress bars show): its status and output."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, cwd=ROOT, env=env)
    os.close(slave)
    output = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1.0)
        if not ready:
            continue
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the command has exited and closed the terminal
            break
        if not data:
            break
        output += data
    os.close(master)
    return process.wait(timeout=60), output.decode("utf-8", "replace")


def _screen(output: str) -> list[str]:
    """The lines a terminal shows after `output`: a carriage return goes back to the start of the line (what
    progress bars redraw with), so only what was written last at each column stays."""
    output = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output).replace("\r\n", "\n")
    lines: list[str] = []
    for raw in output.split("\n"):
        line: list[str] = []
        column = 0
        for char in raw:
            if char == "\r":
                column = 0
                continue
            if column < len(line):
                line[column] = char
            else:
                line.append(char)
            column += 1
        lines.append("".join(line).rstrip())
    while lines and not lines[-1]:
        lines.pop()
    return lines


def test_ingest_and_ask_print_nothing_but_their_own_lines(article_dir, tmp_path):
    """In a terminal: one progress bar, the log lines of --verbose above it (not through it, which left a copy of
    the bar on every line), no "Building index from tokens" from bm25s; `ask` prints the answer alone."""
    index = tmp_path / "new" / "index"  # ingest creates it, parents included
    env = {**os.environ, "NEWSBOT_INGEST_BATCH_CHUNKS": "8", "COLUMNS": "100"}
    command = [sys.executable, "-m", "bot.cli"]
    code, output = _in_terminal([*command, "ingest", str(article_dir), "--verbose", "--index", str(index)], env)
    screen = _screen(output)
    assert code == 0, screen
    bars = [line for line in screen if "embedding:" in line]
    assert len(bars) == 1 and bars[0].startswith("embedding: 100%|"), screen
    written = [line for line in screen if line.startswith("wrote ")]
    assert len(written) >= 2 and all(re.fullmatch(r"wrote \d+ chunks of \d+ articles", line) for line in written)
    assert screen[-1].startswith("articles: 14 added, 0 updated, 0 unchanged, 0 removed, 0 failed; ")
    others = [line for line in screen if line not in bars + written + screen[-1:]]
    assert others == [f"keyword index rebuilt: {screen[-1].split('; ')[1].split()[0]} chunks"], screen

    code, output = _in_terminal([*command, "ingest", str(article_dir), "--index", str(index)], env)
    assert (code, _screen(output)[-1]) == (0, "Nothing to embed: the index was already up to date.")
    assert len(_screen(output)) == 2  # the summary's two lines, and no bar: nothing was embedded

    done = subprocess.run(
        [*command, "ask", QUESTION, "--index", str(index)], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert "Lee Se-young" in done.stdout.splitlines()[0] and "\nSources:\n[1] " in done.stdout


# --- one help layout -------------------------------------------------------------------------------------


def _parsers(parser: argparse.ArgumentParser, name: str = "newsbot"):
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from _parsers(sub, f"{name} {sub_name}")


def test_every_help_screen_wraps_at_the_same_width_whatever_the_terminal(monkeypatch):
    screens = {}
    for columns in ("40", "80", "250"):
        monkeypatch.setenv("COLUMNS", columns)
        screens[columns] = {name: parser.format_help() for name, parser in _parsers(build_parser())}
    assert set(screens["80"]) >= {"newsbot", "newsbot ask", "newsbot feedback", "newsbot feedback export"}
    assert screens["40"] == screens["80"] == screens["250"]
    for name, text in screens["80"].items():
        assert all(len(line) <= HELP_WIDTH for line in text.splitlines()), (name, text)
    assert {parser._get_formatter()._width for _, parser in _parsers(build_parser())} == {HELP_WIDTH}
    # the long descriptions fill that width, on the main screen and a subcommand's alike
    for name in ("newsbot", "newsbot ingest"):
        assert max(len(line) for line in screens["80"][name].splitlines()) > HELP_WIDTH - 8, name


def test_help_keeps_the_examples_line_for_line():
    help_text = build_parser().format_help()
    assert f'\n  newsbot ask "{QUESTION}"\n' in help_text
    assert "\n  newsbot serve             # chat in the browser at http://127.0.0.1:7860\n" in help_text


# --- scripts/install.sh says what it does ----------------------------------------------------------------

FAKE_PYTHON = """#!/bin/sh
# Stands in for python3.11: passes the version check, makes a .venv whose pip records what it was asked.
if [ "$1" = "-c" ]; then exit 0; fi
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
  mkdir -p "$3/bin"
  cp "$0" "$3/bin/python"
  printf '#!/bin/sh\\necho "pip $*" >> "$(dirname "$0")/../pip.log"\\n' > "$3/bin/pip"
  chmod +x "$3/bin/pip"
fi
"""


def _install(project: Path, *extras: str) -> str:
    env = {**os.environ, "PATH": f"{project / 'fakebin'}:{os.environ['PATH']}"}
    done = subprocess.run(
        ["bash", "scripts/install.sh", *extras], cwd=project, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_install_says_first_time_only_the_first_time(tmp_path):
    project = tmp_path / "project"
    (project / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "install.sh", project / "scripts")
    for name in ("pyproject.toml", "constraints.txt"):
        shutil.copy(ROOT / name, project)
    (project / "fakebin").mkdir()
    fake = project / "fakebin" / "python3.11"
    fake.write_text(FAKE_PYTHON, encoding="utf-8")
    fake.chmod(0o755)

    first = _install(project)
    assert first.startswith("Installing newsbot into .venv (first time") and first.count("\n") == 1
    assert "--editable ." in (project / ".venv" / "pip.log").read_text(encoding="utf-8")
    assert _install(project) == ""  # nothing changed: nothing said, nothing installed

    with (project / "constraints.txt").open("a", encoding="utf-8") as constraints:
        constraints.write("# a new pin\n")
    assert _install(project) == "Updating newsbot's packages in .venv (dependencies changed)...\n"
    assert _install(project, "test") == "Installing newsbot's extra packages (test) into .venv...\n"
    assert "first time" not in _install(project, "test,bench")


# --- the README shows what the commands print ------------------------------------------------------------


def test_the_readme_txt_date_example_reads_as_it_says():
    section = README.split("**The date of a `.txt` article**", 1)[1]
    example = re.search(r"```\n(.*?)```", section, re.S).group(1)
    assert example.splitlines()[0] == "date 2023-07-25"
    article = read_text(Path("example.txt"), example + "The body.\n")[0]
    assert (article.published, article.title) == ("2023-07-25", example.splitlines()[1])
    for wrong in ("Date: 2023-07-25", "date 2023-7-25"):  # the forms the README says are not date lines
        article = read_text(Path("example.txt"), f"{wrong}\nTitle\nThe body.\n")[0]
        assert (article.published, article.title) == ("", wrong)


def _pattern(shown: str) -> re.Pattern:
    """The README's output as a pattern: its `...` stands for text left out, and timings (decimals) may differ."""
    pattern = "(?s:.*?)".join(re.escape(part) for part in shown.split("..."))
    return re.compile(re.sub(r"\d+\\\.\d+", r"\\d+\\.\\d+", pattern))


def _session() -> list[tuple[str, str]]:
    block = README.split("## An example session", 1)[1].split("```", 2)[1].strip("\n")
    turns = []
    for turn in ("\n" + block).split("\n$ ")[1:]:
        command, _, output = turn.partition("\n")
        turns.append((command, output.strip("\n")))
    return turns


def test_the_readme_example_session_is_what_the_commands_print(tmp_path, monkeypatch, capsys, embeddings):
    """Every command of "An example session", run over a fresh index of corpus/, prints what the README shows
    (its `...` leave text out; the timings and the progress bar's width are this machine's)."""
    monkeypatch.chdir(ROOT)
    assert CORPUS.is_dir()
    index = tmp_path / "index"
    turns = _session()
    assert [command.split()[:2] for command, _ in turns] == [
        [".venv/bin/newsbot", c] for c in ("ingest", "ask", "chat", "ask", "ingest")
    ]
    for command, shown in turns:
        argv = [*shlex.split(command)[1:], "--index", str(index)]
        if argv[0] == "chat":
            questions = [line[2:] for line in shown.splitlines() if line.startswith("> ") and line[2:].strip()]
            monkeypatch.setattr("sys.stdin", io.StringIO("".join(q + "\n" for q in questions) + "\n"))
        assert main(argv) == 0
        out, err = capsys.readouterr()
        if argv[0] == "chat":  # a terminal shows what is typed after each prompt
            first, *rest = out.split("\n> ")
            typed = [*(q + "\n" for q in questions), ""]
            out = first + "".join(f"\n> {typed[n]}{part}" for n, part in enumerate(rest))
        if argv[0] == "ingest" and "embedding:" in shown:  # the bar goes to a terminal's stderr; here, no terminal
            shown = "\n".join(line for line in shown.splitlines() if not line.startswith("embedding:"))
        printed = "\n".join(line.rstrip() for line in out.strip("\n").splitlines())
        assert _pattern(shown).fullmatch(printed), f"$ {command}\n--- README:\n{shown}\n--- printed:\n{printed}"
