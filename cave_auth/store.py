"""Where secrets files live: the :class:`TokenStore` protocol and two stores.

A secrets file is a JSON object mapping keys to token strings, as CAVEclient
and CloudVolume write them (``{"token": "...", "fanc_production": "..."}``).
The rest of the package reads and writes such files only through a
``TokenStore``, so it never knows whether they are on disk or in memory:

* :class:`FileStore` uses real files. ``~`` is expanded here, at I/O time.
  A write locks the file across processes (a ``.NAME.lock`` file beside it),
  reads it, changes one key, writes a temporary file in the same directory,
  flushes and fsyncs it, and renames it over the old one with
  :func:`os.replace`. A reader therefore sees the old file or the new one,
  never a half-written one; two writers of different keys both win; a writer
  killed mid-save leaves the old file and a stray temporary file, which the
  next save removes. Files are created 0600 and directories 0700.
* :class:`MemoryStore` keeps the files in a dict, for tests and for serverless
  functions whose disks are read-only.

Neither store ever puts a file's content in an error message.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import threading
from collections.abc import Iterator, Mapping
from typing import Any, Protocol, runtime_checkable

from .errors import TokenFileError, TokenKeyExistsError

__all__ = ["FileStore", "MemoryStore", "TokenStore", "parse_secrets"]


@runtime_checkable
class TokenStore(Protocol):
    """Reads and writes secrets files; the only way the package touches them."""

    def read_secrets(self, path: str) -> Mapping[str, Any] | None:
        """Return the JSON object stored at ``path``.

        Args:
            path: The secrets file, as named in a Config (``~`` allowed).

        Returns:
            The file's mapping, or ``None`` if there is no such file.

        Raises:
            TokenFileError: If the file exists but cannot be read or is not a
                JSON object.
        """
        ...

    def set_secret(
        self, path: str, key: str, value: str, *, overwrite: bool = True
    ) -> bool:
        """Atomically set one key of the secrets file at ``path``.

        Other keys are kept; a missing file (and directory) is created.

        Args:
            path: The secrets file.
            key: The key to set.
            value: The token to store under it.
            overwrite: Whether a different value already under ``key`` may be
                replaced.

        Returns:
            ``True`` if the file changed, ``False`` if it already held
            ``value`` under ``key``.

        Raises:
            TokenKeyExistsError: If ``key`` holds a different value and
                ``overwrite`` is false; nothing is written.
            TokenFileError: If the file cannot be read, parsed or written.
        """
        ...

    def is_writable(self, path: str) -> bool:
        """Tell whether a file at ``path`` could be created or replaced.

        Args:
            path: The secrets file.

        Returns:
            ``True`` if a write to ``path`` is expected to succeed.
        """
        ...

    def file_mode(self, path: str) -> int | None:
        """Return the permission bits of the file at ``path``, if known.

        The ``cave-auth status`` command uses them to warn about secrets
        files that group or others can read.

        Args:
            path: The secrets file.

        Returns:
            The permission bits (``0o600`` for a private file), or ``None``
            if there is no such file or the store has no notion of modes.
        """
        ...


def parse_secrets(path: str, data: bytes | str) -> dict[str, Any]:
    """Parse the content of a secrets file.

    Args:
        path: The file the content came from, for error messages.
        data: The raw content.

    Returns:
        The JSON object the file holds.

    Raises:
        TokenFileError: If the content is not JSON or not a JSON object. The
            message names ``path`` and the problem, never the content.
    """
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise TokenFileError(path, "is not UTF-8 text") from None
    if not data.strip():
        raise TokenFileError(
            path, 'is empty; expected a JSON object like {"token": "..."}'
        )
    try:
        secrets = json.loads(data)
    except (ValueError, RecursionError):
        raise TokenFileError(path, "is not valid JSON") from None
    if not isinstance(secrets, dict):
        kind = "an array" if isinstance(secrets, list) else "a JSON scalar"
        raise TokenFileError(path, f"holds {kind}, not a JSON object of key: token")
    return secrets


def _updated_secrets(
    path: str, secrets: Mapping[str, Any], key: str, value: str, overwrite: bool
) -> dict[str, Any] | None:
    """Return the new mapping to write, or None when nothing needs writing."""
    if key in secrets:
        if secrets[key] == value:
            return None
        if not overwrite:
            raise TokenKeyExistsError(path, key)
    return {**secrets, key: value}


class FileStore:
    """Secrets files on the local disk, written atomically and with care.

    Args:
        lock_timeout: Seconds to wait for another process's lock on a file
            before giving up with :class:`TokenFileError`.
    """

    def __init__(self, *, lock_timeout: float = 10.0) -> None:
        self.lock_timeout = lock_timeout

    def __repr__(self) -> str:
        return f"FileStore(lock_timeout={self.lock_timeout!r})"

    def read_secrets(self, path: str) -> Mapping[str, Any] | None:
        """Return the JSON object in the file at ``path``, or None if missing.

        Args:
            path: The file; ``~`` is expanded.

        Returns:
            The file's mapping, or ``None`` if it does not exist (a dangling
            symlink counts as missing).

        Raises:
            TokenFileError: If the path is a directory or another non-regular
                file (a FIFO, a device), cannot be read, is over 1 MiB, does
                not hold a JSON object, or starts with a ``~`` that cannot be
                expanded (no ``HOME`` and no home directory for the user).
        """
        return _read_file(path, _expand(path))

    def set_secret(
        self, path: str, key: str, value: str, *, overwrite: bool = True
    ) -> bool:
        """Atomically set one key of the file at ``path``; see :class:`TokenStore`.

        A symlink is followed, so the file it points to is updated. The file
        ends up with mode 0600 whatever it had before.

        Args:
            path: The file; ``~`` is expanded.
            key: The key to set.
            value: The token to store.
            overwrite: Whether a different value under ``key`` may be replaced.

        Returns:
            ``True`` if the file changed, ``False`` if it already held the value.

        Raises:
            TokenKeyExistsError: If ``key`` holds another value and not
                ``overwrite``.
            TokenFileError: If the file or its directory cannot be read,
                created or written, or the lock cannot be taken in time.
        """
        target = os.path.realpath(_expand(path))
        directory, name = os.path.split(target)
        try:
            _make_private_directories(directory)
        except OSError as exc:
            raise TokenFileError(
                path, f"cannot create directory {directory!r}: {exc.strerror}"
            ) from None
        with self._locked(path, directory, name):
            current = _read_file(path, target) or {}
            new = _updated_secrets(path, current, key, value, overwrite)
            if new is None:
                return False
            _remove_stale_temp_files(directory, name)
            _write_atomically(path, directory, name, json.dumps(new).encode())
        return True

    def is_writable(self, path: str) -> bool:
        """Tell whether the file at ``path`` could be written.

        Args:
            path: The file; ``~`` is expanded.

        Returns:
            ``True`` if the nearest existing directory on the way to ``path``
            is writable by this process (``False`` if ``~`` cannot be
            expanded).
        """
        try:
            directory = os.path.dirname(os.path.realpath(_expand(path)))
        except TokenFileError:
            return False
        while not os.path.lexists(directory):
            parent = os.path.dirname(directory)
            if parent == directory:
                break
            directory = parent
        return os.path.isdir(directory) and os.access(directory, os.W_OK | os.X_OK)

    def file_mode(self, path: str) -> int | None:
        """Return the permission bits of the file at ``path``, or None.

        A symlink is followed, so the bits are those of the file it points
        to, the one a reader opens.

        Args:
            path: The file; ``~`` is expanded.

        Returns:
            The permission bits, or ``None`` if the file cannot be looked at
            (missing, a dangling symlink, an unexpandable ``~``, no access to
            its directory).
        """
        try:
            return stat.S_IMODE(os.stat(_expand(path)).st_mode)
        except (OSError, TokenFileError):
            return None

    @contextlib.contextmanager
    def _locked(self, path: str, directory: str, name: str) -> Iterator[None]:
        import filelock

        lock = filelock.FileLock(
            os.path.join(directory, f".{name}.lock"),
            timeout=self.lock_timeout,
            mode=0o600,
            thread_local=False,
        )
        try:
            lock.acquire()
        except filelock.Timeout:
            raise TokenFileError(
                path, f"another process held its lock for over {self.lock_timeout} s"
            ) from None
        except OSError as exc:
            raise TokenFileError(path, f"cannot be locked: {exc.strerror}") from None
        try:
            yield
        finally:
            lock.release()


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


class MemoryStore:
    """Secrets files held in memory: for tests and read-only serverless disks.

    Paths are compared after :func:`os.path.normpath`; ``~`` is kept as it is,
    so the default secrets directory of a :class:`~cave_auth.Config` is
    ``"~/.cloudvolume/secrets"`` here too. Safe to share between threads.

    Args:
        initial: The files to start with, as ``{path: {key: token}}``.
        writable: If false, every path reports itself not writable and
            :meth:`set_secret` raises :class:`TokenFileError`, as on a
            read-only disk.
        modes: Permission bits to report for some paths, as ``{path: mode}``;
            :meth:`file_mode` is ``None`` for every other path. A save to one
            of these paths leaves it at ``0o600``, as :class:`FileStore` does.

    Example:
        >>> path = "~/.cloudvolume/secrets/cave-secret.json"
        >>> store = MemoryStore({path: {"token": "abc123"}})
        >>> store.read_secrets(path)["token"]
        'abc123'
    """

    def __init__(
        self,
        initial: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        writable: bool = True,
        modes: Mapping[str, int] | None = None,
    ) -> None:
        self._files: dict[str, dict[str, Any]] = {
            os.path.normpath(path): dict(secrets)
            for path, secrets in (initial or {}).items()
        }
        self._modes = {
            os.path.normpath(path): mode for path, mode in (modes or {}).items()
        }
        self._writable = writable
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"MemoryStore(paths={sorted(self._files)!r}, writable={self._writable!r})"
        )

    @property
    def files(self) -> dict[str, dict[str, Any]]:
        """A deep copy of every file held, as ``{path: {key: value}}``."""
        with self._lock:
            return {path: dict(secrets) for path, secrets in self._files.items()}

    def read_secrets(self, path: str) -> Mapping[str, Any] | None:
        """Return a copy of the mapping at ``path``, or None if there is none.

        Args:
            path: The file's path.

        Returns:
            The mapping, or ``None``.

        Raises:
            TokenFileError: If what is stored at ``path`` is not a mapping.
        """
        with self._lock:
            secrets = self._files.get(os.path.normpath(path))
        if secrets is None:
            return None
        if not isinstance(secrets, Mapping):
            raise TokenFileError(path, "holds no JSON object of key: token")
        return dict(secrets)

    def set_secret(
        self, path: str, key: str, value: str, *, overwrite: bool = True
    ) -> bool:
        """Set one key of the mapping at ``path``; see :class:`TokenStore`.

        Args:
            path: The file's path.
            key: The key to set.
            value: The token to store.
            overwrite: Whether a different value under ``key`` may be replaced.

        Returns:
            ``True`` if the mapping changed, ``False`` if it held the value.

        Raises:
            TokenKeyExistsError: If ``key`` holds another value and not
                ``overwrite``.
            TokenFileError: If the store was made read-only.
        """
        if not self._writable:
            raise TokenFileError(path, "cannot be written: the store is read-only")
        normalized = os.path.normpath(path)
        with self._lock:
            new = _updated_secrets(
                path, self._files.get(normalized, {}), key, value, overwrite
            )
            if new is None:
                return False
            self._files[normalized] = new
            if normalized in self._modes:
                self._modes[normalized] = 0o600
        return True

    def is_writable(self, path: str) -> bool:
        """Tell whether :meth:`set_secret` would write.

        Args:
            path: The file's path (not used: the whole store is writable or not).

        Returns:
            The ``writable`` flag the store was made with.
        """
        return self._writable

    def file_mode(self, path: str) -> int | None:
        """Return the mode given for ``path`` in ``modes``, if any.

        Args:
            path: The file's path.

        Returns:
            The permission bits given when the store was made (``0o600``
            after a save to that path), or ``None`` for any other path.
        """
        with self._lock:
            return self._modes.get(os.path.normpath(path))
