"""``cave-auth`` end to end with two servers, as a person with two or three servers uses it.

Server A is a ``FakeAuthServer`` over HTTPS with a CA of its own (trusted
through ``REQUESTS_CA_BUNDLE``), server B one over plain http on loopback.
The command runs in-process with real files under ``tmp_path``, a settings
directory there too (``XDG_CONFIG_HOME``), and the transport it builds for
itself. Every request B receives is checked for A's tokens: a token is never
sent to a server it was not saved for.
"""

from __future__ import annotations

import io
import json
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
import trustme
from cli_support import me_status

from cave_auth import FileStore
from cave_auth.cli import (
    EXIT_ERROR,
    EXIT_NO_TOKEN,
    EXIT_OK,
    EXIT_USAGE,
    main,
)
from cave_auth.testing import FakeAuthServer, HeadlessBrowser

pytestmark = pytest.mark.timeout(120)


@attrs.frozen
class Result:
    """What one run of the command produced."""

    code: int
    out: str
    err: str

    @property
    def both(self) -> str:
        return self.out + self.err

    def json(self) -> Any:
        return json.loads(self.out)


class TTY(io.StringIO):
    """Standard input that says it is a terminal, with the answers typed."""

    def isatty(self) -> bool:
        return True


class Two:
    """Servers A (https, own CA) and B (http), a secrets dir and a settings dir."""

    def __init__(self, a: FakeAuthServer, b: FakeAuthServer, tmp: Path, ca: str):
        self.a, self.b = a, b
        self.secrets = tmp / "secrets"
        self.environ = {
            "REQUESTS_CA_BUNDLE": ca,
            "XDG_CONFIG_HOME": str(tmp / "config"),
        }
        self.settings = tmp / "config" / "cave-auth" / "config.json"
        self.a_tokens: set[str] = {a.user_token, a.token("user2")}

    def cli(
        self,
        *argv: str,
        stdin: str | io.StringIO = "",
        environ: dict[str, str] | None = None,
        opener: Any = None,
    ) -> Result:
        out, err = io.StringIO(), io.StringIO()

        def no_browser(url: str) -> object:
            raise AssertionError("the command opened a browser unexpectedly")

        code = main(
            [*argv, "--secrets-dir", str(self.secrets), "--timeout", "10"],
            stdin=io.StringIO(stdin) if isinstance(stdin, str) else stdin,
            stdout=out,
            stderr=err,
            environ=self.environ if environ is None else environ,
            store=FileStore(),
            opener=opener or no_browser,
        )
        self.note_a_tokens()
        return Result(code, out.getvalue(), err.getvalue())

    @property
    def a_file(self) -> Path:
        return self.secrets / f"127.0.0.1:{self.a.port}-cave-secret.json"

    @property
    def b_file(self) -> Path:
        return self.secrets / f"127.0.0.1:{self.b.port}-cave-secret.json"

    @property
    def shared(self) -> Path:
        return self.secrets / "cave-secret.json"

    def read(self, path: Path) -> dict[str, str]:
        return json.loads(path.read_text()) if path.exists() else {}

    def note_a_tokens(self) -> None:
        self.a_tokens |= set(self.read(self.a_file).values())

    def a_tokens_seen_by_b(self) -> list[str]:
        """The requests B received that carry one of A's tokens anywhere."""
        seen = []
        for request in self.b.requests:
            carried = (
                f"{request.path}?{request.query} {request.headers} {request.body!r}"
            )
            if any(token in carried for token in self.a_tokens):
                seen.append(f"{request.method} {request.path}")
        return seen


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def two(authority: trustme.CA, tmp_path: Path) -> Iterator[Two]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    bundle = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    with FakeAuthServer(ssl_context=context) as a, FakeAuthServer() as b:
        servers = Two(a, b, tmp_path, str(bundle))
        yield servers
        assert servers.a_tokens_seen_by_b() == []


def test_a_second_servers_setup_leaves_the_first_servers_shared_token(two: Two) -> None:
    """Setting B up after A writes B's own file and leaves A's token in cave-secret.json, saying why."""
    a = two.cli("setup", two.a.url, "--token-stdin", stdin=two.a.user_token)
    assert a.code == EXIT_OK, a.err
    assert "(it held no token under key 'token')" in a.out
    b = two.cli("setup", two.b.url, "--token-stdin", stdin=two.b.user_token)
    assert b.code == EXIT_OK, b.err
    assert two.read(two.b_file) == {"token": two.b.user_token}
    assert two.read(two.shared) == {"token": two.a.user_token}
    assert two.read(two.a_file) == {"token": two.a.user_token}
    assert f"Left {two.shared} as it was: it holds the token of {two.a.url}" in b.out
    assert "--default" in b.out
    assert two.b.user_token not in b.both


def test_default_makes_the_token_the_shared_one(two: Two) -> None:
    """--default writes cave-secret.json over another server's token, which keeps its own file."""
    two.cli("setup", two.a.url, "--token-stdin", stdin=two.a.user_token)
    result = two.cli(
        "save",
        two.b.url,
        "--token-stdin",
        "--default",
        "--json",
        stdin=two.b.user_token,
    )
    assert result.code == EXIT_OK, result.err
    data = result.json()
    assert data["shared"] == {
        "path": str(two.shared),
        "written": True,
        "reason": "asked to make this the shared token",
        "owner": two.a.url,
    }
    assert two.read(two.shared) == {"token": two.b.user_token}
    assert two.read(two.a_file) == {"token": two.a.user_token}


def test_login_to_b_never_sends_as_token_and_keeps_it(two: Two) -> None:
    """Logging in to B with only A's token saved asks B nothing about it and leaves it saved (the bug of issue 17)."""
    two.cli("setup", two.a.url, "--token-stdin", stdin=two.a.user_token)
    result = two.cli("login", two.b.url, opener=HeadlessBrowser())
    assert result.code == EXIT_OK, result.err
    assert "rejected by" not in result.both
    assert two.read(two.shared) == {"token": two.a.user_token}
    [key] = two.read(two.b_file).values()
    assert me_status(two.b, key) == 200
    assert f"it holds the token of {two.a.url}" in result.out


def test_login_overwrite_names_the_replaced_key_and_offers_to_delete_it(
    two: Two,
) -> None:
    """Logging in again with --overwrite at a terminal names the still valid key it replaced and deletes it on yes."""
    two.cli("setup", two.b.url, "--token-stdin", stdin=two.b.user_token)
    result = two.cli(
        "login", two.b.url, "--overwrite", stdin=TTY("y\n"), opener=HeadlessBrowser()
    )
    assert result.code == EXIT_OK, result.err
    assert "The replaced key 3 (" in result.out
    assert "Delete it now? [y/N]" in result.out
    assert "Deleted key 3" in result.out
    assert me_status(two.b, two.b.user_token) == 401
    piped = two.cli("login", two.b.url, "--overwrite", opener=HeadlessBrowser())
    assert piped.code == EXIT_OK, piped.err
    assert (
        f"Delete it with: cave-auth tokens delete 7 --server {two.b.url}" in piped.out
    )


def test_list_check_asks_each_server_about_its_own_tokens(two: Two) -> None:
    """Listing with --check checks A's tokens at A over https and B's at B over http; JSON names each owner."""
    two.cli("setup", two.a.url, "--token-stdin", stdin=two.a.user_token)
    two.cli("setup", two.b.url, "--token-stdin", stdin=two.b.user_token)
    result = two.cli("list", "--check", "--json", "--server", two.b.url)
    assert result.code == EXIT_OK, result.err
    entries = {(e["path"], e["belongs_to"], e["check"]["valid"]) for e in result.json()}
    assert entries == {
        (str(two.a_file), two.a.url, True),
        (str(two.shared), two.a.url, True),
        (str(two.b_file), two.b.url, True),
    }
    text = two.cli("list", "--check", "--server", two.b.url)
    assert text.code == EXIT_OK
    under_a = text.out.split(f"{two.a.url}\n")[1].split("http://")[0]
    assert f"{two.shared} (shared)" in under_a
    assert str(two.b_file) not in under_a


def test_list_check_reaches_a_http_server_by_the_remembered_scheme(two: Two) -> None:
    """After switch http://B, list --check reaches B over http with no --server."""
    two.cli("setup", two.b.url, "--token-stdin", stdin=two.b.user_token)
    assert two.cli("switch", two.b.url).code == EXIT_OK
    result = two.cli("list", "--check", "--json")
    assert result.code == EXIT_OK, result.err
    assert {e["check"]["valid"] for e in result.json()} == {True}


def test_switch_chooses_the_default_server_and_status_shows_it(two: Two) -> None:
    """Switching to B makes B the server of commands without SERVER; status and whoami follow; the env still wins."""
    two.cli("setup", two.a.url, "--token-stdin", stdin=two.a.user_token)
    two.cli("setup", two.b.url, "--token-stdin", stdin=two.b.user_token)
    switched = two.cli("switch", two.b.url, "--json")
    assert switched.code == EXIT_OK, switched.err
    assert switched.json()["default_server"] == two.b.url
    assert switched.json()["from"] == "cave-auth switch"
    assert json.loads(two.settings.read_text()) == {"server": two.b.url}
    assert two.settings.stat().st_mode & 0o777 == 0o600
    status = two.cli("status", "--check")
    assert status.code == EXIT_OK, status.err
    assert f"Server:     {two.b.url} (from cave-auth switch)" in status.out
    assert "Other servers with a saved token:" in status.out
    assert f"  {two.a.url}\n" in status.out
    assert "User:     Norm User, expires never" in status.out
    data = two.cli("status", "--json", "--check").json()
    assert data["server_from"] == "cave-auth switch"
    assert [s["server"] for s in data["servers"]] == [two.a.url]
    assert data["servers"][0]["check"]["valid"] is True
    who = two.cli("whoami", "--json")
    assert who.code == EXIT_OK, who.err
    env = {**two.environ, "CAVE_SERVER_ADDRESS": two.a.url}
    assert two.cli("token", environ=env).out == f"{two.a.user_token}\n"
    assert two.cli("token").out == f"{two.b.user_token}\n"
    shown = two.cli("switch")
    assert (
        f"Commands without SERVER use {two.b.url} (from cave-auth switch)" in shown.out
    )
    unset = two.cli("switch", "--unset", "--json")
    assert unset.json()["default_server"] == "https://global.daf-apis.com"


def test_switch_keeps_an_unclaimed_shared_token_with_its_server(two: Two) -> None:
    """A shared token in no server's file is the default server's; switching away saves it in that server's file."""
    assert two.cli("switch", two.a.url).code == EXIT_OK
    two.secrets.mkdir(mode=0o700)
    two.shared.write_text(json.dumps({"token": two.a.user_token}))
    two.shared.chmod(0o600)
    assert two.cli("token").out == f"{two.a.user_token}\n"
    assert two.cli("token", two.b.url).code == EXIT_NO_TOKEN
    result = two.cli("switch", two.b.url)
    assert result.code == EXIT_OK, result.err
    assert f"{two.a_file}#token" in result.out
    assert two.read(two.a_file) == {"token": two.a.user_token}
    missing = two.cli("whoami")
    assert missing.code == EXIT_NO_TOKEN
    assert f"holds the token of {two.a.url}" in missing.err
    assert two.cli("whoami", two.a.url).code == EXIT_OK


def test_a_rejected_unclaimed_shared_token_is_never_replaced(two: Two) -> None:
    """A dead token saved in no server's file stays: a server's 401 never replaces an only copy."""
    assert two.cli("switch", two.b.url).code == EXIT_OK
    two.secrets.mkdir(mode=0o700)
    dead = two.b.invalid_token
    two.shared.write_text(json.dumps({"token": dead}))
    login = two.cli("login", opener=HeadlessBrowser())
    assert login.code == EXIT_OK, login.err
    assert "is rejected by the server; a new one is saved beside it" in login.out
    assert two.read(two.shared) == {"token": dead}
    assert "--default --overwrite" in login.out
    two.b_file.unlink()
    setup = two.cli("setup", "--token-stdin", stdin=two.b.user_token)
    assert setup.code == EXIT_OK, setup.err
    assert two.read(two.shared) == {"token": dead}
    assert two.read(two.b_file) == {"token": two.b.user_token}
    assert "Replaced" not in setup.out


def test_rotate_replaces_every_copy_and_leaves_the_other_server_alone(
    two: Two,
) -> None:
    """Rotating B replaces B's key under every name it is saved as, deletes the old one, and keeps A's."""
    two.cli("setup", two.a.url, "--token-stdin", stdin=two.a.user_token)
    old = two.b.user_token
    two.cli("setup", two.b.url, "--token-stdin", stdin=old)
    two.cli("save", two.b.url, "--token-stdin", "--key", "fanc_production", stdin=old)
    result = two.cli("rotate", two.b.url, "--json")
    assert result.code == EXIT_OK, result.err
    [new] = set(two.read(two.b_file).values())
    assert two.read(two.b_file) == {"token": new, "fanc_production": new}
    assert two.read(two.shared)["token"] == two.a.user_token
    assert two.read(two.shared)["fanc_production"] == new
    assert me_status(two.b, old) == 401
    assert me_status(two.b, new) == 200
    data = result.json()
    assert data["old_token_ended"] is True
    assert f"{two.b_file}#fanc_production" in data["copies"]
    listed = two.cli("list", "--check", "--json", "--server", two.b.url)
    assert listed.code == EXIT_OK, listed.out
    assert "REJECTED" not in listed.out


def test_tokens_delete_asks_then_deletes_and_forgets_the_copies(two: Two) -> None:
    """Deleting keys asks at a terminal, needs --yes without one, and forgets the deleted key's copies."""
    two.cli("setup", two.b.url, "--token-stdin", stdin=two.b.user_token)
    two.cli(
        "save", two.b.url, "--token-stdin", "--key", "spare", stdin=two.b.token("user2")
    )
    refused = two.cli("tokens", "delete", "6", "--server", two.b.url)
    assert refused.code == EXIT_ERROR
    assert "--yes" in refused.err
    declined = two.cli("tokens", "delete", "6", "--server", two.b.url, stdin=TTY("n\n"))
    assert declined.code == EXIT_ERROR
    assert me_status(two.b, two.b.token("user2")) == 200
    deleted = two.cli("tokens", "delete", "6", "--server", two.b.url, "--yes", "--json")
    assert deleted.code == EXIT_OK, deleted.err
    [entry] = deleted.json()
    assert entry["id"] == 6
    assert f"{two.b_file}#spare" in entry["forgotten"]
    assert me_status(two.b, two.b.token("user2")) == 401
    assert "spare" not in two.read(two.b_file)
    ids = [key["id"] for key in two.cli("tokens", two.b.url, "--json").json()]
    assert 6 not in ids
    unknown = two.cli("tokens", "delete", "99", "--server", two.b.url, "--yes")
    assert unknown.code == EXIT_ERROR
    assert "no API key with id 99" in unknown.err
    bad = two.cli("tokens", "delete", "six", "--server", two.b.url)
    assert bad.code == EXIT_USAGE


def test_every_printing_command_prints_json(two: Two) -> None:
    """--json gives parseable JSON for every command that prints, against both servers."""
    b = two.b.url
    steps = [
        ("setup", b, "--token-stdin", "--json"),
        ("save", two.a.url, "--token-stdin", "--json"),
        ("status", b, "--json"),
        ("whoami", b, "--json"),
        ("token", b, "--json"),
        ("tokens", b, "--json"),
        ("list", "--json", "--server", b),
        ("switch", b, "--json"),
        ("rotate", b, "--json"),
        ("logout", "--json"),
    ]
    stdin = {0: two.b.user_token, 1: two.a.user_token}
    for number, argv in enumerate(steps):
        result = two.cli(*argv, stdin=stdin.get(number, ""))
        assert result.code == EXIT_OK, (argv, result.err)
        assert isinstance(result.json(), dict | list), argv
    login = two.cli("login", b, "--json", opener=HeadlessBrowser())
    assert login.code == EXIT_OK, login.err
    assert login.json()["shared"]["path"] == str(two.shared)


def test_plain_http_behind_https_gets_the_http_address(two: Two) -> None:
    """https:// to the plain-http server B says to use http://HOST:PORT."""
    netloc = two.b.url.removeprefix("http://")
    env = {**two.environ, "CAVE_TOKEN": two.b.user_token}
    result = two.cli("whoami", "--server", f"https://{netloc}", environ=env)
    assert result.code == EXIT_ERROR
    assert "wrong version number" in result.err
    assert f"the server speaks plain http: use http://{netloc}" in result.err.lower()


def test_an_unknown_ca_names_the_variable_in_effect(two: Two, tmp_path: Path) -> None:
    """A certificate no trusted CA signed: the error says which CA variable is set, or none, and how to set it."""
    env = {"CAVE_TOKEN": two.a.user_token, "XDG_CONFIG_HOME": str(tmp_path / "c")}
    bare = two.cli("whoami", "--server", two.a.url, environ=env)
    assert bare.code == EXIT_ERROR
    assert "certificate verify failed" in bare.err
    assert "No CA variable is set" in bare.err
    assert "export REQUESTS_CA_BUNDLE=/path/to/ca.pem" in bare.err
    other = trustme.CA()
    wrong = tmp_path / "other.pem"
    other.cert_pem.write_to_path(str(wrong))
    env["SSL_CERT_FILE"] = str(wrong)
    named = two.cli("whoami", "--server", two.a.url, environ=env)
    assert f"The CAs trusted are those of SSL_CERT_FILE={wrong}" in named.err


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("http//127.0.0.1:5055", "http://127.0.0.1:5055"),
        ("htps://cave.example.org", "https://cave.example.org"),
        ("https:/cave.example.org", "https://cave.example.org"),
    ],
)
def test_a_mangled_scheme_gets_the_likely_address(
    two: Two, typed: str, meant: str
) -> None:
    """A mistyped scheme is a usage error naming the address most likely meant."""
    result = two.cli("whoami", "--server", typed)
    assert result.code == EXIT_USAGE
    assert f"did you mean {meant}?" in result.err
    assert "https://http" not in result.err


def test_a_missing_token_file_is_an_error_naming_it(two: Two, tmp_path: Path) -> None:
    """--token-file that does not exist (or lacks the key) exits 3 naming it; no other file is used."""
    two.cli("setup", two.b.url, "--token-stdin", stdin=two.b.user_token)
    missing = tmp_path / "nope.json"
    result = two.cli("whoami", two.b.url, "--token-file", str(missing))
    assert result.code == EXIT_NO_TOKEN
    assert f"The token file {missing} does not exist" in result.err
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"fanc": two.b.user_token}))
    keyless = two.cli("token", two.b.url, "--token-file", str(other))
    assert keyless.code == EXIT_NO_TOKEN
    assert "has no key 'token'" in keyless.err
    assert keyless.out == ""


def test_a_rejected_verdict_comes_only_from_the_tokens_own_server(two: Two) -> None:
    """Setting B up with A's token in the shared file asks B only about B's token; A's stays saved."""
    two.cli("setup", two.a.url, "--token-stdin", stdin=two.a.user_token)
    two.b.clear_log()
    result = two.cli("setup", two.b.url, "--token-stdin", stdin=two.b.user_token)
    assert result.code == EXIT_OK, result.err
    assert "rejected by" not in result.both
    assert two.b.count("GET", "/auth/api/v1/user/me") == 1
    assert two.cli("whoami", two.a.url).code == EXIT_OK
    assert two.read(two.shared) == {"token": two.a.user_token}
    status = two.cli("status", two.b.url, "--check")
    assert status.code == EXIT_OK, status.err
    assert status.out.count("REJECTED") == 0


def test_a_broken_settings_file_is_named_and_switch_replaces_it(two: Two) -> None:
    """Unparseable settings make commands fail naming the file; switch --unset writes a fresh one."""
    two.settings.parent.mkdir(parents=True)
    two.settings.write_text("{oops")
    broken = two.cli("status")
    assert broken.code == EXIT_ERROR
    assert f"cannot read the cave-auth settings {two.settings}" in broken.err
    assert "switch --unset" in broken.err
    fixed = two.cli("switch", "--unset")
    assert fixed.code == EXIT_OK, fixed.err
    assert json.loads(two.settings.read_text()) == {}
    assert two.cli("status").code == EXIT_NO_TOKEN
