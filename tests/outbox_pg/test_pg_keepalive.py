"""Every PostgreSQL connection brandkit opens carries TCP keepalives and a bound on
unacknowledged data, so that a server gone without a word (its host down, a NAT that dropped
the flow) fails a worker's read within about a minute; the system's defaults (keepalives
after two hours idle) left it blocked that long. A URL's own settings win. Read from the
socket itself (Linux)."""

from __future__ import annotations

import asyncio
import socket
import sys
from typing import Any

import pytest

from brandkit.backends import aconnect, connect
from brandkit.errors import ConfigurationError
from brandkit.outbox import Outbox
from brandkit.outbox._postgres import PostgresOutbox

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads Linux's TCP socket options"
)


def tcp_options(conn: Any) -> dict[str, int]:
    """The keepalive options of ``conn``'s socket, as the kernel holds them."""
    sock = socket.socket(fileno=conn.pgconn.socket)
    try:
        tcp = socket.IPPROTO_TCP
        return {
            "keepalive": sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
            "idle": sock.getsockopt(tcp, socket.TCP_KEEPIDLE),
            "interval": sock.getsockopt(tcp, socket.TCP_KEEPINTVL),
            "count": sock.getsockopt(tcp, socket.TCP_KEEPCNT),
            "user_timeout": sock.getsockopt(tcp, socket.TCP_USER_TIMEOUT),
        }
    finally:
        sock.detach()  # the descriptor stays the connection's


BOUNDED = {"keepalive": 1, "idle": 30, "interval": 10, "count": 3, "user_timeout": 60000}


def test_connections_carry_keepalives(pg: str) -> None:
    with connect(pg) as conn:
        assert tcp_options(conn) == BOUNDED


def test_async_connections_carry_keepalives(pg: str) -> None:
    async def options() -> dict[str, int]:
        conn = await aconnect(pg)
        try:
            return tcp_options(conn)
        finally:
            await conn.close()

    assert asyncio.run(options()) == BOUNDED


def test_the_outbox_connections_carry_keepalives(pg: str) -> None:
    """The outbox's own connection and the one its idle wait listens on."""
    with Outbox(pg) as box:
        assert isinstance(box, PostgresOutbox)
        box.wait_for_work(0.01)
        assert tcp_options(box._conn) == BOUNDED
        assert tcp_options(box._listener) == BOUNDED


def test_a_url_keeps_its_own_settings(pg: str) -> None:
    """What the URL sets wins; the rest is brandkit's."""
    url = f"{pg}&keepalives_idle=7&keepalives_count=5&tcp_user_timeout=4000"
    with connect(url) as conn:
        assert tcp_options(conn) == {**BOUNDED, "idle": 7, "count": 5, "user_timeout": 4000}
    with connect(f"{pg}&keepalives=0") as conn:
        assert tcp_options(conn)["keepalive"] == 0


def test_a_url_keeps_its_own_connect_timeout_within_bounds(pg: str) -> None:
    """A URL's ``connect_timeout`` (a slow link wants 30 s) is the one libpq uses; brandkit's
    10 s overrode it. One that would not bound the wait (0 is for ever to libpq) or is not
    a number is refused before connecting, saying what to give."""
    with connect(f"{pg}&connect_timeout=30") as conn:
        used = {o.keyword.decode(): o.val for o in conn.pgconn.info}
        assert used["connect_timeout"] == b"30"
    with connect(pg) as conn:
        used = {o.keyword.decode(): o.val for o in conn.pgconn.info}
        assert used["connect_timeout"] == b"10"

    async def used_async(url: str) -> bytes | None:
        async with await aconnect(url) as conn:
            return {o.keyword.decode(): o.val for o in conn.pgconn.info}["connect_timeout"]

    assert asyncio.run(used_async(f"{pg}&connect_timeout=25")) == b"25"
    for bad in ("0", "301", "ten", "-5"):
        with pytest.raises(ConfigurationError, match="connect_timeout") as caught:
            connect(f"{pg}&connect_timeout={bad}")
        assert "1 to 300" in str(caught.value)
