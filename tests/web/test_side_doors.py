"""The doors beside /api/: Gradio's own routes, uploads, the admin page, host names and the log.

One real server (uvicorn in a thread, the app of `newsbot serve`) over the two seeds, with an admin token. Rate
limits are per client address; each test speaks for its own address through X-Forwarded-For, which uvicorn takes
from a proxy on 127.0.0.1, so that the tests do not spend each other's budgets.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import gradio.utils
import httpx
import pytest
from fastapi.testclient import TestClient
from gradio_client import Client, handle_file

from bot.web.admin import AdminJobs, AdminReport, ingest_files
from bot.web.api import create_app
from tests.ui_helpers import HOSTILE, HOSTILE_QUESTION, served, small_bot

TOKEN = "a-long-admin-token-for-the-tests"
QUESTION = "Who is directing Romantic Anonymous?"
BODY_LIMIT = "The request body is larger than 65536 bytes, the limit (NEWSBOT_MAX_BODY_BYTES)."


@pytest.fixture(scope="module")
def server(tmp_path_factory, embeddings):
    folder = tmp_path_factory.mktemp("side-doors")
    bot = small_bot(folder, embeddings, admin_token=TOKEN, burst=2, upload_max_bytes=100_000)
    with served(bot) as url:
        yield url, bot


def _http(url: str, address: str) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=60, headers={"X-Forwarded-For": address})


def _gradio_call(http: httpx.Client, api_name: str, data: list, prefix: str = "") -> tuple[str, object]:
    """Gradio's REST call: the last event's name and data."""
    started = http.post(f"{prefix}/gradio_api/call/{api_name}", json={"data": data})
    assert started.status_code == 200, started.text
    result = http.get(f"{prefix}/gradio_api/call/{api_name}/{started.json()['event_id']}")
    blocks = [block for block in result.text.strip().split("\n\n") if block.startswith("event:")]
    event, payload = (line.split(": ", 1)[1] for line in blocks[-1].splitlines()[:2])
    return event, json.loads(payload)


@contextmanager
def _admin(url: str, address: str) -> Iterator[httpx.Client]:
    with _http(url, address) as http:
        login = http.post("/admin/login", data={"username": "admin", "password": TOKEN})
        assert login.status_code == 200, login.text
        yield http


def _upload_folder() -> Path:
    return Path(gradio.utils.get_upload_folder())


# --- body limits and rate limits on every route ----------------------------------------------------------


@pytest.mark.parametrize("path", ["/gradio_api/call/ask", "/gradio_api/queue/join", "/admin/login", "/nowhere"])
def test_every_route_refuses_a_body_over_the_limit(server, path):
    url, _ = server
    with _http(url, "198.51.100.1") as http:
        declared = http.post(path, content=b"x" * 200_000, headers={"Content-Type": "application/json"})
        chunked = http.post(path, content=iter([b"x" * 10_000] * 20), headers={"Content-Type": "application/json"})
    for response in (declared, chunked):
        assert response.status_code == 413
        assert response.json() == {"error": BODY_LIMIT}


def test_a_client_refused_on_the_api_is_refused_by_the_chat_routes_too(server):
    url, _ = server
    with _http(url, "198.51.100.2") as http:
        statuses = [http.post("/api/ask", json={"question": QUESTION}).status_code for _ in range(6)]
        assert statuses[-1] == 429
        event, data = _gradio_call(http, "ask", [QUESTION])
        timeline, refused = _gradio_call(http, "reported_when", ["Romantic Anonymous"])
    assert event == "error" and data["error"].startswith("Too many requests from your address: the limit is 30")
    assert "NEWSBOT_RATE_PER_MINUTE" in data["error"] and timeline == "error" and refused["error"] == data["error"]
    with _http(url, "198.51.100.3") as other:  # another address still has its budget
        event, data = _gradio_call(other, "ask", [QUESTION])
    assert event == "complete" and "Sho Tsukikawa" in data[0]


def test_every_request_counts_against_the_clients_request_limit(corpus_bot, corpus_settings):
    settings = corpus_settings.model_copy(update={"requests_per_minute": 1, "request_burst": 3})
    with TestClient(create_app(settings, bot=corpus_bot, ui=False), base_url="http://127.0.0.1") as client:
        statuses = [client.get(path).status_code for path in ("/healthz", "/widget.js", "/docs", "/healthz")]
        refused = client.get("/widget.js")
    assert statuses == [200, 200, 200, 429]
    assert refused.json()["error"].startswith(
        "Too many requests from your address: the limit is 1 per minute, in bursts of up to 3 "
        "(NEWSBOT_REQUESTS_PER_MINUTE, NEWSBOT_REQUEST_BURST)."
    )
    assert int(refused.headers["retry-after"]) >= 1


# --- uploads: only on the admin page, only what was uploaded -------------------------------------------------


def test_the_chat_app_takes_no_uploads_and_the_admin_page_none_before_login(server, caplog):
    url, _ = server
    before = set(_upload_folder().rglob("*"))
    with _http(url, "198.51.100.4") as http, caplog.at_level(logging.WARNING, logger="bot.web.guard"):
        chat = http.post("/gradio_api/upload", files={"files": ("story.txt", b"Title\nBody " * 100)})
        admin = http.post("/admin/gradio_api/upload", files={"files": ("story.txt", b"Title\nBody " * 100)})
    assert chat.status_code == 403
    assert chat.json() == {
        "error": "Files are uploaded only on the admin page (/admin), after logging in with NEWSBOT_ADMIN_TOKEN."
    }
    assert admin.status_code == 401
    assert set(_upload_folder().rglob("*")) == before  # nothing stored
    assert [r.getMessage() for r in caplog.records] == [
        "admin: refused POST /admin/gradio_api/upload from 198.51.100.4 (401)"
    ]


def test_a_server_path_named_in_an_admin_request_is_never_read(server, tmp_path):
    url, bot = server
    secret = tmp_path / "server-file.json"
    secret.write_text(json.dumps({**HOSTILE, "id": "server-file", "title": "Server file"}), encoding="utf-8")
    chunks = bot.store.count()
    with _admin(url, "198.51.100.5") as http:
        event, data = _gradio_call(
            http, "admin_upload", [[{"path": str(secret), "meta": {"_type": "gradio.FileData"}}]], prefix="/admin"
        )
    assert event == "error"
    assert bot.store.count() == chunks
    assert "Mira Holt" not in bot.ask(HOSTILE_QUESTION).answer


def test_files_given_by_path_are_refused_by_the_ingest_itself(server, tmp_path):
    _, bot = server
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("Title\nBody of a file that was never uploaded.", encoding="utf-8")
    report = ingest_files(bot, [outside])
    assert report.summary is None
    assert report.errors == ["elsewhere.txt: not a file uploaded to this server; refused"]
    assert outside.exists()  # never touched


def test_an_admin_uploads_logs_in_and_the_ingest_runs_in_the_background(server, tmp_path, capfd):
    url, bot = server
    article = tmp_path / "upload me.json"
    article.write_text(json.dumps({**HOSTILE, "id": "zorblax-plain", "url": "", "title": "Zorblax awards"}), "utf-8")
    with pytest.raises(Exception, match="(?i)incorrect credentials|login"):
        Client(url + "admin/", auth=("admin", "wrong"), verbose=False)
    client = Client(url + "admin/", auth=("admin", TOKEN), verbose=False, headers={"X-Forwarded-For": "198.51.100.6"})
    status, _ = client.predict([handle_file(str(article))], api_name="/admin_upload")
    assert "(1 file(s))" in status
    for _ in range(600):  # the page polls like this; the ingest of one small file takes about a second
        status, header = client.predict(api_name="/admin_status")
        if "done" in status:
            break
    assert "**#1 (1 file(s)) done**" in status and "articles: 1 added, 0 updated" in status
    assert "I know **3 articles**" in header
    [saved] = (bot.settings.index / "uploads").glob("*/*")
    assert saved.name == "upload_me.json"
    assert not [p for p in _upload_folder().rglob("*") if p.is_file() and p.stat().st_size]  # the original is gone
    assert "Mira Holt" in bot.ask(HOSTILE_QUESTION).answer
    output = capfd.readouterr()
    assert TOKEN not in output.out + output.err


def test_the_upload_folder_is_the_servers_own_and_goes_when_it_stops(corpus_bot, corpus_settings, monkeypatch):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(_upload_folder()))  # the module's server keeps its own folder
    with TestClient(create_app(corpus_settings, bot=corpus_bot), base_url="http://127.0.0.1") as client:
        assert client.get("/").status_code == 200
        folder = _upload_folder()
        assert folder.is_dir() and folder.name.startswith("newsbot-uploads-")
    assert not folder.exists()


def test_admin_ingests_run_one_at_a_time_at_low_priority_and_show_progress(server):
    _, bot = server
    release, seen = threading.Event(), {}

    def work(embeddings, on_progress) -> AdminReport:
        seen["priority"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        seen["one_text_per_call"] = embeddings.encode(["a", "b", "c"]).shape == (3, 384)
        on_progress(120, 480)
        release.wait(30)
        return AdminReport(errors=["x.txt: refused"])

    jobs = AdminJobs(bot)
    jobs.submit("2 file(s)", work)
    jobs.submit("1 URL(s)", work)
    for _ in range(1000):
        if "120 of 480" in jobs.status():
            break
        threading.Event().wait(0.01)
    assert jobs.status().splitlines()[0] == "**#2 (1 URL(s)) queued**, after the ingest running now"
    assert "**#1 (2 file(s)) running**: 120 of 480 passages embedded" in jobs.status()
    release.set()
    assert jobs.wait(30)
    assert seen == {"priority": 10, "one_text_per_call": True}
    assert "**#1 (2 file(s)) done**" in jobs.status() and "x.txt: refused" in jobs.status()


# --- host names, and what the log says ----------------------------------------------------------------------


def test_foreign_host_names_are_refused_on_every_route(server, caplog):
    """DNS rebinding: a page of evil.example whose name now points at 127.0.0.1 sends Origin and Host of its own."""
    url, _ = server
    foreign = {"Host": "evil.example:7860", "Origin": "http://evil.example:7860"}
    with _http(url, "198.51.100.7") as http:
        refused = [
            http.post("/api/ask", json={"question": QUESTION}, headers=foreign),
            http.get("/", headers=foreign),
            http.get("/gradio_api/info", headers=foreign),
        ]
        assert http.get("/healthz", headers={"Host": "localhost:7860"}).status_code == 200
    for response in refused:
        assert response.status_code == 400
        assert response.json() == {
            "error": "This server does not answer to the host name 'evil.example:7860': add it to "
            "NEWSBOT_ALLOWED_HOSTS."
        }


def test_allowed_hosts_names_the_public_name(corpus_bot, corpus_settings):
    settings = corpus_settings.model_copy(update={"allowed_hosts": ["News.Example.com"]})
    app = create_app(settings, bot=corpus_bot, ui=False)
    with (
        TestClient(app, base_url="https://news.example.com") as public,
        TestClient(app, base_url="http://127.0.0.1") as local,
    ):
        assert public.get("/healthz").status_code == 200
        assert local.get("/healthz").status_code == 400


def test_a_refused_admin_login_is_one_line_naming_the_address(server, caplog, capfd):
    url, _ = server
    with _http(url, "198.51.100.8") as http, caplog.at_level(logging.INFO):
        response = http.post("/admin/login", data={"username": "admin", "password": "guess"})
    assert response.status_code == 400
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert lines == ["admin: refused login from 198.51.100.8 (400)"]
    output = capfd.readouterr()
    assert "Traceback" not in caplog.text + output.out + output.err and "guess" not in caplog.text
