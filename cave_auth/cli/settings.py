"""The settings file of ``cave-auth``: the server ``cave-auth switch`` remembers.

``$XDG_CONFIG_HOME/cave-auth/config.json`` (``~/.config/cave-auth/config.json``
by default) holds ``{"server": "https://..."}``. Only the command reads it:
:meth:`Config.from_env <cave_auth.Config.from_env>` does not, so a program
using the library gets the same server whatever the command remembers. The
file is written atomically (a temporary file in the same directory, then
``os.replace``), mode 0600, in a directory created 0700.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Mapping
from typing import Any

from ..config import normalize_server_address
from ..errors import InvalidInputError
from .context import CommandError

__all__ = ["read_settings", "settings_path", "switched_server", "write_settings"]


def settings_path(environ: Mapping[str, str]) -> str:
    """Return the path of the settings file.

    Args:
        environ: The environment (``XDG_CONFIG_HOME``, ``HOME``).

    Returns:
        ``$XDG_CONFIG_HOME/cave-auth/config.json``, else
        ``~/.config/cave-auth/config.json``.
    """
    base = environ.get("XDG_CONFIG_HOME") or os.path.join(
        environ.get("HOME") or os.path.expanduser("~"), ".config"
    )
    return os.path.join(base, "cave-auth", "config.json")


def read_settings(environ: Mapping[str, str]) -> dict[str, Any]:
    """Read the settings file; a missing file is empty settings.

    Args:
        environ: The environment that locates the file.

    Returns:
        The settings.

    Raises:
        CommandError: If the file cannot be read or is not a JSON object;
            the message names the file and how to fix it.
    """
    path = settings_path(environ)
    try:
        with open(path, encoding="utf-8") as file:
            settings = json.load(file)
    except FileNotFoundError:
        return {}
    except OSError as error:
        # A home this process may not enter (a service account's, say) hides
        # the file: nothing was remembered that this process could use.
        if not os.path.lexists(path):
            return {}
        problem = error.strerror or str(error)
        raise CommandError(
            f"cannot read the cave-auth settings {path}: {problem}; fix or delete "
            "it (cave-auth switch --unset writes a fresh one)"
        ) from None
    except ValueError:
        raise CommandError(
            f"cannot read the cave-auth settings {path}: it is not valid JSON; fix "
            "or delete it (cave-auth switch --unset writes a fresh one)"
        ) from None
    if not isinstance(settings, dict):
        raise CommandError(
            f"the cave-auth settings {path} are not a JSON object; delete the file "
            "or run cave-auth switch --unset"
        )
    return settings


def switched_server(environ: Mapping[str, str]) -> str | None:
    """Return the server ``cave-auth switch`` remembers, if any.

    Args:
        environ: The environment that locates the file.

    Returns:
        The address, or ``None``.

    Raises:
        CommandError: If the file is unreadable or holds a bad address.
    """
    server = read_settings(environ).get("server")
    if server is None:
        return None
    try:
        return normalize_server_address(server, "the server cave-auth switch saved")
    except InvalidInputError as error:
        raise CommandError(
            f"{error} (in {settings_path(environ)}); run cave-auth switch SERVER "
            "or cave-auth switch --unset"
        ) from None


def write_settings(environ: Mapping[str, str], settings: Mapping[str, Any]) -> str:
    """Write the settings file atomically, mode 0600.

    Args:
        environ: The environment that locates the file.
        settings: What to write.

    Returns:
        The path written.

    Raises:
        OSError: If the directory or file cannot be written.
    """
    path = settings_path(environ)
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".config.", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(dict(settings), file, indent=2)
            file.write("\n")
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)  # mkstemp made it 0600
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return path
