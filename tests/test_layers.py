"""The layers of DESIGN.md hold: no module of cave_auth imports one above it.

Every import counts, wherever it is written: at the top of a module, inside a
function (a lazy import is still a dependency), and under ``TYPE_CHECKING``.
Type-only imports count too, because a type names the concept a module builds
on; a module that needs a type from above has its dependency backwards (the
parsers of ``routes`` read answers through their own ``ResponseLike``
protocol instead of importing ``transport.Response``). A module missing from
the table fails the test, so that each new module gets a place on purpose.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

import cave_auth

PACKAGE = pathlib.Path(cave_auth.__file__).parent

BOTTOM, STORE, TOKENS, ROUTES, TRANSPORT, DRIVER, SHELLS, EDGES = range(8)

LAYERS: dict[str, int] = {
    # Pure values, no cave_auth dependency but each other.
    "_redact": BOTTOM,
    "config": BOTTOM,
    "errors": BOTTOM,
    "models": BOTTOM,
    "urls": BOTTOM,
    # Token files, behind the TokenStore protocol.
    "store": STORE,
    "_secret_files": STORE,
    # Finding, saving and presenting tokens.
    "tokens": TOKENS,
    "inventory": TOKENS,
    # Request builders and response parsers (pure).
    "routes": ROUTES,
    # The HTTP layer.
    "transport": TRANSPORT,
    # The one loop that runs a flow (a route's, the service decision's).
    "_drive": DRIVER,
    # Endpoint calls, sync and async.
    "api": SHELLS,
    "aio": SHELLS,
    # The edges: they read the environment, print, listen, or fake the server.
    "__init__": EDGES,
    "__main__": EDGES,
    "cli": EDGES,
    "client": EDGES,
    "fastapi": EDGES,
    "flask": EDGES,
    "lifecycle": EDGES,
    "loopback": EDGES,
    "ownership": EDGES,
    "service": EDGES,
    "testing": EDGES,
}
"""Top-level module (or package) of cave_auth -> its layer; imports may point
at the same layer or below. ``__init__`` is the facade over everything, so
importing ``cave_auth`` itself from inside counts as an import from the top.
``flask``, ``fastapi``, ``lifecycle``, ``loopback`` (DESIGN.md's "login (loopback
listener)", named so that it does not shadow the function ``cave_auth.login``)
and ``service`` are the edges DESIGN.md plans."""


def _modules() -> list[pathlib.Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _dotted(path: pathlib.Path) -> list[str]:
    """Return the module's name below cave_auth as parts: routes/_route.py -> ..."""
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def _top(parts: list[str]) -> str:
    return parts[0] if parts else "__init__"


def _exists(parts: list[str]) -> bool:
    base = PACKAGE.joinpath(*parts)
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def imports_of(source: str, module: list[str], *, package: bool = False) -> list:
    """Return ``(line, module parts below cave_auth)`` of each cave_auth import.

    Args:
        source: The module's source.
        module: Its name below cave_auth, as parts (``["routes", "_route"]``).
        package: Whether it is a package's ``__init__``.

    Returns:
        Every import of a cave_auth module in the source, wherever it appears.
    """
    here = module if package else module[:-1]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names = alias.name.split(".")
                if names[0] == "cave_auth":
                    found.append((node.lineno, names[1:]))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)]
                named = node.module.split(".") if node.module else []
            else:
                parts = (node.module or "").split(".")
                if parts[0] != "cave_auth":
                    continue
                base, named = [], parts[1:]
            if named:
                found.append((node.lineno, base + named))
                continue
            for alias in node.names:
                sub = [*base, alias.name]
                found.append((node.lineno, sub if _exists(sub) else base))
    return found


def _imports_of_file(path: pathlib.Path) -> list:
    source = path.read_text()
    return imports_of(source, _dotted(path), package=path.name == "__init__.py")


@pytest.mark.parametrize(
    "path", _modules(), ids=lambda p: p.relative_to(PACKAGE).as_posix()
)
def test_no_import_points_up_a_layer(path: pathlib.Path) -> None:
    """A module imports only modules of its own layer or below."""
    name = _top(_dotted(path))
    assert name in LAYERS, (
        f"{name} is not in the layer table of tests/test_layers.py: give it a "
        "layer of DESIGN.md"
    )
    for line, target in _imports_of_file(path):
        where = _top(target)
        assert where in LAYERS, f"{path.name}:{line} imports unknown {where}"
        assert LAYERS[where] <= LAYERS[name], (
            f"{path.relative_to(PACKAGE)}:{line} imports {'.'.join(target)}, "
            f"a layer above {name}"
        )


def test_import_resolution() -> None:
    """Relative, absolute, local and type-only imports are all found."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "import cave_auth.transport\n"
        "from cave_auth import api\n"
        "from . import _route\n"
        "from .. import errors\n"
        "from ..tokens import with_token\n"
        "if TYPE_CHECKING:\n"
        "    from ..client import AuthClient\n"
        "def f():\n"
        "    from ..store import FileStore\n"
    )
    found = [".".join(t) for _, t in imports_of(source, ["routes", "_probe"])]
    assert found == [
        "transport",
        "api",
        "routes._route",
        "errors",
        "tokens",
        "client",
        "store",
    ]


def test_models_no_longer_import_tokens() -> None:
    """The models module builds on the bottom layer only, not on tokens."""
    targets = {_top(t) for _, t in _imports_of_file(PACKAGE / "models.py")}
    assert targets <= {"_redact", "config", "errors", "urls"}


def _init_tree(package: str = "") -> ast.Module:
    return ast.parse((PACKAGE / package / "__init__.py").read_text())


def _type_checking_names(tree: ast.Module) -> dict[str, str]:
    names = {}
    for node in tree.body:
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom) and statement.level == 1:
                    for alias in statement.names:
                        assert alias.asname == alias.name, f"{alias.name} not as itself"
                        names[alias.name] = statement.module or ""
    return names


def _isort_key(name: str) -> tuple[int, str]:
    kind = 0 if name.isupper() else 1 if name[0].isupper() else 2
    return (kind, name)


@pytest.mark.parametrize("package", ["", "testing"])
def test_init_name_lists_agree(package: str) -> None:
    """The TYPE_CHECKING imports (for type checkers) name what the package exports."""
    import importlib

    module = importlib.import_module(f"cave_auth.{package}".rstrip("."))
    typed = _type_checking_names(_init_tree(package))
    assert typed == module._LAZY_NAMES
    assert sorted(module.__all__) == sorted(typed)
    assert len(set(module.__all__)) == len(module.__all__)


@pytest.mark.parametrize("package", ["", "testing"])
def test_init_all_is_sorted(package: str) -> None:
    """__all__ is sorted the way ruff's RUF022 sorts: CONSTANTS, Classes, functions."""
    import importlib

    module = importlib.import_module(f"cave_auth.{package}".rstrip("."))
    assert module.__all__ == sorted(module.__all__, key=_isort_key)


def test_lazy_names_live_where_they_say() -> None:
    """Each lazy name is defined by (or re-exported from) the module it names."""
    import importlib

    for name, module in cave_auth._LAZY_NAMES.items():
        value = importlib.import_module(f"cave_auth.{module}")
        assert hasattr(value, name), f"cave_auth.{module} has no {name}"


def test_no_exec_or_compile_in_the_package() -> None:
    """No module runs code built from strings: attrs and cattrs generate what is generated."""
    builders = {"exec", "eval", "compile"}
    found = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            named = (isinstance(node, ast.Name) and node.id in builders) or (
                isinstance(node, ast.Attribute)
                and node.attr in builders
                and getattr(node.value, "id", None) == "builtins"
            )
            if named:
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert found == []


def _trees() -> dict[str, ast.Module]:
    return {
        path.relative_to(PACKAGE).as_posix(): ast.parse(path.read_text())
        for path in _modules()
    }


def _catches_stop_iteration(handler: ast.ExceptHandler) -> bool:
    caught = handler.type
    names = caught.elts if isinstance(caught, ast.Tuple) else [caught]
    return any(isinstance(n, ast.Name) and n.id == "StopIteration" for n in names)


def _steps_a_generator(node: ast.AST) -> bool:
    if isinstance(node, ast.ExceptHandler):
        return _catches_stop_iteration(node)
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("send", "throw")
    )


def _generator_loops(tree: ast.AST) -> list[int]:
    """Return the lines that step a generator by hand: .send/.throw, except StopIteration."""
    return sorted(node.lineno for node in ast.walk(tree) if _steps_a_generator(node))


def test_one_sync_and_one_async_driver() -> None:
    """Only _drive steps a generator, in one function and its async twin."""
    trees = _trees()
    elsewhere = {
        name: lines
        for name, tree in trees.items()
        if name != "_drive.py" and (lines := _generator_loops(tree))
    }
    assert elsewhere == {}, "drive a flow with cave_auth._drive, not by hand"
    drivers = [
        (type(node).__name__, node.name)
        for node in ast.walk(trees["_drive.py"])
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and _generator_loops(node)
    ]
    assert drivers == [("FunctionDef", "drive"), ("AsyncFunctionDef", "adrive")]


def test_the_driver_pin_sees_a_hand_written_loop() -> None:
    """A next/send loop ending in except StopIteration is what the pin finds."""
    source = (
        "def run(flow, answer):\n"
        "    try:\n"
        "        need = next(flow)\n"
        "        while True:\n"
        "            need = flow.send(answer(need))\n"
        "    except StopIteration as stop:\n"
        "        return stop.value\n"
    )
    assert _generator_loops(ast.parse(source)) == [5, 6]


FILE_MODULES = {"os", "pathlib", "shutil", "tempfile", "io", "fcntl", "glob"}


def test_routes_build_on_the_bottom_layer_and_touch_no_file() -> None:
    """routes/ imports no token, store or file module, and opens nothing."""
    for path in sorted((PACKAGE / "routes").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for line, target in _imports_of_file(path):
            where = _top(target)
            assert where == "routes" or LAYERS[where] == BOTTOM, (
                f"routes/{path.name}:{line} imports {'.'.join(target)}"
            )
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                named = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level:
                named = {(node.module or "").split(".")[0]}
            else:
                named = set()
            assert not named & FILE_MODULES, f"routes/{path.name}:{node.lineno}"
            if isinstance(node, ast.Name):
                assert node.id != "open", f"routes/{path.name}:{node.lineno} opens"


def test_importing_routes_loads_no_token_or_store_module() -> None:
    """A fresh process that imports cave_auth.routes has not loaded tokens or a store."""
    import subprocess
    import sys

    code = (
        "import sys, cave_auth.routes\n"
        "print(sorted(m for m in sys.modules if m.startswith('cave_auth.')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    for module in ("tokens", "store", "_secret_files", "saved"):
        assert f"'cave_auth.{module}'" not in loaded, loaded


# The core as issue 16 names it ("saved" is now inventory; api/_drive and
# aio/_drive became _drive). The design card's budget: about 6,000 lines.
CORE_MODULES = [
    "__init__",
    "config",
    "models",
    "errors",
    "urls",
    "_redact",
    "tokens",
    "store",
    "_secret_files",
    "inventory",
    "api",
    "aio",
    "_drive",
]
CORE_PACKAGES = ("routes", "transport")
CORE_BUDGET = 6000


def test_the_core_stays_within_its_line_budget() -> None:
    """The core (values, routes, api, aio, transport, tokens, store) is at most 6,000 lines."""
    files = [PACKAGE / f"{name}.py" for name in CORE_MODULES]
    for package in CORE_PACKAGES:
        files += sorted((PACKAGE / package).glob("*.py"))
    assert all(path.is_file() for path in files), "a core module moved: update the list"
    lines = sum(path.read_text().count("\n") for path in files)
    assert lines <= CORE_BUDGET, f"the core is {lines} lines, over {CORE_BUDGET}"
