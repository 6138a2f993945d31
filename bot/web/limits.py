"""Token-bucket rate limits: each key (a client's IP address, a site key) may spend `burst` requests at once,
refilled at `per_minute`; a refused request learns how many seconds to wait."""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..settings import Settings

_PRUNE_AT = 10_000  # buckets kept before the full ones (which behave like absent ones) are dropped


class RateLimiter:
    """Buckets per key, in memory: one process, one set of limits (enough for a single-server deployment)."""

    def __init__(self, per_minute: float, burst: int, clock: Callable[[], float] = time.monotonic):
        self.rate = per_minute / 60.0  # tokens per second
        self.burst = float(burst)
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when counted)
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def take(self, key: str) -> float:
        """Spend one token of `key`: 0.0 when allowed, else the seconds until a token is back."""
        if not self.enabled:
            return 0.0
        with self._lock:
            now = self.clock()
            tokens, then = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - then) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                if len(self._buckets) > _PRUNE_AT:
                    self._prune(now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate

    def _prune(self, now: float) -> None:
        for key, (tokens, then) in list(self._buckets.items()):
            if tokens + (now - then) * self.rate >= self.burst:
                del self._buckets[key]


def retry_after(seconds: float) -> str:
    """The Retry-After header: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))


class ClientLimits:
    """One server's budgets, shared by the gate in front of every route and the chat's own events, so that an
    address refused on /api/ask is refused in the chat and on Gradio's routes too. Questions (anything that
    runs a search) spend from `questions`; every request, page assets included, spends from `requests`, whose
    limit a person using the page never meets."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.limit_loopback = settings.rate_limit_loopback
        self.questions = RateLimiter(settings.rate_per_minute, settings.burst)
        self.site_keys = RateLimiter(settings.site_rate_per_minute, settings.site_burst)
        self.requests = RateLimiter(settings.requests_per_minute, settings.request_burst)

    def exempt(self, client: str) -> bool:
        """A client on this machine (curl, a script, a newcomer trying the API) is not limited by address unless
        NEWSBOT_RATE_LIMIT_LOOPBACK says so; behind a proxy on this machine, clients are known by X-Forwarded-For."""
        if self.limit_loopback:
            return False
        try:
            return ipaddress.ip_address(client).is_loopback
        except ValueError:
            return False

    def request(self, client: str) -> Refusal | None:
        if self.exempt(client):
            return None
        wait = self.requests.take(client)
        if not wait:
            return None
        s = self.settings
        return Refusal(
            f"Too many requests from your address: the limit is {s.requests_per_minute:g} per minute, in bursts of "
            f"up to {s.request_burst} (NEWSBOT_REQUESTS_PER_MINUTE, NEWSBOT_REQUEST_BURST). "
            f"Try again in {retry_after(wait)} s.",
            wait,
        )

    def question(self, client: str, key: str | None = None) -> Refusal | None:
        wait = 0.0 if self.exempt(client) else self.questions.take(client)
        if wait:
            s = self.settings
            return Refusal(
                f"Too many requests from your address: the limit is {s.rate_per_minute:g} per minute, in bursts "
                f"of up to {s.burst} (NEWSBOT_RATE_PER_MINUTE, NEWSBOT_BURST). Try again in {retry_after(wait)} s.",
                wait,
            )
        wait = self.site_keys.take(key) if key else 0.0
        if wait:
            s = self.settings
            return Refusal(
                f"Too many requests for the site key {key!r}: the limit is {s.site_rate_per_minute:g} per minute, "
                f"in bursts of up to {s.site_burst} (NEWSBOT_SITE_RATE_PER_MINUTE, NEWSBOT_SITE_BURST). "
                f"Try again in {retry_after(wait)} s.",
                wait,
            )
        return None


@dataclass(frozen=True)
class Refusal:
    message: str
    seconds: float

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": retry_after(self.seconds)}
