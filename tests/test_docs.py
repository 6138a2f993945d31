"""What the README promises a newcomer stays true."""

import re

from bot.cli.parser import build_parser
from bot.settings import settings_table
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_settings_table_is_generated_from_the_settings():
    block = re.search(r"<!-- settings-table:start -->\n(.*?)\n<!-- settings-table:end -->", README, re.S)
    assert block, "README lost its settings table markers"
    assert block.group(1) == settings_table(), "regenerate it: python scripts/sync_readme.py"


def test_readme_commands_are_what_ci_runs():
    assert "\n./scripts/run.sh\n" in README and "\n./scripts/test.sh\n" in README
    assert "./scripts/test.sh" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_help_starts_with_what_it_does_and_an_example():
    help_text = build_parser().format_help()
    assert "Ask questions about entertainment news" in help_text.split("\n\n")[1]
    assert 'newsbot ask "Who stars in What Comes After Love?"' in help_text
