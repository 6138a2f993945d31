"""The chat app, started for real as a newcomer starts it, answering through its HTTP API."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time

import httpx
import pytest
from gradio_client import Client

from bot.answer import Answer, Citation
from bot.web.chat import describe_index, render_answer
from tests.conftest import CORPUS, ROOT


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def running_app(tmp_path):
    """`python app.py` on an empty index: it must build the index from the corpus, then serve the chat, the HTTP API
    and the widget on one port."""
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS / "seeds", corpus)
    port = _free_port()
    env = {**os.environ, "NEWSBOT_INDEX": str(tmp_path / "index"), "NEWSBOT_CORPUS": str(corpus)}
    env["NEWSBOT_PORT"] = str(port)
    process = subprocess.Popen(
        [sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    output = []
    deadline = time.monotonic() + 180
    for line in process.stdout:
        output.append(line)
        if "newsbot is serving on" in line or time.monotonic() > deadline:
            break
    if process.poll() is not None or not any("newsbot is serving on" in line for line in output):
        process.kill()
        pytest.fail("the app did not start:\n" + "".join(output))
    yield f"http://127.0.0.1:{port}/", "".join(output)
    process.terminate()
    process.wait(timeout=30)


def test_app_builds_the_index_and_answers_over_http(running_app):
    url, log = running_app
    assert "articles: 2 added" in log
    client = Client(url, verbose=False)
    reply = client.predict("Who is directing Romantic Anonymous?", api_name="/ask")
    assert "Sho Tsukikawa [1]" in reply or "Sho Tsukikawa, known for" in reply
    assert "**Sources**\n1. Japanese-Korean romance dramas are all the rage" in reply
    assert "(2024)" in reply
    refused = client.predict("Who won the Nobel Prize in Chemistry in 2023?", api_name="/ask")
    assert refused.startswith("I could not find an answer to that in the indexed news articles.")
    empty = client.predict("   ", api_name="/ask")
    assert empty.startswith("The question is empty")
    # The same process serves the HTTP API and the widget beside the chat.
    answer = httpx.post(url + "api/ask", json={"question": "Who is directing Romantic Anonymous?"}, timeout=60).json()
    assert answer["citations"][0]["title"].startswith("Japanese-Korean romance dramas are all the rage")
    assert httpx.get(url + "healthz", timeout=10).json()["ok"] is True
    assert "attachShadow" in httpx.get(url + "widget.js", timeout=10).text


def test_first_screen_says_what_the_bot_knows(corpus_bot):
    text = describe_index(corpus_bot)
    assert text.startswith("I know **58 articles** (")
    assert "published 2023-07-25 to 2024" in text
    assert "Polygon" in text


def test_article_markup_is_shown_as_text():
    hostile = "<script>alert(1)</script> <img src=x onerror=alert(2)> [click](javascript:alert(3))"
    answer = Answer(
        question="q",
        answer=f"{hostile} [1]",
        abstained=False,
        citations=[
            Citation(
                n=1,
                article_id="a",
                title="<b>T</b>",
                source="S",
                url="javascript:alert(4)",
                published="",
                quote=hostile,
            )
        ],
    )
    rendered = render_answer(answer)
    assert "<script>" not in rendered and "<img" not in rendered and "<b>" not in rendered
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered
    assert "[click](" not in rendered and "\\[click\\](javascript:alert(3))" in rendered  # literal text
    assert "(javascript:alert(4))" not in rendered  # only http(s) links become links
    assert rendered.splitlines()[0].endswith(" [1]")


def test_every_quoted_sentence_is_shown_under_its_source():
    from bot.answer import Quote

    citation = Citation(
        n=1,
        article_id="a",
        title="T",
        source="Polygon",
        url="https://example.org/a",
        published="2023-10-18",
        quote="First.",
        quotes=[Quote(text="First.", start=0, end=6), Quote(text="Second.", start=7, end=14)],
    )
    rendered = render_answer(
        Answer(question="q", answer="First. [1] Second. [1]", abstained=False, citations=[citation])
    )
    assert rendered.endswith("1. [T](https://example.org/a) (Polygon, 2023-10-18)\n   > First.\n   >\n   > Second.")
