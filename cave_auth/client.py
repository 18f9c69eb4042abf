"""``AuthClient``: a drop-in for CAVEclient's ``client.auth``, built on the core.

Design: this class is an edge. It holds exactly one piece of state, the
current immutable :class:`~cave_auth.Config`, plus the I/O objects it was
given (a :class:`~cave_auth.TokenStore`, a :class:`~cave_auth.Transport`, a
browser opener). Every method is a line or two of wiring onto the pure
functions of the package (:func:`~cave_auth.resolve_token`,
:func:`~cave_auth.save_token`, :func:`~cave_auth.setup_instructions`, the
endpoint calls of :mod:`cave_auth.api`) followed, where CAVEclient returns
plain JSON, by :func:`cave_auth.models.unstructure`. Changing the token, the
key or the local server swaps the Config for a new, validated one.

The names, parameters, defaults and return shapes are CAVEclient's
(``caveclient.auth.AuthClient``), so code written against CAVEclient's
``AuthClient`` keeps working when it builds a ``cave_auth.AuthClient``
instead. What differs, on purpose:

* The environment is read once, in ``__init__``, through
  :meth:`Config.from_env <cave_auth.Config.from_env>`: ``CAVE_TOKEN``,
  ``CAVE_SERVER_ADDRESS``, ``CAVE_TOKEN_KEY`` and ``CLOUD_VOLUME_DIR``; the
  proxy and CA bundle variables read then configure the transport the client
  creates (:meth:`Urllib3Transport.from_env
  <cave_auth.Urllib3Transport.from_env>`), as requests would.
  Explicit arguments win over it. ``CAVE_TOKEN`` is used only when none of
  ``token``, ``token_file`` or ``token_key`` is passed, and
  ``CAVE_SERVER_ADDRESS`` only when ``server_address`` is left at its default.
* Token lookup is :func:`~cave_auth.resolve_token`'s: the given token, then
  ``token_file``, the server's own file, ``cave-secret.json`` and the
  deprecated ``chunkedgraph-secret.json``, first file *holding the key* wins.
  CAVEclient stops at the server file when it exists, even without the key;
  this class goes on to the default file, so it finds a superset.
* Errors are :mod:`cave_auth.errors` exceptions (``MissingTokenError``
  before any request when there is no token, ``AuthenticationError`` on a
  rejected token, ...) instead of ``requests`` errors, and no message shows
  the token. ``repr`` never shows it either.
* Nothing happens at construction beyond reading the secrets files: the HTTP
  transport is created on the first endpoint call, and a browser is opened
  only by the methods that say so, through the injectable ``opener``.
* ``get_token(None)`` reads the key ``"token"`` (what CAVEclient documents),
  ``get_user_information([])`` returns ``[]`` without a request, and saving
  with no token at all raises instead of writing ``null``.
* The instruction methods print CAVEclient's text and also return it (or
  the URL, for :meth:`AuthClient.get_token_page`), so programs can show the
  guidance their own way; CAVEclient returns ``None`` from the first two.

Like CAVEclient's, a client survives :func:`copy.copy`,
:func:`copy.deepcopy` and :mod:`pickle` (so a ``CAVEclient`` can go to a Dask
or ``spawn`` worker) with its settings, token and store. Its lock and the
transport it opened stay behind: a copy opens its own on first use. A
transport passed in is the caller's: ``copy`` and ``deepcopy`` share it,
``pickle`` leaves it behind.

Extras CAVEclient lacks: :attr:`AuthClient.config`,
:attr:`AuthClient.token_source`, :meth:`AuthClient.whoami`,
:meth:`AuthClient.from_config`, :meth:`AuthClient.close` and use as a context
manager.
"""

from __future__ import annotations

import copy
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from . import api
from .config import DEFAULT_SERVER_ADDRESS, DEFAULT_TOKEN_KEY, Config
from .models import unstructure
from .store import FileStore, TokenStore
from .tokens import (
    Instructions,
    local_server_token_path,
    request_header,
    resolve_token,
    save_token,
    setup_instructions,
    with_token,
)
from .transport import Transport

__all__ = ["AuthClient"]

Opener = Callable[[str], object]
"""Opens a URL for a person, like :func:`webbrowser.open`."""


_NETWORK_VARIABLES = frozenset(
    {
        *(f"{name}_proxy" for name in ("http", "https", "all", "no")),
        *(f"{name.upper()}_PROXY" for name in ("http", "https", "all", "no")),
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
    }
)
"""The variables the transport an AuthClient creates is configured by."""


def _open_in_browser(url: str) -> object:
    import webbrowser

    return webbrowser.open(url)


class AuthClient:
    """Client to find and use auth tokens to access the other CAVE services.

    A drop-in for CAVEclient's ``client.auth`` (``caveclient.auth.AuthClient``)
    with the same methods, parameters, defaults and return values, built on
    ``cave_auth``'s functions; see the module documentation for the small,
    deliberate differences.

    Args:
        token_file: A JSON secrets file to look in before the standard ones
            (``~`` allowed).
        token_key: The key of the token in the secrets files; ``None`` means
            ``CAVE_TOKEN_KEY`` from the environment, else ``"token"``.
        token: The token itself; overrides every file and ``CAVE_TOKEN``.
        server_address: The auth server; a bare host gets ``https://``. Left
            at the default (or ``None``), ``CAVE_SERVER_ADDRESS`` from the
            environment is used if set.
        local_server: The address of a local CAVE deployment whose secrets
            file :meth:`save_token` keeps in sync, or ``None``.
        store: Where secrets files live; default :class:`~cave_auth.FileStore`
            (real files). Pass a :class:`~cave_auth.MemoryStore` in tests.
        transport: The HTTP transport; default a
            :class:`~cave_auth.Urllib3Transport` created on the first endpoint
            call.
        environ: The environment to read once, here; default ``os.environ``.
        opener: Opens a URL in a browser; default :func:`webbrowser.open`
            (imported only when a browser is actually opened).

    Raises:
        InvalidInputError: If an argument or environment variable is
            malformed (for example a token holding whitespace).
        TokenFileError: If a secrets file on the search path is corrupt.

    Example:
        >>> from cave_auth import AuthClient, MemoryStore
        >>> store = MemoryStore()
        >>> auth = AuthClient(store=store, environ={})
        >>> auth.save_token(token="abc123")
        >>> AuthClient(store=store, environ={}).request_header
        {'Authorization': 'Bearer abc123'}
    """

    def __init__(
        self,
        token_file: str | os.PathLike[str] | None = None,
        token_key: str | None = None,
        token: str | None = None,
        server_address: str | None = DEFAULT_SERVER_ADDRESS,
        local_server: str | None = None,
        *,
        store: TokenStore | None = None,
        transport: Transport | None = None,
        environ: Mapping[str, str] | None = None,
        opener: Opener | None = None,
    ) -> None:
        env: Mapping[str, str] = os.environ if environ is None else environ
        overrides: dict[str, object] = {}
        if server_address is not None and server_address != DEFAULT_SERVER_ADDRESS:
            overrides["server_address"] = server_address
        if token_file is not None:
            overrides["token_file"] = os.fspath(token_file)
        if token_key is not None:
            overrides["token_key"] = token_key
        if token is not None:
            overrides["token"] = token
        elif token_file is not None or token_key is not None:
            env = {name: value for name, value in env.items() if name != "CAVE_TOKEN"}
        if local_server:
            overrides["local_server"] = local_server
        config = Config.from_env(env, **overrides)
        store = FileStore() if store is None else store
        network_env = {n: v for n, v in env.items() if n in _NETWORK_VARIABLES}
        self._setup(with_token(config, store), store, transport, opener, network_env)

    def _setup(
        self,
        config: Config,
        store: TokenStore,
        transport: Transport | None,
        opener: Opener | None,
        network_env: Mapping[str, str],
    ) -> None:
        self._config = config
        self._store = store
        self._transport = transport
        self._owns_transport = False
        self._transport_lock = threading.Lock()
        self._opener: Opener = _open_in_browser if opener is None else opener
        self._network_env = network_env

    @classmethod
    def from_config(
        cls,
        config: Config,
        *,
        store: TokenStore | None = None,
        transport: Transport | None = None,
        opener: Opener | None = None,
    ) -> AuthClient:
        """Build a client from an existing Config, without reading the environment.

        This is an extra that CAVEclient lacks. If ``config`` has no token, the
        store is searched for one, as the constructor does.

        Args:
            config: The settings to start from.
            store: Where secrets files live; default a
                :class:`~cave_auth.FileStore`.
            transport: The HTTP transport; default one created on first use.
            opener: Opens a URL in a browser; default :func:`webbrowser.open`.

        Returns:
            The new client.

        Raises:
            TokenFileError: If a secrets file on the search path is corrupt.
        """
        store = FileStore() if store is None else store
        client = cls.__new__(cls)
        client._setup(with_token(config, store), store, transport, opener, {})
        return client

    def __repr__(self) -> str:
        config = self._config
        token = None if config.token is None else "<set>"
        return (
            f"AuthClient(server_address={config.server_address!r}, "
            f"token_key={config.token_key!r}, token={token}, "
            f"token_source={self.token_source!r}, "
            f"local_server={config.local_server!r})"
        )

    def __enter__(self) -> AuthClient:
        """Use the client in a ``with`` block that closes it at the end.

        Returns:
            The client itself.
        """
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the transport the client created, if any."""
        self.close()

    def close(self) -> None:
        """Close the HTTP transport if this client created it.

        This is an extra that CAVEclient lacks. A transport that was passed in
        belongs to the caller and is left open. The client stays usable: the
        next endpoint call opens a new transport.
        """
        with self._transport_lock:
            transport, owned = self._transport, self._owns_transport
            if owned:
                self._transport, self._owns_transport = None, False
        if owned and transport is not None:
            close = getattr(transport, "close", None)
            if callable(close):
                close()

    # ---------------------------------------------------------------- copies

    def __copy__(self) -> AuthClient:
        return self._copy(self._store)

    def __deepcopy__(self, memo: dict[int, Any]) -> AuthClient:
        return self._copy(copy.deepcopy(self._store, memo))

    def _copy(self, store: TokenStore) -> AuthClient:
        # Nothing one could close is shared: the copy opens its own transport,
        # unless the caller gave one (theirs, and never closed by a client).
        with self._transport_lock:
            given = None if self._owns_transport else self._transport
        clone = type(self).__new__(type(self))
        clone._setup(self._config, store, given, self._opener, self._network_env)
        return clone

    def __getstate__(self) -> tuple[Config, TokenStore, Opener, Mapping[str, str]]:
        # Settings only: the lock and any transport (this process's sockets)
        # stay behind; the other side opens its own transport on first use.
        return self._config, self._store, self._opener, self._network_env

    def __setstate__(
        self, state: tuple[Config, TokenStore, Opener, Mapping[str, str]]
    ) -> None:
        config, store, opener, network_env = state
        self._setup(config, store, None, opener, network_env)

    def _http(self) -> Transport:
        transport = self._transport
        if transport is not None:
            # No lock once made: a child forked while another thread held it
            # must not wait for a release that never comes.
            return transport
        with self._transport_lock:
            if self._transport is None:
                from .transport import Urllib3Transport

                self._transport = Urllib3Transport.from_env(self._network_env)
                self._owns_transport = True
            return self._transport

    # -------------------------------------------------------------- properties

    @property
    def config(self) -> Config:
        """The current settings, as an immutable Config (an extra).

        Pass it to any ``cave_auth`` function, e.g.
        ``cave_auth.get_group_users(auth.config, transport, 2)``.
        """
        return self._config

    @property
    def token(self) -> str | None:
        """Secret token used to authenticate yourself to the CAVE services.

        Setting it checks the new value (a non-empty string without
        whitespace or control characters) and uses it from then on;
        ``None`` forgets the token.

        Raises:
            InvalidInputError: When set to a malformed token (a ``ValueError``).
        """
        return self._config.token

    @token.setter
    def token(self, new_token: str | None) -> None:
        self._config = attrs.evolve(
            self._config, token=new_token, token_source="config"
        )

    @property
    def token_source(self) -> str | None:
        """Where the current token came from, or ``None`` without a token (an extra).

        ``"config"`` for a token passed in or set, ``"env:CAVE_TOKEN"``, or
        ``"<file>#<key>"`` for one read from a secrets file.
        """
        if self._config.token is None:
            return None
        return self._config.token_source

    @property
    def request_header(self) -> dict[str, str]:
        """Formatted request header with the specified token.

        ``{"Authorization": "Bearer <token>"}``, or ``{}`` without a token.
        """
        return request_header(self._config.token)

    @property
    def local_server(self) -> str | None:
        """The local CAVE deployment whose secrets file is kept in sync, or None.

        Setting it normalizes the address (``https://`` added to a bare host);
        a false value (``None``, ``""``) unsets it.

        Raises:
            InvalidInputError: When set to a malformed address.
        """
        return self._config.local_server

    @local_server.setter
    def local_server(self, new_val: str | None) -> None:
        self._config = attrs.evolve(self._config, local_server=new_val or None)

    @property
    def local_server_filepath(self) -> str | None:
        """The secrets file of :attr:`local_server`, ``~`` expanded, or None."""
        path = local_server_token_path(self._config)
        return None if path is None else os.path.expanduser(path)

    # ------------------------------------------------------------ token files

    def get_token(self, token_key: str | None = None) -> None:
        """Load the token stored under a given key in the secrets files.

        The files are searched again, in the usual order, for ``token_key``;
        the client then uses what was found, or no token at all.

        Args:
            token_key: The key in the secrets files; ``None`` means ``"token"``.

        Raises:
            InvalidInputError: If ``token_key`` is empty.
            TokenFileError: If a secrets file on the way is corrupt.
        """
        key = DEFAULT_TOKEN_KEY if token_key is None else token_key
        config = attrs.evolve(self._config, token=None, token_key=key)
        found = resolve_token(config, self._store)
        if found is not None:
            config = attrs.evolve(config, token=found.token, token_source=found.source)
        self._config = config

    def save_token(
        self,
        token: str | None = None,
        token_key: str = DEFAULT_TOKEN_KEY,
        overwrite: bool = False,
        token_file: str | os.PathLike[str] | None = None,
        switch_token: bool = True,
        write_to_server_file: bool = True,
        ignore_readonly: bool = True,
        local_server: bool = True,
    ) -> None:
        """Conveniently save a token in the correct format.

        After getting a new token by following :meth:`get_new_token`, save it
        with ``auth.save_token(token="my_shiny_new_token")``; the next
        ``AuthClient()`` then finds it. Files are written atomically, mode
        0600, keeping the other keys they hold.

        Args:
            token: New token to save; ``None`` saves the current token.
            token_key: Key for the token in the secrets files.
            overwrite: Allow a different existing token under the key to be
                replaced. Saving the same token again is never an error.
            token_file: Path to the target file; ``None`` means the client's
                ``token_file``, else ``cave-secret.json``.
            switch_token: Use the saved token (and key, and file) from now on.
            write_to_server_file: Also write the server's own file,
                ``{host}-cave-secret.json``, for machines using several servers.
            ignore_readonly: Skip, instead of failing on, files whose
                directory is read-only.
            local_server: Also sync the :attr:`local_server`'s file, if set.

        Raises:
            MissingTokenError: If ``token`` is None and so is the current one.
            InvalidInputError: If the token or key is malformed (a
                ``ValueError``).
            TokenKeyExistsError: If a file holds another token under the key
                and not ``overwrite`` (a ``ValueError``); nothing is written.
            TokenFileError: If a file is corrupt, or read-only and not
                ``ignore_readonly``.
        """
        result = save_token(
            self._config,
            self._store,
            token,
            token_key=token_key,
            overwrite=overwrite,
            token_file=None if token_file is None else os.fspath(token_file),
            write_to_server_file=write_to_server_file,
            ignore_readonly=ignore_readonly,
            local_server=local_server,
        )
        if switch_token:
            self._config = result.config

    # ------------------------------------------------------- instructions

    def setup_instructions(self, make_new: bool = True) -> Instructions:
        """Return how to get a token by hand, as data; print and open nothing.

        Args:
            make_new: If True, point at the page that makes a new token; else
                at the page listing your existing tokens.

        Returns:
            The page to open and the steps CAVEclient prints.
        """
        return setup_instructions(self._config, make_new=make_new)

    def get_new_token(self, open: bool = False, no_text: bool = False) -> None:
        """Print how to get a new token by hand, and optionally open its page.

        New tokens cannot be obtained programmatically: a person logs in with
        a browser. Creating a new token may invalidate the previous one.

        Args:
            open: If True, open a web browser at the page that creates a token.
            no_text: If True, print nothing.

        Returns ``None``, as CAVEclient does (so a REPL shows the steps once);
        :meth:`setup_instructions` gives them as data.
        """
        instructions = setup_instructions(self._config, make_new=True)
        if not no_text:
            print(instructions.text)
        if open:
            self._opener(instructions.url)

    def setup_token(self, make_new: bool = True, open: bool = True) -> None:
        """Print how to get your token by hand, and optionally open its page.

        Args:
            make_new: If True, point at the page that makes a new token (see
                :meth:`get_new_token`); else at the page listing your existing
                tokens.
            open: If True, open a web browser at that page.

        Returns ``None``, as CAVEclient does; :meth:`setup_instructions`
        gives the steps as data.
        """
        if make_new:
            self.get_new_token(open=open)
            return
        instructions = setup_instructions(self._config, make_new=False)
        print(instructions.text)
        if open:
            self._opener(instructions.url)

    def get_token_page(self, open: bool = True) -> str:
        """Return, and optionally open, the page listing your tokens.

        Args:
            open: If True, open a web browser at the page.

        Returns:
            The page's URL, ``{server}/sticky_auth/settings/tokens``.
        """
        url = setup_instructions(self._config, make_new=False).url
        if open:
            self._opener(url)
        return url

    # ---------------------------------------------------------- endpoints

    def get_tokens(self) -> list[dict[str, Any]]:
        """Get the tokens (API keys) set up for this user.

        Returns:
            One dict per key, newest first, as the server sends them: ``id``
            (the key's id), ``token`` (the key itself), ``user_id`` (your id),
            ``description``, ``created``, ``last_used``, ``updated``.

        Raises:
            MissingTokenError: If there is no token (before any request).
            AuthenticationError: If the server rejects the token.
            TransportError: If the server cannot be reached.
        """
        tokens = api.get_tokens(self._config, self._http())
        return unstructure(tokens)  # type: ignore[no-any-return]

    def get_user_information(self, user_ids: Iterable[int]) -> list[dict[str, Any]]:
        """Get user data; the token's user must administer something.

        Args:
            user_ids: The user ids to look up. An empty list makes no request.

        Returns:
            One dict per user found, as the server sends them; unknown ids are
            left out.

        Raises:
            InvalidInputError: If ``user_ids`` is not a list of integer ids.
            MissingTokenError: If there is no token.
            PermissionDeniedError: If the user administers nothing (403).
            AuthenticationError: If the server rejects the token.
            TransportError: If the server cannot be reached.
        """
        users = api.get_user_information(self._config, self._http(), user_ids)
        return unstructure(users)  # type: ignore[no-any-return]

    def get_group_users(self, group_id: int) -> list[dict[str, Any]]:
        """Get the users in a group.

        Args:
            group_id: ID value for a given group.

        Returns:
            One dict per member, ``{"admin", "id", "name"}``. Empty if the
            group does not exist.

        Raises:
            InvalidInputError: If ``group_id`` is not a non-negative integer.
            MissingTokenError: If there is no token.
            PermissionDeniedError: If the user administers nothing (403).
            AuthenticationError: If the server rejects the token.
            TransportError: If the server cannot be reached.
        """
        members = api.get_group_users(self._config, self._http(), group_id)
        return unstructure(members)  # type: ignore[no-any-return]

    def whoami(self) -> dict[str, Any]:
        """Get the user the token belongs to (an extra; ``GET /user/me``).

        A cheap way to check that a token works.

        Returns:
            The user record as the server sends it (``id``, ``name``,
            ``email``, ``admin``, ...).

        Raises:
            MissingTokenError: If there is no token.
            AuthenticationError: If the server rejects the token.
            TransportError: If the server cannot be reached.
        """
        user = api.whoami(self._config, self._http())
        return unstructure(user)  # type: ignore[no-any-return]
