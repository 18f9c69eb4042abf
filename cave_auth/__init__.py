"""Find, store and use the auth tokens of the CAVE connectomics services.

``cave_auth`` is a functional, dependency-injected superset of CAVEclient's
``client.auth``: every operation is a function of an immutable
:class:`Config` and the I/O object it needs (a :class:`TokenStore`, a
:class:`Transport`). Importing it does no I/O and loads neither urllib3 nor
cattrs.

Example:
    >>> import cave_auth as ca
    >>> path = "~/.cloudvolume/secrets/cave-secret.json"
    >>> store = ca.MemoryStore({path: {"token": "abc123"}})
    >>> cfg = ca.with_token(ca.Config(), store)
    >>> ca.request_header(cfg.token)
    {'Authorization': 'Bearer abc123'}
"""

from __future__ import annotations

from .api import (
    create_token,
    delete_token,
    get_group_users,
    get_my_permissions,
    get_tokens,
    get_user_cache,
    get_user_groups,
    get_user_information,
    get_user_permissions,
    get_usernames,
    raise_for_response,
    whoami,
)
from .config import (
    DEFAULT_SECRETS_DIR,
    DEFAULT_SERVER_ADDRESS,
    DEFAULT_TOKEN_KEY,
    Config,
)
from .errors import (
    AuthenticationError,
    CaveAuthError,
    HTTPError,
    InsecureTransportError,
    InvalidInputError,
    MissingTokenError,
    NotFoundError,
    PermissionDeniedError,
    ResponseFormatError,
    ServerError,
    TermsOfServiceRequired,
    TokenFileError,
    TokenKeyExistsError,
    TransportError,
)
from .models import (
    Group,
    GroupMember,
    MissingTermsOfService,
    Permissions,
    TokenInfo,
    User,
    UserName,
)
from .store import FileStore, MemoryStore, TokenStore
from .tokens import (
    Instructions,
    ResolvedToken,
    SaveResult,
    default_token_path,
    local_server_token_path,
    mask_token,
    request_header,
    resolve_token,
    save_token,
    server_token_filename,
    server_token_path,
    setup_instructions,
    token_search_paths,
    with_token,
)
from .transport import Response, Transport, Urllib3Transport
from .urls import create_token_page_url, token_page_url

__all__ = [
    "DEFAULT_SECRETS_DIR",
    "DEFAULT_SERVER_ADDRESS",
    "DEFAULT_TOKEN_KEY",
    "AuthenticationError",
    "CaveAuthError",
    "Config",
    "FileStore",
    "Group",
    "GroupMember",
    "HTTPError",
    "InsecureTransportError",
    "Instructions",
    "InvalidInputError",
    "MemoryStore",
    "MissingTermsOfService",
    "MissingTokenError",
    "NotFoundError",
    "PermissionDeniedError",
    "Permissions",
    "ResolvedToken",
    "Response",
    "ResponseFormatError",
    "SaveResult",
    "ServerError",
    "TermsOfServiceRequired",
    "TokenFileError",
    "TokenInfo",
    "TokenKeyExistsError",
    "TokenStore",
    "Transport",
    "TransportError",
    "Urllib3Transport",
    "User",
    "UserName",
    "create_token",
    "create_token_page_url",
    "default_token_path",
    "delete_token",
    "get_group_users",
    "get_my_permissions",
    "get_tokens",
    "get_user_cache",
    "get_user_groups",
    "get_user_information",
    "get_user_permissions",
    "get_usernames",
    "local_server_token_path",
    "mask_token",
    "raise_for_response",
    "request_header",
    "resolve_token",
    "save_token",
    "server_token_filename",
    "server_token_path",
    "setup_instructions",
    "token_page_url",
    "token_search_paths",
    "whoami",
    "with_token",
]
