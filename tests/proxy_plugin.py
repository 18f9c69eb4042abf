"""A proxy.py plugin that writes each request it forwards to a log file.

Loaded by :class:`proxy_server.ProxyPy` into the ``proxy`` process
(``--plugins proxy_plugin.RequestLog``), with the log's path in the
``CAVE_AUTH_PROXY_LOG`` variable. A line is written per request, in
tinyproxy's words: ``CONNECT host:port`` for a tunnel, ``GET
http://host:port/path`` for a request forwarded in plain http.
"""

from __future__ import annotations

import os
from typing import Any

from proxy.http.proxy import HttpProxyBasePlugin


def _log(line: str) -> None:
    with open(os.environ["CAVE_AUTH_PROXY_LOG"], "a", encoding="utf-8") as log:
        log.write(line + "\n")


class RequestLog(HttpProxyBasePlugin):  # type: ignore[misc]
    """Log the request line of every request, as the proxy received it."""

    def before_upstream_connection(self, request: Any) -> Any:
        # A tunnel is seen here only: what goes through it is not parsed.
        if request.method == b"CONNECT":
            _log(f"CONNECT {request.host.decode()}:{request.port}")
        return request

    def handle_client_request(self, request: Any) -> Any:
        # Called for each request of a kept-alive connection, not only the first.
        if request.method != b"CONNECT":
            target = f"http://{request.host.decode()}:{request.port}"
            _log(f"{request.method.decode()} {target}{request.path.decode()}")
        return request
