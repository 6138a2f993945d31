"""The gate in front of every route the server has, Gradio's own included: the host names it answers to, how large
a body may be, how often one client may call (any request, and any question whichever route asks it), which sites
may call /api/ (CORS, site keys), and where files may be uploaded. All of it is decided before any work is done;
refusals are JSON {"error": ...} naming the setting that decides them."""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..settings import Settings
from .limits import ClientLimits
from .sites import SitePolicy, cors_headers

log = logging.getLogger(__name__)

API = "/api/"
ADMIN = "/admin"  # the admin page, mounted only when NEWSBOT_ADMIN_TOKEN is set
# Gradio's routes that store what a client sends as files; only the admin page's upload is served.
UPLOADS = ("/gradio_api/upload", "/gradio_api/process_recording", "/gradio_api/stream/")
ADMIN_UPLOAD = ADMIN + "/gradio_api/upload"
UPLOAD_FILES = 10  # files one admin upload request may carry at the upload size limit
_WILDCARDS = {"0.0.0.0", "::", ""}


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def served_hosts(settings: Settings) -> set[str]:
    """The host names requests may carry: NEWSBOT_ALLOWED_HOSTS, else the bound address and loopback names (and
    this machine's own names and addresses when it listens on all of them)."""
    if settings.allowed_hosts:
        return {name.strip().strip("[]").lower() for name in settings.allowed_hosts}
    hosts = {settings.host.strip("[]").lower(), "localhost", "127.0.0.1", "::1"}
    if settings.host in _WILDCARDS:
        name = socket.gethostname()
        hosts |= {name.lower(), socket.getfqdn().lower()}
        with contextlib.suppress(OSError):
            hosts |= {str(info[4][0]).lower() for info in socket.getaddrinfo(name, None)}
    return hosts - _WILDCARDS


def host_name(header: str) -> str:
    """'Example.com:7860' -> 'example.com', '[::1]:7860' -> '::1'; '' when the header is not a host."""
    try:
        return urlsplit("//" + header.strip()).hostname or ""
    except ValueError:
        return ""


class Guard:
    """ASGI middleware over the whole app (API, widget, docs and the Gradio pages and routes)."""

    def __init__(self, app: ASGIApp, settings: Settings, limits: ClientLimits):
        self.app = app
        self.settings = settings
        self.limits = limits
        self.policy = SitePolicy(settings.sites)
        self.hosts = served_hosts(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        response, cors_origin = self._decide(request)
        if response is None:
            response, receive = await self._bounded(request, receive)
        if response is not None:
            await response(scope, receive, send)
            return
        if cors_origin:
            send = _with_headers(send, cors_headers(cors_origin))
        if scope["path"].startswith(ADMIN + "/") or scope["path"] == ADMIN:
            send = _noting_refusals(send, request)
        await self.app(scope, receive, send)

    def _decide(self, request: Request) -> tuple[Response | None, str | None]:
        """A response that ends the request here (or None), and the origin that may read the app's response."""
        path, client = request.url.path, _client(request)
        host = host_name(request.headers.get("host", ""))
        if host not in self.hosts:
            shown = request.headers.get("host", "")[:100] or "(none)"
            log.warning("refused a request for the host name %r from %s", shown, client)
            return error_response(
                400,
                f"This server does not answer to the host name {shown!r}: add it to NEWSBOT_ALLOWED_HOSTS.",
            ), None
        refusal = self.limits.request(client)
        if refusal:
            return error_response(429, refusal.message, refusal.headers), None
        if request.method == "POST" and path.startswith(UPLOADS):
            return error_response(
                403, "Files are uploaded only on the admin page (/admin), after logging in with NEWSBOT_ADMIN_TOKEN."
            ), None
        if path.startswith(API):
            return self._api(request, client)
        return None, None

    def _api(self, request: Request, client: str) -> tuple[Response | None, str | None]:
        """/api/: preflights answered, other sites' pages refused (403), questions limited (429), and allowed
        cross-origin responses given their CORS headers."""
        headers = request.headers
        origin, host = headers.get("origin"), headers.get("host", "")
        if request.method == "OPTIONS" and origin and "access-control-request-method" in headers:
            verdict = self.policy.preflight(request.query_params.get("site"), origin, host)
            if not verdict.allowed:
                return error_response(403, verdict.error), None
            return Response(status_code=204, headers=cors_headers(origin, preflight=True)), None
        key = headers.get("x-newsbot-site") or request.query_params.get("site") or None
        verdict = self.policy.check(key, origin, host)
        cors = cors_headers(verdict.cors_origin) if verdict.cors_origin else None
        if not verdict.allowed:
            return error_response(403, verdict.error, cors), None
        refusal = self.limits.question(client, verdict.key)
        if refusal:
            return error_response(429, refusal.message, {**(cors or {}), **refusal.headers}), None
        return None, verdict.cors_origin

    async def _bounded(self, request: Request, receive: Receive) -> tuple[Response | None, Receive]:
        """413 for a body over the limit: by its declared length before reading it, else (chunked) while it is
        read, before the app sees any of it."""
        if request.url.path == ADMIN_UPLOAD:
            limit, setting = self.settings.upload_max_bytes * UPLOAD_FILES, "NEWSBOT_UPLOAD_MAX_BYTES"
        else:
            limit, setting = self.settings.max_body_bytes, "NEWSBOT_MAX_BODY_BYTES"
        too_large = error_response(413, f"The request body is larger than {limit} bytes, the limit ({setting}).")
        declared = request.headers.get("content-length", "")
        if declared:  # the server stops a body at its declared length
            return (too_large if not declared.isdigit() or int(declared) > limit else None), receive
        if "transfer-encoding" not in request.headers:
            return None, receive
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > limit:
                return too_large, receive
            if not message.get("more_body"):
                break
        return None, _replay(messages, receive)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _replay(messages: list[Message], receive: Receive) -> Receive:
    async def replayed() -> Message:
        return messages.pop(0) if messages else await receive()

    return replayed


def _with_headers(send: Send, extra: dict[str, str]) -> Send:
    async def sender(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            for name, value in extra.items():
                headers.append(name, value)
        await send(message)

    return sender


def _noting_refusals(send: Send, request: Request) -> Callable[[Message], Awaitable[None]]:
    """One log line for a refused admin login or action (never the token, never a traceback)."""

    async def sender(message: Message) -> None:
        if message["type"] == "http.response.start":
            status = message["status"]
            login = request.url.path.rstrip("/").endswith("/login")
            if status in (401, 403) or (login and status == 400):
                what = "login" if login else f"{request.method} {request.url.path}"
                log.warning("admin: refused %s from %s (%s)", what, _client(request), status)
        await send(message)

    return sender
