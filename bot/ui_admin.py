"""The admin tab: add articles to the running bot's index from uploaded files or article/feed URLs.

It exists only when NEWSBOT_ADMIN_TOKEN is set, and every action checks the token first (constant-time
compare), so calling its HTTP endpoint without the token is refused too. Uploaded files are copied into a
fresh INDEX/uploads/<time>-<random>/ folder under a sanitized name that cannot leave that folder; the token
is never logged, echoed or put in a message.
"""

from __future__ import annotations

import hmac
import logging
import re
import shutil
import unicodedata
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import gradio as gr

from .chain import NewsBot
from .indexing import IngestSummary, ingest
from .settings import Settings

log = logging.getLogger(__name__)

REFUSED = "Refused: the admin token is missing or wrong. Enter the token set in NEWSBOT_ADMIN_TOKEN."
MAX_URLS = 100
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def admin_enabled(settings: Settings) -> bool:
    return settings.admin_token is not None and bool(settings.admin_token.get_secret_value())


def token_ok(given: object, settings: Settings) -> bool:
    """Whether `given` is the configured token; never true when no token is configured."""
    if not admin_enabled(settings) or not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(given.encode(), settings.admin_token.get_secret_value().encode())


def require_token(given: object, settings: Settings) -> None:
    """Every admin action starts here: a wrong or missing token stops it with a message (not the token)."""
    if not token_ok(given, settings):
        log.warning("admin action refused: wrong or missing token")
        raise gr.Error(REFUSED, title="Admin token")


def safe_name(name: str) -> str:
    """A file name that stays inside its folder: the last path component, ASCII letters, digits, . _ -,
    no leading dot (hidden) and at most 100 characters; the extension is kept (it selects the reader)."""
    name = re.split(r"[\\/]", name)[-1]
    name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    name = _UNSAFE.sub("_", name).strip("._-")
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    stem, suffix = stem.strip("._-")[:80] or "upload", suffix[:10]
    return f"{stem}.{suffix.lower()}" if suffix else stem


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


@dataclass
class AdminReport:
    """What an admin action did: the ingest summary line(s) and one line per refused file or failed input."""

    summary: IngestSummary | None = None
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [str(self.summary)] if self.summary else ["Nothing was ingested."]
        if self.errors:
            lines += ["", f"{len(self.errors)} problem(s):", *(f"- {error}" for error in self.errors)]
        return "\n".join(lines)


def save_uploads(paths: Iterable[str | Path], index_dir: Path, max_bytes: int) -> tuple[list[Path], list[str]]:
    """Copy uploaded files into a new INDEX/uploads/<time>-<random>/ folder; too large ones are refused."""
    folder = Path(index_dir) / "uploads" / f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}"
    saved: list[Path] = []
    errors: list[str] = []
    for raw in paths:
        source = Path(raw)
        name = safe_name(source.name)
        size = source.stat().st_size
        if size > max_bytes:
            errors.append(
                f"{name}: {_megabytes(size)} is larger than the upload limit of {_megabytes(max_bytes)} "
                "(NEWSBOT_UPLOAD_MAX_BYTES); it was not ingested"
            )
            continue
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / name
        number = 1
        while target.exists():  # two uploads with the same name keep both
            number += 1
            stem, dot, suffix = name.rpartition(".")
            target = folder / (f"{stem}-{number}.{suffix}" if dot else f"{name}-{number}")
        if target.resolve().parent != folder.resolve():  # safe_name makes this impossible; never trust it alone
            errors.append(f"{name}: refused file name")
            continue
        shutil.copyfile(source, target)
        saved.append(target)
    return saved, errors


def _relative(line: str, folders: Iterable[Path]) -> str:
    """Error lines name the file as uploaded, not the server's folder."""
    for folder in folders:
        line = line.replace(f"{folder}/", "")
    return line


def ingest_files(bot: NewsBot, paths: Iterable[str | Path]) -> AdminReport:
    """Save the uploaded files under the index and ingest them into the bot's own store."""
    saved, errors = save_uploads(paths, bot.settings.index, bot.settings.upload_max_bytes)
    report = AdminReport(errors=errors)
    if saved:
        found: list[str] = []
        report.summary = ingest(
            saved, bot.settings, embeddings=bot.embeddings, store=bot.store, progress=False, report=found.append
        )
        folder = saved[0].parent
        report.errors += [_relative(line, [folder.resolve(), folder]) for line in found]
    return report


def ingest_urls(bot: NewsBot, text: str) -> AdminReport:
    """Ingest article or feed URLs, one per line (a feed brings every entry's page)."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    urls = [line for line in lines if line.lower().startswith(("http://", "https://"))]
    report = AdminReport(errors=[f"{line[:200]}: not an http(s) URL" for line in lines if line not in urls])
    if len(urls) > MAX_URLS:
        report.errors.append(f"{len(urls)} URLs given; only the first {MAX_URLS} were ingested")
        urls = urls[:MAX_URLS]
    if urls:
        found: list[str] = []
        report.summary = ingest(
            urls, bot.settings, embeddings=bot.embeddings, store=bot.store, progress=False, report=found.append
        )
        report.errors += found
    return report


def build_admin_tab(bot: NewsBot, settings: Settings, header: gr.Markdown, describe: Callable[[], str]) -> None:
    """The tab's controls and events (inside a gr.Blocks); `header` gets `describe()` after an ingest."""

    def upload(files: list[str] | None, token: str) -> tuple[str, str]:
        """Admin: ingest uploaded article files (needs the admin token)."""
        require_token(token, settings)
        if not files:
            raise gr.Error("Choose one or more article files first (.txt, .md, .json, .jsonl, .html, .xml).")
        return str(ingest_files(bot, files)), describe()

    def add_urls(urls: str, token: str) -> tuple[str, str]:
        """Admin: ingest article or feed URLs, one per line (needs the admin token)."""
        require_token(token, settings)
        if not (urls or "").strip():
            raise gr.Error("Paste one or more article or feed URLs first, one per line.")
        return str(ingest_urls(bot, urls)), describe()

    limit = _megabytes(settings.upload_max_bytes)
    gr.Markdown(
        "Add articles to the index. Every action needs the admin token (NEWSBOT_ADMIN_TOKEN). "
        f"Files: .txt, .md, .json, .jsonl, .html, .xml/.rss/.atom, at most {limit} each. "
        "New articles can be asked about as soon as the ingest finishes."
    )
    token = gr.Textbox(label="Admin token", type="password", max_lines=1, placeholder="the NEWSBOT_ADMIN_TOKEN value")
    with gr.Row(equal_height=False):
        with gr.Column():
            files = gr.File(label="Article files", file_count="multiple", type="filepath")
            upload_button = gr.Button("Ingest the files", variant="primary")
        with gr.Column():
            urls = gr.Textbox(label="Article or feed URLs, one per line", lines=5)
            urls_button = gr.Button("Ingest the URLs", variant="primary")
    result = gr.Textbox(label="Result", lines=8, interactive=False)
    shared = {"concurrency_limit": 1, "concurrency_id": "newsbot-admin"}  # one ingest at a time
    upload_button.click(upload, [files, token], [result, header], api_name="admin_upload", **shared)
    urls_button.click(add_urls, [urls, token], [result, header], api_name="admin_urls", **shared)
