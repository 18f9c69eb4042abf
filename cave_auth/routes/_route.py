"""The request value, the route description and the input checks.

This module does no I/O. :class:`Route` builds an :class:`ApiRequest` and
parses the answer to it; see :mod:`cave_auth.routes` for how endpoint flows
use it.
"""

from __future__ import annotations

import json as _json
import operator
from collections.abc import Generator, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeAlias, TypeVar, cast
from urllib.parse import quote

import attrs

from .._redact import headers_repr, scrub
from ..config import token_problem
from ..errors import InvalidInputError, ResponseFormatError, missing_token_error
from ..models import converter
from ..urls import api_url
from ._status import ResponseLike, raise_for_response

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..config import Config

__all__ = [
    "ApiRequest",
    "Flow",
    "JsonShape",
    "Route",
    "validate_id",
    "validate_ids",
    "validate_name",
]

T = TypeVar("T")

_NOT_JSON = object()


@attrs.frozen
class ApiRequest:
    """One request to the auth server, as a value: what a transport is asked.

    Attributes:
        method: The HTTP method, e.g. ``"GET"``.
        url: The absolute URL, without query string.
        headers: The headers; ``repr`` hides ``Authorization``.
        params: Query parameters, or ``None``.
        json: A value to send as a JSON body, or ``None`` for no body.
    """

    method: str
    url: str
    headers: Mapping[str, str] = attrs.field(repr=headers_repr)
    params: Mapping[str, str] | None = None
    json: Any = None


Flow: TypeAlias = Generator[ApiRequest, ResponseLike, T]
"""An endpoint call as a generator: yields requests, is sent answers, returns."""


@attrs.frozen
class JsonShape:
    """A bare JSON answer that a route returns as it is, once checked.

    ``true``/``false``, a dataset name, root ids, a whole permission record.

    Attributes:
        description: What the answer is, for the error (``"true or false"``).
        accepts: Whether a decoded answer has this shape.
    """

    description: str
    accepts: Callable[[Any], bool] = attrs.field(repr=False)


@attrs.frozen
class Route(Generic[T]):
    """One route of the API: method, path template and result type.

    Attributes:
        method: The HTTP method.
        path: The path below ``/auth/api/v1``, with ``{name}`` fields
            (``"/group/{group_id}/user"``).
        result: What a 2xx answer becomes: a model or a ``list[...]`` of one,
            ``str`` for a new token, ``None`` for a deletion's ``"success"``,
            or a :class:`JsonShape` for a bare JSON answer.
    """

    method: str
    path: str
    result: Any

    def build(
        self,
        config: Config,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        **ids: int | str,
    ) -> ApiRequest:
        """Build the request for this route, carrying the config's token.

        ``ids`` are the values of the path's fields, already validated; each
        is percent-encoded as one path segment.

        Raises:
            MissingTokenError: If ``config.token`` is None.
        """
        if config.token is None:
            raise missing_token_error(config)
        path = self.path
        if ids:
            path = path.format(
                **{
                    name: value if type(value) is int else quote(str(value), safe="")
                    for name, value in ids.items()
                }
            )
        return ApiRequest(
            self.method,
            api_url(config.server_address, path),
            {"Authorization": "Bearer " + config.token, "Accept": "application/json"},
            params,
            json,
        )

    def parse(self, config: Config, request: ApiRequest, response: ResponseLike) -> T:
        """Turn the answer to ``request`` (built from ``config``) into the result.

        Raises:
            HTTPError: Or a subclass, for an error status (see
                :func:`raise_for_response`).
            ResponseFormatError: If a 2xx body is not this route's JSON.
        """
        raise_for_response(config, request.method, response)
        # Each ResponseFormatError is raised outside the except block: the
        # parser's exception quotes the body, which may echo the token, and
        # ``from None`` would only hide it, not drop it from __context__.
        try:
            data = _json.loads(response.body)
        except (ValueError, RecursionError):
            data = _NOT_JSON
        if data is _NOT_JSON:
            raise self._format_error(
                config, request, response, "a body that is not JSON"
            )
        if isinstance(self.result, JsonShape):
            if not self.result.accepts(data):
                what = f"an answer that is not {self.result.description}"
                raise self._format_error(config, request, response, what)
            return cast(T, data)
        if self.result is str:
            if token_problem(data) is not None:
                raise self._format_error(
                    config, request, response, "something not a token string"
                )
            return cast(T, data)
        if self.result is None:
            if data != "success":
                raise self._format_error(
                    config, request, response, 'another answer than "success"'
                )
            return cast(T, None)
        try:
            return cast(T, converter().structure(data, self.result))
        except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
            shape = f"an answer of another shape ({type(exc).__name__})"
        raise self._format_error(config, request, response, shape)

    def exchange(
        self,
        config: Config,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        **ids: int | str,
    ) -> Flow[T]:
        """The flow of one request: build it, yield it, parse the answer sent back."""
        request = self.build(config, params=params, json=json, **ids)
        response = yield request
        return self.parse(config, request, response)

    def _format_error(
        self, config: Config, request: ApiRequest, response: ResponseLike, what: str
    ) -> ResponseFormatError:
        url = scrub(response.url or request.url, config.token)
        message = f"{request.method} {url} answered {response.status} with {what}"
        if getattr(response, "redirected", False):
            asked = scrub(request.url, config.token)
            message = (
                f"{request.method} {asked} was redirected to {url}, which answered "
                f"{response.status} with {what}"
            )
            if request.method == "POST":
                message += (
                    "; a POST redirected with 301, 302 or 303 arrives as a GET "
                    "without its body: check the server address"
                )
        return ResponseFormatError(message, url=url)


def validate_id(value: object, name: str) -> int:
    """Check that ``value`` is an id the server accepts, and return it as an int.

    An int ≥ 0 (``numpy.int64`` too, not a bool or a float); ``name`` is the
    argument's, for the error message.

    Raises:
        InvalidInputError: If ``value`` is not a non-negative integer.
    """
    if type(value) is int and value >= 0:
        return value
    if isinstance(value, bool):
        raise InvalidInputError(f"{name} must be an integer id, not a bool")
    try:
        number = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise InvalidInputError(
            f"{name} must be an integer id, not {type(value).__name__}"
        ) from None
    if number < 0:
        raise InvalidInputError(f"{name} must be >= 0, got {number}")
    return number


def validate_ids(values: object, name: str) -> list[int]:
    """Check a non-string iterable of ids and return them, in order, as ints.

    Raises:
        InvalidInputError: If ``values`` is a string, not iterable, or holds
            a value :func:`validate_id` refuses.
    """
    if isinstance(values, str | bytes | Mapping) or not isinstance(values, Iterable):
        raise InvalidInputError(
            f"{name} must be a list of integer ids, not {type(values).__name__}"
        )
    return [
        validate_id(value, f"{name}[{index}]") for index, value in enumerate(values)
    ]


def validate_name(value: object, name: str) -> str:
    """Check that ``value`` is a non-empty str for a path segment, and return it.

    Raises:
        InvalidInputError: If ``value`` is not a non-empty str.
    """
    if not isinstance(value, str):
        raise InvalidInputError(f"{name} must be a str, not {type(value).__name__}")
    if not value:
        raise InvalidInputError(f"{name} must not be empty")
    return value
