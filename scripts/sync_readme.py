"""Rewrite the README's configuration table from bot.settings (tests/test_docs.py checks they agree)."""

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.settings import settings_table  # noqa: E402

README = Path(__file__).resolve().parents[1] / "README.md"
text = README.read_text(encoding="utf-8")
pattern = re.compile(r"(<!-- settings-table:start -->\n).*?(\n<!-- settings-table:end -->)", re.S)
README.write_text(pattern.sub(lambda m: m.group(1) + settings_table() + m.group(2), text), encoding="utf-8")
