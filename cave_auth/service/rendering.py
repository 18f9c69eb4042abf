"""The bytes Flask, werkzeug and furl would send, made without them.

This module does no I/O. A service that replaces ``middle_auth_client`` must
answer byte for byte as it does: ``flask.jsonify``'s JSON, werkzeug's
redirect page and ``Set-Cookie`` quoting, and ``furl``'s re-encoding of a URL
whose token parameters are removed.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["cookie_value", "jsonify_bytes", "redirect_body", "strip_query_token"]


def jsonify_bytes(data: Mapping[str, Any]) -> bytes:
    """Render a JSON object as ``flask.jsonify`` does outside debug mode.

    Args:
        data: The object.

    Returns:
        Sorted keys, compact separators, ASCII only, a trailing newline.
    """
    return (json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n").encode()


def redirect_body(location: str) -> bytes:
    """Return the HTML page werkzeug sends with a redirect.

    Args:
        location: The target.

    Returns:
        The page, as UTF-8.
    """
    from html import escape

    shown = escape(location)
    return (
        "<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n"
        "<h1>Redirecting...</h1>\n"
        "<p>You should be redirected automatically to the target URL: "
        f'<a href="{shown}">{shown}</a>. If not, click the link.\n'
    ).encode()


def cookie_value(value: str) -> str:
    """Quote a cookie value as werkzeug's ``dump_cookie`` does."""
    import re

    if re.fullmatch(r"[\w!#$%&'()*+\-./:<=>?@\[\]^`{|}~]*", value, re.A):
        return value
    out = []
    for byte in value.encode():
        char = chr(byte)
        if char in '"\\':
            out.append("\\" + char)
        elif byte <= 0x19 or byte >= 0x7F or char in ",;":
            out.append(f"\\{byte:03o}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


_QUERY_SAFE = ""
_SEGMENT_SAFE = ":@-._~!$&'()*+,;="
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _plus(text: str) -> str:
    return quote(text, _QUERY_SAFE).replace("%20", "+")


def strip_query_token(url: str, names: tuple[str, ...]) -> str:
    """Remove query parameters from a URL, re-encoding it as ``furl`` does.

    ``middle_auth_client`` builds its query-token redirect with
    ``furl(url).remove([...]).url``, which lower-cases the host, drops a
    default port, re-quotes each path segment and re-encodes every query
    parameter with ``+`` for spaces; this reproduces that.

    Args:
        url: An absolute URL.
        names: The parameters to remove (every occurrence).

    Returns:
        The URL without them.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    netloc = (
        host if port in (None, _DEFAULT_PORTS.get(parts.scheme)) else f"{host}:{port}"
    )
    if parts.username is not None:
        auth = parts.netloc.rpartition("@")[0]
        netloc = f"{auth}@{netloc}"
    path = "/".join(
        quote(unquote(segment), _SEGMENT_SAFE) for segment in parts.path.split("/")
    )
    pairs = []
    for piece in parts.query.split("&") if parts.query else ():
        key, equals, value = piece.partition("=")
        key = unquote(key.replace("+", " "))
        if key in names:
            continue
        if not equals:
            pairs.append(_plus(key))
            continue
        quoted = _plus(unquote(value.replace("+", " ")))
        if not key:
            quoted = quoted.replace("%3D", "=")
        pairs.append(f"{_plus(key)}={quoted}")
    result = f"{parts.scheme}://{netloc}{path}"
    if pairs:
        result += "?" + "&".join(pairs)
    if parts.fragment:
        result += "#" + parts.fragment
    return result
