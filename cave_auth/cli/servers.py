"""What ``cave-auth`` knows about servers: addresses, owners, checks, errors.

:func:`server_address` reads an address as a person typed it, and names the
likely intended one when the scheme is mangled (``http//host``,
``htps://host``). :func:`saved_tokens` lists every saved token with the
server it belongs to (:mod:`cave_auth.ownership`), and :func:`check` asks
that server, and only that one, about it. :func:`explain` adds the next step
to a transport error: plain http spoken where https was asked, or a
certificate no trusted CA signed (and which CA variable is in effect).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import attrs

from ..config import Config, normalize_server_address
from ..errors import (
    AuthenticationError,
    CaveAuthError,
    InvalidInputError,
    TransportError,
)
from ..inventory import SavedToken, list_saved_tokens
from ..ownership import Servers, netloc_of, owner_of
from ..store import TokenStore

if TYPE_CHECKING:
    from .context import Context

__all__ = ["check", "check_all", "explain", "saved_tokens", "server_address"]

_CONCURRENCY = 4

_MANGLED = re.compile(r"^(?P<scheme>[A-Za-z]{2,6})(?::/{0,3}|/{1,3})(?P<rest>[^/:].*)$")


def _likely_address(text: str) -> str | None:
    """Return the address a mistyped scheme most likely meant (``http//h`` -> ``http://h``)."""
    import difflib

    if "://" in text:
        scheme, _, rest = text.partition("://")
    else:
        match = _MANGLED.match(text)
        if match is None:
            return None
        scheme, rest = match["scheme"], match["rest"]
    if scheme.lower() in ("http", "https") and "://" in text:
        return None
    close = difflib.get_close_matches(
        scheme.lower(), ["https", "http"], n=1, cutoff=0.6
    )
    return f"{close[0]}://{rest}" if close else None


def server_address(text: str, name: str = "the server address") -> str:
    """Normalize a server address typed by a person; a mangled scheme gets a hint.

    Args:
        text: The address as given.
        name: What it is called in the error.

    Returns:
        The normalized address.

    Raises:
        InvalidInputError: If the address is malformed.
    """
    likely = _likely_address(text.strip())
    if likely is not None:
        raise InvalidInputError(
            f"{name} {text!r} has a mangled scheme; did you mean {likely}?"
        )
    return normalize_server_address(text, name)


def explain(environ: Mapping[str, str], error: Exception) -> str:
    """Return an error's message with the next step, where one is known.

    A TLS "wrong version number" on ``https://`` means the server speaks
    plain http; a failed certificate check names the CA variable in effect.

    Args:
        environ: The environment, which names the CAs in effect.
        error: The error.

    Returns:
        The message, with the hint appended.
    """
    import urllib.parse

    text = str(error)
    if not isinstance(error, TransportError):
        return text
    if "wrong version number" in text and error.url.startswith("https://"):
        netloc = urllib.parse.urlsplit(error.url).netloc
        return (
            f"{text}. The server speaks plain http: use http://{netloc} "
            f"(e.g. --server http://{netloc})"
        )
    if "certificate verify failed" in text:
        names = (
            "REQUESTS_CA_BUNDLE",
            "CURL_CA_BUNDLE",
            "SSL_CERT_FILE",
            "SSL_CERT_DIR",
        )
        set_ = [f"{name}={environ[name]}" for name in names if environ.get(name)]
        trusted = (
            f"The CAs trusted are those of {set_[0]}"
            if set_
            else "No CA variable is set, so the system's CAs are trusted"
        )
        return (
            f"{text}. {trusted}; if the server's certificate comes "
            "from a CA of your own, point REQUESTS_CA_BUNDLE at it: "
            "export REQUESTS_CA_BUNDLE=/path/to/ca.pem"
        )
    return text


def saved_tokens(
    config: Config, store: TokenStore, servers: Servers
) -> list[tuple[SavedToken, str | None]]:
    """Return every saved token with the server it belongs to.

    Args:
        config: The settings (``secrets_dir``, ``token_file``).
        store: Where secrets files live.
        servers: The default server and the known addresses.

    Returns:
        ``(entry, server)`` in listing order; the server is ``None`` for an
        entry without a usable token.
    """
    found = []
    for entry in list_saved_tokens(config, store):
        owner = None
        if entry.token is None:
            pass
        elif entry.server is not None:
            owner = servers.address(netloc_of(entry.server))
        elif entry.path == config.token_file:
            owner = config.server_address
        else:
            owner = owner_of(config, store, entry.token, servers)
        found.append((entry, owner))
    return found


def check(ctx: Context, config: Config, token: str) -> dict[str, Any]:
    """Ask ``config``'s server whose ``token`` is, and when it expires.

    Args:
        ctx: The command's context (its transport is used).
        config: The Config of the server the token belongs to.
        token: The token to ask about.

    Returns:
        ``{"valid", "user", "expires", "error"}``: ``valid`` is ``None``
        when the server could not say.
    """
    from ..api import whoami
    from ..lifecycle import token_expiry

    checked = attrs.evolve(config, token=token)
    http = ctx.http()
    try:
        user = whoami(checked, http)
    except AuthenticationError:
        return {"valid": False, "user": None, "expires": None, "error": "rejected"}
    except CaveAuthError as exc:
        error = ctx.scrub(explain(ctx.environ, exc))
        return {"valid": None, "user": None, "expires": None, "error": error}
    try:
        ends = token_expiry(checked, http)
    except CaveAuthError:
        expires = "unknown"
    else:
        expires = "never" if ends is None else ends.isoformat(timespec="seconds")
    return {"valid": True, "user": user.name, "expires": expires, "error": None}


def check_all(
    ctx: Context, config: Config, pairs: set[tuple[str, str]]
) -> dict[tuple[str, str], dict[str, Any]]:
    """Check each ``(server, token)`` at its server, a few at a time.

    Args:
        ctx: The command's context.
        config: The Config the servers' Configs are made from.
        pairs: The server each token belongs to, and the token.

    Returns:
        The answer of :func:`check` for each pair.
    """
    with ThreadPoolExecutor(max_workers=_CONCURRENCY) as pool:
        futures = {
            pair: pool.submit(
                check,
                ctx,
                attrs.evolve(config, server_address=pair[0], token=None),
                pair[1],
            )
            for pair in sorted(pairs)
        }
    return {pair: future.result() for pair, future in futures.items()}
