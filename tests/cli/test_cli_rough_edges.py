"""Tests for the CLI rough edges of issue 11: version, typos, status, setup."""

from __future__ import annotations

import json
from importlib.metadata import version

from cli_support import run
from lifecycle_support import LOGIN, OLD, TokenServer, store_

from cave_auth import MemoryStore
from cave_auth.cli import EXIT_NO_TOKEN, EXIT_OK, EXIT_USAGE
from cave_auth.testing import FakeTransport


def test_version_prints_the_installed_version():
    """--version prints the installed distribution's version and exits 0."""
    result = run("--version", common=False)
    assert result.code == EXIT_OK
    assert result.out == f"cave-auth {version('cave-auth')}\n"


def test_a_mistyped_command_gets_a_suggestion():
    """An unknown command is named, with the closest command suggested."""
    result = run("stauts", common=False)
    assert result.code == EXIT_USAGE
    assert "did you mean 'status'?" in result.err


def test_an_unknown_option_shows_the_commands_usage():
    """The whoami command with --sever shows whoami's usage and suggests --server."""
    result = run("whoami", "--sever", "x", common=False)
    assert result.code == EXIT_USAGE
    assert result.err.startswith("usage: cave-auth whoami")
    assert "did you mean --server?" in result.err


def test_status_without_a_token_ends_with_one_short_error():
    """No token: the report says how to log in, then one short error line."""
    result = run("status", store=MemoryStore())
    assert result.code == EXIT_NO_TOKEN
    assert "cave-auth login" in result.out
    assert result.err == "cave-auth: error: no token found\n"


def test_status_check_shows_expiry_and_terms_to_accept():
    """The status --check report shows when the token expires and each ToS with its URL."""
    server = TokenServer()
    server.missing = [
        {
            "dataset_id": 2,
            "dataset_name": "test_tos_ds",
            "tos_id": 2,
            "tos_name": "Test ToS",
        }
    ]
    result = run("status", "--check", store=store_(OLD), transport=server.transport)
    assert result.code == EXIT_OK, result.err
    assert "Expires:    never (an API key)" in result.out
    assert (
        "To accept:  Test ToS (dataset test_tos_ds): "
        "https://cave.example.org/sticky_auth/api/v1/tos/2/accept"
    ) in result.out


def test_status_check_json_has_iso_expiry_for_a_login_token():
    """In --json the expiry of a login token is an ISO date."""
    result = run(
        "status",
        "--check",
        "--json",
        store=store_(LOGIN),
        transport=TokenServer().transport,
    )
    data = json.loads(result.out)
    assert data["expires"].startswith("20")
    assert data["expires"].endswith("+00:00")
    assert data["missing_tos"] == []


def test_default_prompt_reads_piped_input_without_getpass(monkeypatch, capfd):
    """Piped input is read plainly: no getpass warning about echoing."""
    import io
    import warnings

    from cave_auth import cli

    monkeypatch.setattr("sys.stdin", io.StringIO("abc123def456\n"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cli._default_prompt("Paste: ").strip() == "abc123def456"
    assert "echoed" not in capfd.readouterr().err


def test_a_server_address_with_a_path_gets_a_hint():
    """--server https://host/auth is a usage error naming the address to give."""
    result = run("whoami", "--server", "https://cave.example.org/auth", common=False)
    assert result.code == EXIT_USAGE
    assert "--server https://cave.example.org " in result.err


def test_a_server_address_with_a_bad_port_is_a_usage_error():
    """--server http://127.0.0.1:8o00 is refused before any request, naming the port."""
    transport = FakeTransport()
    result = run(
        "whoami",
        "--server",
        "http://127.0.0.1:8o00",
        common=False,
        transport=transport,
        environ={"CAVE_TOKEN": OLD},
    )
    assert result.code == EXIT_USAGE
    assert result.err == (
        "cave-auth: error: the server address 'http://127.0.0.1:8o00' has an "
        "invalid port '8o00': a port is a number from 1 to 65535\n"
    )
    assert transport.requests == []
    result = run("whoami", common=False, environ={"CAVE_SERVER_ADDRESS": "x.org:99999"})
    assert result.code == EXIT_USAGE
    assert "CAVE_SERVER_ADDRESS 'x.org:99999' has an invalid port" in result.err
