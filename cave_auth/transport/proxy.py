"""Which proxy a request goes through, as requests and curl decide it. No I/O.

Per scheme: ``https_proxy``, ``http_proxy``, else ``all_proxy``, lower case
before upper case, as curl and :mod:`urllib` read them. ``no_proxy`` lists
hosts reached directly: ``*`` is all; a name matches itself and the names
under it (``example.org`` matches ``api.example.org``, not
``badexample.org``); an IP address or CIDR block (``10.0.0.0/8``) its
addresses; ``host:port`` that port only. Under CGI (``REQUEST_METHOD`` set)
upper-case ``HTTP_PROXY`` is the client's ``Proxy:`` header, so it is not read
(httpoxy, CVE-2016-1000110). A proxy URL's credentials become a
``Proxy-Authorization: Basic`` header; ``safe_proxy_url`` is the only form
ever shown. ``socks5://`` is refused with an error saying so.
"""

from __future__ import annotations

import base64
import ipaddress
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import unquote, urlsplit

from ..errors import InvalidInputError
from .base import default_port

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = ["ProxyRules", "proxy_settings_from_env", "safe_proxy_url"]

_SCHEMES = ("http", "https")


def safe_proxy_url(url: str) -> str:
    """Return a proxy URL fit to show: any ``user:password@`` becomes ``***@``."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<a malformed proxy URL>"
    if ":" in host:
        host = f"[{host}]"
    auth = "***@" if parts.username is not None or parts.password else ""
    where = f"{host}:{port}" if port is not None else host
    return f"{parts.scheme}://{auth}{where}"


def _check_proxy_url(url: str) -> str:
    try:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        raise InvalidInputError(
            f"Not a proxy URL: {safe_proxy_url(url)} (a malformed host or port)"
        ) from None
    scheme = parts.scheme.lower()
    if scheme.startswith("socks"):
        raise InvalidInputError(
            f"SOCKS proxies are not supported ({safe_proxy_url(url)}): use an "
            "http:// or https:// proxy"
        )
    if scheme not in _SCHEMES or not parts.hostname:
        raise InvalidInputError(
            f"Not a proxy URL: {safe_proxy_url(url)} (use http://host:port)"
        )
    return parts.geturl()


def _credentials_header(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return {}
    pair = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
    return {"Proxy-Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}


def _strip_credentials(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = parts.port or default_port(parts.scheme)
    return f"{parts.scheme}://{host}:{port}"


class _NoProxyEntry(NamedTuple):
    host: str
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None
    port: int | None

    def matches(self, host: str, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.network is not None:
            try:
                return ipaddress.ip_address(host) in self.network
            except ValueError:
                return False
        return host == self.host or host.endswith("." + self.host)


def _parse_no_proxy_entry(entry: str) -> _NoProxyEntry | None:
    entry = entry.strip().lower()
    if not entry:
        return None
    port: int | None = None
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        if rest.startswith(":") and rest[1:].isdigit():
            port = int(rest[1:])
    elif entry.count(":") == 1:
        host, _, maybe_port = entry.partition(":")
        if maybe_port.isdigit():
            port = int(maybe_port)
        else:
            host = entry
    else:
        host = entry
    host = host.lstrip(".").rstrip(".")
    if host.startswith("*."):
        host = host[2:]
    try:
        network = ipaddress.ip_network(host, strict=False)
    except ValueError:
        network = None
    return _NoProxyEntry(host, network, port)


def _split_list(value: str | Iterable[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    return tuple(item.strip() for item in value if item.strip())


class ProxyRules(NamedTuple):
    """Which proxy each URL goes through, with the credentials held apart.

    Build it with :meth:`build`; the transport asks :meth:`proxy_for` per
    request. (A named tuple: one is built with every transport, and an attrs
    class costs more to create and to hold.)

    Attributes:
        proxies: Scheme (``"http"``, ``"https"``) to proxy URL, without
            credentials.
        headers: Scheme to the proxy's headers (``Proxy-Authorization``).
        shown: Scheme to the proxy URL as messages show it (``***@``).
        no_proxy: The ``no_proxy`` entries as given.
        bypass_all: Whether ``no_proxy`` holds ``*``.
        entries: The other ``no_proxy`` entries, parsed.
    """

    proxies: Mapping[str, str]
    headers: Mapping[str, Mapping[str, str]]
    shown: Mapping[str, str]
    no_proxy: tuple[str, ...]
    bypass_all: bool
    entries: tuple[_NoProxyEntry, ...]

    @classmethod
    def build(
        cls,
        proxy: str | Mapping[str, str] | None,
        no_proxy: str | Iterable[str] | None = None,
    ) -> ProxyRules:
        """Check and compile proxy settings.

        ``proxy`` is one URL for http and https alike, or a mapping from
        scheme (``"http"``, ``"https"``, or ``"all"`` for both) to one;
        ``no_proxy`` a comma- or space-separated string or a list of entries.

        Raises:
            InvalidInputError: If a proxy URL is malformed or not http(s).
        """
        if isinstance(proxy, str):
            by_scheme = dict.fromkeys(_SCHEMES, proxy)
        else:
            given = dict(proxy or {})
            unknown = sorted(set(given) - {*_SCHEMES, "all"})
            if unknown:
                raise InvalidInputError(
                    f"Unknown proxy scheme(s) {unknown}: use 'http', 'https' or 'all'"
                )
            by_scheme = {
                scheme: given.get(scheme) or given.get("all") or ""
                for scheme in _SCHEMES
            }
        proxies: dict[str, str] = {}
        headers: dict[str, dict[str, str]] = {}
        shown: dict[str, str] = {}
        for scheme, url in by_scheme.items():
            if not url:
                continue
            checked = _check_proxy_url(url)
            proxies[scheme] = _strip_credentials(checked)
            headers[scheme] = _credentials_header(checked)
            shown[scheme] = safe_proxy_url(checked)
        entries = _split_list(no_proxy)
        parsed = [_parse_no_proxy_entry(entry) for entry in entries]
        kept = tuple(entry for entry in parsed if entry and entry.host != "*")
        return cls(proxies, headers, shown, entries, "*" in entries, kept)

    def proxy_for(self, scheme: str, host: str, port: int) -> str | None:
        """Return the proxy URL (no credentials) for a request, or None to go direct.

        ``host`` is in lower case.
        """
        proxy = self.proxies.get(scheme)
        if proxy is None or self.bypass_all:
            return None
        host = host.strip("[]").rstrip(".")
        if any(entry.matches(host, port) for entry in self.entries):
            return None
        return proxy

    def __repr__(self) -> str:
        return f"ProxyRules(proxies={dict(self.shown)!r}, no_proxy={self.no_proxy!r})"


def _first(environ: Mapping[str, str], name: str, *, upper: bool = True) -> str | None:
    for key in (name.lower(), name.upper()) if upper else (name.lower(),):
        value = environ.get(key, "").strip()
        if value:
            return value
    return None


def proxy_settings_from_env(
    environ: Mapping[str, str],
) -> tuple[dict[str, str], str | None]:
    """Read ``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY`` and ``NO_PROXY``.

    Lower case first, then upper case, as curl does; not upper-case
    ``HTTP_PROXY`` under CGI (see the module docstring).

    Returns:
        The proxy URL per scheme (only those set, credentials included) and
        the ``no_proxy`` list as written, ready for :meth:`ProxyRules.build`.
    """
    cgi = "REQUEST_METHOD" in environ
    found = {
        "http": _first(environ, "http_proxy", upper=not cgi),
        "https": _first(environ, "https_proxy"),
    }
    every = _first(environ, "all_proxy")
    proxies = {scheme: url for scheme in _SCHEMES if (url := found[scheme] or every)}
    return proxies, _first(environ, "no_proxy")
