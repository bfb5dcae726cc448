"""FileRegistry: the JSON-file registry -- hot reload that never serves a bad file, atomic
locked writes that lose nothing."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import stat
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import clientauth
from certs import Clock, Pki, self_signed
from clientauth import ClientMetadataError, ConfigurationError
from clientauth.registry_file import FileRegistry

HASH = clientauth.hash_secret(clientauth.generate_secret())


def entry(client_id: str, **extra: Any) -> dict[str, Any]:
    return {"client_id": client_id, "client_secret_hash": HASH, **extra}




@pytest.fixture
def path(tmp_path: Path) -> Path:
    p = tmp_path / "clients.json"
    p.write_text(json.dumps({"clients": [entry("a")]}))
    return p


@pytest.fixture
def clock() -> Clock:
    return Clock()


def rewrite(path: Path, text: str) -> None:
    """Write in place (not atomically), as an editor or `cat > file` would; the size or
    mtime changes, so the registry notices."""
    with open(path, "w") as fh:
        fh.write(text)
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))


class TestLookup:
    def test_is_a_client_registry(self, path: Path) -> None:
        """FileRegistry satisfies the ClientRegistry protocol and works with Authenticator."""
        registry = FileRegistry(path)
        assert isinstance(registry, clientauth.ClientRegistry)
        assert registry.get("a") is not None and registry.get("b") is None
        assert "a" in registry and len(registry) == 1
        clientauth.Authenticator(registry)

    def test_find_by_certificate(self, tmp_path: Path, pki: Pki) -> None:
        """Certificate lookups follow MemoryRegistry: registered name or pin."""
        pinned = self_signed("dev")
        leaf = pki.leaf("svc", org="Acme")
        p = tmp_path / "c.json"
        p.write_text(json.dumps([
            {"client_id": "dev", "token_endpoint_auth_method": "self_signed_tls_client_auth",
             "tls_client_certificates": [pinned.pem]},
            {"client_id": "svc", "token_endpoint_auth_method": "tls_client_auth",
             "tls_client_auth_subject_dn": "CN=svc,O=Acme"},
        ]))
        registry = FileRegistry(p)
        assert [c.client_id for c in registry.find_by_certificate(pinned.cert)] == ["dev"]
        assert [c.client_id for c in registry.find_by_certificate(leaf.cert)] == ["svc"]
        assert registry.find_by_certificate(pki.leaf("other").cert) == ()

    def test_invalid_file_at_start_raises(self, tmp_path: Path) -> None:
        """With no good registry to fall back on, a bad file at construction raises."""
        p = tmp_path / "c.json"
        p.write_text("[{")
        with pytest.raises(ConfigurationError, match="not valid JSON"):
            FileRegistry(p)
        with pytest.raises(ConfigurationError, match="cannot read"):
            FileRegistry(tmp_path / "missing.json")

    def test_json_string_document_refused(self, tmp_path: Path) -> None:
        """A document that is a JSON string is refused (never read as another path)."""
        p = tmp_path / "c.json"
        p.write_text(json.dumps(str(p)))
        with pytest.raises(ClientMetadataError):
            FileRegistry(p)


class TestHotReload:
    def test_change_seen_after_interval(self, path: Path, clock: Clock) -> None:
        """A valid change is served once reload_interval has passed, not before."""
        registry = FileRegistry(path, reload_interval=2, now=clock)
        rewrite(path, json.dumps([entry("a"), entry("b")]))
        assert registry.get("b") is None
        clock.advance(2)
        assert registry.get("b") is not None

    def test_default_interval_is_one_second(self, path: Path, clock: Clock) -> None:
        """Issue 12: with the defaults, a change written by another process is served
        within 1 s (the same goal as PostgreSQL's notifications; 2 s before), not before
        the interval has passed (one stat per interval)."""
        registry = FileRegistry(path, now=clock)
        rewrite(path, json.dumps([entry("a"), entry("b")]))
        clock.advance(0.9)
        assert registry.get("b") is None
        clock.advance(0.11)
        assert registry.get("b") is not None

    def test_zero_interval_checks_every_lookup(self, path: Path, clock: Clock) -> None:
        """reload_interval=0 looks at the file on every lookup."""
        registry = FileRegistry(path, reload_interval=0, now=clock)
        rewrite(path, json.dumps([entry("b")]))
        assert registry.get("b") is not None and registry.get("a") is None

    @pytest.mark.parametrize("bad", [
        "", "[", '[{"client_id": "a", "client_secret_hash": "', "[1]",
        json.dumps([{"client_id": "a", "client_secret": "clear"}]),
        json.dumps([entry("a"), entry("a")]),
    ], ids=["empty", "truncated", "half-written", "not-objects", "clear-secret", "duplicate"])
    def test_bad_file_never_replaces_good_registry(
        self, path: Path, clock: Clock, bad: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A half-written or invalid file keeps the last good registry serving, logs a
        warning once and sets last_error; a later good file is loaded and clears it."""
        registry = FileRegistry(path, reload_interval=0, now=clock)
        rewrite(path, bad)
        with caplog.at_level(logging.WARNING, logger="clientauth.registry"):
            assert registry.get("a") is not None
            assert registry.get("a") is not None
        assert registry.last_error is not None
        assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1
        rewrite(path, json.dumps([entry("a"), entry("c")]))
        assert registry.get("c") is not None
        assert registry.last_error is None

    def test_deleted_file_keeps_serving(self, path: Path, clock: Clock) -> None:
        """A file that disappears keeps the registry serving, with last_error set."""
        registry = FileRegistry(path, reload_interval=0, now=clock)
        path.unlink()
        assert registry.get("a") is not None
        assert registry.last_error is not None and "cannot stat" in registry.last_error

    def test_reload_method(self, path: Path, clock: Clock) -> None:
        """reload() checks at once and says whether a new registry was loaded."""
        registry = FileRegistry(path, reload_interval=3600, now=clock)
        assert registry.reload() is False
        rewrite(path, json.dumps([entry("b")]))
        assert registry.reload() is True
        assert registry.get("b") is not None

    def test_clock_going_backwards_triggers_a_check(self, path: Path, clock: Clock) -> None:
        """A wall clock set back never postpones reloading."""
        registry = FileRegistry(path, reload_interval=60, now=clock)
        rewrite(path, json.dumps([entry("b")]))
        clock.advance(-30)
        assert registry.get("b") is not None


class TestWrites:
    def test_add_update_remove(self, path: Path) -> None:
        """add, update and remove change the file and the registry in use."""
        registry = FileRegistry(path)
        registry.add(clientauth.Client.from_metadata(entry("b")))
        assert registry.get("b") is not None and "b" in FileRegistry(path)
        with pytest.raises(ClientMetadataError, match="duplicate"):
            registry.add(clientauth.Client.from_metadata(entry("b")))
        updated = registry.update(
            "b", lambda c: clientauth.Client.from_metadata({**c.to_metadata(), "client_name": "B"})
        )
        assert updated is not None and registry.get("b").to_metadata()["client_name"] == "B"  # type: ignore[union-attr]
        assert registry.update("zz", lambda c: c) is None
        assert registry.remove("b") is True and registry.remove("b") is False
        assert registry.get("b") is None

    def test_replace_adds_or_replaces(self, path: Path) -> None:
        """replace() upserts."""
        registry = FileRegistry(path)
        registry.replace(clientauth.Client.from_metadata(entry("a", client_name="A")))
        registry.replace(clientauth.Client.from_metadata(entry("n")))
        assert registry.get("a").to_metadata()["client_name"] == "A"  # type: ignore[union-attr]
        assert len(registry) == 2

    def test_failed_change_writes_nothing(self, path: Path) -> None:
        """An exception inside the change, or an update changing client_id, leaves the file
        byte-for-byte unchanged."""
        registry = FileRegistry(path)
        before = path.read_bytes()

        def boom(client: clientauth.Client) -> clientauth.Client:
            raise ConfigurationError("no")

        with pytest.raises(ConfigurationError):
            registry.update("a", boom)
        with pytest.raises(ClientMetadataError, match="client_id"):
            registry.update("a", lambda c: clientauth.Client.from_metadata(entry("other")))
        assert path.read_bytes() == before
        assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]

    def test_invalid_file_is_never_overwritten(self, path: Path) -> None:
        """A write refuses to replace a file that does not validate (it would lose data)."""
        registry = FileRegistry(path)
        rewrite(path, "[{")
        with pytest.raises(ConfigurationError, match="not valid JSON"):
            registry.add(clientauth.Client.from_metadata(entry("b")))
        assert path.read_text() == "[{"

    def test_shape_and_mode_are_kept(self, tmp_path: Path) -> None:
        """A list document stays a list; the file's permission bits are kept."""
        p = tmp_path / "c.json"
        p.write_text(json.dumps([entry("a")]))
        os.chmod(p, 0o640)
        FileRegistry(p).add(clientauth.Client.from_metadata(entry("b")))
        assert isinstance(json.loads(p.read_text()), list)
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o640

    def test_create_makes_private_empty_file(self, tmp_path: Path) -> None:
        """create=True makes an empty registry readable by its owner only."""
        p = tmp_path / "new.json"
        registry = FileRegistry(p, create=True)
        assert len(registry) == 0
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o600

    def test_concurrent_writers_lose_nothing(self, path: Path) -> None:
        """Threads with their own FileRegistry objects (as separate processes would) add
        clients concurrently: every one of them is in the file afterwards."""
        errors: list[BaseException] = []

        def writer(n: int) -> None:
            try:
                registry = FileRegistry(path)
                for i in range(10):
                    registry.add(clientauth.Client.from_metadata(entry(f"t{n}-{i}")))
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        assert len(FileRegistry(path)) == 1 + 40


_ROOT = os.geteuid() == 0
_OTHER = 65534  # nobody / nogroup: an owner that is not the writer


class TestOwnershipAndLinks:
    @pytest.mark.skipif(not _ROOT, reason="giving a file to another user needs root")
    def test_owner_and_group_are_kept(self, path: Path) -> None:
        """Issue 12 finding 2: a write by root (``sudo clientauth client ...``) keeps the
        file's owner, group and mode, so the API running as the owner can still read it;
        the lock file is handed to the owner too."""
        os.chown(path, _OTHER, _OTHER)
        os.chmod(path, 0o600)
        FileRegistry(path).add(clientauth.Client.from_metadata(entry("b")))
        st = os.stat(path)
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (_OTHER, _OTHER, 0o600)
        lock = os.stat(str(path) + ".lock")
        assert (lock.st_uid, lock.st_gid) == (_OTHER, _OTHER)
        assert len(FileRegistry(path)) == 2

    def test_write_refused_when_owner_cannot_be_kept(
        self, path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """When the owner cannot be kept (a non-root writer), nothing is written and the
        error says so -- the file is never silently handed to the writer."""
        real = os.stat(path)
        foreign = os.stat_result((real.st_mode, real.st_ino, real.st_dev, real.st_nlink,
                                  real.st_uid + 1, real.st_gid, real.st_size, real.st_atime,
                                  real.st_mtime, real.st_ctime))

        def stat_as_foreign(p: Any, *args: Any, **kwargs: Any) -> os.stat_result:
            return foreign if Path(p) == path else real_stat(p, *args, **kwargs)

        def refuse(*args: Any) -> None:
            raise PermissionError(1, "Operation not permitted")

        real_stat = os.stat
        before = path.read_bytes()
        registry = FileRegistry(path)
        monkeypatch.setattr(os, "stat", stat_as_foreign)
        monkeypatch.setattr(os, "fchown", refuse)
        with pytest.raises(ConfigurationError, match="cannot keep the owner"):
            registry.add(clientauth.Client.from_metadata(entry("b")))
        monkeypatch.undo()
        assert path.read_bytes() == before
        assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []

    def test_symlinked_path_writes_the_target(self, tmp_path: Path) -> None:
        """Issue 12 finding 3: writing through a symbolic link replaces the link's target
        (the link stays a link), and the link and the real name share one lock file."""
        real = tmp_path / "data" / "clients.json"
        real.parent.mkdir()
        real.write_text(json.dumps({"clients": [entry("a")]}))
        link = tmp_path / "clients.json"
        link.symlink_to(real)
        through_link, direct = FileRegistry(link), FileRegistry(real, reload_interval=0)
        through_link.add(clientauth.Client.from_metadata(entry("b")))
        assert link.is_symlink() and os.readlink(link) == str(real)
        assert direct.get("b") is not None and through_link.get("b") is not None
        assert not (tmp_path / "clients.json.lock").exists()
        assert (real.parent / "clients.json.lock").exists()
        direct.remove("a")
        assert FileRegistry(link).get("a") is None

    def test_identity_changes_on_every_write(self, path: Path) -> None:
        """Readers compare (device, inode, size, mtime): a write always moves the mtime
        past the replaced file's, even when that one is in the future (clock stepped back,
        or two writes in one coarse timestamp tick while the freed inode is reused)."""
        future = os.stat(path).st_mtime_ns + 3600 * 10**9
        os.utime(path, ns=(future, future))
        FileRegistry(path).replace(clientauth.Client.from_metadata(entry("a", client_name="x")))
        assert os.stat(path).st_mtime_ns > future


class TestSettings:
    @pytest.mark.parametrize("interval", [-1, timedelta(days=2), "1", True])
    def test_bad_reload_interval(self, path: Path, interval: object) -> None:
        """reload_interval must be a timedelta or seconds between 0 and 1 hour."""
        with pytest.raises(ConfigurationError, match="reload_interval"):
            FileRegistry(path, reload_interval=interval)  # type: ignore[arg-type]

    def test_bad_now_and_path(self, path: Path) -> None:
        """now must be callable; path a str or PathLike."""
        with pytest.raises(ConfigurationError, match="now"):
            FileRegistry(path, now=5)  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError, match="path"):
            FileRegistry(5)  # type: ignore[arg-type]

    def test_repr_names_file_not_content(self, path: Path) -> None:
        """repr shows the path and the count, never a hash."""
        text = repr(FileRegistry(path))
        assert "clients.json" in text and "$sha256$" not in text


class TestClientValue:
    def test_add_plain_constructed_client(self, path: Path) -> None:
        """Issue 12 finding 9: a Client built with its plain constructor is written with its
        full metadata (it used to be written as {}, after which every write failed)."""
        pinned = self_signed("dev")
        thumbprint = clientauth.certificate_thumbprint(pinned.cert)
        registry = FileRegistry(path, reload_interval=0)
        registry.add(clientauth.Client(
            "dev", clientauth.AuthMethod.SELF_SIGNED_TLS_CLIENT_AUTH,
            pinned_thumbprints=frozenset({thumbprint}),
        ))
        stored = json.loads(path.read_text())["clients"][-1]
        assert stored == {"client_id": "dev",
                          "token_endpoint_auth_method": "self_signed_tls_client_auth",
                          "tls_client_certificate_thumbprints": [thumbprint]}
        registry.add(clientauth.Client.from_metadata(entry("later")))
        assert [c.client_id for c in FileRegistry(path)] == ["a", "dev", "later"]
        assert [c.client_id for c in FileRegistry(path).find_by_certificate(pinned.cert)] == [
            "dev"]

    def test_update_with_replaced_secrets_stores_them(self, path: Path) -> None:
        """update() with dataclasses.replace(client, secrets=...) writes the new secrets."""
        fresh = clientauth.Client.from_metadata(entry("a", client_secret_hash=NEW_HASH))
        FileRegistry(path).update("a", lambda c: dataclasses.replace(c, secrets=fresh.secrets))
        stored = FileRegistry(path).get("a")
        assert stored is not None
        assert json.dumps(stored.to_metadata()).count(NEW_HASH) == 1
        assert HASH not in json.dumps(stored.to_metadata())


NEW_HASH = clientauth.hash_secret(clientauth.generate_secret())
