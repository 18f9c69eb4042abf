"""Stand-ins and headless browsers for the lifecycle tests.

Shared by the lifecycle workflow tests and the ``cave-auth`` lifecycle
command tests: ``TokenServer`` answers ``/user/me``, ``/user/token``
(create, list, delete) and ``/logout`` on a ``FakeTransport``, keeping which
API keys and login tokens are alive; ``Browser`` reads the local login page it
is handed and plays the server's redirect back to the loopback listener with
urllib. ``HeadlessBrowser`` is ``cave_auth.testing``'s, for a
``FakeAuthServer``, with two ways to go astray: another login's state, or a
browser on another machine.
"""

from __future__ import annotations

import contextlib
import itertools
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import cave_auth as ca
from cave_auth.testing import (
    FakeRequest,
    FakeTransport,
    json_response,
    login_page_target,
    text_response,
)
from cave_auth.testing import HeadlessBrowser as _HeadlessBrowser

SERVER = "https://cave.example.org"
SECRETS = "/secrets"
SERVER_FILE = f"{SECRETS}/cave.example.org-cave-secret.json"
DEFAULT_FILE = f"{SECRETS}/cave-secret.json"
OLD = "a" * 32
LOGIN = "3fea0d24afc04be0778c14c861c84362"
PREFIX = "/auth/api/v1"


class TokenServer:
    """A stateful stand-in for the server's token routes on a FakeTransport."""

    def __init__(self) -> None:
        self.keys: dict[str, int] = {OLD: 1}
        self.login_tokens: set[str] = {LOGIN}
        self.descriptions: dict[str, str | None] = {}
        self.fail: set[str] = set()
        self.missing: list[dict[str, Any]] = []
        self._ids = itertools.count(2)
        self._new = (f"{n:032x}" for n in itertools.count(0xB0))
        self.transport = FakeTransport(handler=self.handle)

    def valid(self, token: str | None) -> bool:
        return token in self.keys or token in self.login_tokens

    def handle(self, request: FakeRequest) -> Any:
        route = request.path.removeprefix(PREFIX)
        step = f"{request.method} {route}"
        if step in self.fail or (
            route.startswith("/user/token/")
            and f"{request.method} /user/token/<id>" in self.fail
        ):
            return text_response("boom", status=500)
        if not self.valid(request.token):
            return json_response({"error": "invalid_token"}, status=401)
        if step == "GET /user/me":
            return {"id": 2, "name": "Norm User", "email": "norm@example.org"}
        if step == "POST /user/token":
            token = next(self._new)
            self.keys[token] = next(self._ids)
            self.descriptions[token] = (request.json or {}).get("description")
            return token
        if step == "GET /user/token":
            return [
                {"id": key_id, "token": token, "user_id": 2}
                for token, key_id in self.keys.items()
            ]
        if request.method == "DELETE" and route.startswith("/user/token/"):
            key_id = int(route.rpartition("/")[2])
            for token, known in list(self.keys.items()):
                if known == key_id:
                    del self.keys[token]
                    return "success"
            return text_response("Token doesn't exist", status=404)
        if request.method == "GET" and route.endswith("/ttl"):
            asked = route.split("/")[3]
            if asked != request.token:
                return json_response({"error": "invalid_token"}, status=404)
            return -1 if asked in self.keys else 604800
        if step == "GET /user/missing":
            return self.missing
        if step == "GET /logout":
            if request.token in self.keys:
                return text_response("Can't logout an API Key.", status=422)
            self.login_tokens.discard(request.token)
            return "success"
        return text_response("not found", status=404)


def config(**kwargs: Any) -> ca.Config:
    return ca.Config(server_address=SERVER, secrets_dir=SECRETS, **kwargs)


def store_(token: str | None = OLD, **kwargs: Any) -> ca.MemoryStore:
    files = (
        {}
        if token is None
        else {SERVER_FILE: {"token": token}, DEFAULT_FILE: {"token": token}}
    )
    return ca.MemoryStore(files, **kwargs)


class Browser:
    """A headless opener: reads the login page, plays the server's redirect, follows it.

    ``opened`` holds the URLs it was handed, ``targets`` where each page sent it.
    """

    def __init__(self, token: str | None = LOGIN, state: str | None = None) -> None:
        self.token = token
        self.state = state
        self.opened: list[str] = []
        self.targets: list[str] = []

    def __call__(self, url: str) -> bool:
        self.opened.append(url)
        self.targets.append(login_page_target(url))
        authorize = urllib.parse.urlsplit(self.targets[-1])
        redirect = urllib.parse.parse_qs(authorize.query)["redirect"][0]
        if self.state is not None:
            redirect = redirect.split("?")[0] + "?state=" + self.state
        if self.token is not None:
            redirect += f"&middle_auth_token={self.token}&token={self.token}"
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with contextlib.suppress(urllib.error.HTTPError):
            opener.open(redirect, timeout=10).close()
        return True


def saved(store: ca.MemoryStore) -> set[str]:
    return {secrets.get("token") for secrets in store.files.values()}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class HeadlessBrowser(_HeadlessBrowser):
    """``cave_auth.testing.HeadlessBrowser``, which can also go astray.

    Args:
        state: If given, the ``state`` of the callback address is replaced by
            this before the browser goes there (another login's address).
        remote: Do not go to the callback at all, as a browser on another
            machine whose loopback page cannot load; ``landed`` still gets
            the address it would have shown.
    """

    def __init__(self, *, state: str | None = None, remote: bool = False) -> None:
        super().__init__()
        self.state = state
        self.remote = remote
        self._stay = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), _NoRedirect()
        )

    def __call__(self, url: str) -> bool:
        if self.state is None and not self.remote:
            return super().__call__(url)
        if url.startswith("file:"):
            url = login_page_target(url)
        try:
            self._stay.open(url, timeout=10).close()
        except urllib.error.HTTPError as error:
            location = error.headers["Location"]
            error.close()
        else:
            raise AssertionError("the login URL did not redirect")
        if self.state is not None:
            parts = urllib.parse.urlsplit(location)
            query = [
                (k, self.state if k == "state" else v)
                for k, v in urllib.parse.parse_qsl(parts.query)
            ]
            location = parts._replace(query=urllib.parse.urlencode(query)).geturl()
        if self.remote:
            self.landed.append(location)
            return True
        return super().__call__(location)

    @property
    def login_token(self) -> str:
        """The login token in the last address the browser landed on."""
        query = urllib.parse.urlsplit(self.landed[-1]).query
        return urllib.parse.parse_qs(query)["middle_auth_token"][0]
