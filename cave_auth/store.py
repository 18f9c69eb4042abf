"""Where secrets files live: the :class:`TokenStore` protocol and two stores.

A secrets file is a JSON object mapping keys to tokens, as CAVEclient and
CloudVolume write it. :class:`FileStore` changes one key under a lock file
(``.NAME.lock``) and replaces the file atomically: readers see the old file
or the new, writers of different keys both win; files are 0600, directories
0700, and a directory another user could change is not written to.
:class:`MemoryStore` keeps files in a dict. No error shows a file's content.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ._secret_files import (
    _expand,
    _make_private_directories,
    _read_file,
    _remove_stale_temp_files,
    _write_atomically,
    parse_secrets,
    unsafe_directory,
)
from .errors import TokenFileError, TokenKeyExistsError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

__all__ = [
    "FileStore",
    "MemoryStore",
    "TokenStore",
    "directory_problem",
    "parse_secrets",
]


@runtime_checkable
class TokenStore(Protocol):
    """Reads and writes secrets files; the only way the package touches them.

    ``path`` is a secrets file as a Config names it (``~`` allowed). A store
    may also have ``directory_problem(path)`` (see :func:`directory_problem`),
    outside the protocol so that older stores keep working.
    """

    def read_secrets(self, path: str) -> Mapping[str, Any] | None:
        """Return the JSON object stored at ``path``, or None if there is no file.

        Raises:
            TokenFileError: If the file exists but cannot be read or is not a
                JSON object.
        """

    def set_secret(
        self, path: str, key: str, value: str, *, overwrite: bool = True
    ) -> bool:
        """Atomically set one key of the file at ``path``; True if it changed.

        Other keys are kept; a missing file (and directory) is created.

        Raises:
            TokenKeyExistsError: If ``key`` holds a different value and
                ``overwrite`` is false; nothing is written.
            TokenFileError: If the file cannot be read, parsed or written.
        """

    def is_writable(self, path: str) -> bool:
        """Tell whether a write to ``path`` is expected to succeed."""

    def remove_secret(self, path: str, key: str, *, only_if: str | None = None) -> bool:
        """Atomically remove one key (only while it holds ``only_if``, if given).

        Other keys are kept; the file stays (possibly as ``{}``). True if the
        file changed, False if there was nothing to remove.

        Raises:
            TokenFileError: If the file cannot be read, parsed or written.
        """

    def list_files(self, directory: str) -> list[str]:
        """Return the sorted names of the files in ``directory``, but hidden ones.

        Lock and temporary files are hidden; a missing directory has none.
        """

    def file_mode(self, path: str) -> int | None:
        """Return the permission bits of the file at ``path``, or None if unknown.

        ``cave-auth status`` warns about files that group or others can read.
        """


def directory_problem(store: TokenStore, path: str) -> str | None:
    """Ask ``store`` why other users could change the secrets file at ``path``.

    A store that can tell has a ``directory_problem(path)`` method
    (:meth:`FileStore.directory_problem`): saving there is refused, ``cave-auth
    status`` and ``list`` warn, and :func:`~cave_auth.resolve_token` logs a
    warning. The answer names the directory, the problem and its fix; a store
    without the method has no such problem.
    """
    check = getattr(store, "directory_problem", None)
    return None if check is None else check(path)


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


def _removed_secret(
    secrets: Mapping[str, Any], key: str, only_if: str | None
) -> dict[str, Any] | None:
    """Return the mapping without ``key``, or None when nothing is to remove."""
    if key not in secrets or (only_if is not None and secrets[key] != only_if):
        return None
    return {name: value for name, value in secrets.items() if name != key}


class FileStore:
    """Secrets files on the local disk, written atomically and with care.

    ``~`` is expanded at I/O time; a path where it cannot be (no ``HOME``, no
    home directory) is a :class:`TokenFileError` to read or write, not writable,
    and has no mode or directory problem.

    Args:
        lock_timeout: Seconds to wait for another process's lock on a file
            before a :class:`TokenFileError`.
    """

    def __init__(self, *, lock_timeout: float = 10.0) -> None:
        self.lock_timeout = lock_timeout

    def __repr__(self) -> str:
        return f"FileStore(lock_timeout={self.lock_timeout!r})"

    def read_secrets(self, path: str) -> Mapping[str, Any] | None:
        """Same as :meth:`TokenStore.read_secrets`; a dangling symlink is missing.

        Raises:
            TokenFileError: Also if the path is a directory or another
                non-regular file (a FIFO, a device) or is over 1 MiB.
        """
        return _read_file(path, _expand(path))

    def set_secret(
        self, path: str, key: str, value: str, *, overwrite: bool = True
    ) -> bool:
        """Same as :meth:`TokenStore.set_secret`, under a lock, mode 0600.

        A symlink is followed, so the file it points to is updated.

        Raises:
            TokenKeyExistsError: If ``key`` holds another value and not
                ``overwrite``.
            TokenFileError: If the file or its directory cannot be read,
                created or written, the lock cannot be taken in time, or
                another user could change the directory
                (:meth:`directory_problem`); nothing is written then.
        """
        return self._rewrite(
            path, lambda old: _updated_secrets(path, old, key, value, overwrite)
        )

    def is_writable(self, path: str) -> bool:
        """Tell whether the nearest existing directory on the way to ``path`` is."""
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

    def remove_secret(self, path: str, key: str, *, only_if: str | None = None) -> bool:
        """Same as :meth:`TokenStore.remove_secret`, under a lock.

        Raises:
            TokenFileError: As for :meth:`set_secret`.
        """
        return self._rewrite(
            path, lambda old: _removed_secret(old, key, only_if), create=False
        )

    def list_files(self, directory: str) -> list[str]:
        """Same as :meth:`TokenStore.list_files`: regular files only."""
        try:
            with os.scandir(_expand(directory)) as entries:
                return sorted(
                    entry.name
                    for entry in entries
                    if not entry.name.startswith(".") and entry.is_file()
                )
        except (OSError, TokenFileError):
            return []

    def file_mode(self, path: str) -> int | None:
        """Same as :meth:`TokenStore.file_mode`, of a symlink's target (if any)."""
        try:
            return stat.S_IMODE(os.stat(_expand(path)).st_mode)
        except (OSError, TokenFileError):
            return None

    def directory_problem(self, path: str) -> str | None:
        """Tell why other users could change the file at ``path``, or None.

        OpenSSH's rule for the directories of ``authorized_keys``: the
        directory ``path`` names and, for a symlink, the one of the file it
        points to must be this user's (or root's) and writable by no one else.
        The answer names the fix (``chmod 700 <dir>``, or ``chown``); missing
        directories are fine (a save creates them 0700).
        """
        try:
            full_path = _expand(path)
        except TokenFileError:
            return None
        named = os.path.dirname(os.path.abspath(full_path))
        real = os.path.dirname(os.path.realpath(full_path))
        for directory in dict.fromkeys((named, real)):
            problem = unsafe_directory(directory)
            if problem is not None:
                return problem
        return None

    def _rewrite(
        self,
        path: str,
        change: Callable[[Mapping[str, Any]], dict[str, Any] | None],
        *,
        create: bool = True,
    ) -> bool:
        """Replace the file by ``change`` of its mapping, unless that is None."""
        target = os.path.realpath(_expand(path))
        directory, name = os.path.split(target)
        if not create and _read_file(path, target) is None:
            return False
        try:
            _make_private_directories(directory)
        except OSError as exc:
            failed = f"cannot create directory {directory!r}: {exc.strerror}"
            raise TokenFileError(path, failed) from None
        # Checked before the lock file is made: a planted lock symlink is one
        # of the ways in (CVE-2025-68146).
        problem = self.directory_problem(path)
        if problem is not None:
            raise TokenFileError(path, f"not written: {problem}")
        with self._locked(path, directory, name):
            new = change(_read_file(path, target) or {})
            if new is None:
                return False
            _remove_stale_temp_files(directory, name)
            _write_atomically(path, directory, name, json.dumps(new).encode())
        return True

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


class MemoryStore:
    """Secrets files held in memory: for tests and read-only serverless disks.

    Paths are compared after :func:`os.path.normpath`, ``~`` kept as it is. Safe
    to share between threads; a copy (copy, deepcopy, pickle) holds the files as
    they were and changes apart from the original.

    Args:
        initial: The files to start with, as ``{path: {key: token}}``.
        writable: If false, :meth:`set_secret` raises :class:`TokenFileError`,
            as on a read-only disk.
        modes: Permission bits :meth:`file_mode` reports, as ``{path: mode}``.

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

    def __getstate__(self) -> dict[str, Any]:
        # The lock is this process's; a copy or an unpickled store makes its own.
        with self._lock:
            files = {path: dict(secrets) for path, secrets in self._files.items()}
            state = {**self.__dict__, "_files": files, "_modes": dict(self._modes)}
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _lock=threading.Lock())

    @property
    def files(self) -> dict[str, dict[str, Any]]:
        """A deep copy of every file held, as ``{path: {key: value}}``."""
        with self._lock:
            return {path: dict(secrets) for path, secrets in self._files.items()}

    def read_secrets(self, path: str) -> Mapping[str, Any] | None:
        """Same as :meth:`TokenStore.read_secrets`, a copy of what is held.

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
        """Same as :meth:`TokenStore.set_secret`.

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

    def remove_secret(self, path: str, key: str, *, only_if: str | None = None) -> bool:
        """Same as :meth:`TokenStore.remove_secret`.

        Raises:
            TokenFileError: If the store was made read-only.
        """
        normalized = os.path.normpath(path)
        with self._lock:
            new = _removed_secret(self._files.get(normalized, {}), key, only_if)
            if new is None:
                return False
            if not self._writable:
                raise TokenFileError(path, "cannot be written: the store is read-only")
            self._files[normalized] = new
        return True

    def list_files(self, directory: str) -> list[str]:
        """Same as :meth:`TokenStore.list_files`."""
        wanted = os.path.normpath(directory)
        with self._lock:
            paths = list(self._files)
        return sorted(
            os.path.basename(path)
            for path in paths
            if os.path.dirname(path) == wanted
            and not os.path.basename(path).startswith(".")
        )

    def is_writable(self, path: str) -> bool:
        """Return the ``writable`` flag the store was made with, for every path."""
        return self._writable

    def file_mode(self, path: str) -> int | None:
        """Return the mode given for ``path`` in ``modes`` (0o600 after a save)."""
        with self._lock:
            return self._modes.get(os.path.normpath(path))

    def directory_problem(self, path: str) -> str | None:
        """Return None: no other user can change memory."""
        return None
