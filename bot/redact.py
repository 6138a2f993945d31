"""Credentials in a URL (http://user:password@host:port) are for requests, never for messages or logs.

NEWSBOT_CHROMA_URL may carry a user name and password for a server or proxy that asks for them: the store sends
them as an `Authorization: Basic` header and keeps only the URL without them, which is what every message names.
"""

from __future__ import annotations

from urllib.parse import quote, unquote, urlsplit, urlunsplit

HIDDEN = "***"


def split_credentials(url: str) -> tuple[str, str, str]:
    """(the URL without its user and password, the user, the password), the last two percent-decoded."""
    parts = urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at:
        return url, "", ""
    user, _, password = userinfo.partition(":")
    return urlunsplit(parts._replace(netloc=host)), unquote(user), unquote(password)


def redacted_url(url: str) -> str:
    """`url` with any user and password shown as ***: http://***@host:8000."""
    parts = urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at:
        return url
    return urlunsplit(parts._replace(netloc=f"{HIDDEN}@{host}"))


def scrub(text: str, *secrets: str) -> str:
    """`text` with each secret (as given and percent-encoded, as a URL would carry it) replaced by ***."""
    for secret in secrets:
        if secret:
            for form in {secret, quote(secret, safe="")}:
                text = text.replace(form, HIDDEN)
    return text
