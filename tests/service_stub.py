"""A minimal HTTPS stand-in for the auth routes a service calls (test helper).

Until ``FakeAuthServer`` serves the service routes (``/service/<ns>/table/<t>/
dataset``, the public-root routes), the conformance tests use this stub: the
``/user/cache`` records of a few tokens, two table mappings, and public roots,
over TLS with a trustme certificate because ``middle_auth_client`` hard-codes
``https://``.
"""

from __future__ import annotations

import json
import re
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SERVICE_TOKEN = "svc-token-0000"
DS_TOS = {
    "dataset_id": 2,
    "dataset_name": "test_tos_ds",
    "tos_id": 2,
    "tos_name": "Test ToS",
}


def _user(uid: int, name: str, **extra: Any) -> dict[str, Any]:
    record = {
        "admin": False,
        "affiliations": [[]],
        "datasets_admin": [],
        "email": f"{name.lower()}@example.org",
        "groups": ["default"],
        "groups_admin": [],
        "id": uid,
        "missing_tos": [],
        "name": name,
        "parent_id": None,
        "permissions": {},
        "permissions_v2": {},
        "permissions_v2_ignore_tos": {},
        "pi": "",
        "service_account": False,
    }
    record.update(extra)
    return record


USERS: dict[str, dict[str, Any]] = {
    "admin-token-1111": _user(
        1,
        "Ada",
        admin=True,
        groups=["default", "testgroup"],
        permissions_v2={"test_ds": ["edit", "view"], "test_tos_ds": ["view"]},
        permissions_v2_ignore_tos={
            "test_ds": ["edit", "view"],
            "test_tos_ds": ["view"],
        },
    ),
    "user-token-2222": _user(
        2,
        "Norm",
        groups=["default", "testgroup"],
        missing_tos=[DS_TOS],
        permissions_v2={"test_ds": ["view", "edit"]},
        permissions_v2_ignore_tos={
            "test_ds": ["view", "edit"],
            "test_tos_ds": ["view"],
        },
    ),
    "viewer-token-3333": _user(
        3,
        "Vera",
        permissions_v2={"test_ds": ["view"]},
        permissions_v2_ignore_tos={"test_ds": ["view"]},
    ),
    "dsadmin-token-4444": _user(
        4,
        "Tina",
        datasets_admin=["test_ds"],
        permissions_v2={"test_ds": ["view"]},
        permissions_v2_ignore_tos={"test_ds": ["view"]},
    ),
    "oldstyle-token-5555": {
        **_user(5, "Olga", missing_tos=[DS_TOS]),
        "permissions_v2": {"test_ds": ["view"]},
    },
    SERVICE_TOKEN: _user(6, "svc", service_account=True),
}
del USERS["oldstyle-token-5555"]["permissions_v2_ignore_tos"]

TABLES = {
    ("datastack", "test_ds"): "test_ds",
    ("datastack", "test_tos_ds"): "test_tos_ds",
    ("pychunkedgraph", "pcg_table"): "test_ds",
}
PUBLIC_ROOTS = {"test_ds": {1, 11}}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(
        self, status: int, data: Any, content_type: str = "application/json"
    ) -> None:
        body = (
            (json.dumps(data) + "\n").encode()
            if content_type == "application/json"
            else data.encode()
        )
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _route(self, method: str) -> None:
        server: StubAuthServer = self.server.owner  # type: ignore[attr-defined]
        path = self.path.partition("?")[0]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with server.lock:
            server.calls.append((method, path))
        if server.delay:
            time.sleep(server.delay)
        auth = self.headers.get("Authorization") or ""
        token = auth[7:] if auth.startswith("Bearer ") else ""
        user = USERS.get(token)
        if user is None:
            self._send(
                401,
                {
                    "error": "invalid_token",
                    "message": "Unauthorized - Token is Invalid or Expired",
                },
            )
            return
        api = "/auth/api/v1"
        if method == "GET" and path == api + "/user/cache":
            self._send(200, user)
            return
        match = re.fullmatch(api + r"/service/([^/]+)/table/([^/]+)/dataset", path)
        if method == "GET" and match:
            dataset = TABLES.get((match.group(1), match.group(2)))
            if dataset is None:
                self._send(
                    404,
                    "No dataset for given service and table names",
                    "text/html; charset=utf-8",
                )
            else:
                self._send(200, dataset)
            return
        match = re.fullmatch(api + r"/table/([^/]+)/has_public", path)
        if method == "GET" and match:
            self._send(200, bool(PUBLIC_ROOTS.get(match.group(1))))
            return
        match = re.fullmatch(api + r"/table/([^/]+)/root/(\d+)/is_public", path)
        if method == "GET" and match:
            self._send(
                200, int(match.group(2)) in PUBLIC_ROOTS.get(match.group(1), set())
            )
            return
        match = re.fullmatch(api + r"/table/([^/]+)/root_all_public", path)
        if method == "POST" and match:
            roots = json.loads(body or b"null")
            public = PUBLIC_ROOTS.get(match.group(1), set())
            self._send(200, bool(roots) and all(int(r) in public for r in roots))
            return
        self._send(404, "Not Found", "text/html; charset=utf-8")

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")


class StubAuthServer:
    """The stub on 127.0.0.1 over TLS; ``calls`` records (method, path)."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.lock = threading.Lock()
        self.delay = 0.0
        self.calls: list[tuple[str, str]] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.owner = self  # type: ignore[attr-defined]
        self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def start(self) -> StubAuthServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
