"""A canary token must never leak, cross to another host, or break a header."""

from __future__ import annotations

import io
import json
import logging
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from reliability_support import CANARY, examples, hypothesis_settings, leaks

import cave_auth as ca
from cave_auth import cli
from cave_auth.testing import FakeAuthServer, FakeTransport, json_response
from cave_auth.transport import Response

pytestmark = pytest.mark.reliability

OTHER = "feedfacefeedfacefeedfacefeedface"
SERVER = "https://global.daf-apis.com"


class Surfaces:
    """Collects every text a user could see and checks it for the canary."""

    def __init__(self) -> None:
        self.checked = 0
        self.exempt_loggers: set[str] = set()

    def text(self, where: str, text: object) -> None:
        self.checked += 1
        assert not leaks(text), f"canary leaked through {where}: {text!r}"

    def obj(self, where: str, value: object) -> None:
        self.text(f"repr({where})", repr(value))
        self.text(f"str({where})", str(value))

    def error(self, where: str, exc: BaseException) -> None:
        self.obj(where, exc)
        self.text(f"{where}.args", repr(exc.args))
        for name, value in vars(exc).items():
            self.text(f"{where}.{name}", repr(value))
        self.text(f"traceback of {where}", "".join(traceback.format_exception(exc)))
        # ``from None`` only hides __context__ from the display: it is still
        # there for any code (a logger, a debugger, Sentry) to read.
        for chained in {
            id(e): e for e in (exc.__cause__, exc.__context__) if e
        }.values():
            self.error(f"{where} <- {type(chained).__name__}", chained)

    def raises(
        self, where: str, kind: type[BaseException], call: Callable[[], Any]
    ) -> BaseException:
        with pytest.raises(kind) as info:
            call()
        self.error(where, info.value)
        return info.value


@pytest.fixture
def surfaces(caplog: pytest.LogCaptureFixture) -> Iterator[Surfaces]:
    """Check texts, and at the end every log record (all loggers, DEBUG)."""
    caplog.set_level(logging.DEBUG)
    checker = Surfaces()
    yield checker
    formatter = logging.Formatter()
    records = [r for phase in ("setup", "call") for r in caplog.get_records(phase)]
    for record in records:
        if record.name not in checker.exempt_loggers:
            checker.text(f"log record of {record.name}", formatter.format(record))
    print(
        f"  ({checker.checked} surfaces checked, {len(records)} log records "
        "at DEBUG, no canary)"
    )


def _config(server: FakeAuthServer | str, token: str = CANARY, **kw: Any) -> ca.Config:
    url = server if isinstance(server, str) else server.url
    return ca.Config(server_address=url, token=token, **kw)


# ----------------------------------------------------- public objects and calls


def test_public_objects_and_functions_never_show_the_canary(
    surfaces, canary_server, tmp_path, capsys
):
    """Reprs and strs of every public object holding the canary, and everything printed, never contain it."""
    secrets_dir = str(tmp_path / "secrets")
    config = _config(canary_server, secrets_dir=secrets_dir)
    surfaces.obj("Config", config)
    surfaces.obj("evolved Config", attrs.evolve(config, token_key="other"))
    surfaces.obj("Config.from_env", ca.Config.from_env({"CAVE_TOKEN": CANARY}))
    surfaces.text("mask_token", ca.mask_token(CANARY))
    assert ca.request_header(CANARY) == {"Authorization": "Bearer " + CANARY}

    store = ca.FileStore()
    saved = ca.save_token(config, store, CANARY)
    surfaces.obj("SaveResult", saved)
    surfaces.obj("FileStore", store)
    memory = ca.MemoryStore(
        {"~/.cloudvolume/secrets/cave-secret.json": {"token": CANARY}}
    )
    surfaces.obj("MemoryStore", memory)
    found = ca.resolve_token(attrs.evolve(config, token=None), store)
    assert found is not None
    assert found.token == CANARY
    surfaces.obj("ResolvedToken", found)
    surfaces.obj("with_token", ca.with_token(attrs.evolve(config, token=None), store))
    surfaces.obj("setup_instructions", ca.setup_instructions(config))

    http = ca.Urllib3Transport()
    surfaces.obj("Urllib3Transport", http)
    tokens = ca.get_tokens(config, http)
    assert any(t.token == CANARY for t in tokens)  # the requested output
    surfaces.obj("list[TokenInfo]", tokens)
    surfaces.obj("User", ca.whoami(config, http))
    surfaces.obj("Permissions", ca.get_my_permissions(config, http))
    surfaces.obj("Permissions (cache)", ca.get_user_cache(config, http))
    surfaces.obj("GroupMember", ca.get_group_users(config, http, 2))
    surfaces.obj("User list", ca.get_user_information(config, http, [1, 2]))
    surfaces.obj("UserName", ca.get_usernames(config, http, [1]))
    surfaces.obj("Group", ca.get_user_groups(config, http, 1))
    new_key = ca.create_token(config, http, "made by the leak test")
    ca.delete_token(
        config,
        http,
        next(t.id for t in ca.get_tokens(config, http) if t.token == new_key),
    )

    fake = FakeTransport({("GET", "/auth/api/v1/user/me"): {"id": 1, "name": "Ada"}})
    ca.whoami(attrs.evolve(config, server_address=SERVER), fake)
    surfaces.obj("FakeRequest", fake.requests[0])
    surfaces.obj("FakeTransport", fake)
    surfaces.obj("Response", fake.request("GET", SERVER, headers={}))

    here = {"CLOUD_VOLUME_DIR": str(tmp_path)}  # secrets in tmp_path/secrets
    client = ca.AuthClient(
        token=CANARY,
        server_address=canary_server.url,
        store=store,
        transport=http,
        environ=here,
        opener=lambda url: None,
    )
    surfaces.obj("AuthClient", client)
    surfaces.obj("AuthClient.config", client.config)
    surfaces.text("AuthClient.token_source", client.token_source)
    assert client.request_header == {"Authorization": "Bearer " + CANARY}
    surfaces.obj("AuthClient.whoami", client.whoami())
    surfaces.obj("AuthClient.get_group_users", client.get_group_users(2))
    surfaces.obj("AuthClient.get_user_information", client.get_user_information([1]))
    assert any(t["token"] == CANARY for t in client.get_tokens())  # requested output
    client.get_new_token(open=True)
    client.setup_token(make_new=False, open=True)
    surfaces.text("AuthClient.get_token_page", client.get_token_page(open=True))
    client.save_token(CANARY, token_key="again", token_file=str(tmp_path / "t.json"))
    surfaces.obj("AuthClient after save_token", client)
    from_env = ca.AuthClient(
        environ={**here, "CAVE_TOKEN": CANARY}, store=store, transport=http
    )
    surfaces.obj("AuthClient from CAVE_TOKEN", from_env)
    from_file = ca.AuthClient(
        token_file=str(tmp_path / "t.json"),
        token_key="again",
        store=store,
        environ=here,
    )
    assert from_file.token == CANARY
    surfaces.obj("AuthClient from a file", from_file)
    out, err = capsys.readouterr()
    surfaces.text("printed stdout", out)
    surfaces.text("printed stderr", err)
    print("public objects: no canary in any repr, str or printed text")


# ------------------------------------------------------------- error paths


def test_error_paths_against_the_fake_server_never_show_the_canary(
    surfaces, canary_user_server, fake_server, tmp_path
):
    """401, 403, 404, 5xx, malformed bodies, transport errors, bad files and existing keys raise errors that never show the canary."""
    http = ca.Urllib3Transport(retries=0)
    norm = _config(canary_user_server)  # the canary is Norm's (non-admin) key
    surfaces.raises(
        "401", ca.AuthenticationError, lambda: ca.whoami(_config(fake_server), http)
    )
    surfaces.raises(
        "403", ca.PermissionDeniedError, lambda: ca.get_group_users(norm, http, 2)
    )
    surfaces.raises("404", ca.NotFoundError, lambda: ca.delete_token(norm, http, 999))
    canary_user_server.fail_next(1, 500)
    surfaces.raises("500", ca.ServerError, lambda: ca.whoami(norm, http))
    canary_user_server.fail_next(1, 200, body="<html>not json</html>")
    surfaces.raises(
        "malformed body", ca.ResponseFormatError, lambda: ca.whoami(norm, http)
    )
    canary_user_server.fail_next(1, 200, body='{"id": "one"}')
    surfaces.raises(
        "wrong shape", ca.ResponseFormatError, lambda: ca.whoami(norm, http)
    )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    surfaces.raises(
        "refused", ca.TransportError, lambda: ca.whoami(_config(closed), http)
    )
    canary_user_server.set_delay(1)
    surfaces.raises(
        "timeout", ca.TransportError, lambda: ca.whoami(norm, http, timeout=0.2)
    )
    canary_user_server.clear_faults()
    surfaces.raises(
        "plain http to a remote host",
        ca.InsecureTransportError,
        lambda: ca.whoami(_config("http://example.org"), http),
    )
    for bad in (CANARY + " ", CANARY + "\n", " x" + CANARY, CANARY + "\x00"):
        surfaces.raises(
            "Config(token=bad)",
            ca.InvalidInputError,
            lambda bad=bad: _config(SERVER, bad),
        )
        surfaces.raises(
            "request_header(bad)",
            ca.InvalidInputError,
            lambda bad=bad: ca.request_header(bad),
        )
        surfaces.raises(
            "from_env(bad)",
            ca.InvalidInputError,
            lambda bad=bad: ca.Config.from_env({"CAVE_TOKEN": bad}),
        )
        surfaces.raises(
            "save_token(bad)",
            ca.InvalidInputError,
            lambda bad=bad: ca.save_token(ca.Config(), ca.MemoryStore(), bad),
        )

    # Secrets files holding the canary, broken in every way.
    store = ca.FileStore()
    config = ca.Config(server_address=SERVER, secrets_dir=str(tmp_path))
    file = tmp_path / "cave-secret.json"
    corrupt = [
        b'{"token": "' + CANARY.encode() + b'"',
        b'["' + CANARY.encode() + b'"]',
        b"\xff\xfe" + CANARY.encode(),
        CANARY.encode(),
    ]
    unusable = [
        b'{"token": "' + CANARY.encode() + b' with a space"}',
        b'{"token": ["' + CANARY.encode() + b'"]}',
        b'{"token": "' + CANARY.encode() + b'\\u0000"}',
    ]
    for content in corrupt + unusable:
        file.write_bytes(content)
        surfaces.raises(
            "resolve_token(broken file)",
            ca.TokenFileError,
            lambda: ca.resolve_token(config, store),
        )
        if content in corrupt:
            surfaces.raises(
                "save_token(corrupt file)",
                ca.TokenFileError,
                lambda: ca.save_token(config, store, OTHER, overwrite=True),
            )
        else:
            surfaces.raises(
                "save_token(unusable value)",
                ca.TokenKeyExistsError,
                lambda: ca.save_token(config, store, OTHER),
            )
    file.write_text(json.dumps({"token": CANARY}))
    surfaces.raises(
        "key exists (canary stored)",
        ca.TokenKeyExistsError,
        lambda: ca.save_token(config, store, OTHER),
    )
    file.write_text(json.dumps({"token": OTHER}))
    surfaces.raises(
        "key exists (canary saved)",
        ca.TokenKeyExistsError,
        lambda: ca.save_token(config, store, CANARY),
    )
    print("error paths (fake server, files): no canary")


def _echo(kind: str, pad: int = 0) -> Callable[[Any], Response]:
    """A hostile server that puts the token it received into its answer."""

    def answer(request: Any) -> Response:
        token = request.token or ""
        said = f"Token {token} is invalid or expired"
        if kind in ("400", "401", "403", "404", "409", "429", "500", "502"):
            return json_response({"error": said, "message": said}, status=int(kind))
        if kind == "text-403":
            return Response(
                status=403, headers={"content-type": "text/html"}, body=said.encode()
            )
        if kind == "html-404":
            return Response(
                status=404, body=f"<html><title>{said}</title></html>".encode()
            )
        if kind == "missing_tos":
            return json_response(
                {
                    "error": "missing_tos",
                    "message": said,
                    "data": {
                        "tos_form_url": f"https://tos.example/accept?token={token}",
                        "tos_id": 7,
                        "tos_name": f"ToS for {token}",
                    },
                },
                status=403,
            )
        if kind == "redirect":
            return Response(
                status=302,
                headers={"location": f"https://evil.example/{token}?t={token}"},
            )
        if kind == "login-redirect":
            return Response(
                status=302,
                headers={"location": f"{SERVER}/sticky_auth/api/v1/authorize/{token}"},
            )
        if kind == "warning":
            return json_response({"id": 1, "name": "Ada"}, headers={"warning": said})
        if kind == "malformed":
            return Response(status=200, body=f"not json: {said}".encode())
        if kind == "padded":
            return Response(status=500, body=b" " * pad + token.encode() + b" tail")
        if kind == "long":
            return Response(status=500, body=("x " * 200 + said).encode())
        raise AssertionError(kind)

    return answer


ECHO_KINDS = [
    "400", "401", "403", "404", "409", "429", "500", "502", "text-403", "html-404",
    "missing_tos", "redirect", "login-redirect", "warning", "malformed", "long",
]  # fmt: skip


@pytest.mark.parametrize("kind", ECHO_KINDS)
def test_a_server_echoing_the_token_never_makes_it_leak(surfaces, kind):
    """A server that echoes the token in its body, headers, Location or ToS data never gets it into an error, a log line or a traceback."""
    fake = FakeTransport(handler=_echo(kind))
    config = _config(SERVER)
    try:
        ca.whoami(config, fake)
    except ca.CaveAuthError as exc:
        surfaces.error(f"echo {kind}", exc)
        outcome = type(exc).__name__
    else:
        outcome = "success"
    assert fake.requests[0].token == CANARY  # it did go to the server
    client = ca.AuthClient(
        token=CANARY,
        server_address=SERVER,
        transport=fake,
        store=ca.MemoryStore(),
        environ={},
    )
    try:
        client.whoami()
    except ca.CaveAuthError as exc:
        surfaces.error(f"AuthClient echo {kind}", exc)
    print(f"echoing server ({kind}): {outcome}, no canary")


def test_echo_straddling_the_4096_byte_cut_never_leaks_a_piece(surfaces):
    """A token echoed across the 4 KiB the error message is taken from leaves no piece of it in the message."""
    outcomes = []
    for pad in range(4096 - len(CANARY) - 2, 4097):
        fake = FakeTransport(handler=_echo("padded", pad))
        exc = surfaces.raises(
            f"padded {pad}",
            ca.ServerError,
            lambda fake=fake: ca.whoami(_config(SERVER), fake),
        )
        outcomes.append(exc)
    print(f"padded echo: {len(outcomes)} cut positions, no piece of the canary")


# ------------------------------------------------------------------ the CLI


def _run(
    argv: list[str], *, environ: dict[str, str], stdin: str = "", **kw: Any
) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(
        argv,
        stdin=io.StringIO(stdin),
        stdout=out,
        stderr=err,
        environ=environ,
        opener=lambda url: None,
        getpass=lambda prompt: CANARY,
        **kw,
    )
    return code, out.getvalue(), err.getvalue()


def test_every_cli_command_keeps_the_canary_to_itself(
    surfaces, canary_server, fake_server, tmp_path
):
    """Every cave-auth command, in success and failure, prints the canary only for `token` and `tokens --show`."""
    secrets = tmp_path / "secrets"
    base = {"CLOUD_VOLUME_DIR": str(tmp_path), "HOME": str(tmp_path)}
    with_env = {**base, "CAVE_TOKEN": CANARY}
    server = ["--server", canary_server.url]
    rejecting = ["--server", fake_server.url]  # knows no canary: 401
    http = ca.Urllib3Transport(retries=0)
    runs: list[tuple[list[str], dict[str, str], str, int | None, bool]] = [
        # argv, environ, stdin, expected exit code, may print the canary
        (["save", "--token-stdin", *server], base, CANARY + "\n", 0, False),
        (["save", "--token-stdin", *server], base, OTHER, 1, False),
        (
            ["save", "--token-stdin", "--verify", "--overwrite", *server],
            base,
            CANARY,
            0,
            False,
        ),
        (["save", "--token-stdin", *server], base, CANARY + " x", None, False),
        (["save", *server], base, "", 0, False),  # hidden prompt gives the canary
        (["setup", "--token-stdin", "--open", *server], base, CANARY, 0, False),
        (["setup", "--existing", *server], base, "", 0, False),
        (["setup", "--token-stdin", *rejecting], base, CANARY, 4, False),
        (["status", *server], base, "", 0, False),
        (["status", "--json", *server], base, "", 0, False),
        (["status", "--check", *server], base, "", 0, False),
        (["status", "--check", "--json", *server], with_env, "", 0, False),
        (["status", "--check", *rejecting], with_env, "", 4, False),
        (["whoami", *server], with_env, "", 0, False),
        (["whoami", "--json", *server], base, "", 0, False),
        (["whoami", *rejecting], with_env, "", 4, False),
        (["whoami", "--server", "http://example.org"], with_env, "", None, False),
        (["whoami", "--server", "http://127.0.0.1:9"], with_env, "", 1, False),
        (["tokens", *server], base, "", 0, False),
        (["tokens", "--json", *server], with_env, "", 0, False),
        (["tokens", *rejecting], with_env, "", 4, False),
        (["tokens", "--show", *server], base, "", 0, True),
        (["tokens", "--show", "--json", *server], base, "", 0, True),
        (["token", *server], base, "", 0, True),
        (["token", "--json", *server], with_env, "", 0, True),
        (["token", "--key", "nope", *server], base, "", 3, False),
        (["demo"], with_env, "", 0, False),
        (["--help"], with_env, "", 0, False),
        (["whoami", "--bogus"], with_env, "", 2, False),
        (["status"], {**base, "CAVE_TOKEN": CANARY + "\r\nX: y"}, "", 2, False),
    ]
    for argv, environ, stdin, expected, may_show in runs:
        code, out, err = _run(argv, environ=environ, stdin=stdin, transport=http)
        if expected is not None:
            assert code == expected, (argv, code, out, err)
        else:
            assert code != 0, (argv, out, err)
        surfaces.text(f"stderr of {argv}", err)
        if may_show:
            assert CANARY in out, argv  # the requested output
        else:
            surfaces.text(f"stdout of {argv}", out)

    # Server-side failures while the canary is in use.
    for fault, code_expected in [(500, 1), (503, 1)]:
        canary_server.fail_next(1, fault)
        code, out, err = _run(["whoami", *server], environ=with_env, transport=http)
        assert code == code_expected
        surfaces.text(f"whoami on {fault}", out + err)
    canary_server.fail_next(1, 200, body="garbage")
    code, out, err = _run(["whoami", *server], environ=with_env, transport=http)
    assert code == 1
    surfaces.text("whoami on garbage", out + err)
    # A corrupt secrets file holding the canary.
    server_file = secrets / ca.server_token_filename(canary_server.url)
    server_file.write_text('{"token": "' + CANARY + '", ')
    for argv in (["status", *server], ["token", *server], ["whoami", *server]):
        code, out, err = _run(argv, environ=base, transport=http)
        assert code == 1
        surfaces.text(f"{argv} on a corrupt file", out + err)
    # A hostile server echoing the token, through the CLI.
    for kind in ("401", "403", "500", "redirect", "missing_tos", "warning"):
        fake = FakeTransport(handler=_echo(kind))
        code, out, err = _run(
            ["whoami", "--server", SERVER], environ=with_env, transport=fake
        )
        assert code != 0 or kind == "warning"
        surfaces.text(f"whoami against an echoing server ({kind})", out + err)
    print(f"cli: {len(runs) + 12} runs, canary only in `token` and `tokens --show`")


# --------------------------------------------------------- header injection

BAD_CHARS = "\r\n\t \x00\x0b\x0c\x1b\x7f\x85\u2028\u2029\xa0\u3000"


def test_tokens_that_could_break_a_header_are_refused_before_any_request():
    """A token holding CR, LF, spaces, control or non-ASCII characters is refused everywhere before any request is made."""
    refusals = 0

    @hypothesis_settings(300)
    @given(
        prefix=st.text(alphabet="abcdef0123456789", max_size=20),
        bad=st.text(alphabet=BAD_CHARS, min_size=1, max_size=3)
        | st.sampled_from(["\r\nX-Injected: 1", "\nHost: evil", " trailing", "é"]),
        suffix=st.text(alphabet="abcdef0123456789", max_size=20),
    )
    def check(prefix, bad, suffix):
        nonlocal refusals
        token = prefix + bad + suffix
        fake = FakeTransport(handler=lambda request: {"id": 1, "name": "Ada"})
        attempts: list[Callable[[], Any]] = [
            lambda: ca.Config(token=token),
            lambda: ca.Config.from_env({"CAVE_TOKEN": token}),
            lambda: ca.request_header(token),
            lambda: ca.save_token(ca.Config(), ca.MemoryStore(), token),
            lambda: ca.AuthClient(
                token=token, store=ca.MemoryStore(), transport=fake, environ={}
            ),
            lambda: setattr(
                ca.AuthClient(store=ca.MemoryStore(), transport=fake, environ={}),
                "token",
                token,
            ),
            lambda: ca.whoami(
                ca.with_token(
                    ca.Config(),
                    ca.MemoryStore(
                        {"~/.cloudvolume/secrets/cave-secret.json": {"token": token}}
                    ),
                ),
                fake,
            ),
        ]
        for attempt in attempts:
            with pytest.raises((ca.InvalidInputError, ca.TokenFileError)):
                attempt()
        code, _, _ = _run(
            ["save", "--token-stdin"],
            environ={"HOME": "/nonexistent"},
            stdin=f"a{token}z",
            store=ca.MemoryStore(),
            transport=fake,
        )
        assert code != 0
        assert fake.requests == []
        refusals += len(attempts) + 1

    check()
    print(
        f"header injection: {refusals} attempts with malformed tokens refused, "
        "0 requests made"
    )
    assert refusals >= examples(300) * 8


# ------------------------------------------------------ redirects and plain http


class _Recorder(ThreadingHTTPServer):
    """A loopback server that records requests and answers from a function."""

    daemon_threads = True

    def __init__(
        self, host: str, answer: Callable[[str], tuple[int, dict[str, str]]]
    ) -> None:
        self.seen: list[tuple[str, str, str | None]] = []
        self.answer = answer
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                recorder.seen.append(
                    (self.command, self.path, self.headers.get("Authorization"))
                )
                status, headers = recorder.answer(self.path)
                body = b'{"id": 1, "name": "Ada Admin"}' if status == 200 else b""
                self.send_response(status)
                for name, value in {
                    **headers,
                    "Content-Length": str(len(body)),
                }.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_DELETE = do_GET  # noqa: N815

        super().__init__((host, 0), Handler)
        self.url = f"http://{host}:{self.server_address[1]}"
        threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


@pytest.fixture
def two_hosts() -> Iterator[tuple[_Recorder, _Recorder]]:
    target = _Recorder("127.0.0.2", lambda path: (200, {}))
    origin = _Recorder("127.0.0.1", lambda path: (200, {}))
    yield origin, target
    origin.stop()
    target.stop()


def test_cross_host_redirects_never_carry_the_token(surfaces, two_hosts):
    """Redirects from 127.0.0.1 to 127.0.0.2 (or another port, or another name) never carry the Authorization header there."""
    origin, target = two_hosts
    port = target.server_address[1]
    origin_port = origin.server_address[1]
    other_port = _Recorder("127.0.0.1", lambda path: (200, {}))
    elsewhere = [
        f"{target.url}/auth/api/v1/user/me",
        f"//127.0.0.2:{port}/auth/api/v1/user/me",
        f"http://127.0.0.1:{origin_port}@127.0.0.2:{port}/auth/api/v1/user/me",
        f"http://127.0.0.2:{port}\\@127.0.0.1:{origin_port}/",
        f"HTTP://127.0.0.2:{port}/auth/api/v1/user/me",
        f"{other_port.url}/auth/api/v1/user/me",
        f"http://localhost:{origin_port}/auth/api/v1/user/me",
        f"https://127.0.0.2:{port}/auth/api/v1/user/me",
    ]
    http = ca.Urllib3Transport(retries=0)
    config = _config(origin.url)
    results = []
    try:
        for status in (301, 302, 303, 307, 308):
            for location in elsewhere:
                origin.answer = lambda path, s=status, loc=location: (
                    s,
                    {"Location": loc},
                )
                try:
                    ca.whoami(config, http)
                except ca.CaveAuthError as exc:
                    surfaces.error(f"{status} to {location}", exc)
                    results.append(type(exc).__name__)
                else:
                    results.append("followed")
        # Control: a same-host redirect is followed, with the token.
        origin.answer = lambda path: (
            (307, {"Location": "/auth/api/v1/user/me2"})
            if path.endswith("/me")
            else (200, {})
        )
        assert ca.whoami(config, http).name == "Ada Admin"
    finally:
        other_port.stop()
    with_token = [seen for seen in target.seen + other_port.seen if seen[2] is not None]
    print(
        f"cross-host redirects: {len(results)} tried, {results.count('followed')} "
        f"followed, {len(target.seen)} requests reached 127.0.0.2, "
        f"{len(with_token)} carried Authorization; same-host redirect followed"
    )
    assert with_token == []
    assert origin.seen[-1] == ("GET", "/auth/api/v1/user/me2", "Bearer " + CANARY)


def test_same_host_redirect_to_a_url_holding_the_token_never_leaks(surfaces, two_hosts):
    """A same-host redirect to a URL that embeds the token, ending in an error, gives an error that does not show that URL's token."""
    # The transport does request the URL the server chose, so urllib3's own
    # DEBUG line for that request shows it: only cave_auth's surfaces count.
    surfaces.exempt_loggers.add("urllib3.connectionpool")
    origin, _ = two_hosts
    origin.answer = lambda path: (
        (302, {"Location": f"/auth/api/v1/user/me/{CANARY}?t={CANARY}"})
        if path == "/auth/api/v1/user/me"
        else (500, {})
    )
    http = ca.Urllib3Transport(retries=0)
    exc = surfaces.raises(
        "error after a same-host redirect",
        ca.ServerError,
        lambda: ca.whoami(_config(origin.url), http),
    )
    assert "<token>" in str(exc)
    print("same-host redirect to a URL with the token, then 500: no canary")


def test_redirect_loop_through_urls_holding_the_token_never_leaks(surfaces, two_hosts):
    """A same-host redirect loop through URLs that embed the token gives a TransportError that does not show the token."""
    # The transport does request the URL the server chose, so urllib3's own
    # DEBUG line for that request shows it: only cave_auth's surfaces count.
    surfaces.exempt_loggers.add("urllib3.connectionpool")
    origin, _ = two_hosts
    origin.answer = lambda path: (
        302,
        {"Location": f"/loop/{CANARY}/{len(origin.seen)}"},
    )
    http = ca.Urllib3Transport(retries=0)
    with pytest.raises(ca.TransportError) as info:
        ca.whoami(_config(origin.url), http)
    print(
        f"redirect loop: {len(origin.seen)} requests, TransportError shows the "
        f"token: {leaks(str(info.value))}"
    )
    surfaces.error("redirect loop", info.value)


def test_plain_http_to_a_remote_host_is_refused(surfaces):
    """A token over plain http to a non-loopback host is refused before any connection, for every endpoint."""
    http = ca.Urllib3Transport(connect_timeout=5)
    hosts = [
        "http://example.org",
        "http://10.255.255.1",
        "http://[2001:db8::1]",
        "http://127.0.0.1.example.org",
    ]
    started = time.monotonic()
    for host in hosts:
        config = _config(host)
        for call in (
            lambda config=config: ca.whoami(config, http),
            lambda config=config: ca.get_tokens(config, http),
            lambda config=config: ca.create_token(config, http),
            lambda config=config: ca.get_group_users(config, http, 1),
        ):
            surfaces.raises(f"plain http to {host}", ca.InsecureTransportError, call)
    elapsed = time.monotonic() - started
    print(
        f"plain http: {len(hosts) * 4} calls refused in {elapsed:.3f} s, none connected"
    )
    # Connecting would take up to connect_timeout (5 s) for each of the 16 calls.
    assert elapsed < 5


def test_plain_http_to_a_localhost_subdomain_resolving_elsewhere_is_refused(
    monkeypatch, two_hosts
):
    """A '*.localhost' name that the resolver maps to another machine is not trusted with a token over plain http."""
    _, target = two_hosts  # 127.0.0.2 stands in for the remote address
    port = target.server_address[1]
    real = socket.getaddrinfo

    def resolver(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "evil.localhost":
            host = "127.0.0.2"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    config = _config(f"http://evil.localhost:{port}")
    try:
        with pytest.raises(ca.InsecureTransportError):
            ca.whoami(config, ca.Urllib3Transport(retries=0))
    finally:
        print(
            f"*.localhost: {len(target.seen)} request(s) with the token reached the resolved address"
        )
