"""Run every ```python block of README.md and docs/**/*.md.

Each Markdown file is one test. Its ``python`` blocks run in order in one
namespace (a later block may use names an earlier one defined), in a fresh
working directory, with ``HOME`` pointing at another fresh directory that
must still be empty afterwards (so no example writes into a reader's home:
examples keep their files in a temporary directory or a ``MemoryStore``), with the
CAVE and CloudVolume environment variables removed, no network beyond the
loopback interface, and no web browser. Examples that need a server start a
``cave_auth.testing.FakeAuthServer`` themselves.

Blocks fenced as ```py, ```pycon, ```bash or ```text are illustrations and
are not run. A ```python block that cannot run offline is listed in
``SKIPPED`` with the reason; that list is checked too, so it cannot go stale.
Only the top-level imports of a skipped block run, so that the blocks after
it still find the names it imports.
"""

from __future__ import annotations

import ast
import ipaddress
import re
import socket
import textwrap
import webbrowser
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent

SKIPPED: dict[tuple[str, int], tuple[str, str]] = {
    ("README.md", 0): (
        "ca.Urllib3Transport()",
        "talks to the real https://global.daf-apis.com through "
        "ca.Urllib3Transport() (whoami, get_group_users) and needs a real token "
        "and the network",
    ),
}
"""(file relative to the repository root, 0-based index among its ```python
blocks) -> (a snippet the block must contain, why the block is not run). The
snippet makes sure an edit of the file cannot move the skip onto another
block."""

ENVIRONMENT_VARIABLES = (
    "CAVE_TOKEN",
    "CAVE_SERVER_ADDRESS",
    "CAVE_TOKEN_KEY",
    "CLOUD_VOLUME_DIR",
)

_FENCE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)$"
)


def markdown_files() -> list[Path]:
    """Return README.md and every Markdown file under docs/, sorted."""
    files = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    return [path for path in files if path.is_file()]


def python_blocks(path: Path) -> list[tuple[int, str]]:
    """Return ``(line number, code)`` of each ```python block of a file.

    The first word of the info string must be ``python`` (attributes such as
    ``title="..."`` may follow). Fences may be indented, as inside admonitions
    and content tabs; the code is dedented by the fence's indentation.
    """
    blocks: list[tuple[int, str]] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        indent, fence = opening.group("indent"), opening.group("fence")
        words = opening.group("info").split()
        start = index + 1
        index = start
        while index < len(lines):
            closing = _FENCE.match(lines[index])
            if (
                closing is not None
                and closing.group("fence").startswith(fence)
                and not closing.group("info").strip()
            ):
                break
            index += 1
        if words and words[0] == "python":
            body = [line.removeprefix(indent) for line in lines[start:index]]
            blocks.append((start + 1, textwrap.dedent("\n".join(body)) + "\n"))
        index += 1
    return blocks


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _is_loopback(host: object) -> bool:
    if not isinstance(host, str):
        return False
    if host.lower() in ("localhost", "localhost.", ""):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture
def offline_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary HOME and working directory, no network, no browser."""
    home = tmp_path / "home"
    work = tmp_path / "work"
    home.mkdir()
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ENVIRONMENT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(work)

    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not _is_loopback(host):
            raise AssertionError(f"docs examples must not use the network ({host})")
        return real_getaddrinfo(host, *args, **kwargs)

    def check(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(
            address[0]
        ):
            raise AssertionError(
                f"docs examples must not use the network ({address[0]})"
            )

    def connect(sock: socket.socket, address: Any) -> None:
        check(sock, address)
        real_connect(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> int:
        check(sock, address)
        return real_connect_ex(sock, address)

    def no_browser(url: str, *args: Any, **kwargs: Any) -> bool:
        raise AssertionError(f"docs examples must not open a browser ({url})")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    for name in ("open", "open_new", "open_new_tab"):
        monkeypatch.setattr(webbrowser, name, no_browser)
    return home


def _written(home: Path) -> list[str]:
    return sorted(p.relative_to(home).as_posix() for p in home.rglob("*"))


@pytest.mark.parametrize("path", markdown_files(), ids=_relative)
def test_python_blocks_run(path: Path, offline_home: Path) -> None:
    """Every python block of the file runs offline and writes nothing into HOME."""
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    for number, (line, code) in enumerate(python_blocks(path)):
        where = f"{_relative(path)}:{line} (python block {number})"
        tree = ast.parse(code, where)
        if (_relative(path), number) in SKIPPED:
            imports = [
                node
                for node in tree.body
                if isinstance(node, ast.Import | ast.ImportFrom)
            ]
            tree = ast.Module(body=imports, type_ignores=[])
        exec(compile(tree, where, "exec"), namespace)
    assert _written(offline_home) == [], (
        f"{_relative(path)} wrote into HOME; use a temporary directory or MemoryStore"
    )


def test_skipped_blocks_exist() -> None:
    for (name, number), (snippet, reason) in SKIPPED.items():
        blocks = python_blocks(ROOT / name)
        assert number < len(blocks), f"{name} has no python block {number}"
        assert snippet in blocks[number][1], f"{name} block {number} moved: {reason}"
        assert reason


def test_blocks_are_found() -> None:
    assert python_blocks(ROOT / "README.md"), "the fence parser found nothing"
    assert sum(len(python_blocks(path)) for path in markdown_files()) >= 20


def test_parser_handles_indented_and_other_fences(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "```python\na = 1\n```\n"
        "```py\nnot_run()\n```\n"
        '!!! note\n    ```python title="x.py"\n    b = a + 1\n    ```\n'
        "````markdown\n```python\nnested()\n```\n````\n"
        "```bash\ncave-auth status\n```\n",
        encoding="utf-8",
    )
    assert python_blocks(page) == [(2, "a = 1\n"), (9, "b = a + 1\n")]


def test_a_write_into_home_is_seen(offline_home: Path) -> None:
    """The HOME check notices a token saved into the default secrets directory."""
    import cave_auth as ca

    assert _written(offline_home) == []
    ca.save_token(ca.Config(), ca.FileStore(), "abc123")
    assert ".cloudvolume/secrets/cave-secret.json" in _written(offline_home)


def test_examples_cannot_reach_the_network(offline_home: Path) -> None:
    with pytest.raises(AssertionError, match="network"):
        socket.getaddrinfo("global.daf-apis.com", 443)
    with pytest.raises(AssertionError, match="network"):
        socket.create_connection(("192.0.2.1", 443), timeout=1)
    with pytest.raises(AssertionError, match="browser"):
        webbrowser.open("https://global.daf-apis.com/sticky_auth/settings/tokens")
    assert Path.home() == offline_home
