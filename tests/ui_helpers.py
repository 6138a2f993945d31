"""Shared by the UI tests: a small index built in a temp folder, and the web app launched on a free port."""

from __future__ import annotations

import json
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.chain import NewsBot
from bot.settings import Settings
from bot.store.embedding import LocalEmbeddings
from bot.store.indexing import ingest
from bot.web.chat import THEME, build_app
from tests.conftest import CORPUS

# An article written to attack the page: every field carries markup that would run if it were not escaped.
HOSTILE = {
    "id": "zorblax-hostile",
    "title": 'Zorblax <script>window.__pwned = 1</script> Film Festival <img src=x onerror="window.__pwned = 2"> awards',
    "source": "Evil <b>Outlet</b>",
    "url": "javascript:window.__pwned = 3",
    "published": "2024-03-02",
    "body": 'The Zorblax Film Festival gave its top prize to director Mira Holt <img src=x onerror="window.__pwned = 4"> '
    "for the film Glass Orchard. <script>window.__pwned = 5</script> Critics called it "
    "[a triumph](javascript:window.__pwned=6) with **bold** $$x$$ images.\n\n"
    "The jury met for three days in the town of Zorblax before the award was announced on Saturday evening.",
}
HOSTILE_QUESTION = "Who won the top prize at the Zorblax Film Festival?"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def small_bot(folder: Path, embeddings: LocalEmbeddings, hostile: bool = False, **settings: object) -> NewsBot:
    """The two seed articles (and the hostile one) indexed in `folder`: seconds, and free to modify."""
    articles = folder / "articles"
    shutil.copytree(CORPUS / "seeds", articles)
    if hostile:
        (articles / "zorblax.json").write_text(json.dumps(HOSTILE), encoding="utf-8")
    config = Settings(index=folder / "index", corpus=articles, **settings)
    summary = ingest([articles], config, embeddings, progress=False)
    assert summary.ok, summary
    return NewsBot(config, embeddings=embeddings)


@contextmanager
def launched(bot: NewsBot) -> Iterator[str]:
    """The web app of `bot` served in this process; yields its URL."""
    app = build_app(bot, bot.settings)
    port = free_port()
    app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, theme=THEME)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        app.close()


@contextmanager
def served(bot: NewsBot) -> Iterator[str]:
    """The whole app of `newsbot serve` (API, chat, admin page, and the gate in front of them) on a free port of
    127.0.0.1, uvicorn in a thread; yields its URL."""
    import threading

    import uvicorn

    from bot.web.api import create_app

    server = uvicorn.Server(
        uvicorn.Config(create_app(bot.settings, bot), host="127.0.0.1", port=free_port(), log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the newsbot server did not start")
        thread.join(0.05)
    try:
        yield f"http://127.0.0.1:{server.config.port}/"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
