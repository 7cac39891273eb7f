"""Keeps the secrets redraft knows out of everything it prints or stores.

Upstream error text can echo what it was sent (a key in a "bad key sk-..." message, a proxy
repeating the URL with its `user:pass@`), and exception text travels into the run store
(`calls.error`, `runs.error`, `eval_items.error`) and onto stderr. Every secret redraft is
handed (API keys, credentials in a base URL) is registered here when a model is built, and
`redact` replaces each of them, and any `scheme://user:pass@` credentials, wherever it runs.
A leaf module: it imports nothing of redraft.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit, urlunsplit

MASK = "***"
MIN_SECRET_LEN = 4  # shorter strings ("k", "not-needed" aside) would mask ordinary words
NOT_SECRETS = {"not-needed", "none", "EMPTY"}
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/\s@]+)@")
_known: set[str] = set()


def register_secret(secret: str | None) -> None:
    """Remember a secret so that every later `redact` masks it (a key, a URL's password)."""
    if secret and len(secret) >= MIN_SECRET_LEN and secret not in NOT_SECRETS:
        _known.add(secret)


def register_url(url: str | None) -> None:
    """Remember the credentials a URL carries (`http://user:pass@host`), raw and percent-decoded."""
    for secret in url_credentials(url):
        register_secret(secret)
        register_secret(unquote(secret))


def url_credentials(url: str | None) -> list[str]:
    """The user-info of a URL and its password: what must never be shown or stored."""
    if not url:
        return []
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    userinfo = parts.netloc.rpartition("@")[0]
    if not userinfo:
        return []
    password = userinfo.partition(":")[2]
    return [s for s in (userinfo, password) if s]


def strip_credentials(url: str | None) -> str | None:
    """`url` without its `user:pass@` part: the form that may be shown, stored and compared."""
    if not url or "@" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def known_secrets() -> set[str]:
    """Every registered secret, and the key in the environment (redraft sends it when no key is given)."""
    env_key = os.environ.get("OPENAI_API_KEY")
    extra = {env_key} if env_key and len(env_key) >= MIN_SECRET_LEN and env_key not in NOT_SECRETS else set()
    return _known | extra | set(url_credentials(os.environ.get("OPENAI_BASE_URL")))


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with every known secret (and `secrets`) masked, and any URL's credentials removed."""
    masked = _URL_CREDENTIALS.sub(lambda m: m.group("scheme") + MASK + "@", text)
    # Longest first, so a key that contains another is masked whole.
    for secret in sorted(known_secrets() | {s for s in secrets if s}, key=len, reverse=True):
        if len(secret) >= MIN_SECRET_LEN and secret not in NOT_SECRETS:
            masked = masked.replace(secret, MASK)
    return masked
