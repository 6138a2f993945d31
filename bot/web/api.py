"""The HTTP API, the widget script and the Gradio chat in one FastAPI app: `newsbot serve` runs it.

Every endpoint calls the same NewsBot as the CLI; conversation state lives only in the request (`history`).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field, ValidationError, create_model

from .. import __version__
from ..answer import Answer
from ..chain import NewsBot, QuestionError
from ..errors import IndexUnusable, StoreUnreachable
from ..settings import Settings
from .apidocs import add_offline_docs
from .guard import ADMIN, Guard, error_response
from .limits import ClientLimits
from .workers import Workers

log = logging.getLogger(__name__)
EXAMPLE_QUESTION = "Who stars in What Comes After Love?"
_UPLOADS_BASE = os.environ.get("GRADIO_TEMP_DIR")  # the operator's choice, if any: each server's folder goes in it


class ApiError(Exception):
    """A request the API refuses: the status and a message that names what to change."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class AskRequest(BaseModel):
    question: str = Field(description="The question, in plain text.", examples=[EXAMPLE_QUESTION])
    as_of: str | None = Field(
        None, description="Answer from what was published by this date (YYYY-MM-DD); undated articles stay in."
    )
    history: Any = Field(
        None,
        description="Earlier turns of this conversation, oldest first (the server keeps no state).",
        json_schema_extra={
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"role": {"enum": ["user", "assistant"]}, "content": {"type": "string"}},
                "required": ["role", "content"],
            },
        },
    )


_PUBLIC = list(Answer(question="", answer="", abstained=False).public())
PublicAnswer = create_model(  # the schema of Answer.public(), for the API docs
    "PublicAnswer",
    **{name: (field.annotation, field) for name, field in Answer.model_fields.items() if name in _PUBLIC},
)
_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": AskRequest.model_json_schema()}}}}
_ERRORS = {
    status: {"description": meaning, "content": {"application/json": {"example": {"error": "what to change"}}}}
    for status, meaning in [
        (400, "invalid request: the message names the field or limit"),
        (403, "another site's page without an allowed site key (NEWSBOT_SITES)"),
        (413, "body larger than NEWSBOT_MAX_BODY_BYTES"),
        (429, "rate limit reached: see the Retry-After header"),
    ]
}


def _field_error(error: ValidationError) -> str:
    first = error.errors()[0]
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in first["loc"]).lstrip(".")
    if not where:
        return 'The body must be a JSON object like {"question": "..."}.'
    if first["type"] == "missing":
        return f'"{where}" is missing: send {{"question": "...", "as_of"?: "YYYY-MM-DD", "history"?: [...]}}.'
    return f'"{where}": {first["msg"]}.'


async def read_request(request: Request, max_bytes: int) -> AskRequest:
    """The JSON body, whatever its Content-Type (the widget sends text/plain to spare a CORS preflight)."""
    too_large = f"The request body is larger than {max_bytes} bytes, the limit (NEWSBOT_MAX_BODY_BYTES)."
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise ApiError(413, too_large)
    body = bytearray()
    async for piece in request.stream():
        body += piece
        if len(body) > max_bytes:
            raise ApiError(413, too_large)
    try:
        data = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError) as error:
        raise ApiError(400, f'The body is not valid JSON ({error}); send {{"question": "..."}}.') from error
    except RecursionError as error:  # [[[[...]]]] within the size limit: Python's parser gives up, not a 500
        raise ApiError(400, 'The body is nested too deeply to be a request; send {"question": "..."}.') from error
    try:
        return AskRequest.model_validate(data)
    except ValidationError as error:
        raise ApiError(400, _field_error(error)) from error


def article_text(hits: list) -> str:
    """The article body from its chunks: overlaps merged, gaps as spaces, so quote offsets index into it."""
    text = ""
    for hit in hits:
        start, end = hit.metadata["start"], hit.metadata["end"]
        if start > len(text):
            text += " " * (start - len(text))
        if end > len(text):
            text += hit.text[len(text) - start :]
    return text


def _complete_version(hits: list) -> list:
    """One version's chunks (an ingest may be writing the next one): the complete version, else the largest."""
    versions: dict[str, list] = {}
    for hit in hits:
        versions.setdefault(hit.metadata.get("version", ""), []).append(hit)
    return max(versions.values(), key=lambda group: (len(group) == group[0].metadata.get("chunk_count"), len(group)))


def _sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


@lru_cache(maxsize=1)
def widget_script() -> bytes:
    return (resources.files("bot.web") / "widget" / "widget.js").read_bytes()


def create_app(settings: Settings, bot: NewsBot | None = None, ui: bool = True) -> FastAPI:
    """The API over `bot` (built from `settings`, with its index, when not given), with the chat UI at `/`."""
    if bot is None:
        bot = NewsBot(settings)
        bot.ensure_index()
    workers = Workers(settings.api_concurrency)
    limits = ClientLimits(settings)

    app = FastAPI(
        title="newsbot API",
        version=__version__,
        description="Questions about entertainment news, answered with quotes and numbered citations. "
        'Errors are JSON `{"error": "..."}` naming the field, limit or setting.',
        docs_url=None,
        redoc_url=None,
    )
    add_offline_docs(app)
    app.add_middleware(Guard, settings=settings, limits=limits)

    @app.exception_handler(ApiError)
    async def api_error(_: Request, error: ApiError) -> JSONResponse:
        return error_response(error.status, str(error))

    @app.exception_handler(QuestionError)
    async def question_error(_: Request, error: QuestionError) -> JSONResponse:
        return error_response(400, str(error))

    @app.exception_handler(StoreUnreachable)
    async def store_unreachable(_: Request, error: StoreUnreachable) -> JSONResponse:
        """The Chroma server is down or restarting: temporary, and the next request reconnects by itself."""
        return error_response(503, str(error), headers={"Retry-After": "5"})

    @app.exception_handler(IndexUnusable)
    async def index_unusable(request: Request, error: IndexUnusable) -> JSONResponse:
        """The index cannot be read (a damaged or deleted file): 503 with the message /healthz gives, which says
        how to rebuild it. No Retry-After: it stays so until someone repairs it."""
        log.warning("%s %s: %s", request.method, request.url.path, error)
        return error_response(503, str(error))

    @app.exception_handler(Exception)
    async def failure(request: Request, error: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        return error_response(500, f"newsbot failed to answer ({type(error).__name__}); the server log has details.")

    @app.post("/api/ask", openapi_extra=_BODY, responses={200: {"model": PublicAnswer}, **_ERRORS})
    async def ask(request: Request) -> JSONResponse:
        """Answer one question: the same JSON as `newsbot ask --json`."""
        body = await read_request(request, settings.max_body_bytes)
        answer = await workers.run(bot.ask, body.question, body.as_of, body.history)
        return JSONResponse(answer.public())

    @app.post(
        "/api/chat",
        openapi_extra=_BODY,
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}}, **_ERRORS},
    )
    async def chat(request: Request) -> StreamingResponse:
        """Answer as server-sent events: `delta` {"text"} pieces as they are written, then `answer` (the same
        JSON as /api/ask, which replaces the pieces), then `done`; a failure midway is an `error` {"error"}."""
        body = await read_request(request, settings.max_body_bytes)
        pieces = workers.stream(lambda: bot.stream(body.question, body.as_of, body.history))
        first = await anext(pieces, None)  # the question is checked here: a 400 before any event

        async def events() -> AsyncIterator[str]:
            item = first
            try:
                while item is not None:
                    if isinstance(item, Answer):
                        yield _sse("answer", item.public())
                    else:
                        yield _sse("delta", {"text": item})
                    item = await anext(pieces, None)
            except Exception as error:
                log.exception("streaming an answer failed")
                yield _sse("error", {"error": f"newsbot failed while answering ({type(error).__name__})."})
            finally:
                await pieces.aclose()
            yield _sse("done", {})

        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(events(), media_type="text/event-stream", headers=headers)

    @app.get("/api/articles/{article_id:path}", responses={404: {"description": "no such article"}})
    async def article(article_id: str) -> JSONResponse:
        """One indexed article, its text rebuilt from its chunks. `article_id` is a citation's `article_id`
        (a URL or `id:...`), percent-encoded."""
        hits = await workers.run(bot.store.article_chunks, article_id)
        if not hits:
            raise ApiError(
                404,
                f"No article with the id {article_id!r} in the index. Use a citation's article_id "
                "(a URL or id:...), percent-encoded in the path.",
            )
        hits = _complete_version(hits)
        first = hits[0].metadata
        fields = ("title", "source", "url", "published", "author", "category")
        return JSONResponse(
            {"article_id": article_id, **{name: first.get(name, "") for name in fields}, "text": article_text(hits)}
        )

    @app.api_route("/api/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    async def unknown(request: Request) -> JSONResponse:
        raise ApiError(404, f"There is no {request.method} {request.url.path}: the API is described at /docs.")

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        """Up, with an index that has chunks to answer from (503 otherwise, with the message /api/ask gives)."""

        def checked_count() -> int:
            bot.store.check_vectors()  # a deleted vector index still counts its chunks
            return bot.store.count()

        try:
            chunks = await workers.run(checked_count)
        except IndexUnusable as error:  # damaged or deleted files, or a Chroma server that is down
            return JSONResponse({"ok": False, "error": str(error)}, status_code=503)
        except Exception as error:  # a broken index is what a health check is for
            return JSONResponse({"ok": False, "error": f"the index cannot be read: {error}"}, status_code=503)
        if not chunks:
            return JSONResponse({"ok": False, "chunks": 0, "error": "the index is empty"}, status_code=503)
        return JSONResponse({"ok": True, "chunks": chunks})

    @app.get("/widget.js", include_in_schema=False)
    async def widget() -> Response:
        return Response(
            widget_script(),
            media_type="text/javascript; charset=utf-8",
            headers={"Cache-Control": "public, max-age=300"},
        )

    if ui:
        app = _mount_web_app(app, bot, settings, limits)
    return app


def _mount_web_app(app: FastAPI, bot: NewsBot, settings: Settings, limits: ClientLimits) -> FastAPI:
    """The chat at /, and the admin page at /admin (when a token is set) behind Gradio's login. Uploads land in
    a folder of this process's own, removed when it stops."""
    import gradio as gr

    from . import chat
    from .admin import LOGIN_MESSAGE, admin_enabled, admin_login, build_admin_app

    uploads = Path(tempfile.mkdtemp(prefix="newsbot-uploads-", dir=_UPLOADS_BASE))
    os.environ["GRADIO_TEMP_DIR"] = str(uploads)  # read by Gradio at each upload and by each component built next
    app.router.on_shutdown.append(lambda: shutil.rmtree(uploads, ignore_errors=True))
    mounted: list[gr.Blocks] = []
    if admin_enabled(settings):  # before "/", which would take every path
        admin = build_admin_app(bot, settings, lambda: chat.header(bot))
        app = gr.mount_gradio_app(
            app,
            admin,
            path=ADMIN,
            auth=admin_login(settings),
            auth_message=LOGIN_MESSAGE,
            theme=chat.THEME,
            footer_links=[],
            max_file_size=settings.upload_max_bytes,
        )
        mounted.append(admin)
    blocks = chat.build_app(bot, settings, limits)
    # No Gradio "Use via API" link: it documents Gradio's internal endpoints; the page's own footer leads to /docs.
    app = gr.mount_gradio_app(app, blocks, path="/", theme=chat.THEME, footer_links=[])
    mounted.append(blocks)
    for blocks in mounted:
        # Gradio checks that a file named in a request was uploaded (not /etc/passwd) only in an app it
        # launched itself; a mounted app skips the check unless it is marked as launched.
        blocks.has_launched = True
    return app


class _Server(uvicorn.Server):
    """Says where it serves once the port is open (tests and scripts wait for that line)."""

    async def startup(self, sockets: list | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            base = f"http://{self.config.host}:{self.config.port}"
            print(
                f"newsbot is serving on {base} (chat at /, API docs at {base}/docs, widget at {base}/widget.js)",
                flush=True,
            )


def serve(settings: Settings) -> None:
    """`newsbot serve` and `python app.py`: build the index when empty, then serve everything on one port."""
    app = create_app(settings)
    _Server(uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning")).run()
