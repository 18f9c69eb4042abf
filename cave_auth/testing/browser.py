"""A headless browser for login tests, following what a real one follows.

:func:`cave_auth.login` hands its ``opener`` the ``file://`` URL of a local
page whose ``<meta http-equiv="refresh">`` points at the server's login URL,
so that the login's ``state`` never appears on a command line. A real browser
follows that page, then the server's redirect back to the loopback listener.
:class:`HeadlessBrowser` does both with the standard library, so that a test
(or ``cave-auth demo``) can log in to a :class:`FakeAuthServer`, which signs
its user in at once instead of sending the browser to Google.
"""

from __future__ import annotations

import html.parser
import re
import urllib.error
import urllib.parse
import urllib.request

__all__ = ["HeadlessBrowser", "login_page_target"]

# The content of a refresh: a delay, then "url=" and the address, which may be
# quoted (the HTML standard's "shared declarative refresh steps").
_REFRESH = re.compile(r"\s*\d*(?:\.\d*)?\s*[;,]?\s*url\s*=\s*(?P<url>.*)", re.I | re.S)


class _RefreshFinder(html.parser.HTMLParser):
    """Collects the target of the page's first ``<meta http-equiv="refresh">``."""

    def __init__(self) -> None:
        super().__init__()
        self.target: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag != "meta" or self.target is not None:
            return
        if (values.get("http-equiv") or "").lower() != "refresh":
            return
        found = _REFRESH.fullmatch(values.get("content") or "")
        if found:
            self.target = found["url"].strip().strip("\"'")


def login_page_target(url: str) -> str:
    """Return the address a local login page sends the browser to.

    Args:
        url: The ``file://`` URL an opener is handed by :func:`cave_auth.login`.

    Returns:
        The target of the page's ``<meta http-equiv="refresh">``, unescaped.

    Raises:
        ValueError: If ``url`` is not a ``file://`` URL or the page has no
            refresh to follow.
        OSError: If the page cannot be read (the login has already ended).
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "file":
        raise ValueError(f"not a file:// URL: {url!r}")
    with open(urllib.request.url2pathname(parts.path), encoding="utf-8") as page:
        finder = _RefreshFinder()
        finder.feed(page.read())
        finder.close()
    if finder.target is None:
        raise ValueError(f"the page at {url} has no <meta http-equiv='refresh'>")
    return finder.target


class HeadlessBrowser:
    """An ``opener`` for :func:`cave_auth.login` that needs no browser.

    Called with the login page's ``file://`` URL (or any ``http(s)`` URL), it
    goes where the page sends it and follows every redirect with urllib,
    bypassing proxies, as a browser does after the sign-in. Pages answered
    with an error status are kept like any other; a browser shows them too.

    Args:
        timeout: Seconds each request may take.

    Attributes:
        landed: The address each visit ended on (after a login, the loopback
            callback, holding the login token).
        pages: The status and body of each page it ended on.

    Example:
        >>> import tempfile
        >>> import cave_auth as ca
        >>> from cave_auth.testing import FakeAuthServer, HeadlessBrowser
        >>> with FakeAuthServer() as server, tempfile.TemporaryDirectory() as d:
        ...     config = ca.Config(server_address=server.url, secrets_dir=d)
        ...     with ca.Urllib3Transport() as http:
        ...         browser = HeadlessBrowser()
        ...         result = ca.login(config, ca.FileStore(), http, opener=browser)
        >>> result.user.name
        'Norm User'
    """

    def __init__(self, *, timeout: float = 10.0) -> None:
        self.timeout = timeout
        self.landed: list[str] = []
        self.pages: list[tuple[int, str]] = []
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def __call__(self, url: str) -> bool:
        """Visit ``url`` (following a login page first); return ``True``."""
        if urllib.parse.urlsplit(url).scheme == "file":
            url = login_page_target(url)
        try:
            with self._opener.open(url, timeout=self.timeout) as answer:
                self.landed.append(answer.geturl())
                self.pages.append((answer.status, answer.read().decode()))
        except urllib.error.HTTPError as error:
            with error:
                self.landed.append(error.geturl())
                self.pages.append((error.code, error.read().decode()))
        return True
