"""Run the Python blocks of one docs page, in order, in one namespace, offline.

Used by ``test_code_blocks.py`` in a subprocess (one per page), so that a block that hangs or
leaves threads behind cannot take the test run with it. Every connection to anything but
loopback is refused and reported: a block that needs a real platform must be marked on the
page (``<!-- docs: live -->`` before its fence) and is not run here.

Usage: ``python _run_page.py BLOCKS.json`` where the file holds ``[[line, code], ...]``.
Exit 0: every block ran; else the failing block's line, and the reason, on stderr.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import sys
import tempfile
import traceback

_real_connect = socket.socket.connect
_real_getaddrinfo = socket.getaddrinfo
reached: list[str] = []


def _loopback(host: object) -> bool:
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return str(host) in ("localhost", "localhost.localdomain")


def _guarded_connect(self: socket.socket, address: object) -> None:
    if self.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0] if isinstance(address, tuple) else address
        if not _loopback(host):
            reached.append(str(host))
            raise ConnectionRefusedError(f"docs blocks run offline: {host} is not loopback")
    _real_connect(self, address)  # type: ignore[arg-type]


def _guarded_getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
    if host is not None and not _loopback(host):
        reached.append(str(host))
        raise socket.gaierror(f"docs blocks run offline: {host} is not looked up")
    return _real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]


def main() -> int:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign,assignment]
    socket.getaddrinfo = _guarded_getaddrinfo  # type: ignore[assignment]
    with open(sys.argv[1], encoding="utf-8") as fh:
        blocks = json.load(fh)
    # Blocks write files (reports, databases) where a reader would: a scratch directory,
    # removed afterwards (each page's run left one behind in the temporary directory).
    with tempfile.TemporaryDirectory(prefix="brandkit-docs-", ignore_cleanup_errors=True) as here:
        os.chdir(here)
        try:
            return _run(blocks)
        finally:
            os.chdir(os.path.dirname(here))


def _run(blocks: list[list[object]]) -> int:
    scope: dict[str, object] = {"__name__": "__docs__"}
    for line, code in blocks:
        try:
            exec(compile(str(code), f"<block at line {line}>", "exec"), scope)
        except BaseException:
            print(f"line {line}: the block raised", file=sys.stderr)
            traceback.print_exc()
            return 1
        if reached:
            print(
                f"line {line}: the block tried to reach {sorted(set(reached))}; run it against "
                "an emulator, or mark it <!-- docs: live -->",
                file=sys.stderr,
            )
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
