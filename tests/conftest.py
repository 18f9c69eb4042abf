"""Fixtures for every test: no test may see the real home or environment.

Also the one way a test asks for a program that pip cannot install (tinyproxy,
chromium, zsh, fish): :func:`require_binary`, or the ``system_binary``
fixture. A missing program skips the test with the command that installs it;
with ``CAVE_AUTH_REQUIRE_SYSTEM_BINARIES=1`` (which ``.ci/run`` sets after
installing them) the skip is a failure instead, so CI never skips silently.
And the real proxies of the proxy tests: ``make_proxy`` and ``proxy`` run
each test once with proxy.py (from pip) and once with tinyproxy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from system_programs import require_binary


@pytest.fixture
def system_binary() -> Callable[[str, str], str]:
    """:func:`require_binary`, for a test or fixture that needs a system program."""
    return require_binary


@pytest.fixture(autouse=True)
def private_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Point HOME at a fresh directory and clear the variables cave_auth reads."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    for name in (
        "CLOUD_VOLUME_DIR",
        "CAVE_TOKEN",
        "CAVE_SERVER_ADDRESS",
        "CAVE_TOKEN_KEY",
        "XDG_CONFIG_HOME",
    ):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture(params=["proxy.py", "tinyproxy"])
def make_proxy(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """Start real proxies on loopback (proxy.py, or tinyproxy), stopped after the test."""
    from proxy_server import TINYPROXY_INSTALL, ProxyPy, TinyProxy

    proxies: list[Any] = []

    def make(**kwargs: Any) -> Any:
        workdir = tmp_path / f"proxy{len(proxies)}"
        workdir.mkdir()
        if request.param == "tinyproxy":
            binary = require_binary("tinyproxy", TINYPROXY_INSTALL)
            proxy: Any = TinyProxy(workdir, binary=binary, **kwargs)
        else:
            proxy = ProxyPy(workdir, **kwargs)
        proxies.append(proxy)
        return proxy

    yield make
    for proxy in proxies:
        proxy.stop()


@pytest.fixture
def proxy(make_proxy: Callable[..., Any]) -> Any:
    """A real proxy on loopback, without credentials."""
    return make_proxy()


@pytest.fixture(params=["urllib3", "httpx"])
def make_either_transport(
    request: pytest.FixtureRequest,
) -> Iterator[Callable[..., Any]]:
    """Make Urllib3Transports, or HttpxTransports behind a sync face: each test runs with both."""
    import either_transport

    made: list[Any] = []

    def make(**settings: Any) -> Any:
        transport = either_transport.make(request.param, **settings)
        made.append(transport)
        return transport

    yield make
    for transport in made:
        transport.close()
