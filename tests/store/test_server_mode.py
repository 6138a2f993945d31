"""Server mode (NEWSBOT_CHROMA_URL) against a real `chroma run`: ingest, ask, incremental re-ingest, prune, an
ingest made elsewhere reaching a serving bot, the model check, and the API while Chroma is down and back."""

from __future__ import annotations

import base64
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from bot.chain import NewsBot
from bot.cli import main
from bot.errors import IndexUnusable, StoreUnreachable
from bot.settings import Settings, server_address
from bot.store.chroma import NewsStore, server_cache_dir
from bot.store.indexing import ingest
from bot.store.keyword import fingerprint
from bot.web.api import create_app
from tests.conftest import CORPUS, SEED_2023, SEED_2024

CHROMA = Path(sys.executable).parent / "chroma"
QUESTION = "Who stars in What Comes After Love?"
NEW_ARTICLE = (
    "Quillon Marsh cast in Harbor Lights\nThe actor Quillon Marsh joins the cast of the series Harbor Lights.\n"
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ChromaServer:
    """`chroma run` on a folder and port, started and stopped like a real deployment's server."""

    def __init__(self, path: Path, log: Path):
        self.path, self.log, self.port = path, log, _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self, wait: float = 60.0) -> None:
        command = [str(CHROMA), "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)]
        with self.log.open("ab") as log:
            env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if httpx.get(f"{self.url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        pytest.fail(f"chroma run did not answer its heartbeat at {self.url}:\n{self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        self.process = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


@pytest.fixture(scope="module")
def chroma(tmp_path_factory) -> ChromaServer:
    if not CHROMA.exists():
        pytest.skip(f"the chroma CLI (from the chromadb package) is not installed at {CHROMA}")
    folder = tmp_path_factory.mktemp("chroma-server")
    server = ChromaServer(folder / "data", folder / "chroma.log")
    server.start()
    yield server
    server.stop()


def _settings(chroma: ChromaServer, cache: Path, collection: str, **more) -> Settings:
    return Settings(index=cache, chroma_url=chroma.url, collection=collection, chroma_recheck_seconds=0, **more)


def _articles(folder: Path, records: int) -> Path:
    """The two seeds and the first `records` MultiHop-RAG entertainment articles, in a folder free to modify."""
    shutil.copytree(CORPUS / "seeds", folder / "seeds")
    lines = (CORPUS / "multihop-rag-entertainment.jsonl").read_text(encoding="utf-8").splitlines()
    (folder / "mh.jsonl").write_text("\n".join(lines[:records]) + "\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def served(chroma, tmp_path_factory, embeddings) -> tuple[Settings, NewsBot]:
    """The seeds and four articles on the server, and a bot serving them from its own machine's cache."""
    folder = tmp_path_factory.mktemp("served")
    settings = _settings(chroma, folder / "index", "news-main")
    summary = ingest([_articles(folder / "articles", 4)], settings, embeddings, progress=False)
    assert summary.ok and (summary.added, summary.unchanged) == (6, 0), summary
    return settings, NewsBot(settings, embeddings=embeddings)


def test_chroma_url_is_checked_and_each_server_and_collection_has_its_own_cache(tmp_path):
    assert server_address("http://chroma.internal") == ("chroma.internal", 8000, False)
    assert server_address("https://chroma.example.com:9443/") == ("chroma.example.com", 9443, True)
    with pytest.raises(ValueError, match="NEWSBOT_CHROMA_URL must look like http://host:8000"):
        Settings(chroma_url="chroma.internal:8000")
    caches = {
        server_cache_dir(tmp_path, "http://a:8000", "news"),
        server_cache_dir(tmp_path, "http://b:8000", "news"),
        server_cache_dir(tmp_path, "http://a:8001", "news"),
        server_cache_dir(tmp_path, "http://a:8000", "other"),
    }
    assert len(caches) == 4 and all(cache.parent == tmp_path / "chroma-cache" for cache in caches)
    assert server_cache_dir(tmp_path, "http://A:8000/", "news") == server_cache_dir(tmp_path, "http://a:8000", "news")


def test_a_server_that_is_not_running_is_named(tmp_path):
    url = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(StoreUnreachable, match=rf"The news index \(Chroma at {url}\) is not reachable"):
        NewsStore(tmp_path, "news", url=url)


def test_ingest_and_ask_use_the_server(served):
    settings, bot = served
    answer = bot.ask(QUESTION)
    assert not answer.abstained and "Lee Se-young" in answer.answer
    assert {c.article_id for c in answer.citations} == {SEED_2024, SEED_2023}
    # Nothing embedded locally: the folder holds only this machine's derived cache for this server.
    assert not (settings.index / "chroma.sqlite3").exists()
    assert bot.store.index_dir.parent == settings.index / "chroma-cache"
    assert (bot.store.index_dir / "bm25.json").exists()
    assert bot.retriever.keyword.stamp == fingerprint(bot.store.chunk_ids())


def test_reingest_embeds_nothing(served, embeddings, tmp_path):
    settings, bot = served
    folder = _articles(tmp_path / "articles", 4)  # the same articles, from another machine's folder
    again = ingest([folder], settings.model_copy(update={"index": tmp_path / "index"}), embeddings, progress=False)
    assert (again.added, again.updated, again.unchanged, again.chunks) == (0, 0, 6, 0)


def test_prune_removes_from_the_server(chroma, tmp_path, embeddings):
    settings = _settings(chroma, tmp_path / "index", "news-prune")
    folder = _articles(tmp_path / "articles", 1)
    assert ingest([folder], settings, embeddings, progress=False).added == 3
    (folder / "seeds" / "2024-what-comes-after-love-romance-dramas.md").unlink()
    pruned = ingest([folder], settings, embeddings, prune=True, progress=False)
    assert (pruned.removed, pruned.unchanged, pruned.chunks) == (1, 2, 0)
    store = NewsStore(tmp_path / "elsewhere", "news-prune", url=chroma.url)
    assert SEED_2024 not in store.stored_articles() and SEED_2023 in store.stored_articles()


def test_an_ingest_from_another_process_reaches_a_serving_bot(chroma, tmp_path, embeddings):
    settings = _settings(chroma, tmp_path / "index", "news-elsewhere")
    ingest([CORPUS / "seeds"], settings, embeddings, progress=False)
    bot = NewsBot(settings.model_copy(update={"chroma_recheck_seconds": 3600}), embeddings=embeddings)

    def search() -> tuple[bool, bool]:
        """(found by the whole search, found by this process's keyword index)."""
        documents, _ = bot.retriever.search("Quillon Marsh Harbor Lights")
        by_keywords = [hit.chunk_id for hit in bot.retriever.keyword.search("Quillon Marsh", 5)]
        return any("Quillon Marsh" in document.page_content for document in documents), bool(by_keywords)

    assert search() == (False, False)
    # Another machine (its own cache folder, its own store object) adds an article to the same server.
    new = tmp_path / "new"
    new.mkdir()
    (new / "quillon.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    elsewhere = settings.model_copy(update={"index": tmp_path / "other-machine"})
    assert ingest([new], elsewhere, embeddings, progress=False).added == 1
    # Chroma's own search sees it at once; this process's keyword index waits for its re-check (hourly here).
    assert search() == (True, False)
    bot.retriever.recheck_seconds = 0
    assert search() == (True, True)
    assert bot.retriever.keyword.stamp == fingerprint(bot.store.chunk_ids())


def test_a_collection_built_with_another_model_is_refused(chroma, tmp_path, embeddings):
    NewsStore(tmp_path / "index", "news-other-model", embedding_model="some-other-model", url=chroma.url)
    settings = _settings(chroma, tmp_path / "index", "news-other-model")
    with pytest.raises(IndexUnusable, match="was built with the embedding model 'some-other-model'") as refused:
        ingest([CORPUS / "seeds"], settings, embeddings, progress=False)
    assert f"on the Chroma server at {chroma.url}" in str(refused.value)


def test_chroma_down_answers_503_and_recovers_without_a_restart(chroma, served):
    settings, bot = served
    app = create_app(settings.model_copy(update={"rate_per_minute": 0}), bot=bot, ui=False)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        assert client.post("/api/ask", json={"question": QUESTION}).status_code == 200
        chroma.stop()
        try:
            for _ in range(2):  # every request, not only the first after the outage
                down = client.post("/api/ask", json={"question": QUESTION})
                assert down.status_code == 503
                assert down.json() == {
                    "error": f"The news index (Chroma at {chroma.url}) is not reachable; try again shortly."
                }
                assert down.headers["retry-after"] == "5"
            assert client.post("/api/chat", json={"question": QUESTION}).status_code == 503
            health = client.get("/healthz")
            assert health.status_code == 503 and health.json()["ok"] is False
            # Also when the keyword index is not being re-checked: the dense search finds the server gone.
            bot.retriever.recheck_seconds = 3600
            assert client.post("/api/ask", json={"question": QUESTION}).status_code == 503
        finally:
            bot.retriever.recheck_seconds = None
            if not chroma.running:
                chroma.start()  # the same folder and port
        for _ in range(3):  # the workers survived and the store reconnected by itself
            back = client.post("/api/ask", json={"question": QUESTION})
            assert back.status_code == 200
            assert {c["article_id"] for c in back.json()["citations"]} == {SEED_2024, SEED_2023}
        assert client.get("/healthz").json() == {"ok": True, "chunks": bot.store.count()}


SECRET = "secretpw"


class _RecordingServer(ThreadingHTTPServer):
    """Answers Chroma's heartbeat and nothing else (500), recording each request's Authorization header."""

    def __init__(self):
        self.authorizations: list[str | None] = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(handler) -> None:  # noqa: N802, N805 - http.server's names
                self.authorizations.append(handler.headers.get("Authorization"))
                alive = handler.path == "/api/v2/heartbeat"
                body = json.dumps({"nanosecond heartbeat": 1} if alive else {"error": "InternalError"}).encode()
                handler.send_response(200 if alive else 500)
                handler.send_header("Content-Type", "application/json")
                handler.send_header("Content-Length", str(len(body)))
                handler.end_headers()
                handler.wfile.write(body)

            do_POST = do_GET

            def log_message(handler, *args) -> None:  # noqa: N805
                pass

        super().__init__(("127.0.0.1", 0), Handler)


def test_a_password_in_the_chroma_url_is_sent_as_basic_auth_and_shown_nowhere(tmp_path, caplog, capsys, monkeypatch):
    """http://user:password@host:port: the password goes to the server as basic auth (chromadb's own client would
    drop it), and no message, log line or error line shows it, whether the server refuses or is not there."""
    server = _RecordingServer()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    down = f"http://newsbot:{SECRET}@127.0.0.1:{_free_port()}"  # nothing listens there
    try:
        with caplog.at_level(logging.DEBUG):
            with pytest.raises(IndexUnusable) as refused:
                NewsStore(tmp_path, "news", url=f"http://newsbot:{SECRET}@127.0.0.1:{server.server_address[1]}")
            with pytest.raises(StoreUnreachable) as unreachable:
                NewsStore(tmp_path, "news", url=down)
            monkeypatch.setenv("NEWSBOT_CHROMA_URL", down)
            code = main(["ask", QUESTION, "--index", str(tmp_path)])
    finally:
        server.shutdown()
        server.server_close()
    captured = capsys.readouterr()
    for shown in (str(refused.value), str(unreachable.value), captured.out, captured.err, caplog.text):
        assert SECRET not in shown
    assert f"on the Chroma server at http://127.0.0.1:{server.server_address[1]} " in str(refused.value)
    port = down.rsplit(":", 1)[1]
    assert (
        str(unreachable.value)
        == f"The news index (Chroma at http://127.0.0.1:{port}) is not reachable; try again shortly."
    )
    assert code == 1 and captured.err == f"newsbot: error: {unreachable.value}\n"
    basic = "Basic " + base64.b64encode(f"newsbot:{SECRET}".encode()).decode()
    assert len(server.authorizations) >= 2 and set(server.authorizations) == {basic}


def test_a_password_in_the_chroma_url_is_in_no_503_body_nor_log_line(chroma, served, embeddings, caplog):
    settings, _ = served
    secret = Settings(
        index=settings.index,
        chroma_url=f"http://newsbot:{SECRET}@127.0.0.1:{chroma.port}",  # `chroma run` ignores the credentials
        collection=settings.collection,
        chroma_recheck_seconds=0,
        rate_per_minute=0,
    )
    bot = NewsBot(secret, embeddings=embeddings)
    app = create_app(secret, bot=bot, ui=False)
    with caplog.at_level(logging.DEBUG), TestClient(app, base_url="http://127.0.0.1") as client:
        assert client.post("/api/ask", json={"question": QUESTION}).status_code == 200
        chroma.stop()
        try:
            down = [client.post(route, json={"question": QUESTION}) for route in ("/api/ask", "/api/chat")]
            down.append(client.get("/healthz"))
        finally:
            if not chroma.running:
                chroma.start()
    assert [response.status_code for response in down] == [503, 503, 503]
    shown = f"The news index (Chroma at http://127.0.0.1:{chroma.port}) is not reachable; try again shortly."
    assert [response.json()["error"] for response in down] == [shown] * 3
    assert SECRET not in caplog.text
