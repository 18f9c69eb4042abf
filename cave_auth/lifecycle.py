"""The token lifecycle: log in through the browser, rotate, log out.

These workflows are edges: they combine endpoint calls, a store and (for
login) the loopback listener of :mod:`cave_auth.loopback`. They read no
environment and print nothing; the caller passes the browser opener.

The order of steps is chosen so that a failure never leaves the user worse
off than before:

* :func:`login` checks that the save will be allowed before a browser is
  opened, verifies the login token, exchanges it for an API key, verifies
  the key, ends the login token and only then saves. A key made but not
  saved is deleted again, a login token that could not be exchanged is
  ended (best effort); nothing is saved on failure. The key goes to the
  server's own file, and to the shared ``cave-secret.json`` only as
  :mod:`cave_auth.ownership` allows (never over another server's token).
* :func:`rotate_token` creates the new key with the current token, verifies
  it, saves it in the server's own file and over every saved copy of the old
  one (every file, every key), and only then deletes the old key (found by
  matching :func:`~cave_auth.get_tokens`). Until the save the old token is
  untouched; a new key that was made but not saved is deleted again, and an
  old key with a copy that could not be replaced is kept.
* :func:`logout_token` deletes an API key on the server (or ends a login
  token with ``/logout``) and then forgets it locally, also when the server
  no longer knows it.

:func:`token_expiry` tells the two kinds apart the same way, from the user's
list of API keys, so that an API key never travels in a URL.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import socket
from collections.abc import Callable

import attrs

from .api import (
    create_token,
    delete_token,
    get_token_ttl,
    get_tokens,
    logout,
    whoami,
)
from .config import Config
from .errors import (
    AuthenticationError,
    CaveAuthError,
    TokenFileError,
    TokenKeyExistsError,
)
from .inventory import ForgetResult, forget_token
from .loopback import LoopbackListener, receive_token
from .models import User
from .ownership import (
    Servers,
    SharedFile,
    plan_shared,
    replace_copies,
    save_for_server,
)
from .routes import MAX_DESCRIPTION_LENGTH
from .store import TokenStore, directory_problem
from .tokens import (
    SaveResult,
    mask_token,
    missing_token_error,
    read_token,
    save_token,
    server_token_path,
    with_token,
)
from .transport import Transport

__all__ = [
    "LoginResult",
    "LogoutResult",
    "RotateResult",
    "default_description",
    "login",
    "logout_token",
    "rotate_token",
    "token_expiry",
]


def default_description(
    hostname: str | None = None, today: _dt.date | None = None
) -> str:
    """Return the description a new key gets: ``"cave-auth on <host>, <date>"``.

    Args:
        hostname: The machine's name; :func:`socket.gethostname` by default.
        today: The date; today by default.

    Returns:
        The description, cut to the server's 120-character limit.
    """
    host = hostname if hostname is not None else socket.gethostname()
    date = (today or _dt.date.today()).isoformat()
    text = f"cave-auth on {host}, {date}"
    if len(text) <= MAX_DESCRIPTION_LENGTH:
        return text
    room = MAX_DESCRIPTION_LENGTH - len(f"cave-auth on …, {date}")
    return f"cave-auth on {host[:room]}…, {date}"


@attrs.frozen
class LoginResult:
    """What :func:`login` did.

    Attributes:
        config: The Config to use from now on, holding the saved token.
        user: Who is logged in.
        saved: Where the token was written.
        exchanged: Whether the login token was exchanged for an API key
            (else the 7-day login token itself was saved).
        login_token_ended: Whether the login token was ended on the server.
        shared: What was done with the shared ``cave-secret.json``, and why.
    """

    config: Config
    user: User
    saved: SaveResult
    exchanged: bool
    login_token_ended: bool
    shared: SharedFile | None = None


@attrs.frozen
class RotateResult:
    """What :func:`rotate_token` did.

    Attributes:
        config: The Config to use from now on, holding the new token.
        user: Whose token it is.
        saved: Where the new token was written.
        old_token_ended: Whether the old token was deleted (or ended) on the
            server; ``False`` with ``keep_old`` or when that failed.
        problem: Why the old token could not be ended, or ``None``.
        copies: The other copies of the old token replaced (``path#key``).
    """

    config: Config
    user: User
    saved: SaveResult
    old_token_ended: bool
    problem: str | None = None
    copies: tuple[str, ...] = ()


@attrs.frozen
class LogoutResult:
    """What :func:`logout_token` did.

    Attributes:
        ended_on_server: Whether the server ended the token now.
        already_dead: Whether the server had already rejected it.
        kind: ``"api key"`` or ``"login token"`` (``"unknown"`` if the
            server was not asked or no longer knew it).
        forgotten: What was removed from the local files.
    """

    ended_on_server: bool
    already_dead: bool
    kind: str
    forgotten: ForgetResult


def _check_save_allowed(
    config: Config,
    store: TokenStore,
    overwrite: bool,
    servers: Servers,
    make_default: bool,
) -> None:
    """Raise now, before a browser is opened, if the final save would be refused."""
    shared = plan_shared(
        config, store, None, servers, overwrite=overwrite, make_default=make_default
    )
    own = server_token_path(config)
    paths = [own, shared.path] if shared.write else [own]
    for path in dict.fromkeys(paths):
        problem = directory_problem(store, path)
        if problem is not None:
            raise TokenFileError(path, f"not written: {problem}")
        guarded = path == own or shared.guarded
        if overwrite or not guarded:
            continue
        held = read_token(store, path, config.token_key)
        if held is not None and store.is_writable(path):
            raise TokenKeyExistsError(path, config.token_key)


def _key_id(config: Config, transport: Transport, token: str) -> int | None:
    """Return the id of the API key ``token`` among the user's keys, if any."""
    for info in get_tokens(config, transport):
        if info.token == token:
            return info.id
    return None


def token_expiry(config: Config, transport: Transport) -> _dt.datetime | None:
    """Return when the config's token expires; ``None`` for an API key (never).

    ``GET /user/token/<token>/ttl`` carries the token in its path, so the
    server's access log keeps it. The kind of token is therefore found first
    from the user's API keys (``GET /user/token``, which sends them in its
    body): an API key, which does not expire and must not be logged, is never
    asked about; only a login token, absent from that list and dead within
    7 days anyway, goes through the TTL route.

    Args:
        config: The settings, with the token to ask about.
        transport: The HTTP transport.

    Returns:
        The moment (UTC) a login token ends, or ``None`` for a token that
        never expires.

    Raises:
        MissingTokenError: If ``config.token`` is None (before any I/O).
        AuthenticationError: If the server rejects the token.
        HTTPError, TransportError, ResponseFormatError: If a call fails.
    """
    token = config.token
    if token is None:
        raise missing_token_error(config)
    if _key_id(config, transport, token) is not None:
        return None
    ttl = get_token_ttl(config, transport)
    if ttl is None:
        return None
    return _dt.datetime.now(_dt.UTC) + _dt.timedelta(seconds=ttl)


def _delete_key(config: Config, transport: Transport, token: str) -> None:
    """Delete the API key ``token`` using ``config``'s token; never raises."""
    with contextlib.suppress(CaveAuthError):
        key_id = _key_id(config, transport, token)
        if key_id is not None:
            delete_token(config, transport, key_id)


def _end_login_token(config: Config, transport: Transport) -> bool:
    """End ``config``'s login token with ``/logout``; never raises."""
    try:
        logout(config, transport)
    except CaveAuthError:
        return False
    return True


def login(
    config: Config,
    store: TokenStore,
    transport: Transport,
    *,
    opener: Callable[[str], object],
    port: int = 0,
    timeout: float = 300.0,
    exchange: bool = True,
    description: str | None = None,
    overwrite: bool = False,
    listener: LoopbackListener | None = None,
    servers: Servers | None = None,
    make_default: bool = False,
) -> LoginResult:
    """Log in through the browser and save the resulting token.

    Steps: check the save would be allowed; listen on 127.0.0.1 and call
    ``opener`` with the server's login URL; verify the login token with
    ``whoami``; with ``exchange``, create an API key and verify it, then end
    the login token; save the token where ``setup`` saves it.

    Args:
        config: The settings (the server, the key and the files to save to).
        store: Where secrets files live.
        transport: The HTTP transport.
        opener: Opens a URL in a browser; may block until the browser is back.
        port: The loopback port; 0 picks a free one.
        timeout: Seconds to wait for the browser to come back.
        exchange: Exchange the 7-day login token for an API key (the default).
        description: The new key's description; :func:`default_description`
            if ``None``.
        overwrite: Replace a different token already saved under the key.
        listener: A started :class:`~cave_auth.loopback.LoopbackListener` to
            use (``port`` is then ignored), for a caller that also feeds it
            pasted replies; the caller closes it.
        servers: The default server (whose token the shared file holds when
            no server's own file does) and the known addresses; the library
            default when ``None``.
        make_default: Also make the key the shared file's token.

    Returns:
        The new Config, the user, and where the token was saved.

    Raises:
        TokenKeyExistsError: If a token is saved under the key and not
            ``overwrite`` (raised before the browser is opened).
        LoginError: On a timeout, a wrong state, or no token in the callback.
        HTTPError, TransportError: If a server call fails; nothing is saved
            and a key already made is deleted again.
        TokenFileError: If the save fails; the key made is deleted again.
    """
    servers = Servers() if servers is None else servers
    _check_save_allowed(config, store, overwrite, servers, make_default)
    if description is None:
        description = default_description()
    login_token = receive_token(
        config.server_address, opener, port=port, timeout=timeout, listener=listener
    )
    login_config = attrs.evolve(config, token=login_token, token_source="login")
    user = whoami(login_config, transport)
    token = login_token
    ended = False
    if exchange:
        try:
            token = create_token(login_config, transport, description)
        except BaseException:
            _end_login_token(login_config, transport)
            raise
        try:
            user = whoami(attrs.evolve(config, token=token), transport)
        except BaseException:
            _delete_key(login_config, transport, token)
            _end_login_token(login_config, transport)
            raise
        ended = _end_login_token(login_config, transport)
    try:
        done = save_for_server(
            config,
            store,
            token,
            servers,
            overwrite=overwrite,
            make_default=make_default,
            local_server=True,
        )
    except BaseException:
        if exchange:
            _delete_key(attrs.evolve(config, token=token), transport, token)
        raise
    return LoginResult(
        config=done.saved.config,
        user=user,
        saved=done.saved,
        exchanged=exchange,
        login_token_ended=ended,
        shared=done.shared,
    )


def rotate_token(
    config: Config,
    store: TokenStore,
    transport: Transport,
    *,
    description: str | None = None,
    keep_old: bool = False,
) -> RotateResult:
    """Replace the saved token with a new API key, never leaving none working.

    Steps: create a new key with the current token; verify it; save it in
    the server's own file (or ``config.token_file``) and over every saved
    copy of the old one (every file and key of the secrets directory); only
    then delete the old key (found by matching :func:`~cave_auth.get_tokens`;
    a login token is ended with ``/logout``). If a copy cannot be replaced,
    the old key is kept, and ``problem`` says where.

    Args:
        config: The settings; the current token is ``config.token`` or the
            one found in the store.
        store: Where secrets files live.
        transport: The HTTP transport.
        description: The new key's description; :func:`default_description`
            if ``None``.
        keep_old: Keep the old token valid on the server.

    Returns:
        The new Config, the user, where it was saved, and whether the old
        token was ended.

    Raises:
        MissingTokenError: If there is no current token.
        HTTPError, TransportError: If creating or verifying the new key
            fails; the old token stays saved and working, and a new key
            already made is deleted again.
        TokenFileError: If the save fails; likewise.
    """
    config = with_token(config, store)
    old = config.token
    if old is None:
        raise missing_token_error(config)
    new = create_token(
        config,
        transport,
        description if description is not None else default_description(),
    )
    new_config = attrs.evolve(config, token=new)
    try:
        user = whoami(new_config, transport)
        saved = save_token(
            config,
            store,
            new,
            token_key=config.token_key,
            overwrite=True,
            # The server's own file, and the token file the old one came from.
            token_file=config.token_file or server_token_path(config),
            ignore_readonly=False,
        )
    except BaseException:
        _delete_key(config, transport, new)
        raise
    saved = attrs.evolve(
        saved, config=attrs.evolve(saved.config, token_file=config.token_file)
    )
    copies, failed = replace_copies(config, store, old, new)
    written = dict.fromkeys([*saved.written, *(path for path, _ in copies)])
    saved = attrs.evolve(saved, written=tuple(written))
    where = tuple(f"{path}#{key}" for path, key in copies)
    done = RotateResult(saved.config, user, saved, old_token_ended=False, copies=where)
    if failed:
        path, problem = failed[0]
        kept = f"the old token {mask_token(old)} stays valid: its copy in {path}"
        return attrs.evolve(done, problem=f"{kept} could not be replaced ({problem})")
    if keep_old:
        return done
    try:
        old_id = _key_id(new_config, transport, old)
        if old_id is not None:
            delete_token(new_config, transport, old_id)
        else:
            logout(config, transport)
    except CaveAuthError as error:
        problem = f"the old token {mask_token(old)} is still valid: {error}"
        return attrs.evolve(done, problem=problem)
    return attrs.evolve(done, old_token_ended=True)


def logout_token(
    config: Config,
    store: TokenStore,
    transport: Transport,
    *,
    keep_remote: bool = False,
) -> LogoutResult:
    """End the saved token on the server, then forget it locally.

    An API key is deleted (its id found through :func:`~cave_auth.get_tokens`);
    a login token is ended with ``/logout``. A token the server already
    rejects is still forgotten.

    Args:
        config: The settings; the token is ``config.token`` or the one found
            in the store.
        store: Where secrets files live.
        transport: The HTTP transport.
        keep_remote: Only forget the token locally; leave it valid.

    Returns:
        What happened on the server and which files changed.

    Raises:
        MissingTokenError: If there is no token.
        HTTPError, TransportError: If the server could not be asked (other
            than rejecting the token); nothing is forgotten then.
        TokenFileError: If a file cannot be written.
    """
    config = with_token(config, store)
    token = config.token
    if token is None:
        raise missing_token_error(config)
    ended, dead, kind = False, False, "unknown"
    if not keep_remote:
        try:
            key_id = _key_id(config, transport, token)
            if key_id is not None:
                kind = "api key"
                delete_token(config, transport, key_id)
            else:
                kind = "login token"
                logout(config, transport)
            ended = True
        except AuthenticationError:
            dead, kind = True, "unknown"
    forgotten = forget_token(config, store)
    return LogoutResult(
        ended_on_server=ended, already_dead=dead, kind=kind, forgotten=forgotten
    )
