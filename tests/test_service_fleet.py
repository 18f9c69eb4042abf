"""A fleet on one Redis: two gunicorn instances x 2 workers, FakeAuthServer upstream.

The Flask drop-in reads ``TOKEN_CACHE_REDIS_URL`` and shares one cache: a
cold burst with a new token costs one lookup for the whole fleet, later
requests none, :meth:`RedisCache.invalidate` ends the token in every worker
(each keeps a 30 s local copy, so only the published invalidation can end it
within a second), Redis holds no token, and killing Redis loses no request.
"""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from redis_support import RedisServer

import cave_auth as ca
from cave_auth.service.redis import RedisCache
from cave_auth.testing import FakeAuthServer
from cave_auth.transport import Urllib3Transport

pytestmark = pytest.mark.timeout(90)

FLEET_APP = """
import os

import flask

from cave_auth.flask import auth_required

app = flask.Flask(__name__)


@app.after_request
def pid(response):
    response.headers["X-Pid"] = str(os.getpid())
    return response


@app.route("/ping")
def ping():
    return "pong"


@app.route("/me")
@auth_required
def me():
    return {"id": flask.g.auth_user["id"]}
"""

LOOKUPS = ("GET", "/auth/api/v1/user/cache")


def start_instance(tmp_path: Path, name: str, environ: dict[str, str]):
    log = tmp_path / f"{name}.log"
    command = [
        *(sys.executable, "-m", "gunicorn", "--chdir", str(tmp_path)),
        *("--workers", "2", "--threads", "8", "--bind", "127.0.0.1:0"),
        "fleet_app:app",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env=environ, stdout=out, stderr=subprocess.STDOUT
        )
    return process, log


def serving_port(log: Path, deadline: float) -> int:
    """Wait until gunicorn listens and has booted 2 workers; return its port."""
    while time.monotonic() < deadline:
        text = log.read_text()
        listening = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", text)
        if listening and text.count("Booting worker") >= 2:
            port = int(listening.group(1))
            try:
                if get(port, "/ping")[0] == 200:
                    return port
            except OSError:
                pass
        time.sleep(0.1)
    raise AssertionError(f"gunicorn did not start:\n{log.read_text()}")


def get(port: int, path: str, token: str | None = None) -> tuple[int, int]:
    """One request on a new connection: (status, pid of the worker)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status, int(response.headers["X-Pid"])
    finally:
        connection.close()


def many(ports: list[int], token: str, per_port: int) -> list[tuple[int, int]]:
    """``per_port`` concurrent requests to each instance, released together."""
    barrier = threading.Barrier(per_port * len(ports))
    answers: list[tuple[int, int]] = []

    def one(port: int) -> None:
        barrier.wait(timeout=30)
        answers.append(get(port, "/me", token))

    threads = [
        threading.Thread(target=one, args=(port,))
        for port in ports
        for _ in range(per_port)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def every_worker(ports: list[int], token: str, pids: set[int]) -> set[int]:
    """Send requests until each of ``pids`` answered; return the statuses seen."""
    statuses: set[int] = set()
    seen: set[int] = set()
    deadline = time.monotonic() + 20
    while seen < pids:
        assert time.monotonic() < deadline, f"workers {pids - seen} never answered"
        for status, pid in many(ports, token, 8):
            statuses.add(status)
            seen.add(pid)
    return statuses


def test_a_fleet_shares_one_cache_on_redis(tmp_path: Path) -> None:
    """One lookup per new token for the fleet; invalidate and outages as promised."""
    (tmp_path / "fleet_app.py").write_text(FLEET_APP)
    redis_server = RedisServer().start()
    instances = []
    try:
        with (
            FakeAuthServer() as server,
            Urllib3Transport(allow_insecure_http=True) as http,
        ):
            owner = ca.Config(server.url, token=server.user_token)
            token = ca.create_token(owner, http, "fleet test")
            environ = {
                **os.environ,
                "AUTH_URL": f"{server.url}/auth",
                "TOKEN_CACHE_REDIS_URL": redis_server.url,
                "TOKEN_CACHE_LOCAL_TTL": "30",
            }
            instances = [start_instance(tmp_path, name, environ) for name in ("a", "b")]
            deadline = time.monotonic() + 30
            ports = [serving_port(log, deadline) for _, log in instances]

            # A cold burst of 64 with a new token: one lookup for the fleet.
            server.set_delay(0.3)  # the lookups of a herd would overlap
            burst = many(ports, token, 32)
            server.set_delay(0.0)
            assert [status for status, _ in burst] == [200] * 64
            assert 1 <= server.count(*LOOKUPS) <= 2

            # 200 more, and then until every worker answered: no lookup.
            after_burst = server.count(*LOOKUPS)
            assert {status for status, _ in many(ports, token, 100)} == {200}
            assert server.count(*LOOKUPS) == after_burst
            pids = {pid for _, pid in burst}
            deadline = time.monotonic() + 20
            while len(pids) < 4:
                assert time.monotonic() < deadline, "not every worker answered"
                pids |= {pid for _, pid in many(ports, token, 8)}
            assert server.count(*LOOKUPS) == after_burst

            # Nothing in Redis holds a token, in a key or a value.
            entries = redis_server.dump()
            assert entries
            for key, value in entries:
                for secret in (token, server.user_token):
                    assert secret.encode() not in key + value

            # The key is deleted at the server; invalidate ends it everywhere.
            (info,) = [t for t in ca.get_tokens(owner, http) if t.token == token]
            ca.delete_token(owner, http, info.id)
            with RedisCache.from_url(redis_server.url) as operator:
                operator.invalidate(token)
            time.sleep(1.0)
            assert every_worker(ports, token, pids) == {401}

            # Killing Redis mid-run loses no request.
            valid = server.user_token
            assert every_worker(ports, valid, pids) == {200}
            statuses: list[int] = []

            def stream(port: int) -> None:
                for _ in range(40):
                    statuses.append(get(port, "/me", valid)[0])

            threads = [
                threading.Thread(target=stream, args=(port,))
                for port in ports
                for _ in range(4)
            ]
            for thread in threads:
                thread.start()
            time.sleep(0.1)
            redis_server.kill()
            for thread in threads:
                thread.join(timeout=60)
            assert statuses == [200] * 320
            assert get(ports[0], "/me", server.token("refresh_user"))[0] == 200
    finally:
        for process, _ in instances:
            process.terminate()
        for process, _ in instances:
            process.wait(timeout=30)
        redis_server.kill()
    logs = "".join(log.read_text() for _, log in instances)
    assert token not in logs
