"""Every exception ``cave_auth`` raises on purpose.

``except CaveAuthError`` catches them all; those about bad arguments are also
:class:`ValueError`, as callers of CAVEclient expect::

    CaveAuthError
    ├── InvalidInputError (ValueError)        an argument is malformed
    │   └── InsecureTransportError            a token would cross plain http
    ├── TokenKeyExistsError (ValueError)      save would replace a different token
    ├── TokenFileError                        a secrets file is unreadable or corrupt
    ├── MissingTokenError                     no token anywhere; says how to get one
    ├── LoginError                            a browser login did not bring a token back
    ├── TransportError                        refused, timed out, TLS failure, proxy
    │   └── ResponseTooLargeError             the answer is over max_body_size
    ├── ResponseFormatError                   a 2xx answer that is not the expected JSON
    └── HTTPError                             the server answered with an error status
        ├── AuthenticationError               401, or a redirect to the login page
        ├── PermissionDeniedError             403
        │   └── TermsOfServiceRequired        403 ``missing_tos``; carries the form URL
        ├── NotFoundError                     404
        └── ServerError                       5xx, after the retries ran out

No message, ``repr`` or attribute of them holds a token.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import Config

__all__ = [
    "AuthenticationError",
    "CaveAuthError",
    "HTTPError",
    "InsecureTransportError",
    "InvalidInputError",
    "LoginError",
    "MissingTokenError",
    "NotFoundError",
    "PermissionDeniedError",
    "ResponseFormatError",
    "ResponseTooLargeError",
    "ServerError",
    "TermsOfServiceRequired",
    "TokenFileError",
    "TokenKeyExistsError",
    "TransportError",
    "missing_token_error",
]


class CaveAuthError(Exception):
    """The root of every error raised by ``cave_auth``."""


class InvalidInputError(CaveAuthError, ValueError):
    """An argument is malformed; raised before any file or network I/O."""


class InsecureTransportError(InvalidInputError):
    """A bearer token would be sent over plain ``http://`` to a remote host.

    Only a loopback host, directly or through a loopback proxy, may get a
    token over plain http, unless the transport allows it
    (``allow_insecure_http=True``).

    Attributes:
        proxy: The proxy the token would have crossed, its credentials
            masked, or ``None`` when the server itself is remote.
    """

    def __init__(self, message: str, *, proxy: str | None = None) -> None:
        self.proxy = proxy
        super().__init__(message)


class TokenKeyExistsError(CaveAuthError, ValueError):
    """Saving would replace a different token stored under ``key`` in ``path``."""

    def __init__(self, path: str, key: str) -> None:
        self.path = path
        self.key = key
        super().__init__(
            f"Key {key!r} already exists in token file {path!r} with a different "
            "token; pass overwrite=True to replace it"
        )


class TokenFileError(CaveAuthError):
    """A secrets file cannot be read, parsed or written.

    The message names the file and the problem, never the file's content.

    Attributes:
        path: The file at fault.
        problem: What is wrong with it, in a few words.
    """

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"Token file {path!r}: {problem}")


class MissingTokenError(CaveAuthError):
    """No token was given or found; ``token_page_url`` says where to get one."""

    def __init__(self, message: str, token_page_url: str | None = None) -> None:
        self.token_page_url = token_page_url
        super().__init__(message)


def missing_token_error(config: Config) -> MissingTokenError:
    """Build the error for a search that found no token: where, and how to get one.

    It names the files searched, ``CAVE_TOKEN`` and the server's token page
    (also its ``token_page_url``).
    """
    from .config import token_search_paths
    from .urls import token_page_url

    url = token_page_url(config.server_address)
    places = ", ".join(token_search_paths(config))
    return MissingTokenError(
        f"No auth token for {config.server_address}: none given, none in "
        f"CAVE_TOKEN, and no key {config.token_key!r} in {places}. "
        f"Get a token at {url} and save it with `cave-auth setup` or "
        "cave_auth.save_token().",
        token_page_url=url,
    )


class LoginError(CaveAuthError):
    """A browser login did not bring a usable token back; nothing was saved.

    A timeout, a callback with the wrong ``state`` or without a token, or
    pasted text holding none; the message says what to do next.
    """


class TransportError(CaveAuthError):
    """The request (``method``, ``url``) got no HTTP answer: refused, timeout, TLS."""

    def __init__(self, message: str, *, method: str = "", url: str = "") -> None:
        self.method = method
        self.url = url
        super().__init__(message)


class ResponseTooLargeError(TransportError):
    """The answer's body is over ``max_body_size``; refused before it is read."""


class ResponseFormatError(CaveAuthError):
    """A successful answer (from ``url``) whose body is not the JSON expected."""

    def __init__(self, message: str, *, url: str = "") -> None:
        self.url = url
        super().__init__(message)


class HTTPError(CaveAuthError):
    """The server answered with an error status.

    Attributes:
        status: The HTTP status code.
        method: The request's method.
        url: The request's URL, secrets masked.
        server_message: The server's own explanation (JSON ``message`` or
            ``error``, or the start of a text body), or ``""``.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        method: str,
        url: str,
        server_message: str = "",
    ) -> None:
        self.status = status
        self.method = method
        self.url = url
        self.server_message = server_message
        super().__init__(message)


class AuthenticationError(HTTPError):
    """The server did not accept the token (401), or sent the client to log in."""


class PermissionDeniedError(HTTPError):
    """The token is valid but lacks the permission the route needs (403)."""


class TermsOfServiceRequired(PermissionDeniedError):
    """A 403 ``missing_tos``: the user must accept a dataset's terms of service.

    Attributes:
        tos_form_url: The page where the terms can be accepted.
        tos_id: The terms' id, when the server sent it.
        tos_name: The terms' name, when the server sent it.
    """

    def __init__(
        self,
        message: str,
        *,
        tos_form_url: str,
        tos_id: int | None = None,
        tos_name: str | None = None,
        **http: Any,
    ) -> None:
        # ``http``: the keywords of HTTPError (status, method, url, ...).
        self.tos_form_url = tos_form_url
        self.tos_id = tos_id
        self.tos_name = tos_name
        super().__init__(message, **http)


class NotFoundError(HTTPError):
    """The route or the object it names does not exist (404)."""


class ServerError(HTTPError):
    """The server failed (5xx), and retrying did not help."""
