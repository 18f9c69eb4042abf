"""Tests for the package as a whole: its public API, import hygiene and docstrings."""

from __future__ import annotations

import ast
import functools
import inspect
import pathlib
import subprocess
import sys

import pytest

import cave_auth

PACKAGE = pathlib.Path(cave_auth.__file__).parent

PUBLIC_API = [
    "DEFAULT_SECRETS_DIR",
    "DEFAULT_SERVER_ADDRESS",
    "DEFAULT_TOKEN_KEY",
    "ApiRequest",
    "AsyncTransport",
    "AuthClient",
    "AuthenticationError",
    "CaveAuthError",
    "Config",
    "FileStore",
    "ForgetResult",
    "Group",
    "GroupMember",
    "HTTPError",
    "InsecureTransportError",
    "Instructions",
    "InvalidInputError",
    "LoginError",
    "LoginResult",
    "LogoutResult",
    "MemoryStore",
    "MissingTermsOfService",
    "MissingTokenError",
    "NotFoundError",
    "PermissionDeniedError",
    "Permissions",
    "ResolvedToken",
    "Response",
    "ResponseFormatError",
    "ResponseTooLargeError",
    "RotateResult",
    "SaveResult",
    "SavedToken",
    "ServerError",
    "TermsOfServiceRequired",
    "TokenFileError",
    "TokenInfo",
    "TokenKeyExistsError",
    "TokenStore",
    "Transport",
    "TransportError",
    "Urllib3Transport",
    "User",
    "UserName",
    "are_roots_public",
    "create_token",
    "create_token_page_url",
    "default_token_path",
    "delete_token",
    "forget_token",
    "get_group_users",
    "get_missing_tos",
    "get_my_permissions",
    "get_public_roots",
    "get_table_dataset",
    "get_token_ttl",
    "get_tokens",
    "get_user_cache",
    "get_user_cache_data",
    "get_user_groups",
    "get_user_information",
    "get_user_permissions",
    "get_user_permissions_data",
    "get_usernames",
    "is_root_public",
    "list_saved_tokens",
    "local_server_token_path",
    "login",
    "logout",
    "logout_all",
    "logout_token",
    "mask_token",
    "raise_for_response",
    "request_header",
    "resolve_token",
    "rotate_token",
    "save_token",
    "server_token_filename",
    "server_token_path",
    "setup_instructions",
    "table_has_public",
    "token_page_url",
    "token_search_paths",
    "whoami",
    "with_token",
]


def _isort_key(name: str) -> tuple[int, str]:
    kind = 0 if name.isupper() else 1 if name[0].isupper() else 2
    return (kind, name)


def test_public_api_is_pinned():
    """The names cave_auth exports are exactly the documented ones, sorted."""
    assert cave_auth.__all__ == PUBLIC_API
    assert sorted(cave_auth.__all__, key=_isort_key) == cave_auth.__all__


def test_every_public_name_resolves_and_is_documented():
    """Every exported object exists and has a docstring."""
    for name in cave_auth.__all__:
        value = getattr(cave_auth, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), f"{name} has no docstring"


def test_every_public_method_is_documented():
    """Public methods of exported classes have docstrings."""
    for name in cave_auth.__all__:
        value = getattr(cave_auth, name)
        if not inspect.isclass(value) or issubclass(value, BaseException):
            continue
        for member_name, member in vars(value).items():
            if member_name.startswith("_") or not callable(member):
                continue
            assert inspect.getdoc(member), f"{name}.{member_name} has no docstring"


def test_unknown_attribute_is_attribute_error():
    """Asking the package for a name it does not have is an AttributeError."""
    try:
        cave_auth.no_such_name  # noqa: B018
    except AttributeError as error:
        assert "no_such_name" in str(error)
    else:
        raise AssertionError("expected AttributeError")


def test_errors_subclass_the_documented_builtins():
    """Argument errors are ValueErrors; everything is a CaveAuthError."""
    assert issubclass(cave_auth.InvalidInputError, ValueError)
    assert issubclass(cave_auth.TokenKeyExistsError, ValueError)
    assert issubclass(cave_auth.TermsOfServiceRequired, cave_auth.PermissionDeniedError)
    for name in cave_auth.__all__:
        value = getattr(cave_auth, name)
        if inspect.isclass(value) and issubclass(value, Exception):
            assert issubclass(value, cave_auth.CaveAuthError)


def _run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def test_import_loads_neither_urllib3_nor_cattrs():
    """Importing cave_auth, even resolving a token, loads no urllib3 or cattrs."""
    loaded = _run(
        "import sys, cave_auth as ca\n"
        "store = ca.MemoryStore({'/s/cave-secret.json': {'token': 'abc123'}})\n"
        "ca.request_header(ca.with_token(ca.Config(secrets_dir='/s'), store).token)\n"
        "print(sorted(m for m in ('urllib3', 'cattrs', 'filelock', 'logging')"
        " if m in sys.modules))"
    )
    assert loaded == "[]"


def test_bare_import_loads_no_submodule():
    """A bare import cave_auth loads no submodule until a name is used."""
    loaded = _run(
        "import sys, cave_auth\n"
        "print(sorted(m for m in sys.modules if m.startswith('cave_auth.')))"
    )
    assert loaded == "[]"


def test_login_is_the_function_whatever_was_imported_first():
    """cave_auth.login stays the login function after the lifecycle and CLI load."""
    kind = _run(
        "import cave_auth.lifecycle, cave_auth.cli.cmd_login, cave_auth as ca\n"
        "print(type(ca.login).__name__, ca.login is cave_auth.lifecycle.login)"
    )
    assert kind == "function True"


def test_first_endpoint_use_loads_cattrs_lazily():
    """The cattrs package is imported on the first structuring, not before."""
    loaded = _run(
        "import sys, cave_auth as ca\n"
        "from cave_auth.testing import FakeTransport\n"
        "before = 'cattrs' in sys.modules\n"
        "t = FakeTransport({('GET', '/auth/api/v1/user/me'): {'id': 1, 'name': 'A'}})\n"
        "ca.whoami(ca.Config(token='abc123'), t)\n"
        "print(before, 'cattrs' in sys.modules, 'urllib3' in sys.modules)"
    )
    assert loaded == "False True False"


def _top(name: str) -> str:
    """Return the top-level module of a path below the package: cli/x.py -> cli."""
    return name.split("/")[0].removesuffix(".py")


@functools.cache
def _module_sources() -> dict[str, ast.Module]:
    """Parse every module of the package (once for all the tests here)."""
    return {
        path.relative_to(PACKAGE).as_posix(): ast.parse(path.read_text())
        for path in sorted(PACKAGE.rglob("*.py"))
    }


EDGES = {"cli", "client", "__main__", "fastapi", "flask"}


def test_environment_is_read_only_at_the_edges():
    """Only the edges (CLI, AuthClient, Flask, FastAPI) mention os.environ or os.getenv."""
    for name, tree in _module_sources().items():
        if _top(name) in EDGES:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv"):
                raise AssertionError(f"{name} reads the environment")


def test_no_printing_or_browser_outside_the_edges():
    """Only the edges print or open a browser."""
    for name, tree in _module_sources().items():
        if _top(name) in EDGES:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id != "print", f"{name} prints"
            if isinstance(node, ast.Name | ast.alias):
                ident = node.id if isinstance(node, ast.Name) else node.name
                assert ident != "webbrowser", f"{name} uses webbrowser"


def test_no_module_does_work_at_import_time():
    """Module bodies hold only imports, definitions and constant assignments."""
    allowed = (
        ast.Import,
        ast.ImportFrom,
        ast.FunctionDef,
        ast.AsyncFunctionDef,
        ast.ClassDef,
        ast.Assign,
        ast.AnnAssign,
        ast.If,
        ast.Expr,
    )
    for name, tree in _module_sources().items():
        for node in tree.body:
            assert isinstance(node, allowed) or _imports_an_extra(node), (
                f"{name}:{node.lineno} runs code at import"
            )
            if isinstance(node, ast.Expr):
                assert isinstance(node.value, ast.Constant), f"{name}:{node.lineno}"


def _imports_an_extra(node: ast.stmt) -> bool:
    """``try: import x`` / ``except ImportError: raise ImportError("pip ...")``.

    An edge importing an optional dependency says which extra installs it;
    only imports are tried, and the handler only raises.
    """
    return (
        isinstance(node, ast.Try)
        and all(isinstance(one, ast.Import | ast.ImportFrom) for one in node.body)
        and not node.orelse
        and not node.finalbody
        and all(
            isinstance(handler.type, ast.Name)
            and handler.type.id == "ImportError"
            and len(handler.body) == 1
            and isinstance(handler.body[0], ast.Raise)
            for handler in node.handlers
        )
    )


def test_ci_runs_the_readme_test_command_verbatim():
    """The test command in the README's Quickstart is the one .ci/run executes."""
    root = PACKAGE.parent
    readme = (root / "README.md").read_text()
    blocks = [b.split("```", 1)[0].strip() for b in readme.split("```bash\n")[1:]]
    test_command = next(b for b in blocks if "pytest" in b)
    assert test_command in (root / ".ci" / "run").read_text().splitlines()
    assert any("cave-auth demo" in b for b in blocks)


def test_version_comes_from_the_installed_metadata():
    """cave_auth.__version__ is the installed distribution's version, read lazily."""
    from importlib.metadata import version

    assert cave_auth.__version__ == version("cave-auth")
    loaded = _run(
        "import sys, cave_auth\n"
        "before = 'importlib.metadata' in sys.modules\n"
        "print(before, cave_auth.__version__ != '')"
    )
    assert loaded == "False True"


def test_filelock_floor_excludes_cve_2025_68146():
    """The filelock requirement admits no version with CVE-2025-68146 (fixed in 3.20.1)."""
    import tomllib

    from packaging.requirements import Requirement

    pyproject = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())
    requirements = [Requirement(d) for d in pyproject["project"]["dependencies"]]
    [filelock] = [r for r in requirements if r.name == "filelock"]
    assert not filelock.specifier.contains("3.20.0")
    assert not filelock.specifier.contains("3.12.0")
    assert filelock.specifier.contains("3.20.1")


# An edge's module -> (the optional dependency it needs, the extra that brings it).
EDGE_EXTRAS = {
    "cave_auth.fastapi": ("fastapi", "fastapi"),
    "cave_auth.flask": ("flask", "flask"),
}


@pytest.mark.parametrize("edge", sorted(EDGE_EXTRAS))
def test_an_edge_without_its_dependency_names_the_extra_to_install(edge):
    """Importing an edge whose optional dependency is missing says which extra to install."""
    dependency, extra = EDGE_EXTRAS[edge]
    shown = _run(
        f"import sys\nsys.modules[{dependency!r}] = None\n"
        f"try:\n    import {edge}\n"
        "except ImportError as error:\n    print(type(error).__name__, error.name, error)"
    )
    assert shown.startswith(f"ModuleNotFoundError {dependency} ")
    assert f"pip install 'cave-auth[{extra}]'" in shown


def test_every_extra_an_edge_names_exists():
    """The extras the edges name are declared in pyproject.toml."""
    import tomllib

    pyproject = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())
    extras = pyproject["project"]["optional-dependencies"]
    for dependency, extra in EDGE_EXTRAS.values():
        assert any(r.startswith(dependency) for r in extras[extra]), extra


def test_fake_transport_users_never_import_the_network_stack():
    """A unit test that calls through FakeTransport imports no ssl, http.client or urllib3."""
    loaded = _run(
        "import sys, cave_auth as ca, cave_auth.testing\n"
        "from cave_auth.testing import FakeTransport\n"
        "t = FakeTransport({('GET', '/auth/api/v1/user/me'): {'id': 1, 'name': 'A'}})\n"
        "ca.whoami(ca.Config(token='abc123'), t)\n"
        "print(sorted(m for m in ('ssl', 'http.client', 'urllib3')"
        " if m in sys.modules))"
    )
    assert loaded == "[]"
