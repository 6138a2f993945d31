"""The HTTP API in-process (FastAPI's TestClient): answers, streaming, articles, limits, and which sites may call it."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from bot.web.api import article_text, create_app
from bot.web.limits import RateLimiter
from tests.conftest import SEED_2024

LOCAL = "http://127.0.0.1"  # a host name the server answers to (NEWSBOT_ALLOWED_HOSTS)
ALLOWED = "http://127.0.0.1:8001"
OTHER = "http://127.0.0.1:8002"
QUESTION = "Who is directing Romantic Anonymous?"
# The documented `newsbot ask --json` shape (README).
PUBLIC_FIELDS = {
    *("question", "answer", "abstained", "citations", "searched"),
    *("understood", "backend", "dropped", "notes", "needs_clarification", "short_answer"),
}


def make_client(corpus_bot, corpus_settings, **settings) -> TestClient:
    """The API over the session's corpus index, with site "demo" allowed on ALLOWED; no Gradio (test_app has it)."""
    chosen = {"sites": {"demo": [ALLOWED]}, "rate_per_minute": 0, "site_rate_per_minute": 0} | settings
    return TestClient(create_app(corpus_settings.model_copy(update=chosen), bot=corpus_bot, ui=False), base_url=LOCAL)


@pytest.fixture(scope="module")
def client(corpus_bot, corpus_settings):
    with make_client(corpus_bot, corpus_settings) as client:
        yield client


def events(body: str) -> list[tuple[str, dict]]:
    """Server-sent events as (name, data)."""
    parsed = []
    for block in body.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        parsed.append((fields["event"], json.loads(fields["data"])))
    return parsed


def test_ask_answers_with_the_documented_json(client, corpus_bot):
    response = client.post("/api/ask", json={"question": QUESTION})
    assert response.status_code == 200
    answer = response.json()
    assert set(answer) == PUBLIC_FIELDS
    assert answer == corpus_bot.ask(QUESTION).public()
    assert answer["citations"][0]["title"].startswith("Japanese-Korean romance dramas are all the rage")
    assert "Sho Tsukikawa" in answer["answer"]


def test_chat_streams_text_then_the_same_answer_as_ask(client):
    response = client.post("/api/chat", json={"question": QUESTION})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    stream = events(response.text)
    names = [name for name, _ in stream]
    assert names[-2:] == ["answer", "done"] and set(names[:-2]) == {"delta"} and len(names) >= 3
    assert "".join(data["text"] for name, data in stream if name == "delta").strip()
    assert stream[-2][1] == client.post("/api/ask", json={"question": QUESTION}).json()


def test_a_follow_up_is_understood_from_the_history_it_carries(client):
    history = [
        {"role": "user", "content": "Who stars in What Comes After Love?"},
        {"role": "assistant", "content": "Lee Se-young and Sakaguchi Kentaro. [1]"},
    ]
    answer = client.post("/api/ask", json={"question": "What is it based on?", "history": history}).json()
    assert "What Comes After Love" in answer["searched"]
    assert not answer["abstained"]


def test_article_text_is_rebuilt_so_that_quote_offsets_index_into_it(client):
    answer = client.post("/api/ask", json={"question": QUESTION}).json()
    citation = answer["citations"][0]
    response = client.get("/api/articles/" + quote(citation["article_id"], safe=""))
    assert response.status_code == 200
    article = response.json()
    assert article["article_id"] == SEED_2024 == citation["article_id"]
    assert article["title"] == citation["title"] and article["published"] == "2024"
    for q in citation["quotes"]:
        assert article["text"][q["start"] : q["end"]] == q["text"]


def test_article_by_url_id_and_unknown_id(client):
    url = "https://www.polygon.com/reviews/23920680/super-mario-bros-wonder-review-nintendo-switch"
    found = client.get("/api/articles/" + quote(url, safe=""))
    assert found.status_code == 200
    assert found.json()["source"] == "Polygon" and found.json()["text"].startswith("With Wonder Seeds")
    assert client.get("/api/articles/" + url).status_code == 200  # unencoded slashes work too
    missing = client.get("/api/articles/id:no-such-article")
    assert missing.status_code == 404
    assert missing.json()["error"].startswith("No article with the id 'id:no-such-article' in the index.")


def test_overlapping_and_gapped_chunks_make_one_text():
    class Hit:
        def __init__(self, text, start, end):
            self.text, self.metadata = text, {"start": start, "end": end}

    body = "One two. Three four. Five six."
    hits = [Hit(body[0:20], 0, 20), Hit(body[9:20], 9, 20), Hit(body[21:], 21, len(body))]
    assert article_text(hits) == body


def test_health_docs_and_widget_script(client):
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json()["ok"] is True and health.json()["chunks"] > 58
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/docs-assets/swagger-ui-bundle.js" in docs.text and "cdn" not in docs.text
    assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200  # offline: no CDN
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/ask", "/api/chat", "/api/articles/{article_id}", "/healthz"} <= set(paths)
    unknown = client.get("/api/nothing")
    assert unknown.status_code == 404 and unknown.json()["error"] == (
        "There is no GET /api/nothing: the API is described at /docs."
    )
    assert client.get("/api/ask").status_code == 404  # questions are POSTed
    widget = client.get("/widget.js")
    assert widget.headers["content-type"].startswith("text/javascript") and "attachShadow" in widget.text
    assert "innerHTML" not in widget.text  # data is inserted as text only


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{", "The body is not valid JSON"),
        (b"[1]", 'The body must be a JSON object like {"question": "..."}.'),
        (b'{"text": "hi"}', '"question" is missing'),
        (b'{"question": 5}', '"question": Input should be a valid string.'),
        (b'{"question": "   "}', "The question is empty"),
        (b'{"question": "Who?", "as_of": "someday"}', "as_of must be a date such as 2023-10-18"),
        (b'{"question": "Who?", "history": "hi"}', "history must be a list"),
    ],
)
def test_malformed_requests_get_a_400_naming_the_field(client, body, message):
    for path in ("/api/ask", "/api/chat"):
        response = client.post(path, content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 400, response.text
        assert response.json()["error"].startswith(message) or message in response.json()["error"]


def test_a_too_long_question_is_refused_naming_the_limit(client):
    for path in ("/api/ask", "/api/chat"):  # /api/chat refuses before streaming anything
        response = client.post(path, json={"question": "x" * 1001})
        assert response.status_code == 400
        assert "the limit is 1000 (NEWSBOT_MAX_QUESTION_CHARS)" in response.json()["error"]


def test_bad_history_is_refused_naming_the_turn(client):
    history = [{"role": "user", "content": "Hi"}, {"role": "bot", "content": "Hello"}]
    response = client.post("/api/ask", json={"question": "Who?", "history": history})
    assert response.status_code == 400
    assert response.json()["error"].startswith('history[1].role must be "user" or "assistant"')
    many = [{"role": "user", "content": "Hi"}] * 21
    response = client.post("/api/chat", json={"question": "Who?", "history": many})
    assert response.status_code == 400 and "(NEWSBOT_MAX_HISTORY_TURNS)" in response.json()["error"]
    long = [{"role": "user", "content": "x" * 8001}]
    response = client.post("/api/ask", json={"question": "Who?", "history": long})
    assert "history[0].content is 8001 characters long" in response.json()["error"]


def test_a_body_over_the_limit_is_refused_with_413(corpus_bot, corpus_settings):
    with make_client(corpus_bot, corpus_settings, max_body_bytes=1024) as client:
        big = json.dumps({"question": "Who?", "history": [{"role": "user", "content": "x" * 2000}]})
        response = client.post("/api/ask", content=big)
        assert response.status_code == 413
        assert "limit (NEWSBOT_MAX_BODY_BYTES)" in response.json()["error"]
        chunked = client.post("/api/chat", content=iter([big[:1000].encode(), big[1000:].encode()]))
        assert "content-length" not in chunked.request.headers
        assert chunked.status_code == 413


def test_a_client_over_its_rate_gets_429_with_retry_after(corpus_bot, corpus_settings):
    with make_client(corpus_bot, corpus_settings, rate_per_minute=1, burst=2) as client:
        assert [client.get("/api/articles/id:x").status_code for _ in range(2)] == [404, 404]
        refused = client.get("/api/articles/id:x")
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert "(NEWSBOT_RATE_PER_MINUTE, NEWSBOT_BURST)" in refused.json()["error"]
        assert client.get("/healthz").status_code == 200  # only /api/ is limited


def test_a_site_key_has_its_own_rate(corpus_bot, corpus_settings):
    with make_client(corpus_bot, corpus_settings, site_rate_per_minute=1, site_burst=1) as client:
        headers = {"Origin": ALLOWED, "X-Newsbot-Site": "demo"}
        assert client.get("/api/articles/id:x", headers=headers).status_code == 404
        refused = client.get("/api/articles/id:x", headers=headers)
        assert refused.status_code == 429 and "site key 'demo'" in refused.json()["error"]
        assert refused.headers["access-control-allow-origin"] == ALLOWED  # the widget can read why
        assert client.get("/api/articles/id:x").status_code == 404  # same client, no key: not limited by it


def test_token_bucket_refills_at_its_rate():
    now = [0.0]
    limiter = RateLimiter(per_minute=60, burst=2, clock=lambda: now[0])
    assert [limiter.take("a"), limiter.take("a")] == [0.0, 0.0]
    assert limiter.take("a") == pytest.approx(1.0)
    assert limiter.take("b") == 0.0  # buckets are per key
    now[0] = 1.0
    assert limiter.take("a") == 0.0
    assert RateLimiter(per_minute=0, burst=1).take("a") == 0.0  # 0: no limit


def test_cors_allows_listed_origins_of_a_site_key(client):
    for extra in ({"X-Newsbot-Site": "demo"}, {}):
        path = "/api/ask" if extra else "/api/ask?site=demo"
        response = client.post(path, json={"question": QUESTION}, headers={"Origin": ALLOWED, **extra})
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == ALLOWED
        assert response.headers["vary"] == "Origin"
    plain = client.post("/api/ask", json={"question": QUESTION})  # curl: no Origin, no key
    assert plain.status_code == 200 and "access-control-allow-origin" not in plain.headers
    same = client.post("/api/ask", json={"question": QUESTION}, headers={"Origin": LOCAL})
    assert same.status_code == 200 and "access-control-allow-origin" not in same.headers


@pytest.mark.parametrize(
    ("path", "origin", "message"),
    [
        ("/api/chat?site=demo", OTHER, "This site (http://127.0.0.1:8002) may not use newsbot with the site key"),
        ("/api/chat?site=nope", ALLOWED, "Unknown site key 'nope': add it to NEWSBOT_SITES."),
        ("/api/chat", OTHER, "Requests from another site (http://127.0.0.1:8002) need a site key"),
    ],
)
def test_other_sites_are_refused_with_a_readable_403(client, path, origin, message):
    response = client.post(path, json={"question": QUESTION}, headers={"Origin": origin})
    assert response.status_code == 403
    assert response.json()["error"].startswith(message)
    assert response.headers["access-control-allow-origin"] == origin  # only so the page can show the refusal


def test_preflight_only_for_listed_origins(client):
    ask = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-newsbot-site"}
    allowed = client.options("/api/chat?site=demo", headers={"Origin": ALLOWED, **ask})
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == ALLOWED
    assert "X-Newsbot-Site" in allowed.headers["access-control-allow-headers"]
    assert "POST" in allowed.headers["access-control-allow-methods"]
    assert client.options("/api/chat", headers={"Origin": ALLOWED, **ask}).status_code == 204  # key in a header
    for path in ("/api/chat?site=demo", "/api/chat"):
        refused = client.options(path, headers={"Origin": OTHER, **ask})
        assert refused.status_code == 403 and "access-control-allow-origin" not in refused.headers
        assert "http://127.0.0.1:8002" in refused.json()["error"]


def test_a_follow_up_sent_without_its_history_gets_a_question_back(client):
    alone = client.post("/api/ask", json={"question": "When does it come out?"}).json()
    assert alone["needs_clarification"] is True and alone["citations"] == []
    assert alone["answer"].startswith("Which film or show do you mean?")
    history = [{"role": "user", "content": "Who stars in What Comes After Love?"}]
    followed = client.post("/api/ask", json={"question": "When does it come out?", "history": history}).json()
    assert followed["needs_clarification"] is False and followed["answer"].startswith("Sept. 27 [1].")


def test_clients_on_this_machine_are_not_limited_by_address_unless_asked(corpus_bot, corpus_settings):
    chosen = {"sites": {"demo": [ALLOWED]}, "rate_per_minute": 1, "burst": 1, "site_rate_per_minute": 1}
    chosen |= {"site_burst": 1, "requests_per_minute": 1, "request_burst": 1}
    for limit_loopback, expected in ((False, [404, 404, 404]), (True, [404, 429, 429])):
        settings = corpus_settings.model_copy(update={**chosen, "rate_limit_loopback": limit_loopback})
        app = create_app(settings, bot=corpus_bot, ui=False)
        with TestClient(app, base_url=LOCAL, client=("127.0.0.1", 50000)) as local:
            assert [local.get("/api/articles/id:x").status_code for _ in range(3)] == expected
            keyed = [local.get("/api/articles/id:x", headers={"X-Newsbot-Site": "demo"}) for _ in range(2)]
            assert keyed[-1].status_code == 429  # a site key is limited wherever its visitors are
