"""How a secrets file is read and written on disk: the I/O under FileStore.

``~`` expansion that refuses a literal ``~`` directory; a read of regular
files up to 1 MiB, parsed by :func:`parse_secrets`; private directories
(0700); the check that no other user can change a directory's files
(:func:`unsafe_directory`); the atomic write (temporary file beside it, 0600,
fsync, ``os.replace``, directory fsync). No file content is ever put in a
message.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from typing import Any

from .errors import TokenFileError

__all__ = ["parse_secrets", "unsafe_directory"]


def parse_secrets(path: str, data: bytes | str) -> dict[str, Any]:
    """Return the JSON object a secrets file (at ``path``) holds.

    Raises:
        TokenFileError: If the content is not JSON or not a JSON object. The
            message names ``path`` and the problem, never the content.
    """
    # Each error is raised outside the except block: the decoder's exception
    # holds the content, tokens and all, and ``from None`` would only hide it.
    text: str | None = data if isinstance(data, str) else None
    if isinstance(data, bytes):
        # The BOM dropped by hand: the utf-8-sig codec is one more module to
        # import on every cold start.
        with contextlib.suppress(UnicodeDecodeError):
            text = data.removeprefix(b"\xef\xbb\xbf").decode()
    if text is None:
        raise TokenFileError(path, "is not UTF-8 text")
    if not text.strip():
        raise TokenFileError(
            path, 'is empty; expected a JSON object like {"token": "..."}'
        )
    try:
        secrets = json.loads(text)
    except (ValueError, RecursionError):
        secrets = _NOT_JSON
    if secrets is _NOT_JSON:
        raise TokenFileError(path, "is not valid JSON")
    if not isinstance(secrets, dict):
        kind = "an array" if isinstance(secrets, list) else "a JSON scalar"
        raise TokenFileError(path, f"holds {kind}, not a JSON object of key: token")
    return secrets


_NOT_JSON = object()

_MAX_SECRETS_SIZE = 1 << 20
"""The largest secrets file read, in bytes; real ones hold a few tokens."""


def _expand(path: str) -> str:
    """Expand ``~`` in ``path``, or fail instead of using a literal ``~`` directory."""
    full_path = os.path.expanduser(path)
    if full_path.startswith("~"):
        raise TokenFileError(
            path,
            "cannot expand '~': HOME is not set and the user has no home "
            "directory; set HOME or CLOUD_VOLUME_DIR, or give an absolute path",
        )
    return full_path


def _read_file(path: str, full_path: str) -> dict[str, Any] | None:
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer.
        fd = os.open(full_path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        raise TokenFileError(path, "a parent of this path is not a directory") from None
    except PermissionError:
        raise TokenFileError(path, "cannot be read: permission denied") from None
    except OSError as exc:
        raise TokenFileError(path, f"cannot be read: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise TokenFileError(path, "is a directory, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise TokenFileError(path, "is not a regular file (a FIFO or device?)")
        if info.st_size > _MAX_SECRETS_SIZE:
            raise TokenFileError(path, "is larger than 1 MiB, so not a secrets file")
        data = os.read(fd, info.st_size + 1)
    except OSError as exc:
        raise TokenFileError(path, f"cannot be read: {exc.strerror}") from None
    finally:
        os.close(fd)
    return parse_secrets(path, data)


def unsafe_directory(directory: str) -> str | None:
    """Tell why users other than this one could change the files of ``directory``.

    OpenSSH's rule for ``authorized_keys``: the directory belongs to this user or
    root, and neither group nor others may write to it. Whoever can write to it
    can replace a secrets file (or plant a symlink where its lock or temporary
    file goes), so the next token read is theirs. A sticky bit does not help: it
    stops renames, not a file planted before the first save.

    Returns:
        One sentence naming the directory (``~`` expanded), the problem and the
        fix; ``None`` when it is safe, missing (a save creates it 0700), or the
        platform has no owners.
    """
    if not hasattr(os, "geteuid"):
        return None
    try:
        info = os.stat(directory)
    except OSError:
        return None
    uid = os.geteuid()
    mode = stat.S_IMODE(info.st_mode)
    if info.st_uid in (uid, 0) and not mode & 0o022:
        return None
    import shlex  # only to word a problem

    if info.st_uid not in (uid, 0):
        return (
            f"the secrets directory {directory} belongs to user id {info.st_uid}, "
            f"not to you (user id {uid}), so its owner can replace the tokens in "
            f"it; use a directory of your own, or have it handed over with: "
            f"chown {uid} {shlex.quote(directory)}"
        )
    return (
        f"the secrets directory {directory} is writable by group or others "
        f"(mode {mode:04o}), so other users can replace the tokens in it; "
        f"fix it with: chmod 700 {shlex.quote(directory)}"
    )


def _make_private_directories(directory: str) -> None:
    missing = []
    while not os.path.isdir(directory):
        missing.append(directory)
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    for new_directory in reversed(missing):
        with contextlib.suppress(FileExistsError):
            os.mkdir(new_directory, 0o700)
            os.chmod(new_directory, 0o700)


def _temp_prefix(name: str) -> str:
    return f".{name}."


def _remove_stale_temp_files(directory: str, name: str) -> None:
    prefix = _temp_prefix(name)
    with contextlib.suppress(OSError), os.scandir(directory) as entries:
        for entry in entries:
            if entry.name.startswith(prefix) and entry.name.endswith(".tmp"):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def _write_atomically(path: str, directory: str, name: str, data: bytes) -> None:
    temp = os.path.join(
        directory, f"{_temp_prefix(name)}{os.getpid()}.{os.urandom(4).hex()}.tmp"
    )
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise TokenFileError(path, f"cannot be written: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as file:
            os.fchmod(file.fileno(), 0o600)
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, os.path.join(directory, name))
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        if isinstance(exc, OSError):
            raise TokenFileError(path, f"cannot be written: {exc.strerror}") from None
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: str) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
