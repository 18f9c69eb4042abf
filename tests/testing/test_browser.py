"""Tests of HeadlessBrowser and login_page_target (cave_auth.testing.browser)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cave_auth.loopback import CALLBACK_PATH, LoopbackListener, receive_token
from cave_auth.testing import FakeAuthServer, HeadlessBrowser, login_page_target


def _page(tmp_path: Path, head: str) -> str:
    path = tmp_path / "login.html"
    path.write_text(f"<!doctype html><html><head>{head}</head><body></body></html>")
    return path.as_uri()


@pytest.mark.parametrize(
    "content",
    [
        "0;url=https://x.org/a?b=1&amp;c=%22d%22",
        "0; URL='https://x.org/a?b=1&amp;c=%22d%22'",
        "1, url=&quot;https://x.org/a?b=1&amp;c=%22d%22&quot;",
    ],
)
def test_the_target_of_a_page_is_read_unescaped(tmp_path: Path, content: str) -> None:
    """The refresh target comes back as the browser would follow it."""
    url = _page(tmp_path, f'<meta http-equiv="Refresh" content="{content}">')
    assert login_page_target(url) == "https://x.org/a?b=1&c=%22d%22"


def test_a_page_without_a_refresh_or_an_address_not_a_file_is_refused(
    tmp_path: Path,
) -> None:
    """Only a file:// page with a refresh has a target; anything else says why."""
    with pytest.raises(ValueError, match="has no <meta"):
        login_page_target(_page(tmp_path, '<meta charset="utf-8">'))
    with pytest.raises(ValueError, match="not a file:// URL"):
        login_page_target("https://x.org/login.html")


def test_the_browser_follows_the_login_page_back_to_the_listener(
    server: FakeAuthServer,
) -> None:
    """Handed login()'s page, it signs in at the fake server and lands on the callback."""
    browser = HeadlessBrowser()
    with LoopbackListener() as listener:
        token = receive_token(server.url, browser, timeout=10, listener=listener)
        callback = f"http://127.0.0.1:{listener.port}{CALLBACK_PATH}?"
    [landed] = browser.landed
    assert landed.startswith(callback)
    assert f"middle_auth_token={token}" in landed
    [(status, body)] = browser.pages
    assert status == 200
    assert token not in body


def test_an_error_page_is_kept_not_raised(server: FakeAuthServer) -> None:
    """A page answered with an error status is recorded, as a browser shows it."""
    browser = HeadlessBrowser()
    assert browser(server.url + "/no/such/page") is True
    [(status, _body)] = browser.pages
    assert status == 404
    assert browser.landed == [server.url + "/no/such/page"]
