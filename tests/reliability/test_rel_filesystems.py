"""Read-only and odd filesystems: permissions, no HOME, directories, links, FIFOs."""

from __future__ import annotations

import io
import json
import os
import pwd
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from reliability_support import run_as

import cave_auth as ca
from cave_auth import cli

pytestmark = pytest.mark.reliability

TOKEN = "0123456789abcdef0123456789abcdef"
OLD = "feedfacefeedfacefeedfacefeedface"
SERVER = "https://global.daf-apis.com"
NOBODY = 65534
NO_PASSWD_UID = 54321  # a uid with no entry in /etc/passwd


def _mode(path: Path | str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _listing(root: Path) -> dict[str, tuple[int, bytes]]:
    return {
        str(p): (_mode(p), p.read_bytes() if p.is_file() else b"")
        for p in sorted(root.rglob("*"))
    }


# ------------------------------------------------------------ read-only dir


def _save_into_read_only(secrets_dir: str) -> dict[str, Any]:
    """Everything a user may try against a secrets directory they cannot write."""
    config = ca.Config(server_address=SERVER, secrets_dir=secrets_dir)
    store = ca.FileStore(lock_timeout=2)
    report: dict[str, Any] = {"euid": os.geteuid()}
    found = ca.resolve_token(config, store)
    report["resolved"] = None if found is None else found.token
    result = ca.save_token(config, store, TOKEN, ignore_readonly=True)
    report["skipped"] = list(result.skipped)
    report["written"] = list(result.written)
    report["switched"] = result.config.token == TOKEN
    try:
        ca.save_token(config, store, TOKEN, ignore_readonly=False)
    except ca.TokenFileError as exc:
        report["strict"] = {"path": exc.path, "message": str(exc)}
    try:
        store.set_secret(os.path.join(secrets_dir, "cave-secret.json"), "k", TOKEN)
    except ca.TokenFileError as exc:
        report["set_secret"] = str(exc)
    assert os.path.basename(secrets_dir) == "secrets"  # $CLOUD_VOLUME_DIR/secrets
    client = ca.AuthClient(
        store=store, environ={"CLOUD_VOLUME_DIR": os.path.dirname(secrets_dir)}
    )
    client.save_token(TOKEN, overwrite=True)  # CAVEclient's default: skip quietly
    report["client_token"] = client.token
    out, err = io.StringIO(), io.StringIO()
    report["cli_exit"] = cli.main(
        ["save", "--token-stdin", "--secrets-dir", secrets_dir],
        stdin=io.StringIO(TOKEN),
        stdout=out,
        stderr=err,
        environ={},
        store=store,
    )
    report["cli_stderr"] = err.getvalue()
    return report


@pytest.fixture
def world_readable_tmp() -> Iterator[Path]:
    """A temporary directory outside root's private pytest tree, readable by all."""
    base = Path(tempfile.mkdtemp(prefix="cave-auth-rel-"))
    base.chmod(0o755)
    yield base
    for path in [base, *base.rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)
    shutil.rmtree(base)


def test_read_only_secrets_dir_is_skipped_or_refused_clearly(world_readable_tmp):
    """A secrets directory the user cannot write is skipped and reported with ignore_readonly, refused with a TokenFileError naming the file without it, and left untouched either way."""
    secrets = world_readable_tmp / "secrets"
    secrets.mkdir(mode=0o755)
    existing = secrets / "cave-secret.json"
    existing.write_text(json.dumps({"token": OLD, "fanc": OLD}))
    existing.chmod(0o644)
    # Warm the imports the child will need: it may not read the stdlib.
    _save_into_read_only(
        os.path.join(tempfile.mkdtemp(dir=world_readable_tmp), "secrets")
    )
    before = _listing(secrets)
    if os.geteuid() == 0:
        how = f"as uid {NOBODY} in a forked child (root ignores permissions)"
        report = run_as(NOBODY, NOBODY, _save_into_read_only, str(secrets))
        assert report["euid"] == NOBODY
    else:
        how = "in-process, directory chmod 0555"
        secrets.chmod(0o555)
        report = _save_into_read_only(str(secrets))
    server_file = str(secrets / ca.server_token_filename(SERVER))
    print(
        f"read-only dir ({how}): skipped {len(report['skipped'])} files, wrote "
        f"{len(report['written'])}; strict save: {report['strict']['message']}; "
        f"cli exit {report['cli_exit']}"
    )
    assert report["resolved"] == OLD  # still readable
    assert sorted(report["skipped"]) == sorted([server_file, str(existing)])
    assert report["written"] == []
    assert report["switched"]
    assert report["strict"]["path"] in (server_file, str(existing))
    assert "read-only" in report["strict"]["message"]
    assert "cannot" in report["set_secret"]
    assert report["client_token"] == TOKEN
    assert report["cli_exit"] == cli.EXIT_ERROR
    assert "read-only" in report["cli_stderr"]
    assert TOKEN not in report["cli_stderr"]
    assert _listing(secrets) == before


# ------------------------------------------------------------------ no HOME


def _save_without_home(workdir: str) -> dict[str, Any]:
    report: dict[str, Any] = {"home_env": os.environ.get("HOME")}
    try:
        report["pw_dir"] = pwd.getpwuid(os.getuid()).pw_dir
    except KeyError:
        report["pw_dir"] = None
    store = ca.FileStore(lock_timeout=2)
    for name, call in [
        ("resolve", lambda: ca.resolve_token(ca.Config(), store)),
        ("save", lambda: ca.save_token(ca.Config(), store, TOKEN)),
        (
            "strict_save",
            lambda: ca.save_token(ca.Config(), store, TOKEN, ignore_readonly=False),
        ),
        ("client", lambda: ca.AuthClient(store=store, environ={})),
    ]:
        try:
            value = call()
        except ca.CaveAuthError as exc:
            report[name] = f"{type(exc).__name__}: {exc}"
        else:
            report[name] = (
                "ok"
                if not isinstance(value, ca.SaveResult)
                else {"written": list(value.written), "skipped": list(value.skipped)}
            )
    out, err = io.StringIO(), io.StringIO()
    report["cli_exit"] = cli.main(
        ["status"], stdout=out, stderr=err, environ={}, store=store
    )
    report["cli_stderr"] = err.getvalue()
    report["cwd_after"] = sorted(os.listdir(workdir))
    return report


def test_no_home_and_no_passwd_entry_is_a_clear_error(tmp_path, monkeypatch):
    """Without HOME and without a home in the password database, '~' paths raise TokenFileError and nothing is written, least of all a './~' directory."""
    monkeypatch.delenv("HOME", raising=False)

    def no_entry(uid: int) -> Any:
        raise KeyError(uid)

    monkeypatch.setattr(pwd, "getpwuid", no_entry)
    monkeypatch.chdir(tmp_path)
    assert os.path.expanduser("~/x") == "~/x"  # the situation under test
    report = _save_without_home(str(tmp_path))
    print(f"no HOME, no passwd entry (in-process): save -> {report['save']}")
    for name in ("resolve", "save", "strict_save", "client"):
        assert report[name].startswith("TokenFileError"), (name, report[name])
        assert "cannot expand '~'" in report[name]
    assert report["cli_exit"] == cli.EXIT_ERROR
    assert "cannot expand '~'" in report["cli_stderr"]
    assert report["cwd_after"] == []


@pytest.mark.skipif(
    os.geteuid() != 0, reason="needs root to switch to a uid with no passwd entry"
)
def test_no_home_as_a_real_user_without_passwd_entry(world_readable_tmp):
    """A real process of a uid missing from /etc/passwd, without HOME, gets TokenFileError and leaves its working directory empty."""
    with pytest.raises(KeyError):
        pwd.getpwuid(NO_PASSWD_UID)
    workdir = world_readable_tmp / "cwd"
    workdir.mkdir(mode=0o777)
    workdir.chmod(0o777)
    _save_without_home(tempfile.mkdtemp(dir=world_readable_tmp))  # warm imports
    report = run_as(
        NO_PASSWD_UID,
        NO_PASSWD_UID,
        _save_without_home,
        str(workdir),
        unset_env=["HOME"],
        cwd=str(workdir),
    )
    print(
        f"no HOME, uid {NO_PASSWD_UID} without passwd entry: save -> {report['save']}"
    )
    assert report["home_env"] is None
    assert report["pw_dir"] is None
    for name in ("resolve", "save", "strict_save", "client"):
        assert report[name].startswith("TokenFileError"), (name, report[name])
    assert report["cli_exit"] == cli.EXIT_ERROR
    assert report["cwd_after"] == []
    assert list(workdir.iterdir()) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch to user nobody")
def test_no_home_with_a_passwd_entry_uses_it(world_readable_tmp):
    """Without HOME, '~' resolves through the password database (nobody: /nonexistent), and saving there is skipped or refused clearly."""
    workdir = world_readable_tmp / "cwd"
    workdir.mkdir()
    workdir.chmod(0o777)
    report = run_as(
        NOBODY,
        NOBODY,
        _save_without_home,
        str(workdir),
        unset_env=["HOME"],
        cwd=str(workdir),
    )
    print(
        f"no HOME, user nobody (home {report['pw_dir']}): save -> {report['save']}, strict -> {report['strict_save']}"
    )
    assert report["home_env"] is None
    assert report["pw_dir"] == "/nonexistent"
    assert report["resolve"] == "ok"  # nothing there, no error
    assert report["client"] == "ok"
    assert report["save"]["written"] == []
    assert all(p.startswith("~/") for p in report["save"]["skipped"])
    assert report["strict_save"].startswith("TokenFileError")
    assert report["cwd_after"] == []


# ---------------------------------------------------- odd paths and file types


def test_secrets_path_that_is_a_directory(tmp_path):
    """A secrets path that is a directory gives TokenFileError on read, resolve and save, and the save writes nothing."""
    secrets = tmp_path / "secrets"
    (secrets / ca.server_token_filename(SERVER)).mkdir(parents=True)
    as_dir = tmp_path / "token-dir"
    as_dir.mkdir()
    store = ca.FileStore()
    config = ca.Config(server_address=SERVER, secrets_dir=str(secrets))
    errors = []
    for call in (
        lambda: store.read_secrets(str(as_dir)),
        lambda: ca.resolve_token(ca.Config(token_file=str(as_dir)), store),
        lambda: ca.resolve_token(config, store),
        lambda: ca.save_token(config, store, TOKEN),
        lambda: ca.save_token(
            config, store, TOKEN, token_file=str(as_dir), write_to_server_file=False
        ),
    ):
        with pytest.raises(ca.TokenFileError) as info:
            call()
        errors.append(info.value.problem)
    print(f"directory as secrets file: {errors}")
    assert all("directory" in problem for problem in errors)
    assert not (secrets / "cave-secret.json").exists()


def test_secrets_dir_that_is_a_file(tmp_path):
    """A secrets directory that is a regular file gives a clear TokenFileError, never a silent 'read-only' skip."""
    not_a_dir = tmp_path / "secrets"
    not_a_dir.write_text("I am a file")
    config = ca.Config(server_address=SERVER, secrets_dir=str(not_a_dir))
    store = ca.FileStore()
    with pytest.raises(ca.TokenFileError) as read:
        ca.resolve_token(config, store)
    with pytest.raises(ca.TokenFileError) as save:
        ca.save_token(config, store, TOKEN)  # ignore_readonly=True by default
    client = ca.AuthClient(store=ca.MemoryStore(), environ={})
    with pytest.raises(ca.TokenFileError):
        ca.AuthClient(
            store=store,
            environ={"CLOUD_VOLUME_DIR": str(not_a_dir.parent), "CAVE_TOKEN": TOKEN},
        ).save_token(token_file=str(not_a_dir / "cave-secret.json"))
    print(
        f"file as secrets dir: resolve -> {read.value.problem}; save -> {save.value.problem}"
    )
    assert "not a directory" in read.value.problem
    assert "not a directory" in save.value.problem
    assert not_a_dir.read_text() == "I am a file"
    assert client.token is None


def test_dangling_symlink_and_symlink_loop(tmp_path):
    """A dangling symlink reads as missing and a save creates its target (0600); a symlink loop is a TokenFileError."""
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    target = tmp_path / "elsewhere" / "real-secret.json"
    link = secrets / "cave-secret.json"
    link.symlink_to(target)
    config = ca.Config(server_address=SERVER, secrets_dir=str(secrets))
    store = ca.FileStore()
    assert store.read_secrets(str(link)) is None
    assert ca.resolve_token(config, store) is None
    result = ca.save_token(config, store, TOKEN, write_to_server_file=False)
    assert result.written == (str(link),)
    assert link.is_symlink()
    assert json.loads(target.read_text()) == {"token": TOKEN}
    assert _mode(target) == 0o600
    assert _mode(target.parent) == 0o700
    found = ca.resolve_token(config, store)
    assert found is not None
    assert found.token == TOKEN

    loop_a, loop_b = secrets / "loop-a.json", secrets / "loop-b.json"
    loop_a.symlink_to(loop_b)
    loop_b.symlink_to(loop_a)
    with pytest.raises(ca.TokenFileError) as read:
        store.read_secrets(str(loop_a))
    with pytest.raises(ca.TokenFileError):
        ca.save_token(
            config, store, TOKEN, token_file=str(loop_a), write_to_server_file=False
        )
    print(f"dangling symlink: target created 0600; symlink loop: {read.value.problem}")


@pytest.mark.timeout(30)
def test_fifo_and_device_as_secrets_file_do_not_hang(tmp_path):
    """A FIFO or a device where a secrets file should be gives TokenFileError at once instead of blocking or reading forever."""
    fifo = tmp_path / "cave-secret.json"
    os.mkfifo(fifo)
    store = ca.FileStore()
    config = ca.Config(server_address=SERVER, secrets_dir=str(tmp_path))
    started = time.monotonic()
    problems = []
    for call in (
        lambda: store.read_secrets(str(fifo)),
        lambda: ca.resolve_token(config, store),
        lambda: ca.save_token(config, store, TOKEN),
        lambda: ca.resolve_token(ca.Config(token_file="/dev/zero"), store),
        lambda: ca.resolve_token(ca.Config(token_file="/dev/null"), store),
    ):
        with pytest.raises(ca.TokenFileError) as info:
            call()
        problems.append(info.value.problem)
    elapsed = time.monotonic() - started
    print(
        f"FIFO and devices: {len(problems)} TokenFileErrors in {elapsed:.3f} s: {sorted(set(problems))}"
    )
    assert elapsed < 10  # blocking on the FIFO, or reading /dev/zero, never ends
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # left alone


def test_huge_file_is_refused_without_reading_it_all(tmp_path):
    """A secrets file far larger than any real one is refused with TokenFileError."""
    huge = tmp_path / "cave-secret.json"
    with huge.open("wb") as file:
        file.truncate(64 << 20)  # sparse: 64 MiB of NUL bytes
    with pytest.raises(ca.TokenFileError) as info:
        ca.FileStore().read_secrets(str(huge))
    print(f"64 MiB secrets file: {info.value.problem}")
    assert "larger" in info.value.problem


def test_group_readable_file_is_read_warned_about_and_tightened(tmp_path):
    """A 0644 secrets file is still read, `cave-auth status` warns about it, and the next save makes it 0600."""
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    loose = secrets / "cave-secret.json"
    loose.write_text(json.dumps({"token": TOKEN}))
    loose.chmod(0o644)
    config = ca.Config(server_address=SERVER, secrets_dir=str(secrets))
    found = ca.resolve_token(config, ca.FileStore())
    assert found is not None
    assert found.token == TOKEN
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(
        ["status", "--secrets-dir", str(secrets)], stdout=out, stderr=err, environ={}
    )
    assert code == cli.EXIT_OK
    warning = next(line for line in err.getvalue().splitlines() if "warning" in line)
    print(f"0644 file: read ok; status says: {warning}")
    assert "0644" in warning
    assert str(loose) in warning
    assert TOKEN not in out.getvalue() + err.getvalue()
    ca.save_token(config, ca.FileStore(), "another0123456789abcdef", token_key="other")
    assert _mode(loose) == 0o600
