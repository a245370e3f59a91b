"""Where connected accounts' credentials are kept, and refreshing them one process at a time.

- `EnvironmentStore`: read-only, the accounts file and environment variables that
  [`Account.load`][brandkit.Account.load] reads.
- `EncryptedStore`: one SQLite file, each record encrypted with AES-GCM (the ``cryptography``
  package); the key comes from ``BRANDKIT_STORE_KEY``, the caller, or the OS keyring.
- `PostgresStore`: the same encrypted records in a PostgreSQL table, its lock an advisory
  lock, for processes on several hosts (needs ``brandkit[postgres]``).
- `refresh_locked`: refresh one account's tokens under the store's lock, so that two
  processes never spend one rotating refresh token twice.

```python
store = EncryptedStore("credentials.db")  # key from $BRANDKIT_STORE_KEY
store.put("acme-x", creds.to_dict())
fresh = refresh_locked(store, "acme-x", lambda old: auth.x.refresh(...).to_dict())
```
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import errno
import hashlib
import json
import os
import secrets
import time
import tomllib
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from brandkit._durations import stored_time
from brandkit._sqlite import SQLiteStore
from brandkit.auth._core import FINISH_MEMORY
from brandkit.errors import BrandkitError, ConfigurationError, Unsupported

if TYPE_CHECKING:
    from brandkit.auth._pgstore import PostgresStore

__all__ = [
    "KEY_ENV",
    "CredentialStore",
    "CredentialStoreLocked",
    "CredentialsNotStored",
    "EncryptedStore",
    "EnvironmentStore",
    "PostgresStore",
    "ReadOnlyStore",
    "WrongStoreKey",
    "new_key",
    "refresh_locked",
]


def __getattr__(name: str) -> Any:
    # PostgresStore lives in its own module, imported on first use: importing the store
    # never imports the PostgreSQL driver.
    if name == "PostgresStore":
        from brandkit.auth._pgstore import PostgresStore

        return PostgresStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


KEY_ENV = "BRANDKIT_STORE_KEY"
"""The environment variable that holds an `EncryptedStore`'s key (base64 of 32 bytes)."""

KEYRING_SERVICE = "brandkit"
KEYRING_USER = "credential-store"
"""Where `EncryptedStore` looks in the OS keyring (``keyring.get_password(service, user)``)."""

LOCK_WAIT = 60.0
"""How long `CredentialStore.lock` waits for another process by default (seconds): longer
than a token request may take (30 s)."""

STORE_WAIT = 30.0
"""How long `refresh_locked` keeps trying to store the credentials it refreshed (seconds):
the refresh spent the stored refresh token, so the new credentials exist nowhere else."""

_POLL = 0.005
_MAX_RECORD = 1024 * 1024
"""The largest credential record stored: credentials are a few hundred bytes."""

Record = dict[str, Any]


class ReadOnlyStore(ConfigurationError):
    """The store cannot be written (`EnvironmentStore`): keep refreshed credentials in a
    writable store such as `EncryptedStore`."""


class WrongStoreKey(ConfigurationError):
    """The key does not open this encrypted store (another key encrypted it), or a record
    was changed on disk. Nothing was decrypted."""


class CredentialStoreLocked(BrandkitError):
    """Another process held an account's lock longer than the wait allowed."""


def _locked_past(key: str, where: str, seconds: float) -> CredentialStoreLocked:
    """The error of ``key``'s lock in the store ``where`` (its name for people) still held
    by another refresh after ``seconds``, as every store and the refresh hook say it."""
    return CredentialStoreLocked(
        f"the credentials {key!r} of {where} stayed locked by another refresh for more "
        f"than {seconds:g} s: try again, or look for a process stuck in a refresh"
    )


class CredentialsNotStored(BrandkitError):
    """The platform issued new credentials, spending the stored refresh token, but the store
    could not keep them (it stayed locked by another writer, or could not be reached): the
    stored credentials are dead, and the account must be connected again."""


@runtime_checkable
class CredentialStore(Protocol):
    """Where credentials are kept, by key (an account's name).

    Records are plain JSON-able dicts such as ``XCredentials.to_dict()``; they hold
    secrets in clear, so never log them.
    """

    def get(self, key: str) -> Record | None:
        """The record under ``key``, ``None`` if there is none."""
        ...

    def put(self, key: str, data: Mapping[str, Any]) -> None:
        """Store ``data`` under ``key``, replacing what was there."""
        ...

    def remove(self, key: str) -> None:
        """Forget ``key`` (nothing happens if it is not there)."""
        ...

    def keys(self) -> list[str]:
        """The keys held, sorted."""
        ...

    def lock(self, key: str, *, timeout: float | None = None) -> AbstractContextManager[None]:
        """A context manager that holds ``key`` against every other holder, in this
        process and in others on this machine, for the length of a refresh."""
        ...


# -- locks ---------------------------------------------------------------------------------


class _FileLocks:
    """Per-key locks that hold across processes: ``flock`` on one small file per key in a
    directory beside the store. The kernel frees a lock when its holder dies, so a crashed
    refresher never leaves an account locked. ``flock`` belongs to one open file, so two
    threads of one process exclude each other as well."""

    def __init__(self, directory: Path, what: str) -> None:
        self.directory = directory
        self.what = what

    @contextmanager
    def hold(self, key: str, timeout: float) -> Iterator[None]:
        if not key:
            raise ConfigurationError(f"{self.what}: a key must not be empty")
        try:
            import fcntl
        except ImportError:  # Windows
            raise Unsupported(
                f"{self.what}: the lock across processes needs POSIX flock (Linux, macOS)",
                operation="lock",
            ) from None
        # Hashed: any key makes a valid file name.
        name = hashlib.sha256(key.encode()).hexdigest()[:40] + ".lock"
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.directory / name, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            # A read-only mount, or a file where the directory goes: said as what to fix.
            raise ConfigurationError(
                f"{self.what}: cannot make the lock file in {str(self.directory)!r} "
                f"({exc.strerror or type(exc).__name__}): the lock across processes needs "
                "a writable directory there"
            ) from None
        try:
            deadline = time.monotonic() + max(0.0, timeout)
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                        raise
                if time.monotonic() >= deadline:
                    raise _locked_past(key, self.what, timeout)
                time.sleep(_POLL)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


# -- environment ---------------------------------------------------------------------------


class EnvironmentStore:
    """The accounts of an accounts file (see [`Account.load`][brandkit.Account.load]) with
    their secrets read from environment variables: read-only.

    ``get(name)`` returns the account's table with each ``<secret>_env`` replaced by the
    secret itself (``{"platform": "x", "user_token": "...", ...}``: the keyword arguments
    of the platform's ``Account`` factory, plus ``platform``).

    Its `lock` holds across processes too (lock files in a ``.locks`` directory beside the
    accounts file), though nothing refreshed can be stored here: `refresh_locked` refuses
    it (``read_only``) before spending a refresh token.
    """

    read_only: ClassVar[bool] = True
    """Nothing can be stored here; `refresh_locked` checks this before it refreshes."""

    def __init__(self, path: str | Path, *, environ: Mapping[str, str] | None = None) -> None:
        self.path = Path(path)
        self._environ = environ
        self._locks = _FileLocks(
            self.path.with_name(self.path.name + ".locks"), f"accounts file {str(self.path)!r}"
        )

    def __repr__(self) -> str:
        return f"EnvironmentStore({str(self.path)!r})"

    def _load(self) -> tuple[dict[str, Any], Mapping[str, str]]:
        from brandkit.accounts import Account

        env = os.environ if self._environ is None else self._environ
        # Account.load checks the file as it always has (unknown keys, secrets written in
        # the file, unset variables) and raises its ConfigurationError.
        Account.load(self.path, environ=env)
        data = tomllib.loads(self.path.read_text(encoding="utf-8"))
        return data["accounts"], env

    def get(self, key: str) -> Record | None:
        """The account ``key`` with its secrets, ``None`` if the file has no such table.

        Raises:
            ConfigurationError: what `Account.load` raises for the file.
        """
        tables, env = self._load()
        table = tables.get(key)
        if table is None:
            return None
        out: Record = {}
        for name, value in table.items():
            # Only secrets are named by "<secret>_env" (Account.load refuses other keys).
            if name.endswith("_env") and isinstance(value, str):
                out[name[:-4]] = env[value]
            else:
                out[name] = value
        return out

    def keys(self) -> list[str]:
        """The accounts' names, sorted.

        Raises:
            ConfigurationError: what `Account.load` raises for the file.
        """
        return sorted(self._load()[0])

    def put(self, key: str, data: Mapping[str, Any]) -> None:
        """Always raises `ReadOnlyStore`: environment variables are set outside brandkit."""
        raise ReadOnlyStore(
            f"{self!r} is read-only (secrets come from environment variables): keep "
            f"credentials for {key!r} in a writable store such as EncryptedStore"
        )

    def remove(self, key: str) -> None:
        """Always raises `ReadOnlyStore`."""
        raise ReadOnlyStore(
            f"{self!r} is read-only: remove the table [accounts.{key}] from the file instead"
        )

    def lock(self, key: str, *, timeout: float | None = None) -> AbstractContextManager[None]:
        """Hold ``key`` against other holders (see `CredentialStore.lock`).

        Raises:
            ConfigurationError: no lock file can be made beside the accounts file.
            CredentialStoreLocked: another holder kept it past ``timeout`` (default
                `LOCK_WAIT`).
        """
        return self._locks.hold(key, LOCK_WAIT if timeout is None else timeout)


# -- encrypted SQLite ------------------------------------------------------------------------


def new_key() -> str:
    """A new random store key, base64 as ``BRANDKIT_STORE_KEY`` takes it. Keep it in a
    secret manager or the OS keyring, never beside the store."""
    return base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def _decode_key(value: str | bytes, source: str) -> bytes:
    if isinstance(value, bytes) and len(value) == 32:
        return value
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        # The value itself stays out of the message.
        raise ConfigurationError(
            f"the store key from {source} is not base64 of 32 bytes: make one with "
            "brandkit.auth.store.new_key()"
        )
    return raw


def _key_from_keyring() -> str | None:
    try:
        import keyring  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    try:
        value = keyring.get_password(KEYRING_SERVICE, KEYRING_USER)
    except Exception:  # any keyring backend failure (locked, no backend): no key there
        return None
    return value if isinstance(value, str) and value else None


def _resolve_key(key: str | bytes | None) -> bytes:
    if key is not None:
        return _decode_key(key, "the key argument")
    env = os.environ.get(KEY_ENV)
    if env:
        return _decode_key(env, f"${KEY_ENV}")
    stored = _key_from_keyring()
    if stored is not None:
        return _decode_key(stored, f"the OS keyring ({KEYRING_SERVICE}/{KEYRING_USER})")
    raise ConfigurationError(
        f"no key for the encrypted credential store: set {KEY_ENV} to the output of "
        "brandkit.auth.store.new_key(), pass key=..., or (with the keyring package) keep it "
        f"in the OS keyring as keyring.set_password({KEYRING_SERVICE!r}, {KEYRING_USER!r}, key)"
    )


_CHECK = b"brandkit credential store"
_CLAIM_SAMPLE = 100
"""How many records a store without a check value tries its key on (`_Sealer.claims`)."""


class _Sealer:
    """The record encryption every encrypted store shares (`EncryptedStore`,
    `PostgresStore`): AES-256-GCM, a fresh 96-bit nonce per record, each record bound to
    its key (the associated data), and a known text sealed once per store so that a wrong
    key is refused when the store opens. The key lives only inside the AESGCM object."""

    def __init__(self, key: str | bytes | None, store: str) -> None:
        try:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        except ImportError:
            raise ConfigurationError(
                f"{store} needs the cryptography package: pip install 'brandkit[store]'"
            ) from None
        self._aead = AESGCM(_resolve_key(key))

    def __repr__(self) -> str:
        return "_Sealer(key=**********)"

    def seal(self, key: str, plain: bytes) -> tuple[bytes, bytes]:
        nonce = secrets.token_bytes(12)
        return nonce, self._aead.encrypt(nonce, plain, key.encode())

    def open(self, key: str, nonce: bytes, data: bytes, where: str) -> bytes:
        from cryptography.exceptions import InvalidTag

        try:
            # A row changed by hand can hold text, or a nonce AES-GCM refuses outright
            # (TypeError, ValueError): the same damage as a failed tag, and as typed.
            if not isinstance(nonce, bytes) or not isinstance(data, bytes):
                raise InvalidTag
            return self._aead.decrypt(nonce, data, key.encode())
        except (InvalidTag, ValueError):
            raise WrongStoreKey(
                f"the key does not open the record {key!r} of {where}: the store was "
                "made with another key, or the record was changed; use the store's own key"
            ) from None

    def check_value(self) -> str:
        """The known text sealed with this key, as the store keeps it."""
        nonce, sealed = self.seal("check", _CHECK)
        return base64.b64encode(nonce + sealed).decode("ascii")

    def verify(self, value: str, where: str) -> None:
        """Raise `WrongStoreKey` unless ``value`` (from `check_value`) opens with this key."""
        try:
            raw = base64.b64decode(value)
            ok = self.open("check", raw[:12], raw[12:], where) == _CHECK
        except (WrongStoreKey, binascii.Error, TypeError, ValueError):
            # A check value damaged on disk opens with no key at all.
            ok = False
        if not ok:
            raise WrongStoreKey(
                f"the key does not open {where}: it was made with another key (or its "
                f"check value was changed on disk); set {KEY_ENV} (or pass key=) to the key "
                "it was made with"
            )

    def claims(self, records: list[tuple[Any, Any, Any]], where: str) -> None:
        """Check this key against ``records`` (key, nonce, data) of a store that has no check
        value yet, before one is sealed with it: a store that lost its check value (a table
        copied without it, a row deleted by hand) would otherwise be claimed by whatever key
        opens it first, and its own key refused from then on.

        Raises:
            WrongStoreKey: there are records and none of them opens with this key.
        """
        for key, nonce, data in records:
            try:
                self.open(str(key), nonce, data, where)
                return
            except WrongStoreKey:
                continue  # a damaged record says nothing about the key: try the next
        if records:
            raise WrongStoreKey(
                f"the key does not open {where}: it was made with another key (none of its "
                f"records opens); set {KEY_ENV} (or pass key=) to the key it was made with"
            )

    def seal_record(self, key: str, data: Mapping[str, Any], where: str) -> tuple[bytes, bytes]:
        """``data`` as JSON, sealed under ``key``.

        Raises:
            ConfigurationError: an empty key, data that is not JSON-able or is larger
                than 1 MiB (the message never quotes the data).
        """
        if not key:
            raise ConfigurationError(f"{where}: a key must not be empty")
        try:
            plain = json.dumps(dict(data), separators=(",", ":"), sort_keys=True).encode()
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(
                f"the credentials for {key!r} are not JSON-able ({type(exc).__name__}): "
                "store creds.to_dict()"
            ) from None
        if len(plain) > _MAX_RECORD:
            raise ConfigurationError(f"the credentials for {key!r} are larger than 1 MiB")
        return self.seal(key, plain)

    def open_record(self, key: str, nonce: bytes, data: bytes, where: str) -> Record:
        """The record sealed by `seal_record`.

        Raises:
            WrongStoreKey: it does not decrypt with this key, or is not a record.
        """
        value = json.loads(self.open(key, nonce, data, where))
        if not isinstance(value, dict):
            raise WrongStoreKey(f"the record {key!r} of {where} is not a credential record")
        return value


class EncryptedStore(SQLiteStore):
    """Credentials in one SQLite file (mode 0600), each record encrypted with AES-256-GCM.

    Only the keys (account names) are readable in the file; each record is encrypted with
    a fresh 96-bit nonce and bound to its key (a record copied under another key does not
    decrypt). Several processes may share the file; `lock` serializes refreshes of one
    account among them (``flock`` on files in ``<path>.locks/``, POSIX).

    Args:
        path: the database file (created 0600 when missing).
        key: the 32-byte key, raw or base64; ``None`` reads ``$BRANDKIT_STORE_KEY``, then
            the OS keyring if the ``keyring`` package is installed.
        timeout: how long to wait for another process's write (seconds).

    Raises:
        ConfigurationError: no key, a key that is not 32 bytes, or a file that is not a
            store.
        WrongStoreKey: the file was made with another key.
    """

    what = "credential store"
    schema = (
        "CREATE TABLE IF NOT EXISTS credential_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "CREATE TABLE IF NOT EXISTS credentials ("
        " key TEXT PRIMARY KEY, nonce BLOB NOT NULL, data BLOB NOT NULL, updated_at REAL NOT NULL);"
        "CREATE TABLE IF NOT EXISTS finished_authorizations ("
        " digest BLOB PRIMARY KEY, spent INTEGER NOT NULL, at REAL NOT NULL)"
    )
    schema_version = 1
    meta_table = "credential_meta"
    synchronous: ClassVar[str] = "FULL"

    def __init__(
        self, path: str | Path, key: str | bytes | None = None, *, timeout: float = 30.0
    ) -> None:
        self._sealer = _Sealer(key, "EncryptedStore")
        self._open(str(path), timeout)
        self._locks = _FileLocks(Path(self.path + ".locks"), repr(self))
        self._check_key()

    def _check_key(self) -> None:
        """Refuse a wrong key when opening, not at the first read: the file keeps a
        known text sealed with its key."""
        try:
            with self._tx() as db:
                row = db.execute("SELECT value FROM credential_meta WHERE key = 'check'").fetchone()
                if row is None:
                    sample = db.execute(
                        f"SELECT key, nonce, data FROM credentials LIMIT {_CLAIM_SAMPLE}"  # noqa: S608
                    ).fetchall()
                    self._sealer.claims(sample, repr(self))
                    db.execute(
                        "INSERT INTO credential_meta (key, value) VALUES ('check', ?)",
                        (self._sealer.check_value(),),
                    )
                    return
            self._sealer.verify(row[0], repr(self))
        except WrongStoreKey:
            self.close()
            raise

    def get(self, key: str) -> Record | None:
        """The record under ``key``, decrypted; ``None`` if there is none.

        Raises:
            WrongStoreKey: the record does not decrypt with this key (changed on disk).
            BrandkitError: the file cannot be read.
        """
        with self._reading() as db:
            row = db.execute("SELECT nonce, data FROM credentials WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        return self._sealer.open_record(key, row[0], row[1], repr(self))

    def put(self, key: str, data: Mapping[str, Any]) -> None:
        """Encrypt ``data`` (JSON-able, e.g. ``creds.to_dict()``) and store it under
        ``key``, replacing what was there.

        Raises:
            ConfigurationError: an empty key, or data that is not JSON-able or larger
                than 1 MiB (the message never quotes the data).
            OutboxConflict: another process kept the file locked past ``timeout``.
        """
        nonce, sealed = self._sealer.seal_record(key, data, repr(self))
        with self._tx() as db:
            db.execute(
                "INSERT INTO credentials (key, nonce, data, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET nonce = excluded.nonce, "
                "data = excluded.data, updated_at = excluded.updated_at",
                (key, nonce, sealed, time.time()),
            )

    def remove(self, key: str) -> None:
        """Forget ``key`` (nothing happens if it is not there)."""
        with self._tx() as db:
            db.execute("DELETE FROM credentials WHERE key = ?", (key,))

    def keys(self) -> list[str]:
        """The keys held, sorted."""
        with self._reading() as db:
            return [r[0] for r in db.execute("SELECT key FROM credentials ORDER BY key")]

    def claim_finish(self, digest: bytes) -> bool:
        """Claim the finish of the authorization whose ``state`` has ``digest`` (its SHA-256)
        for the caller, atomically among every process sharing the file; claims older than
        `FINISH_MEMORY` are forgotten. Pass the store as a flow's ``once_in=`` rather than
        calling this.

        Returns:
            ``False``: another finish claimed it first (it is under way or done).

        Raises:
            ConfigurationError: ``digest`` is not 32 bytes.
            OutboxConflict: another process kept the file locked past ``timeout``.
        """
        _check_digest(digest)
        now = time.time()
        with self._tx() as db:
            db.execute("DELETE FROM finished_authorizations WHERE at < ?", (now - FINISH_MEMORY,))
            added = db.execute(
                "INSERT INTO finished_authorizations (digest, spent, at) VALUES (?, 0, ?) "
                "ON CONFLICT (digest) DO NOTHING",
                (digest, now),
            )
            return added.rowcount == 1

    def settle_finish(self, digest: bytes, *, spent: bool) -> None:
        """End a `claim_finish`: keep it for good when the code was ``spent``, otherwise let
        it go so that the finish can be tried again.

        Raises:
            ConfigurationError: ``digest`` is not 32 bytes.
            OutboxConflict: another process kept the file locked past ``timeout``.
        """
        _check_digest(digest)
        with self._tx() as db:
            if spent:
                db.execute(
                    "UPDATE finished_authorizations SET spent = 1 WHERE digest = ?", (digest,)
                )
            else:
                db.execute(
                    "DELETE FROM finished_authorizations WHERE digest = ? AND spent = 0",
                    (digest,),
                )

    def lock(self, key: str, *, timeout: float | None = None) -> AbstractContextManager[None]:
        """Hold ``key`` against every other holder on this machine (threads and
        processes) until the block ends; a holder that dies frees it.

        Raises:
            Unsupported: no POSIX ``flock`` (Windows).
            ConfigurationError: no lock file can be made in ``<path>.locks/``.
            CredentialStoreLocked: another holder kept it past ``timeout`` (default
                `LOCK_WAIT`).
        """
        return self._locks.hold(key, LOCK_WAIT if timeout is None else timeout)


def _check_digest(digest: bytes) -> None:
    """Refuse what is not a SHA-256 digest, the only thing a finish claim keeps."""
    if not isinstance(digest, bytes) or len(digest) != 32:
        raise ConfigurationError("a finish claim is the 32-byte SHA-256 digest of a state")


# -- refresh ---------------------------------------------------------------------------------


def _expired(record: Mapping[str, Any], now: float, margin: float) -> bool:
    expires_at = stored_time(record.get("expires_at"))
    if expires_at is None:
        return True  # unknown expiry: a refresh asked for is done
    return now >= expires_at - margin


def refresh_locked(
    store: CredentialStore,
    key: str,
    refresh: Callable[[Record], Mapping[str, Any]],
    *,
    had: Mapping[str, Any] | None = None,
    force: bool = False,
    clock: Callable[[], float] = time.time,
    margin: float = 60.0,
    timeout: float | None = None,
) -> Record:
    """Refresh the credentials under ``key`` with ``refresh``, holding the store's lock,
    and store the result before the lock is let go.

    Inside the lock the stored record is read again. When another process already
    refreshed, the stored record is returned and ``refresh`` is not called (a rotating
    refresh token is never spent twice): that is when the stored ``refresh_token`` or
    ``access_token`` differs from the one in ``had`` (the record the caller holds), or,
    without ``force``, when the stored access token is not expired (``expires_at`` more
    than ``margin`` seconds after ``clock()``). Pass ``force=True`` for a refresh after a
    401 that the clock did not foresee.

    A store whose ``read_only`` attribute is true (`EnvironmentStore`) is refused before
    ``refresh`` is called: a refresh spends a rotating refresh token at the platform, and
    the new one would have nowhere to go. Such a store is read without its lock (nothing is
    written to it).

    Args:
        store: a writable store (e.g. `EncryptedStore`).
        key: the account's key.
        refresh: called with the stored record, returns the new one (e.g.
            ``lambda r: auth.x.refresh(XCredentials.from_dict(r), client_secret=s).to_dict()``).
        had: the record the caller refreshes from (``None``: whatever is stored).

    Raises:
        ConfigurationError: nothing is stored under ``key``.
        ReadOnlyStore: the store cannot keep the result (found before ``refresh`` is
            called, for a store that says it is ``read_only``).
        CredentialStoreLocked: another refresh held the lock past ``timeout``.
        CredentialsNotStored: the store failed to keep the new credentials for
            `STORE_WAIT` seconds after ``refresh`` returned them (tried again meanwhile).
        BrandkitError: what ``refresh`` raises (e.g. `GrantRefused`); the stored record is
            unchanged.
    """
    read_only = getattr(store, "read_only", False) is True
    # A read-only store is never written, so nothing is to be serialized: no lock, which
    # its place (a read-only mount, say) may not even allow.
    with contextlib.nullcontext() if read_only else store.lock(key, timeout=timeout):
        stored = store.get(key)
        if stored is None:
            raise ConfigurationError(f"no credentials are stored under {key!r}: connect first")
        if had is not None and (
            had.get("refresh_token") != stored.get("refresh_token")
            or ("access_token" in had and had["access_token"] != stored.get("access_token"))
        ):
            # Another holder refreshed since the caller read ``had``. The access token tells
            # it where no refresh token rotates (Meta refreshes the access token itself, and
            # refuses one less than a day old).
            return stored
        if not force and not _expired(stored, clock(), margin):
            return stored
        if read_only:
            # Before the refresh: the platform would rotate the refresh token, and the new
            # one could not be kept (the one the store holds would then be dead).
            raise ReadOnlyStore(
                f"{store!r} is read-only: {key!r} was not refreshed (its refresh token is "
                "unspent); keep the account in a writable store such as EncryptedStore "
                "(brandkit connect), or refresh it outside brandkit and set its environment "
                "variables again"
            )
        new = dict(refresh(stored))
        _keep(store, key, new, clock=time.monotonic, sleep=time.sleep)
        return new


def _keep(
    store: CredentialStore,
    key: str,
    record: Mapping[str, Any],
    *,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    wait: float | None = None,
) -> None:
    """Store refreshed ``record``, trying again for up to ``wait`` seconds while the store
    fails: it is the only copy of the new refresh token, the stored one being spent.

    Raises:
        ConfigurationError: the store refuses the record itself (no attempt can help).
        CredentialsNotStored: the store still failed after ``wait`` seconds (default
            `STORE_WAIT`).
    """
    wait = STORE_WAIT if wait is None else wait
    deadline = clock() + wait
    delay = 0.05
    while True:
        try:
            store.put(key, record)
            return
        except ConfigurationError:
            raise
        except BrandkitError as exc:
            if clock() + delay > deadline:
                raise CredentialsNotStored(
                    f"the credentials {key!r} were refreshed (the stored refresh token is "
                    f"spent) but {store!r} could not keep them for {wait:g} s "
                    f"({type(exc).__name__}: {exc}); connect the account again"
                ) from exc
        sleep(delay)
        delay = min(delay * 2, 2.0)
