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
    # For type checkers and the docs only: at run time each name is imported
    # on first use (below). ``X as X`` marks each as exported.
    from typing import Any

    from ._redact import mask_token as mask_token
    from .api import are_roots_public as are_roots_public
    from .api import create_token as create_token
    from .api import delete_token as delete_token
    from .api import get_group_users as get_group_users
    from .api import get_missing_tos as get_missing_tos
    from .api import get_my_permissions as get_my_permissions
    from .api import get_public_roots as get_public_roots
    from .api import get_table_dataset as get_table_dataset
    from .api import get_token_ttl as get_token_ttl
    from .api import get_tokens as get_tokens
    from .api import get_user_cache as get_user_cache
    from .api import get_user_cache_data as get_user_cache_data
    from .api import get_user_groups as get_user_groups
    from .api import get_user_information as get_user_information
    from .api import get_user_permissions as get_user_permissions
    from .api import get_user_permissions_data as get_user_permissions_data
    from .api import get_usernames as get_usernames
    from .api import is_root_public as is_root_public
    from .api import logout as logout
    from .api import logout_all as logout_all
    from .api import table_has_public as table_has_public
    from .api import whoami as whoami
    from .client import AuthClient as AuthClient
    from .config import DEFAULT_SECRETS_DIR as DEFAULT_SECRETS_DIR
    from .config import DEFAULT_SERVER_ADDRESS as DEFAULT_SERVER_ADDRESS
    from .config import DEFAULT_TOKEN_KEY as DEFAULT_TOKEN_KEY
    from .config import Config as Config
    from .config import default_token_path as default_token_path
    from .config import local_server_token_path as local_server_token_path
    from .config import server_token_filename as server_token_filename
    from .config import server_token_path as server_token_path
    from .config import token_search_paths as token_search_paths
    from .errors import AuthenticationError as AuthenticationError
    from .errors import CaveAuthError as CaveAuthError
    from .errors import HTTPError as HTTPError
    from .errors import InsecureTransportError as InsecureTransportError
    from .errors import InvalidInputError as InvalidInputError
    from .errors import LoginError as LoginError
    from .errors import MissingTokenError as MissingTokenError
    from .errors import NotFoundError as NotFoundError
    from .errors import PermissionDeniedError as PermissionDeniedError
    from .errors import ResponseFormatError as ResponseFormatError
    from .errors import ResponseTooLargeError as ResponseTooLargeError
    from .errors import ServerError as ServerError
    from .errors import TermsOfServiceRequired as TermsOfServiceRequired
    from .errors import TokenFileError as TokenFileError
    from .errors import TokenKeyExistsError as TokenKeyExistsError
    from .errors import TransportError as TransportError
    from .inventory import ForgetResult as ForgetResult
    from .inventory import Instructions as Instructions
    from .inventory import SavedToken as SavedToken
    from .inventory import SaveResult as SaveResult
    from .inventory import forget_token as forget_token
    from .inventory import list_saved_tokens as list_saved_tokens
    from .lifecycle import LoginResult as LoginResult
    from .lifecycle import LogoutResult as LogoutResult
    from .lifecycle import RotateResult as RotateResult
    from .lifecycle import login as login
    from .lifecycle import logout_token as logout_token
    from .lifecycle import rotate_token as rotate_token
    from .models import Group as Group
    from .models import GroupMember as GroupMember
    from .models import MissingTermsOfService as MissingTermsOfService
    from .models import Permissions as Permissions
    from .models import TokenInfo as TokenInfo
    from .models import User as User
    from .models import UserName as UserName
    from .routes import ApiRequest as ApiRequest
    from .routes import raise_for_response as raise_for_response
    from .store import FileStore as FileStore
    from .store import MemoryStore as MemoryStore
    from .store import TokenStore as TokenStore
    from .tokens import ResolvedToken as ResolvedToken
    from .tokens import request_header as request_header
    from .tokens import resolve_token as resolve_token
    from .tokens import save_token as save_token
    from .tokens import setup_instructions as setup_instructions
    from .tokens import with_token as with_token
    from .transport import AsyncTransport as AsyncTransport
    from .transport import Response as Response
    from .transport import Transport as Transport
    from .transport import Urllib3Transport as Urllib3Transport
    from .urls import create_token_page_url as create_token_page_url
    from .urls import token_page_url as token_page_url

# The public names by the module that defines them, the one list written by
# hand (tests/test_layers.py checks the imports above against it).
# ``import cave_auth`` loads none of these modules: a name's module is
# imported the first time the name is used (PEP 562), so embedding libraries
# and serverless cold starts pay only for what they call.
_MODULE_NAMES = {
    "_redact": "mask_token",
    "api": (
        "are_roots_public create_token delete_token get_group_users "
        "get_missing_tos get_my_permissions get_public_roots "
        "get_table_dataset get_token_ttl get_tokens get_user_cache "
        "get_user_cache_data get_user_groups get_user_information "
        "get_user_permissions get_user_permissions_data get_usernames "
        "is_root_public logout logout_all table_has_public whoami"
    ),
    "client": "AuthClient",
    "config": (
        "DEFAULT_SECRETS_DIR DEFAULT_SERVER_ADDRESS DEFAULT_TOKEN_KEY "
        "Config default_token_path local_server_token_path "
        "server_token_filename server_token_path token_search_paths"
    ),
    "errors": (
        "AuthenticationError CaveAuthError HTTPError "
        "InsecureTransportError InvalidInputError LoginError "
        "MissingTokenError NotFoundError PermissionDeniedError "
        "ResponseFormatError ResponseTooLargeError ServerError "
        "TermsOfServiceRequired TokenFileError TokenKeyExistsError "
        "TransportError"
    ),
    "inventory": (
        "ForgetResult Instructions SaveResult SavedToken forget_token list_saved_tokens"
    ),
    "lifecycle": (
        "LoginResult LogoutResult RotateResult login logout_token rotate_token"
    ),
    "models": (
        "Group GroupMember MissingTermsOfService Permissions TokenInfo User UserName"
    ),
    "routes": "ApiRequest raise_for_response",
    "store": "FileStore MemoryStore TokenStore",
    "tokens": (
        "ResolvedToken request_header resolve_token save_token "
        "setup_instructions with_token"
    ),
    "transport": "AsyncTransport Response Transport Urllib3Transport",
    "urls": "create_token_page_url token_page_url",
}
_LAZY_NAMES = {
    name: module for module, names in _MODULE_NAMES.items() for name in names.split()
}
# Sorted as ruff sorts ``__all__`` (RUF022): CONSTANTS, Classes, functions.
__all__ = sorted(_LAZY_NAMES, key=lambda n: (not n.isupper(), n[0].islower(), n))


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
