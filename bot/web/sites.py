"""Which web pages may call the HTTP API: the same-origin UI and command-line clients always; another site's
page only with a site key (NEWSBOT_SITES) that lists the page's origin. Also the CORS headers that say so."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

ALLOWED_HEADERS = "Content-Type, X-Newsbot-Site"
ALLOWED_METHODS = "GET, POST, OPTIONS"


def normalise_origin(origin: str) -> str:
    """'HTTPS://Example.com/' -> 'https://example.com': origins compare as browsers send them."""
    return origin.strip().rstrip("/").lower()


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    key: str | None = None  # the site key the request counts against
    cors_origin: str | None = None  # the origin allowed to read the response (Access-Control-Allow-Origin)
    error: str = ""


class SitePolicy:
    def __init__(self, sites: dict[str, list[str]]):
        self.sites = {key: {normalise_origin(o) for o in origins} for key, origins in sites.items()}

    @staticmethod
    def same_origin(origin: str, host: str) -> bool:
        """The page was served by this server (scheme aside: a TLS proxy in front changes it)."""
        return bool(host) and urlsplit(origin).netloc.lower() == host.lower()

    def check(self, key: str | None, origin: str | None, host: str) -> Verdict:
        """An API request. A refused cross-origin page may still read the refusal, so the widget can show why."""
        origin = normalise_origin(origin) if origin else None
        if key is not None:
            if key not in self.sites:
                return Verdict(False, None, origin, f"Unknown site key {key!r}: add it to NEWSBOT_SITES.")
            if origin and origin not in self.sites[key]:
                return Verdict(
                    False,
                    None,
                    origin,
                    f"This site ({origin}) may not use newsbot with the site key {key!r}: "
                    f"add the origin to that key in NEWSBOT_SITES.",
                )
            return Verdict(True, key, origin)
        if origin is None or self.same_origin(origin, host):
            return Verdict(True)
        return Verdict(
            False,
            None,
            origin,
            f'Requests from another site ({origin}) need a site key: embed the widget with data-site="KEY" '
            "and list this origin under KEY in NEWSBOT_SITES.",
        )

    def preflight(self, key: str | None, origin: str, host: str) -> Verdict:
        """A browser asking whether it may send a cross-origin request. The key comes from `?site=` (a preflight
        carries no header values); without one, an origin listed under any key may ask, and the request itself
        is then checked with its key."""
        origin = normalise_origin(origin)
        if key is not None:
            allowed = origin in self.sites.get(key, set())
        else:
            allowed = self.same_origin(origin, host) or any(origin in origins for origins in self.sites.values())
        if allowed:
            return Verdict(True, key, origin)
        return Verdict(False, error=f"This site ({origin}) may not call the newsbot API: see NEWSBOT_SITES.")


def cors_headers(origin: str, preflight: bool = False) -> dict[str, str]:
    """Response headers letting `origin` read the response (and, for a preflight, send the request)."""
    headers = {"Access-Control-Allow-Origin": origin, "Vary": "Origin", "Access-Control-Expose-Headers": "Retry-After"}
    if preflight:
        headers |= {
            "Access-Control-Allow-Methods": ALLOWED_METHODS,
            "Access-Control-Allow-Headers": ALLOWED_HEADERS,
            "Access-Control-Max-Age": "600",
        }
    return headers
