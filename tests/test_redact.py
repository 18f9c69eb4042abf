"""Tests for cave_auth._redact: the one place tokens are masked, hidden and scrubbed."""

from __future__ import annotations

import ast
import pathlib

import pytest

import cave_auth as ca
from cave_auth import _redact, tokens

TOKEN = "0123456789abcdef0123456789abcdef"
PACKAGE = pathlib.Path(ca.__file__).parent

ELSEWHERE: dict[tuple[str, str], str] = {
    ("cli/context.py", "scrub"): "the CLI masks every token it has seen with "
    "_redact.mask_token: a use of the one masking, not another",
}
"""(file, function) -> why a masking or scrubbing function lives outside
_redact. Checked both ways, so the list cannot go stale."""


def test_mask_token_never_reveals_short_secrets():
    """mask_token shows the ends of long tokens and only the length of short ones."""
    assert ca.mask_token(TOKEN) == "0123…cdef"
    assert ca.mask_token("short") == "…(5 chars)"
    assert _redact.masked_repr(TOKEN) == "'0123…cdef'"


def test_public_mask_token_is_the_one_function():
    """cave_auth.mask_token and tokens.mask_token are _redact's function."""
    assert ca.mask_token is _redact.mask_token is tokens.mask_token


def test_hidden_repr_says_only_whether_a_token_is_set():
    """hidden_repr shows nothing of the token."""
    assert _redact.hidden_repr(TOKEN) == "<set>"
    assert _redact.hidden_repr(None) == "None"


@pytest.mark.parametrize("name", ["Authorization", "authorization", "AUTHORIZATION"])
def test_headers_repr_hides_authorization_whatever_its_case(name):
    """headers_repr replaces an Authorization header's value, and only that."""
    shown = _redact.headers_repr({name: f"Bearer {TOKEN}", "Accept": "x/y"})
    assert shown == repr({name: "<hidden>", "Accept": "x/y"})


def test_scrub_replaces_every_occurrence():
    """The scrub functions replace each occurrence of the token with <token>."""
    text = f"{TOKEN} and again {TOKEN}"
    assert _redact.scrub(text, TOKEN) == "<token> and again <token>"
    assert _redact.scrub_bytes(text.encode(), TOKEN) == b"<token> and again <token>"
    assert _redact.scrub(text, None) == text
    assert _redact.scrub_bytes(b"abc", "") == b"abc"


def test_scrub_bearer_takes_the_token_from_the_headers():
    """scrub_bearer masks the bearer token an Authorization header carries."""
    headers = {"authorization": f"Bearer {TOKEN}"}
    assert _redact.bearer_token(headers) == TOKEN
    assert _redact.scrub_bearer(f"/x?t={TOKEN}", headers) == "/x?t=<token>"
    assert _redact.bearer_token({"Authorization": "Bearer "}) is None
    assert _redact.bearer_token({"Authorization": "Basic abc"}) is None
    assert _redact.scrub_bearer(TOKEN, {}) == TOKEN


def _redaction_functions() -> set[tuple[str, str]]:
    found = set()
    for path in PACKAGE.rglob("*.py"):
        name = path.relative_to(PACKAGE).as_posix()
        if name == "_redact.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and any(
                word in node.name.lower() for word in ("mask", "scrub", "redact")
            ):
                found.add((name, node.name))
    return found


def test_masking_and_scrubbing_live_in_one_module():
    """No module but _redact defines a masking or scrubbing function of its own."""
    assert _redaction_functions() == set(ELSEWHERE), (
        "use cave_auth._redact, or say in ELSEWHERE why a function stays apart"
    )
