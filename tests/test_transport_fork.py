"""Fork safety: a transport used before ``fork`` never mixes processes' answers.

The fake server runs in a process of its own, started by the test, so that
forking this process forks no server. A transport (and ``AuthClient``s, whose
transport is created lazily) is used in the parent first, so its pool holds
open connections; then a ``fork`` pool of four workers calls ``whoami`` with
four users' tokens while the parent keeps calling too. Every answer must be
the caller's own user.
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
import multiprocessing
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from loopback_server import LoopbackServer

import cave_auth as ca

pytestmark = pytest.mark.timeout(120)

SERVER_SCRIPT = """
import json, sys
from cave_auth.testing import FakeAuthServer
with FakeAuthServer() as server:
    users = {}
    for name in ("admin_token", "user_token", "service_account_token",
                 "group_admin_token"):
        users[getattr(server, name)] = name
    print(json.dumps({"url": server.url, "tokens": list(users)}), flush=True)
    sys.stdin.read()
"""

CALLS_PER_TASK = 50
USER_IDS = (1, 2, 3, 4, 5, 6)
"""Users of the fake server's default seed."""
SHARED: dict[str, Any] = {}
"""What the forked workers inherit: set by a test before it forks."""


@pytest.fixture(scope="module")
def server_process() -> Iterator[dict[str, Any]]:
    """A FakeAuthServer in its own process; yields its URL and tokens."""
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER_SCRIPT],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdin is not None
    info = json.loads(process.stdout.readline())
    yield info
    process.stdin.close()
    process.wait(10)


@pytest.fixture(scope="module")
def expected_ids(server_process: dict[str, Any]) -> dict[str, int]:
    """Each token's user id, asked once on a transport of its own."""
    with ca.Urllib3Transport() as http:
        return {
            token: ca.whoami(
                ca.Config(server_address=server_process["url"], token=token), http
            ).id
            for token in server_process["tokens"]
        }


def _transport_task(task: int) -> tuple[int, list[str]]:
    transport, url, tokens, ids = (
        SHARED["transport"],
        SHARED["url"],
        SHARED["tokens"],
        SHARED["ids"],
    )
    wrong, errors = 0, []
    for call in range(CALLS_PER_TASK):
        token = tokens[(task + call) % len(tokens)]
        config = ca.Config(server_address=url, token=token)
        try:
            if ca.whoami(config, transport).id != ids[token]:
                wrong += 1
        except ca.CaveAuthError as error:
            errors.append(str(error))
    return wrong, errors


def _client_task(task: int) -> tuple[int, list[str]]:
    client = SHARED["client"]
    wrong, errors = 0, []
    for call in range(CALLS_PER_TASK):
        user_id = USER_IDS[(task + call) % len(USER_IDS)]
        try:
            if [user["id"] for user in client.get_user_information([user_id])] != [
                user_id
            ]:
                wrong += 1
        except ca.CaveAuthError as error:
            errors.append(str(error))
    return wrong, errors


def _run_forked(task: Any, parent_task: Any) -> tuple[int, list[str]]:
    """Run 8 tasks in a fork pool of 4 while the parent runs its own calls."""
    context = multiprocessing.get_context("fork")
    parent_result: list[tuple[int, list[str]]] = []
    parent = threading.Thread(target=lambda: parent_result.append(parent_task(99)))
    with context.Pool(4) as pool:
        pending = pool.map_async(task, range(8))
        parent.start()
        results = pending.get(timeout=90)
    parent.join(60)
    wrong = sum(result[0] for result in [*results, *parent_result])
    errors = [error for result in [*results, *parent_result] for error in result[1]]
    return wrong, errors


def test_a_transport_used_before_fork_never_mixes_answers(
    server_process: dict[str, Any], expected_ids: dict[str, int]
) -> None:
    """Children of a fork and their parent each get their own users' answers."""
    transport = ca.Urllib3Transport()
    tokens = server_process["tokens"]
    for token in tokens:
        config = ca.Config(server_address=server_process["url"], token=token)
        assert ca.whoami(config, transport).id == expected_ids[token]
    SHARED.update(
        transport=transport, url=server_process["url"], tokens=tokens, ids=expected_ids
    )
    try:
        wrong, errors = _run_forked(_transport_task, _transport_task)
        after = ca.Config(server_address=server_process["url"], token=tokens[0])
        assert ca.whoami(after, transport).id == expected_ids[tokens[0]]
    finally:
        SHARED.clear()
        transport.close()
    print(f"fork: {9 * CALLS_PER_TASK} calls, {wrong} wrong, {len(errors)} errors")
    assert (wrong, errors) == (0, [])


def test_a_module_level_auth_client_survives_fork(
    server_process: dict[str, Any], expected_ids: dict[str, int]
) -> None:
    """An AuthClient whose transport was made before fork answers right in children.

    Each call asks for another user, so an answer read from another
    process's request shows up as the wrong user.
    """
    admin = server_process["tokens"][0]
    client = ca.AuthClient(
        server_address=server_process["url"],
        token=admin,
        store=ca.MemoryStore(),
        environ={},
    )
    assert client.whoami()["id"] == expected_ids[admin]
    SHARED.update(client=client)
    try:
        wrong, errors = _run_forked(_client_task, _client_task)
    finally:
        SHARED.clear()
        client.close()
    print(f"fork, AuthClient: {9 * CALLS_PER_TASK} calls, {wrong} wrong")
    assert (wrong, errors) == (0, [])


def test_a_child_opens_its_own_connection_and_leaves_the_parents_alone() -> None:
    """After fork the child connects anew; the parent keeps its pooled socket."""
    server = LoopbackServer()
    transport = ca.Urllib3Transport()
    try:
        transport.request("GET", server.url("/parent-1"), headers={})
        pid = os.fork()
        if pid == 0:
            try:
                status = transport.request("GET", server.url("/child"), headers={})
                transport.close()
                os._exit(0 if status.status == 200 else 1)
            except BaseException:
                os._exit(2)
        _, code = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(code) == 0
        transport.request("GET", server.url("/parent-2"), headers={})
    finally:
        transport.close()
        server.stop()
    ports = {entry.path: entry.client[1] for entry in server.requests}
    assert ports["/child"] != ports["/parent-1"]
    assert ports["/parent-2"] == ports["/parent-1"]


def test_thirty_two_threads_share_one_transport(
    server_process: dict[str, Any],
    expected_ids: dict[str, int],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Threads keep sharing a transport: no errors and no pool warnings."""
    tokens = server_process["tokens"]
    transport = ca.Urllib3Transport()

    def call(index: int) -> bool:
        token = tokens[index % len(tokens)]
        config = ca.Config(server_address=server_process["url"], token=token)
        return ca.whoami(config, transport).id == expected_ids[token]

    with (
        caplog.at_level(logging.WARNING),
        transport,
        concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool,
    ):
        results = list(pool.map(call, range(640)))
    assert results == [True] * 640
    assert [
        r.getMessage() for r in caplog.records if r.name.startswith("urllib3")
    ] == []
