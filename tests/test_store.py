"""Tests for cave_auth.store: FileStore on real files, MemoryStore in memory."""

from __future__ import annotations

import json
import multiprocessing
import os
import stat

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cave_auth as ca
from cave_auth.store import parse_secrets

TOKEN = "0123456789abcdef0123456789abcdef"


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_missing_file_reads_as_none(tmp_path):
    """Reading a secrets file that does not exist gives None, not an error."""
    assert ca.FileStore().read_secrets(str(tmp_path / "nope.json")) is None


def test_set_secret_creates_private_file_and_directories(tmp_path):
    """A first save creates the directories 0700 and the file 0600."""
    path = tmp_path / "a" / "b" / "cave-secret.json"
    assert ca.FileStore().set_secret(str(path), "token", TOKEN) is True
    assert json.loads(path.read_text()) == {"token": TOKEN}
    assert _mode(path) == 0o600
    assert _mode(tmp_path / "a") == 0o700
    assert _mode(tmp_path / "a" / "b") == 0o700


def test_set_secret_keeps_other_keys_and_tightens_mode(tmp_path):
    """Saving one key keeps every other key and leaves the file 0600."""
    path = tmp_path / "cave-secret.json"
    path.write_text(json.dumps({"fanc": "f" * 32, "other": {"nested": True}}))
    path.chmod(0o644)
    ca.FileStore().set_secret(str(path), "token", TOKEN)
    assert json.loads(path.read_text()) == {
        "fanc": "f" * 32,
        "other": {"nested": True},
        "token": TOKEN,
    }
    assert _mode(path) == 0o600


def test_same_value_again_is_a_noop(tmp_path):
    """Setting a key to the value it already has reports no change."""
    path = str(tmp_path / "s.json")
    store = ca.FileStore()
    assert store.set_secret(path, "token", TOKEN, overwrite=False) is True
    assert store.set_secret(path, "token", TOKEN, overwrite=False) is False


def test_overwrite_guard(tmp_path):
    """A different value under an existing key needs overwrite=True."""
    path = str(tmp_path / "s.json")
    store = ca.FileStore()
    store.set_secret(path, "token", TOKEN)
    with pytest.raises(ca.TokenKeyExistsError) as info:
        store.set_secret(path, "token", "f" * 32, overwrite=False)
    assert isinstance(info.value, ValueError)
    assert TOKEN not in str(info.value)
    assert store.read_secrets(path) == {"token": TOKEN}
    assert store.set_secret(path, "token", "f" * 32, overwrite=True) is True
    assert store.read_secrets(path) == {"token": "f" * 32}


def test_expands_home_at_io_time(tmp_path, monkeypatch):
    """A path starting with ~ is expanded when the store touches the disk."""
    monkeypatch.setenv("HOME", str(tmp_path))
    ca.FileStore().set_secret("~/.cloudvolume/secrets/cave-secret.json", "token", TOKEN)
    written = tmp_path / ".cloudvolume" / "secrets" / "cave-secret.json"
    assert json.loads(written.read_text()) == {"token": TOKEN}
    assert ca.FileStore().read_secrets("~/.cloudvolume/secrets/cave-secret.json") == {
        "token": TOKEN
    }


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "array"),
        (b'"just a string"', "JSON scalar"),
        (b"", "empty"),
        (b"\xff\xfe\x00garbage", "UTF-8"),
    ],
)
def test_corrupt_file_names_path_and_problem_not_content(tmp_path, content, problem):
    """A corrupt secrets file raises TokenFileError naming the file, not its content."""
    path = tmp_path / "cave-secret.json"
    path.write_bytes(content)
    with pytest.raises(ca.TokenFileError, match=problem) as info:
        ca.FileStore().read_secrets(str(path))
    assert str(path) in str(info.value)
    assert info.value.path == str(path)
    if content:
        assert content.decode("latin-1") not in str(info.value)


def test_corrupt_file_is_never_overwritten(tmp_path):
    """A save into a corrupt file fails and leaves the file as it was."""
    path = tmp_path / "cave-secret.json"
    path.write_text('{"token": "abc", broken')
    with pytest.raises(ca.TokenFileError):
        ca.FileStore().set_secret(str(path), "token", TOKEN, overwrite=True)
    assert path.read_text() == '{"token": "abc", broken'


def test_directory_in_place_of_file(tmp_path):
    """A directory where the secrets file should be is a clear TokenFileError."""
    (tmp_path / "cave-secret.json").mkdir()
    with pytest.raises(ca.TokenFileError, match="is a directory"):
        ca.FileStore().read_secrets(str(tmp_path / "cave-secret.json"))


def test_dangling_symlink_reads_as_missing_and_save_writes_its_target(tmp_path):
    """A dangling symlink reads as no file; saving creates the file it points to."""
    link = tmp_path / "cave-secret.json"
    target = tmp_path / "real" / "secret.json"
    link.symlink_to(target)
    store = ca.FileStore()
    assert store.read_secrets(str(link)) is None
    store.set_secret(str(link), "token", TOKEN)
    assert link.is_symlink()
    assert json.loads(target.read_text()) == {"token": TOKEN}


def test_no_temp_files_left_after_save(tmp_path):
    """A save leaves only the secrets file and its lock file in the directory."""
    store = ca.FileStore()
    for index in range(5):
        store.set_secret(str(tmp_path / "s.json"), f"k{index}", TOKEN)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".s.json.lock", "s.json"]


def test_stale_temp_file_is_removed_by_next_save(tmp_path):
    """A temp file left by a killed writer is removed by the next save."""
    stale = tmp_path / ".s.json.999.deadbeef.tmp"
    stale.write_text("{")
    ca.FileStore().set_secret(str(tmp_path / "s.json"), "token", TOKEN)
    assert not stale.exists()


def test_is_writable_looks_at_nearest_existing_directory(tmp_path):
    """is_writable is true for a path whose directories do not exist yet."""
    store = ca.FileStore()
    assert store.is_writable(str(tmp_path / "x" / "y" / "s.json"))
    (tmp_path / "file").write_text("")
    assert not store.is_writable(str(tmp_path / "file" / "s.json"))


def _save_many(path: str, prefix: str, count: int) -> None:
    store = ca.FileStore(lock_timeout=60)
    for index in range(count):
        store.set_secret(path, f"{prefix}-{index}", f"{prefix}x{index}")


@pytest.mark.timeout(120)
def test_file_mode_reports_the_permission_bits(tmp_path):
    """FileStore.file_mode gives a file's permission bits, as chmod set them."""
    path = tmp_path / "cave-secret.json"
    path.write_text(json.dumps({"token": TOKEN}))
    path.chmod(0o644)
    assert ca.FileStore().file_mode(str(path)) == 0o644
    ca.FileStore().set_secret(str(path), "other", "o" * 20)
    assert ca.FileStore().file_mode(str(path)) == 0o600


def test_file_mode_follows_symlinks_and_expands_home(tmp_path, monkeypatch):
    """FileStore.file_mode looks at the file a symlink or ``~`` path names."""
    monkeypatch.setenv("HOME", str(tmp_path))
    target = tmp_path / "real.json"
    target.write_text("{}")
    target.chmod(0o640)
    (tmp_path / "link.json").symlink_to(target)
    assert ca.FileStore().file_mode("~/link.json") == 0o640


def test_file_mode_of_a_missing_file_is_none(tmp_path):
    """FileStore.file_mode is None for a missing file or a dangling symlink."""
    assert ca.FileStore().file_mode(str(tmp_path / "nope.json")) is None
    (tmp_path / "dangling.json").symlink_to(tmp_path / "gone.json")
    assert ca.FileStore().file_mode(str(tmp_path / "dangling.json")) is None


def test_file_mode_without_a_home_is_none(monkeypatch):
    """FileStore.file_mode is None when ``~`` cannot be expanded, not an error."""
    monkeypatch.setattr(os.path, "expanduser", lambda path: path)  # no home at all
    assert ca.FileStore().file_mode("~/.cloudvolume/secrets/cave-secret.json") is None


def test_concurrent_processes_saving_distinct_keys_lose_nothing(tmp_path):
    """4 processes x 25 saves of distinct keys into one file leave all 100 keys."""
    # The reliability suite races 8 writers and a reader; this is the quick check.
    path = str(tmp_path / "secrets" / "cave-secret.json")
    # Forked, not spawned: a spawned child imports this test module first.
    context = multiprocessing.get_context("fork")
    workers = [
        context.Process(target=_save_many, args=(path, f"p{n}", 25)) for n in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(100)
        assert worker.exitcode == 0
    secrets = ca.FileStore().read_secrets(path)
    assert secrets is not None
    assert len(secrets) == 100
    assert secrets["p3-24"] == "p3x24"
    assert _mode(path) == 0o600


def test_memory_store_round_trip_and_isolation():
    """MemoryStore reads, writes and hands out copies, never its own dicts."""
    path = "~/.cloudvolume/secrets/cave-secret.json"
    store = ca.MemoryStore({path: {"token": TOKEN}})
    read = store.read_secrets(path)
    assert read == {"token": TOKEN}
    read["token"] = "changed"  # type: ignore[index]
    assert store.read_secrets(path) == {"token": TOKEN}
    assert store.read_secrets("~/.cloudvolume//secrets/./cave-secret.json") == {
        "token": TOKEN
    }
    assert store.set_secret(path, "other", "o" * 20) is True
    assert store.files == {os.path.normpath(path): {"token": TOKEN, "other": "o" * 20}}
    with pytest.raises(ca.TokenKeyExistsError):
        store.set_secret(path, "token", "z" * 20, overwrite=False)


def test_read_only_memory_store():
    """A read-only MemoryStore says so and refuses writes with TokenFileError."""
    store = ca.MemoryStore(writable=False)
    assert store.is_writable("/any") is False
    with pytest.raises(ca.TokenFileError, match="read-only"):
        store.set_secret("/any", "token", TOKEN)


def test_memory_store_file_mode_is_what_it_was_given():
    """MemoryStore.file_mode reports the given modes, and None for other paths."""
    path = "~/.cloudvolume/secrets/cave-secret.json"
    store = ca.MemoryStore(
        {path: {"token": TOKEN}},
        modes={"~/.cloudvolume/secrets//cave-secret.json": 0o644},
    )
    assert store.file_mode(path) == 0o644
    assert store.file_mode("~/.cloudvolume/secrets/other.json") is None
    assert ca.MemoryStore({path: {"token": TOKEN}}).file_mode(path) is None


def test_memory_store_save_leaves_a_known_mode_private():
    """A save to a path with a known mode leaves it 0600, as FileStore does."""
    store = ca.MemoryStore(modes={"/a.json": 0o666})
    store.set_secret("/a.json", "token", TOKEN)
    store.set_secret("/b.json", "token", TOKEN)
    assert store.file_mode("/a.json") == 0o600
    assert store.file_mode("/b.json") is None


def test_store_reprs_never_show_tokens():
    """The repr of a store lists paths at most, never a token."""
    store = ca.MemoryStore({"/a.json": {"token": TOKEN}})
    assert TOKEN not in repr(store)
    assert TOKEN not in repr(ca.FileStore())


def test_both_stores_satisfy_the_protocol():
    """FileStore and MemoryStore are TokenStores."""
    assert isinstance(ca.FileStore(), ca.TokenStore)
    assert isinstance(ca.MemoryStore(), ca.TokenStore)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=200))
def test_parse_secrets_never_raises_anything_but_token_file_error(data):
    """Arbitrary bytes parse to a dict or raise TokenFileError, nothing else."""
    try:
        result = parse_secrets("/p.json", data)
    except ca.TokenFileError as error:
        assert error.path == "/p.json"
    else:
        assert isinstance(result, dict)


def test_remove_secret_keeps_other_keys_and_checks_the_value(tmp_path):
    """remove_secret drops one key atomically, only while it holds the expected value."""
    path = str(tmp_path / "s" / "cave-secret.json")
    for store in (ca.FileStore(), ca.MemoryStore()):
        store.set_secret(path, "token", "abc123")
        store.set_secret(path, "other", "def456")
        assert not store.remove_secret(path, "token", only_if="zzz999")
        assert store.remove_secret(path, "token", only_if="abc123")
        assert not store.remove_secret(path, "token")
        assert dict(store.read_secrets(path) or {}) == {"other": "def456"}
        assert not store.remove_secret(str(tmp_path / "missing.json"), "token")


def test_list_files_hides_lock_and_temporary_files(tmp_path):
    """list_files names the visible regular files of a directory, sorted."""
    store = ca.FileStore()
    store.set_secret(str(tmp_path / "b-cave-secret.json"), "token", "abc123")
    store.set_secret(str(tmp_path / "a.json"), "token", "abc123")
    (tmp_path / "sub").mkdir()
    assert store.list_files(str(tmp_path)) == ["a.json", "b-cave-secret.json"]
    assert any(p.name.endswith(".lock") for p in tmp_path.iterdir())
    assert store.list_files(str(tmp_path / "missing")) == []


# ------------------------------------------ directories other users can change


def _unsafe_dir(tmp_path, mode: int):
    directory = tmp_path / "shared"
    directory.mkdir()
    directory.chmod(mode)
    return directory


def _nothing_written(directory) -> bool:
    return sorted(os.listdir(directory)) == []


@pytest.mark.parametrize("mode", [0o770, 0o720, 0o707, 0o777, 0o1777])
def test_save_refuses_a_directory_others_can_write(tmp_path, mode):
    """A group- or world-writable directory (sticky or not) gets no token file, lock or temp file."""
    directory = _unsafe_dir(tmp_path, mode)
    path = directory / "cave-secret.json"
    with pytest.raises(ca.TokenFileError) as caught:
        ca.FileStore().set_secret(str(path), "token", TOKEN)
    message = str(caught.value)
    assert caught.value.path == str(path)
    assert (
        f"the secrets directory {directory} is writable by group or others" in message
    )
    assert f"(mode {mode:04o})" in message
    assert f"fix it with: chmod 700 {directory}" in message
    assert _nothing_written(directory)
    assert _mode(directory) == mode


def test_the_chmod_fix_in_the_message_makes_the_save_work(tmp_path):
    """Running the fix the message names is enough for the next save to succeed."""
    directory = _unsafe_dir(tmp_path, 0o775)
    path = str(directory / "cave-secret.json")
    with pytest.raises(ca.TokenFileError, match="chmod 700"):
        ca.FileStore().set_secret(path, "token", TOKEN)
    directory.chmod(0o700)
    assert ca.FileStore().set_secret(path, "token", TOKEN) is True


def test_the_fix_quotes_a_directory_with_spaces(tmp_path):
    """The chmod command in the message can be pasted into a shell as it is."""
    directory = tmp_path / "my secrets"
    directory.mkdir(mode=0o777)
    directory.chmod(0o777)
    problem = ca.FileStore().directory_problem(str(directory / "cave-secret.json"))
    assert problem is not None
    assert f"chmod 700 '{directory}'" in problem


def test_remove_secret_refuses_a_directory_others_can_write(tmp_path):
    """Removing a key rewrites the file, so it is refused there too, file untouched."""
    directory = tmp_path / "shared"
    directory.mkdir(mode=0o700)
    path = directory / "cave-secret.json"
    ca.FileStore().set_secret(str(path), "token", TOKEN)
    directory.chmod(0o777)
    before = path.read_bytes()
    with pytest.raises(ca.TokenFileError, match="chmod 700"):
        ca.FileStore().remove_secret(str(path), "token")
    assert path.read_bytes() == before


def test_reading_a_directory_others_can_write_still_works(tmp_path):
    """Reading is not refused (only warned about): the token is read as saved."""
    directory = _unsafe_dir(tmp_path, 0o777)
    path = directory / "cave-secret.json"
    path.write_text(json.dumps({"token": TOKEN}))
    assert ca.FileStore().read_secrets(str(path)) == {"token": TOKEN}


def test_save_refuses_a_symlink_into_a_directory_others_can_write(tmp_path):
    """A private directory's symlink to a file in a shared directory does not make it safe."""
    shared = _unsafe_dir(tmp_path, 0o777)
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    (private / "cave-secret.json").symlink_to(shared / "cave-secret.json")
    with pytest.raises(ca.TokenFileError, match=f"directory {shared} is writable"):
        ca.FileStore().set_secret(str(private / "cave-secret.json"), "token", TOKEN)
    assert _nothing_written(shared)


def test_private_and_missing_directories_have_no_problem(tmp_path):
    """A 0700 or 0755 directory of this user, or one a save would create, is fine."""
    store = ca.FileStore()
    (tmp_path / "a").mkdir(mode=0o700)
    (tmp_path / "b").mkdir()
    (tmp_path / "b").chmod(0o755)
    assert store.directory_problem(str(tmp_path / "a" / "s.json")) is None
    assert store.directory_problem(str(tmp_path / "b" / "s.json")) is None
    assert store.directory_problem(str(tmp_path / "new" / "s.json")) is None


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0,
    reason="a real chown to another user needs root",
)
def test_save_refuses_a_directory_owned_by_another_user(tmp_path):
    """A 0700 directory that belongs to another user is refused, naming both ids."""
    directory = tmp_path / "theirs"
    directory.mkdir(mode=0o700)
    os.chown(directory, 65534, 65534)
    path = directory / "cave-secret.json"
    with pytest.raises(ca.TokenFileError) as caught:
        ca.FileStore().set_secret(str(path), "token", TOKEN)
    message = str(caught.value)
    assert f"{directory} belongs to user id 65534, not to you (user id 0)" in message
    assert f"chown 0 {directory}" in message
    assert _nothing_written(directory)


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0,
    reason="as root, the real-chown test covers this",
)
def test_save_refuses_a_directory_owned_by_another_user_without_root(
    tmp_path, monkeypatch
):
    """Seen from another (non-root) user id, this user's 0700 directory is refused."""
    directory = tmp_path / "theirs"
    directory.mkdir(mode=0o700)
    owner = os.stat(directory).st_uid
    monkeypatch.setattr(os, "geteuid", lambda: owner + 1)
    with pytest.raises(ca.TokenFileError, match=f"belongs to user id {owner}"):
        ca.FileStore().set_secret(str(directory / "cave-secret.json"), "token", TOKEN)
    assert _nothing_written(directory)


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="no user ids here")
def test_a_directory_owned_by_root_is_trusted(monkeypatch):
    """Root can change anything anyway, so root's 0755 ``/`` is no problem for a user."""
    root = os.stat("/")
    if root.st_uid != 0 or stat.S_IMODE(root.st_mode) & 0o022:
        pytest.skip("/ is not root's 0755 directory here")
    monkeypatch.setattr(os, "geteuid", lambda: 4242)
    assert ca.FileStore().directory_problem("/cave-secret.json") is None


def test_memory_store_has_no_directory_problem():
    """MemoryStore has no directories another user could change."""
    assert ca.MemoryStore().directory_problem("/tmp/cave-secret.json") is None


@pytest.mark.parametrize("protocol", range(2, 6))
def test_memory_store_pickles_with_its_files_and_modes(protocol):
    """An unpickled MemoryStore holds the same files and modes and changes apart."""
    import pickle

    path = "/s/cave-secret.json"
    store = ca.MemoryStore({path: {"token": TOKEN}}, modes={path: 0o644}, writable=True)
    clone = pickle.loads(pickle.dumps(store, protocol=protocol))
    assert clone.files == store.files
    assert clone.file_mode(path) == 0o644
    clone.set_secret(path, "other", "o" * 20)
    assert store.read_secrets(path) == {"token": TOKEN}
    assert clone.read_secrets(path) == {"token": TOKEN, "other": "o" * 20}
    assert clone.file_mode(path) == 0o600
