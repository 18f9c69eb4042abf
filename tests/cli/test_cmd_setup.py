"""Tests for ``cave-auth setup``."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

from cli_support import (
    API,
    DEFAULT_FILE,
    ME,
    NEW,
    REJECTED,
    SECRETS,
    SERVER,
    SERVER_FILE,
    TOKEN,
    Result,
    assert_one_error_line,
    run,
    saved_store,
    server_transport,
)

from cave_auth import MemoryStore, TransportError
from cave_auth.cli import (
    EXIT_AUTH_REJECTED,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    main,
)
from cave_auth.testing import FakeAuthServer, FakeTransport


def test_setup_with_token_stdin() -> None:
    """With --token-stdin, setup skips the browser steps, verifies, saves, names the user."""
    store = MemoryStore()
    transport = server_transport()
    result = run("setup", "--token-stdin", stdin=NEW, store=store, transport=transport)
    assert result.code == EXIT_OK
    assert "create_token" not in result.out
    assert "1. Open" not in result.out
    assert "Norm User" in result.out
    assert transport.requests[0].token == NEW
    assert store.files == {SERVER_FILE: {"token": NEW}, DEFAULT_FILE: {"token": NEW}}
    assert NEW not in result.both


def test_setup_verification_failure_saves_nothing() -> None:
    """A token the server rejects exits 4 and nothing is saved."""
    store = MemoryStore()
    transport = FakeTransport({("GET", f"{API}/user/me"): REJECTED})
    result = run("setup", "--token-stdin", stdin=NEW, store=store, transport=transport)
    assert result.code == EXIT_AUTH_REJECTED
    assert "nothing was saved" in result.err
    assert store.files == {}
    assert NEW not in result.both


def test_setup_unreachable_server_saves_nothing() -> None:
    """If the server cannot be reached, setup exits 1, saves nothing, hints --no-verify."""
    store = MemoryStore()
    transport = FakeTransport()
    transport.script("GET", f"{API}/user/me", TransportError("could not connect"))
    result = run("setup", "--token-stdin", stdin=NEW, store=store, transport=transport)
    assert result.code == EXIT_ERROR
    assert "--no-verify" in result.err
    assert store.files == {}


def test_setup_no_verify() -> None:
    """``--no-verify`` saves without asking the server."""
    store = MemoryStore()
    transport = server_transport()
    result = run(
        "setup",
        "--token-stdin",
        "--no-verify",
        stdin=NEW,
        store=store,
        transport=transport,
    )
    assert result.code == EXIT_OK
    assert transport.requests == []
    assert store.files[DEFAULT_FILE] == {"token": NEW}


def test_setup_hidden_prompt() -> None:
    """Without --token-stdin, setup reads the token with the hidden prompt."""
    store = MemoryStore()
    result = run(
        "setup", store=store, transport=server_transport(), prompt=lambda _: NEW
    )
    assert result.code == EXIT_OK
    assert store.files[DEFAULT_FILE] == {"token": NEW}


def test_setup_interrupted_exits_130() -> None:
    """Ctrl-C at the prompt exits 130 with one line and saves nothing."""
    store = MemoryStore()

    def interrupted(text: str) -> str:
        raise KeyboardInterrupt

    result = run("setup", store=store, prompt=interrupted)
    assert result.code == EXIT_INTERRUPTED
    assert_one_error_line(result)
    assert store.files == {}


def test_setup_open_uses_the_opener() -> None:
    """``--open`` opens the token page through the injected opener."""
    opened: list[str] = []
    result = run(
        "setup",
        "--token-stdin",
        "--open",
        stdin=NEW,
        transport=server_transport(),
        opener=opened.append,
    )
    assert result.code == EXIT_OK
    assert opened == [f"{SERVER}/auth/api/v1/create_token"]


def test_setup_existing_shows_token_page() -> None:
    """``--existing`` points at the page that lists existing tokens."""
    result = run(
        "setup", "--existing", prompt=lambda text: NEW, transport=server_transport()
    )
    assert result.code == EXIT_OK
    assert f"{SERVER}/sticky_auth/settings/tokens" in result.out


def test_setup_positional_server() -> None:
    """``setup SERVER`` sets up that server."""
    store = MemoryStore()
    transport = server_transport()
    result = run(
        "setup",
        "minnie.example.org",
        "--token-stdin",
        "--secrets-dir",
        SECRETS,
        stdin=NEW,
        store=store,
        transport=transport,
        common=False,
    )
    assert result.code == EXIT_OK
    assert transport.requests[0].url.startswith("https://minnie.example.org/")
    assert f"{SECRETS}/minnie.example.org-cave-secret.json" in store.files


def test_setup_conflicting_servers_is_a_usage_error() -> None:
    """Giving two different servers is a usage error."""
    result = run("setup", "other.example.org", "--token-stdin", stdin=NEW)
    assert result.code == EXIT_USAGE
    assert_one_error_line(result)


def test_setup_refuses_to_overwrite() -> None:
    """Setup over a different saved token exits 1 unless --overwrite."""
    store = saved_store()
    result = run(
        "setup", "--token-stdin", stdin=NEW, store=store, transport=server_transport()
    )
    assert result.code == EXIT_ERROR
    assert "--overwrite" in result.err
    assert store.files[DEFAULT_FILE] == {"token": TOKEN}


def test_setup_against_fake_server(tmp_path: Path) -> None:
    """Setup, status --check and whoami work end to end over real loopback HTTP."""
    with FakeAuthServer() as server:
        secrets = str(tmp_path / "secrets")
        options = ["--server", server.url, "--secrets-dir", secrets]

        def real(*argv: str, stdin: str = "") -> Result:
            out, err = io.StringIO(), io.StringIO()
            code = main(
                [*argv, *options],
                stdin=io.StringIO(stdin),
                stdout=out,
                stderr=err,
                environ={},
            )
            return Result(code, out.getvalue(), err.getvalue())

        rejected = real("setup", "--token-stdin", stdin=server.invalid_token)
        assert rejected.code == EXIT_AUTH_REJECTED
        assert not os.path.exists(secrets)

        result = real("setup", "--token-stdin", stdin=server.user_token)
        assert result.code == EXIT_OK
        assert "Norm User" in result.out
        assert (tmp_path / "secrets" / "cave-secret.json").stat().st_mode & 0o777 == (
            0o600
        )

        status = real("status", "--check", "--json")
        assert status.code == EXIT_OK
        assert json.loads(status.out)["user"]["id"] == 2
        assert json.loads(real("whoami", "--json").out)["name"] == "Norm User"
        assert len(json.loads(real("tokens", "--json").out)) == 2
        assert real("token").out == f"{server.user_token}\n"
        for output in (result, status):
            assert server.user_token not in output.out + output.err


def test_setup_replaces_a_saved_token_the_server_rejects() -> None:
    """A saved token the server rejects is replaced without --overwrite, and said so."""
    store = saved_store()

    def me(request):
        return ME if request.token == NEW else REJECTED

    transport = FakeTransport(handler=me)
    result = run("setup", "--token-stdin", stdin=NEW, store=store, transport=transport)
    assert result.code == EXIT_OK, result.err
    assert "Replaced the saved token" in result.out
    assert store.files == {SERVER_FILE: {"token": NEW}, DEFAULT_FILE: {"token": NEW}}


def test_setup_prints_success_only_after_the_save() -> None:
    """When the save fails (read-only), no "Logged in" line is printed."""
    store = MemoryStore(writable=False)
    result = run(
        "setup", "--token-stdin", stdin=NEW, store=store, transport=server_transport()
    )
    assert result.code != EXIT_OK
    assert "Logged in" not in result.out


def test_setup_strips_json_quotes_and_says_so() -> None:
    """A token pasted with its JSON quotes is saved without them, with a warning."""
    store = MemoryStore()
    result = run(
        "setup",
        "--token-stdin",
        stdin=f'"{NEW}"\n',
        store=store,
        transport=server_transport(),
    )
    assert result.code == EXIT_OK, result.err
    assert store.files[SERVER_FILE] == {"token": NEW}
    assert "removed the quotes" in result.err
