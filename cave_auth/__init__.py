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

import importlib

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ._redact import (
        mask_token,
    )
    from .api import (
        are_roots_public,
        create_token,
        delete_token,
        get_group_users,
        get_missing_tos,
        get_my_permissions,
        get_public_roots,
        get_table_dataset,
        get_token_ttl,
        get_tokens,
        get_user_cache,
        get_user_cache_data,
        get_user_groups,
        get_user_information,
        get_user_permissions,
        get_user_permissions_data,
        get_usernames,
        is_root_public,
        logout,
        logout_all,
        table_has_public,
        whoami,
    )
    from .client import (
        AuthClient,
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
        LoginError,
        MissingTokenError,
        NotFoundError,
        PermissionDeniedError,
        ResponseFormatError,
        ResponseTooLargeError,
        ServerError,
        TermsOfServiceRequired,
        TokenFileError,
        TokenKeyExistsError,
        TransportError,
    )
    from .lifecycle import (
        LoginResult,
        LogoutResult,
        RotateResult,
        login,
        logout_token,
        rotate_token,
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
    from .routes import (
        ApiRequest,
        raise_for_response,
    )
    from .saved import (
        ForgetResult,
        SavedToken,
        forget_token,
        list_saved_tokens,
    )
    from .store import (
        FileStore,
        MemoryStore,
        TokenStore,
    )
    from .tokens import (
        Instructions,
        ResolvedToken,
        SaveResult,
        default_token_path,
        local_server_token_path,
        request_header,
        resolve_token,
        save_token,
        server_token_filename,
        server_token_path,
        setup_instructions,
        token_search_paths,
        with_token,
    )
    from .transport import (
        AsyncTransport,
        Response,
        Transport,
        Urllib3Transport,
    )
    from .urls import (
        create_token_page_url,
        token_page_url,
    )

# Where each public name lives. ``import cave_auth`` loads none of these
# modules: a name's module is imported the first time the name is used
# (PEP 562), so embedding libraries and serverless cold starts pay only for
# what they call.
_LAZY_NAMES: dict[str, str] = {
    "DEFAULT_SECRETS_DIR": "config",
    "DEFAULT_SERVER_ADDRESS": "config",
    "DEFAULT_TOKEN_KEY": "config",
    "ApiRequest": "routes",
    "AsyncTransport": "transport",
    "AuthClient": "client",
    "AuthenticationError": "errors",
    "CaveAuthError": "errors",
    "Config": "config",
    "FileStore": "store",
    "ForgetResult": "saved",
    "Group": "models",
    "GroupMember": "models",
    "HTTPError": "errors",
    "InsecureTransportError": "errors",
    "Instructions": "tokens",
    "InvalidInputError": "errors",
    "LoginError": "errors",
    "LoginResult": "lifecycle",
    "LogoutResult": "lifecycle",
    "MemoryStore": "store",
    "MissingTermsOfService": "models",
    "MissingTokenError": "errors",
    "NotFoundError": "errors",
    "PermissionDeniedError": "errors",
    "Permissions": "models",
    "ResolvedToken": "tokens",
    "Response": "transport",
    "ResponseFormatError": "errors",
    "ResponseTooLargeError": "errors",
    "RotateResult": "lifecycle",
    "SaveResult": "tokens",
    "SavedToken": "saved",
    "ServerError": "errors",
    "TermsOfServiceRequired": "errors",
    "TokenFileError": "errors",
    "TokenInfo": "models",
    "TokenKeyExistsError": "errors",
    "TokenStore": "store",
    "Transport": "transport",
    "TransportError": "errors",
    "Urllib3Transport": "transport",
    "User": "models",
    "UserName": "models",
    "are_roots_public": "api",
    "create_token": "api",
    "create_token_page_url": "urls",
    "default_token_path": "tokens",
    "delete_token": "api",
    "forget_token": "saved",
    "get_group_users": "api",
    "get_missing_tos": "api",
    "get_my_permissions": "api",
    "get_public_roots": "api",
    "get_table_dataset": "api",
    "get_token_ttl": "api",
    "get_tokens": "api",
    "get_user_cache": "api",
    "get_user_cache_data": "api",
    "get_user_groups": "api",
    "get_user_information": "api",
    "get_user_permissions": "api",
    "get_user_permissions_data": "api",
    "get_usernames": "api",
    "is_root_public": "api",
    "list_saved_tokens": "saved",
    "local_server_token_path": "tokens",
    "login": "lifecycle",
    "logout": "api",
    "logout_all": "api",
    "logout_token": "lifecycle",
    "mask_token": "_redact",
    "raise_for_response": "routes",
    "request_header": "tokens",
    "resolve_token": "tokens",
    "rotate_token": "lifecycle",
    "save_token": "tokens",
    "server_token_filename": "tokens",
    "server_token_path": "tokens",
    "setup_instructions": "tokens",
    "table_has_public": "api",
    "token_page_url": "urls",
    "token_search_paths": "tokens",
    "whoami": "api",
    "with_token": "tokens",
}

__all__ = [
    "DEFAULT_SECRETS_DIR",
    "DEFAULT_SERVER_ADDRESS",
    "DEFAULT_TOKEN_KEY",
    "ApiRequest",
    "AsyncTransport",
    "AuthClient",
    "AuthenticationError",
    "CaveAuthError",
    "Config",
    "FileStore",
    "ForgetResult",
    "Group",
    "GroupMember",
    "HTTPError",
    "InsecureTransportError",
    "Instructions",
    "InvalidInputError",
    "LoginError",
    "LoginResult",
    "LogoutResult",
    "MemoryStore",
    "MissingTermsOfService",
    "MissingTokenError",
    "NotFoundError",
    "PermissionDeniedError",
    "Permissions",
    "ResolvedToken",
    "Response",
    "ResponseFormatError",
    "ResponseTooLargeError",
    "RotateResult",
    "SaveResult",
    "SavedToken",
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
    "are_roots_public",
    "create_token",
    "create_token_page_url",
    "default_token_path",
    "delete_token",
    "forget_token",
    "get_group_users",
    "get_missing_tos",
    "get_my_permissions",
    "get_public_roots",
    "get_table_dataset",
    "get_token_ttl",
    "get_tokens",
    "get_user_cache",
    "get_user_cache_data",
    "get_user_groups",
    "get_user_information",
    "get_user_permissions",
    "get_user_permissions_data",
    "get_usernames",
    "is_root_public",
    "list_saved_tokens",
    "local_server_token_path",
    "login",
    "logout",
    "logout_all",
    "logout_token",
    "mask_token",
    "raise_for_response",
    "request_header",
    "resolve_token",
    "rotate_token",
    "save_token",
    "server_token_filename",
    "server_token_path",
    "setup_instructions",
    "table_has_public",
    "token_page_url",
    "token_search_paths",
    "whoami",
    "with_token",
]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import version

        return version("cave-auth")
    module_name = _LAZY_NAMES.get(name)
    if module_name is None:
        raise AttributeError(f"module 'cave_auth' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module_name}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
