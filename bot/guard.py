"""The gate in front of /api/: which sites may call it (CORS, site keys) and how often (rate limits), decided
before any work is done. Refusals are JSON {"error": ...} naming the setting that decides them."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .limits import RateLimiter, retry_after
from .settings import Settings
from .sites import SitePolicy, cors_headers

PREFIX = "/api/"


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


class ApiGuard:
    """ASGI middleware: preflights answered, other sites' pages refused (403), clients and site keys limited
    (429 with Retry-After), and allowed cross-origin responses given their CORS headers."""

    def __init__(self, app: ASGIApp, settings: Settings):
        self.app = app
        self.settings = settings
        self.policy = SitePolicy(settings.sites)
        self.clients = RateLimiter(settings.rate_per_minute, settings.burst)
        self.site_keys = RateLimiter(settings.site_rate_per_minute, settings.site_burst)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        response, cors_origin = self._decide(Request(scope))
        if response is not None:
            await response(scope, receive, send)
        elif cors_origin:
            await self.app(scope, receive, _with_headers(send, cors_headers(cors_origin)))
        else:
            await self.app(scope, receive, send)

    def _decide(self, request: Request) -> tuple[Response | None, str | None]:
        """A response that ends the request here (or None), and the origin that may read the app's response."""
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
        refusal = self._limit(request.client.host if request.client else "unknown", verdict.key)
        if refusal:
            message, seconds = refusal
            return error_response(429, message, {**(cors or {}), "Retry-After": retry_after(seconds)}), None
        return None, verdict.cors_origin

    def _limit(self, client: str, key: str | None) -> tuple[str, float] | None:
        wait = self.clients.take(client)
        if wait:
            s = self.settings
            return (
                f"Too many requests from your address: the limit is {s.rate_per_minute:g} per minute, in bursts "
                f"of up to {s.burst} (NEWSBOT_RATE_PER_MINUTE, NEWSBOT_BURST). Try again in {retry_after(wait)} s.",
                wait,
            )
        wait = self.site_keys.take(key) if key else 0.0
        if wait:
            s = self.settings
            return (
                f"Too many requests for the site key {key!r}: the limit is {s.site_rate_per_minute:g} per minute, "
                f"in bursts of up to {s.site_burst} (NEWSBOT_SITE_RATE_PER_MINUTE, NEWSBOT_SITE_BURST). "
                f"Try again in {retry_after(wait)} s.",
                wait,
            )
        return None


def _with_headers(send: Send, extra: dict[str, str]) -> Send:
    async def sender(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            for name, value in extra.items():
                headers.append(name, value)
        await send(message)

    return sender
