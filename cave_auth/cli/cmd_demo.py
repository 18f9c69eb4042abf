"""``cave-auth demo``: the whole flow against an embedded fake server.

Starts a :class:`~cave_auth.testing.FakeAuthServer` on 127.0.0.1 and a
temporary secrets directory (the user's own files are never touched), then
logs in through the browser login (a
:class:`~cave_auth.testing.HeadlessBrowser` follows the local login page and
the fake server's redirect to the loopback listener; the fake server stands in
for Google), resolves the saved key, asks who it belongs to, lists keys, rotates
the key, lists group members, looks users up and shows a rejected token, all
with real HTTP through :class:`~cave_auth.Urllib3Transport`. It runs offline,
in about a second. The fake server is imported only when the demo runs, so no
other command loads it.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import attrs

from ..config import Config
from ..errors import AuthenticationError
from ..store import FileStore
from ..tokens import mask_token, missing_token_error, resolve_token
from .context import EXIT_AUTH_REJECTED, EXIT_OK, PROG, CommandError, Context
from .options import json_option
from .parser import Commands

__all__ = ["register", "run"]


def register(commands: Commands) -> None:
    """Add ``demo`` to the ``cave-auth`` parser.

    Args:
        commands: The registry of subcommands.
    """
    commands.add(
        "demo",
        summary="walk through the whole flow against an embedded fake server",
        description="Start a fake CAVE auth server on 127.0.0.1 and a temporary "
        "secrets directory (your own files are never touched), then log in "
        "through the browser login (a headless browser, no window opens), "
        "resolve the saved key, ask who it belongs to, list keys, rotate the "
        "key, list group members, look users up, and show a rejected token, "
        "with real HTTP. Runs offline.",
        examples=[f"{PROG} demo", f"{PROG} demo --json"],
        run=run,
        parents=[json_option()],
    )


def run(ctx: Context, args: argparse.Namespace) -> int:
    """Run ``cave-auth demo``.

    Args:
        ctx: The command's context (only its stdout is used).
        args: The parsed arguments (none).

    Returns:
        0 once every step has run.

    Raises:
        CommandError: If the fake server accepts a token it does not know.
        CaveAuthError: If a step fails (it does not, offline).
    """
    import tempfile

    from ..api import get_group_users, get_tokens, get_user_information, whoami
    from ..errors import PermissionDeniedError
    from ..lifecycle import login, rotate_token
    from ..testing import FakeAuthServer, HeadlessBrowser
    from ..transport import Urllib3Transport

    steps = 8
    shown: list[dict[str, Any]] = [{"step": 0, "title": "start", "lines": []}]

    def say(text: str = "") -> None:
        # With --json the lines are kept, step by step, and printed at the end.
        if args.json:
            if text:
                shown[-1]["lines"].append(text.strip())
        else:
            ctx.out(text)

    def title(text: str) -> None:
        shown.append({"step": len(shown), "title": text, "lines": []})
        if not args.json:
            ctx.out()
            ctx.out(f"[{len(shown) - 1}/{steps}] {text}")

    with (
        FakeAuthServer() as server,
        tempfile.TemporaryDirectory(prefix="cave-auth-demo-") as secrets_dir,
        Urllib3Transport(retries=1) as http,
    ):
        store = FileStore()
        config = Config(server_address=server.url, secrets_dir=secrets_dir)
        say(f"{PROG} demo: a fake CAVE auth server runs at {server.url};")
        say(f"secrets go to the temporary directory {secrets_dir}.")
        say("Every call below is real HTTP through Urllib3Transport.")

        title("Log in through the browser (cave_auth.login)")
        say("  a headless browser opens the login page; the fake server signs")
        say("  Norm User in at once (standing in for Google) and redirects it")
        say("  to the loopback listener with a 7-day login token")
        result = login(
            config,
            store,
            http,
            opener=HeadlessBrowser(),
            timeout=10,
            description="cave-auth demo",
        )
        say(f"  {result.user.name} is logged in; the login token was exchanged")
        say("  for an API key and ended; the key is saved where save_token saves:")
        for path in result.saved.written:
            say(f"  wrote {os.path.basename(path)} (mode 0600)")

        title("Resolve it again from the files (cave_auth.resolve_token)")
        found = resolve_token(config, store)
        if found is None:  # pragma: no cover - the login above saved it
            raise missing_token_error(config)
        say(f"  token {mask_token(found.token)}")
        say(f"  from  {os.path.basename(found.path or '')}, key {found.key!r}")
        user_config = attrs.evolve(config, token=found.token)

        title("Ask the server who the token belongs to (cave_auth.whoami)")
        me = whoami(user_config, http)
        say(f"  {me.name} <{me.email}>, user id {me.id}")

        title("List Norm's API keys, masked (cave_auth.get_tokens)")
        for info in get_tokens(user_config, http):
            say(f"  key #{info.id}: {mask_token(info.token)}  {info.description}")

        title("Rotate the saved key (cave_auth.rotate_token)")
        rotated = rotate_token(config, store, http, description="cave-auth demo 2")
        say(
            f"  new key {mask_token(rotated.config.token or '')} saved; "
            f"old key {mask_token(found.token)} deleted on the server"
        )
        user_config = rotated.config
        kept = [info.id for info in get_tokens(user_config, http)]
        say(f"  Norm's keys now: {', '.join(f'#{i}' for i in kept)}")

        title("List the members of group 2 (cave_auth.get_group_users)")
        try:
            get_group_users(user_config, http, 2)
        except PermissionDeniedError as exc:
            say(f"  as Norm (a plain user): refused, {exc.server_message!r}")
        gail = attrs.evolve(config, token=server.group_admin_token)
        for member in get_group_users(gail, http, 2):
            role = "group admin" if member.admin else "member"
            say(f"  as Gail (admin of group 2): {member.name} ({role})")

        title("Look users 1 and 2 up as the admin (cave_auth.get_user_information)")
        admin = attrs.evolve(config, token=server.admin_token)
        for user in get_user_information(admin, http, [1, 2]):
            say(f"  user {user.id}: {user.name} <{user.email}>")

        title("Try a token the server does not know")
        try:
            whoami(attrs.evolve(config, token=server.invalid_token), http)
        except AuthenticationError as exc:
            code = EXIT_AUTH_REJECTED
            say(f"  rejected: AuthenticationError (the CLI exits with {code})")
            say(f"  {exc}")
        else:  # pragma: no cover - the fake server rejects it
            raise CommandError("the fake server accepted an unknown token")
    say()
    say("Done: the server is stopped and the temporary secrets are deleted.")
    if args.json:
        ctx.json(shown)
    return EXIT_OK
