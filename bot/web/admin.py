"""The admin page (/admin): add articles to the running bot's index from uploaded files or article/feed URLs.

It exists only when NEWSBOT_ADMIN_TOKEN is set and sits behind Gradio's own login (user "admin", the token as
password, compared in constant time), so every route of it, its file upload included, refuses a client that has
not logged in. Only files uploaded to this server process are accepted; they are copied into a fresh
INDEX/uploads/<time>-<random>/ folder under a sanitized name that cannot leave that folder, and the uploaded
originals are deleted. Ingests run one at a time in a background thread at low priority, one text at a time on
one core, so that answering stays responsive; the page shows their progress. The token is never logged, echoed
or put in a message.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import os
import queue
import re
import shutil
import threading
import time
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import gradio as gr
import gradio.utils
import numpy as np

from ..chain import NewsBot
from ..settings import Settings
from ..store.embedding import LocalEmbeddings
from ..store.indexing import IngestSummary, ingest

log = logging.getLogger(__name__)

ADMIN_USER = "admin"
LOGIN_MESSAGE = "Log in as admin, with the NEWSBOT_ADMIN_TOKEN value as the password."
MAX_URLS = 100
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def admin_enabled(settings: Settings) -> bool:
    return settings.admin_token is not None and bool(settings.admin_token.get_secret_value())


def token_ok(given: object, settings: Settings) -> bool:
    """Whether `given` is the configured token; never true when no token is configured."""
    if not admin_enabled(settings) or not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(given.encode(), settings.admin_token.get_secret_value().encode())


def admin_login(settings: Settings) -> Callable[[str, str], bool]:
    """Gradio's login check for the admin page."""

    def check(username: str, password: str) -> bool:
        return username == ADMIN_USER and token_ok(password, settings)

    return check


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


def uploaded_here(path: str | Path) -> bool:
    """Whether a file arrived through an upload to this server process (Gradio's upload folder): a path
    naming any other server file is never read."""
    folder = Path(gradio.utils.get_upload_folder()).resolve()
    return Path(path).resolve().is_relative_to(folder)


def ingest_files(
    bot: NewsBot,
    paths: Iterable[str | Path],
    embeddings: LocalEmbeddings | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> AdminReport:
    """Save the uploaded files under the index and ingest them into the bot's own store."""
    paths = list(paths)
    foreign = [Path(p) for p in paths if not uploaded_here(p)]
    uploads = [p for p in paths if uploaded_here(p)]
    saved, errors = save_uploads(uploads, bot.settings.index, bot.settings.upload_max_bytes)
    for original in uploads:  # copied (or refused): the upload folder keeps nothing
        Path(original).unlink(missing_ok=True)
    report = AdminReport(errors=[f"{p.name}: not a file uploaded to this server; refused" for p in foreign] + errors)
    if foreign:
        log.warning("admin: refused %d file path(s) that were not uploaded to this server", len(foreign))
    if saved:
        found: list[str] = []
        report.summary = ingest(
            saved,
            bot.settings,
            embeddings=embeddings or bot.embeddings,
            store=bot.store,
            progress=False,
            report=found.append,
            on_progress=on_progress,
        )
        folder = saved[0].parent
        report.errors += [_relative(line, [folder.resolve(), folder]) for line in found]
    return report


def ingest_urls(
    bot: NewsBot,
    text: str,
    embeddings: LocalEmbeddings | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> AdminReport:
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
            urls,
            bot.settings,
            embeddings=embeddings or bot.embeddings,
            store=bot.store,
            progress=False,
            report=found.append,
            on_progress=on_progress,
        )
        report.errors += found
    return report


class GentleEmbeddings:
    """The bot's model, embedding one text per call: an admin ingest holds one of the model's sessions for one
    text at a time, so the questions being answered get the others, and the next free one within milliseconds."""

    def __init__(self, inner: LocalEmbeddings):
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) < 2:
            return self.inner.encode(texts)
        return np.vstack([self.inner.encode([text]) for text in texts])


@dataclass
class Job:
    number: int
    what: str  # "2 files", "3 URLs"
    state: str = "queued"  # queued, running, done, failed
    done: int = 0  # chunks written
    total: int = 0  # chunks to write
    report: str = ""

    def line(self) -> str:
        if self.state == "running":
            share = f": {self.done:,} of {self.total:,} passages embedded" if self.total else ": reading"
            return f"**#{self.number} ({self.what}) running**{share}"
        if self.state == "queued":
            return f"**#{self.number} ({self.what}) queued**, after the ingest running now"
        return f"**#{self.number} ({self.what}) {self.state}**\n\n```\n{self.report}\n```"


class AdminJobs:
    """Admin ingests run one after another in one background thread at low CPU priority (nice 10), so that an
    upload of a huge page never starves the questions being answered; the page polls `status()`."""

    SHOWN = 5

    def __init__(self, bot: NewsBot):
        self.bot = bot
        self.embeddings = GentleEmbeddings(bot.embeddings)
        self.jobs: list[Job] = []
        self.queue: queue.Queue[tuple[Job, Callable]] = queue.Queue()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def submit(self, what: str, work: Callable[..., AdminReport]) -> Job:
        """Queue `work(embeddings=..., on_progress=...)`; returns at once."""
        with self.lock:
            job = Job(len(self.jobs) + 1, what)
            self.jobs.append(job)
            self.queue.put((job, work))
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="newsbot-admin-ingest", daemon=True)
                self.thread.start()
        return job

    def _run(self) -> None:
        with contextlib.suppress(AttributeError, OSError):  # Linux: a thread is a task with its own priority
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        while True:
            job, work = self.queue.get()
            job.state = "running"

            def progress(done: int, total: int, job: Job = job) -> None:
                job.done, job.total = done, total

            try:
                job.report = str(work(embeddings=self.embeddings, on_progress=progress))
                job.state = "done"
            except Exception as error:
                log.exception("admin ingest #%d failed", job.number)
                job.report = f"The ingest failed ({type(error).__name__}); the server log has details."
                job.state = "failed"

    def wait(self, timeout: float) -> bool:
        """Whether every submitted ingest finished within `timeout` seconds (for tests and scripts)."""
        deadline = time.monotonic() + timeout
        while any(job.state in ("queued", "running") for job in self.jobs):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def status(self) -> str:
        if not self.jobs:
            return "No ingest yet in this server's run."
        return "\n\n".join(job.line() for job in reversed(self.jobs[-self.SHOWN :]))


def build_admin_app(bot: NewsBot, settings: Settings, describe: Callable[[], str]) -> gr.Blocks:
    """The admin page (mounted at /admin behind Gradio's login: see `admin_login`)."""
    jobs = AdminJobs(bot)

    def upload(files: list[str] | None) -> tuple[str, None]:
        """Admin: ingest uploaded article files, in the background."""
        if not files:
            raise gr.Error("Choose one or more article files first (.txt, .md, .json, .jsonl, .html, .xml).")
        jobs.submit(f"{len(files)} file(s)", partial(ingest_files, bot, files))
        return jobs.status(), None

    def add_urls(urls: str) -> str:
        """Admin: ingest article or feed URLs, one per line, in the background."""
        if not (urls or "").strip():
            raise gr.Error("Paste one or more article or feed URLs first, one per line.")
        count = len([line for line in urls.splitlines() if line.strip()])
        jobs.submit(f"{count} URL(s)", partial(ingest_urls, bot, urls))
        return jobs.status()

    limit = _megabytes(settings.upload_max_bytes)
    with gr.Blocks(title="newsbot admin", delete_cache=(600, 3600)) as app:
        app.newsbot_jobs = jobs  # type: ignore[attr-defined]  # tests and scripts wait on it
        gr.Markdown(
            "# newsbot admin\nAdd articles to the index. "
            f"Files: .txt, .md, .json, .jsonl, .html, .xml/.rss/.atom, at most {limit} each. Ingests run in the "
            "background, one at a time, while the bot keeps answering; new articles can be asked about as soon as "
            "theirs finishes. [Back to the chat](../)"
        )
        header = gr.Markdown(describe)
        with gr.Row(equal_height=False):
            with gr.Column():
                files = gr.File(label="Article files", file_count="multiple", type="filepath")
                upload_button = gr.Button("Ingest the files", variant="primary")
            with gr.Column():
                urls = gr.Textbox(label="Article or feed URLs, one per line", lines=5)
                urls_button = gr.Button("Ingest the URLs", variant="primary")
        status = gr.Markdown(jobs.status, label="Ingests")
        upload_button.click(upload, [files], [status, files], api_name="admin_upload")
        urls_button.click(add_urls, [urls], [status], api_name="admin_urls")
        gr.Timer(2.0).tick(lambda: (jobs.status(), describe()), None, [status, header], api_name="admin_status")
    return app
