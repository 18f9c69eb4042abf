"""Tests of the ``cave_auth.testing`` package as a whole: its API and its layout."""

from __future__ import annotations

import ast
import inspect
import pathlib

import cave_auth.testing

PACKAGE = pathlib.Path(cave_auth.testing.__file__).parent

PUBLIC_API = [
    "INVALID_TOKEN",
    "SEED_TIME",
    "FakeApiKey",
    "FakeAsyncTransport",
    "FakeAuthServer",
    "FakeDataset",
    "FakeGroup",
    "FakeMembership",
    "FakePublicRoot",
    "FakeRequest",
    "FakeSeed",
    "FakeServiceTable",
    "FakeTos",
    "FakeTransport",
    "FakeUser",
    "HeadlessBrowser",
    "RecordedRequest",
    "json_response",
    "login_page_target",
    "text_response",
]

DOES_IO = {"browser.py", "server.py", "wire.py"}
IO_MODULES = {"socket", "socketserver", "http.server", "time", "ssl", "os", "pathlib"}


def _isort_key(name: str) -> tuple[int, str]:
    kind = 0 if name.isupper() else 1 if name[0].isupper() else 2
    return (kind, name)


def _modules() -> dict[str, ast.Module]:
    return {p.name: ast.parse(p.read_text()) for p in sorted(PACKAGE.glob("*.py"))}


def test_public_api_is_pinned_and_sorted():
    """cave_auth.testing exports exactly the documented names, sorted."""
    assert cave_auth.testing.__all__ == PUBLIC_API
    assert sorted(PUBLIC_API, key=_isort_key) == PUBLIC_API


def test_every_public_name_and_method_is_documented():
    """Every exported class and function, and their public methods, have docstrings."""
    for name in PUBLIC_API:
        value = getattr(cave_auth.testing, name)
        if not (inspect.isclass(value) or inspect.isfunction(value)):
            continue
        assert inspect.getdoc(value), name
        if inspect.isclass(value):
            for member_name, member in vars(value).items():
                if not member_name.startswith("_") and callable(member):
                    assert inspect.getdoc(member), f"{name}.{member_name}"


def test_seed_rows_are_the_servers_own_classes():
    """The public seed row classes are the ones FakeSeed.default() builds."""
    seed = cave_auth.testing.FakeSeed.default()
    assert isinstance(seed.users[0], cave_auth.testing.FakeUser)
    assert isinstance(seed.groups[0], cave_auth.testing.FakeGroup)
    assert isinstance(seed.memberships[0], cave_auth.testing.FakeMembership)
    assert isinstance(seed.api_keys[0], cave_auth.testing.FakeApiKey)
    assert isinstance(seed.datasets[0], cave_auth.testing.FakeDataset)
    assert isinstance(seed.terms[0], cave_auth.testing.FakeTos)


def test_every_module_is_short_and_says_what_it_is():
    """Each module has a docstring, is under 600 lines, and pure ones say so."""
    for name, tree in _modules().items():
        doc = ast.get_docstring(tree)
        assert doc, f"{name} has no docstring"
        assert len((PACKAGE / name).read_text().splitlines()) < 600, name
        if name not in DOES_IO | {"__init__.py"}:
            assert "does no I/O" in doc, f"{name} does not say it does no I/O"


def test_pure_modules_import_no_io():
    """Modules that say they do no I/O import no socket, file or sleep module."""
    for name, tree in _modules().items():
        if name in DOES_IO:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported = {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                imported = {node.module or ""}
            else:
                continue
            assert not imported & IO_MODULES, f"{name} imports {imported & IO_MODULES}"


def test_the_server_side_imports_nothing_else_of_cave_auth():
    """Only the fake transports import from cave_auth outside this package."""
    for name, tree in _modules().items():
        if name in ("transport.py", "async_transport.py"):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert node.level <= 1, f"{name} imports from cave_auth"
                assert not (node.module or "").startswith("cave_auth"), name
