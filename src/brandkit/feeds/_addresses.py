"""Where an entry's image may be fetched from: public addresses only, unless told otherwise.

An entry's image URL is written by whoever writes the feed's content (a guest author, a
compromised CMS, an aggregator), not by the user: fetched blindly, it would make brandkit
read ``http://169.254.169.254/latest/meta-data/`` (cloud credentials), ``http://10.0.0.5/admin``
or ``http://localhost:6379/`` from inside the user's network, and upload the answer as a
public card image. So the host of every request of such a fetch (the URL and each redirect's
target) is resolved, and refused unless every address it resolves to is public; the
connection is then made to one of those checked addresses (`guarded_client`), never to a
second, unchecked resolution of the name (DNS rebinding). Each resolution is bounded in time
(`resolve_within`): ``getaddrinfo`` has no timeout of its own, and a hung resolver would
otherwise hang the fetch past its ``timeout``.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable, Iterable, Sequence

import httpcore
import httpx

from brandkit._tls import shared_context
from brandkit.errors import TransportError
from brandkit.feeds._fetch import shown

__all__ = [
    "AddressGuard",
    "Resolver",
    "bound_lookups",
    "guarded_client",
    "not_public",
    "resolve_within",
    "system_resolve",
]

Resolver = Callable[[str, int], Sequence[str]]
"""A function of ``(host, port)`` returning the host's IP addresses as strings; it raises
``OSError`` (``socket.gaierror``) when the host cannot be resolved."""

_Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_SHARED = ipaddress.IPv4Network("100.64.0.0/10")  # RFC 6598, carrier-grade NAT
_PROTOCOL = ipaddress.IPv4Network("192.0.0.0/24")  # RFC 6890, IETF protocol assignments
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052: the last 32 bits are IPv4
_PRIVATE = (
    ipaddress.IPv4Network("10.0.0.0/8"),
    ipaddress.IPv4Network("172.16.0.0/12"),
    ipaddress.IPv4Network("192.168.0.0/16"),
    ipaddress.IPv6Network("fc00::/7"),
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_NO_KEEPALIVE = httpx.Limits(max_keepalive_connections=0)

_MAX_HUNG = 8
"""The most lookups left running past their deadline at once: a thread blocked in a
resolver cannot be stopped, so past this many no new one is started."""
_hung_lock = threading.Lock()
_hung = [0]  # lookups past their deadline and still running


def system_resolve(host: str, port: int) -> list[str]:
    """The addresses of ``host``, as the system's resolver (``getaddrinfo``) gives them.

    Raises:
        OSError: ``host`` cannot be resolved (``socket.gaierror``).
    """
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def resolve_within(resolver: Resolver, host: str, port: int, timeout: float) -> list[str]:
    """``resolver(host, port)``, given at most ``timeout`` seconds.

    The resolver runs in a daemon thread: a call that takes longer is left to finish (or
    not) on its own, and its answer is dropped. At most a few such calls are left running
    at once; while that many are, a lookup fails at once instead of starting another
    (lookups still within their time, however many, do not count).

    Raises:
        OSError: ``resolver`` raised it.
        TimeoutError: no answer within ``timeout`` seconds, or too many earlier lookups are
            still without an answer.
    """
    with _hung_lock:
        if _hung[0] >= _MAX_HUNG:
            raise TimeoutError(f"{_MAX_HUNG} earlier lookups are still without an answer")
    done = threading.Event()
    late = [False]
    box: list[Sequence[str] | BaseException] = []

    def run() -> None:
        try:
            box.append(resolver(host, port))
        except BaseException as exc:  # handed to the caller, who raises it
            box.append(exc)
        finally:
            with _hung_lock:
                done.set()
                if late[0]:
                    _hung[0] -= 1

    threading.Thread(target=run, name=f"brandkit-resolve-{host}", daemon=True).start()
    if not done.wait(max(0.0, timeout)):
        with _hung_lock:
            # Under the lock: the lookup either ended already, or counts as hung until
            # it does.
            if not done.is_set():
                late[0] = True
                _hung[0] += 1
                raise TimeoutError(f"no answer within {timeout:g} s")
    (answer,) = box
    if isinstance(answer, BaseException):
        raise answer
    return [str(a) for a in answer]


def not_public(address: str) -> str | None:
    """Why ``address`` is not a public internet address (``"a loopback address"``, ...), or
    ``None`` when it is.

    Refused: loopback, private (RFC 1918, ``fc00::/7``), link-local (``169.254.0.0/16``,
    where the cloud metadata services answer, and ``fe80::/10``), unspecified, multicast,
    carrier-grade NAT (``100.64.0.0/10``), reserved and the other special-purpose ranges of
    IANA's registries, and the IPv6 forms of any of those IPv4 addresses (IPv4-mapped
    ``::ffff:a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``).

    Raises:
        ValueError: ``address`` is not an IP address.
    """
    return _classify(ipaddress.ip_address(address))


def _classify(ip: _Address) -> str | None:
    if isinstance(ip, ipaddress.IPv6Address):
        # An IPv4 address in IPv6 form reaches that IPv4 address (through a dual-stack
        # socket, a NAT64 gateway, a 6to4 relay), so it is judged as that address.
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None and (why := _classify(embedded)) is not None:
            return f"the IPv6 form of {embedded}, {why}"
        if ip.ipv4_mapped is not None or ip in _NAT64:
            return None
    if ip.is_unspecified:
        return "the unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address (where cloud metadata services answer)"
    if ip.is_multicast:
        return "a multicast address"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED:
        return "a shared address (carrier-grade NAT)"
    if any(ip.version == net.version and ip in net for net in _PRIVATE):
        return "a private address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return "a site-local address"
    if ip.is_reserved or (isinstance(ip, ipaddress.IPv4Address) and ip in _PROTOCOL):
        return "a reserved address"
    if ip.is_private or not ip.is_global:
        return "a special-purpose address (not routed on the internet)"
    return None


def _key(host: str, port: int) -> tuple[str, int]:
    return host.strip("[]").lower(), port


def origin(url: str) -> tuple[str, int]:
    """The ``(host, port)`` that a connection for ``url`` goes to, as httpcore names them."""
    parsed = httpx.URL(url)
    port = parsed.port or _DEFAULT_PORTS.get(parsed.scheme, 80)
    return _key(parsed.raw_host.decode("ascii"), port)


class AddressGuard:
    """The addresses a fetch may connect to: the public ones only, but any address of the
    hosts of ``trusted``.

    Args:
        trusted: ``(host, port)`` pairs (see `origin`) connected to wherever they resolve.
        resolver: how host names are resolved (default `system_resolve`).
        remedy: what the user may do about a refusal, appended to its message.
        timeout: the longest one resolution may take, in seconds.
        public_only: ``False``: every host is trusted, and the guard only bounds the time
            its resolution takes (the feed's own fetch, whose URL is the user's).
    """

    def __init__(
        self,
        *,
        trusted: Iterable[tuple[str, int]] = (),
        resolver: Resolver | None = None,
        remedy: str = "",
        timeout: float = 10.0,
        public_only: bool = True,
    ) -> None:
        self.trusted = frozenset(_key(host, port) for host, port in trusted)
        self.resolver: Resolver = resolver or system_resolve
        self.remedy = remedy
        self.timeout = timeout
        self.public_only = public_only

    def check(self, url: str, timeout: float | None = None) -> None:
        """Refuse ``url`` unless its host is trusted or resolves to public addresses only;
        called before each request, so a refused URL is never requested. The resolution
        takes at most ``timeout`` seconds (and never more than the guard's).

        Raises:
            TransportError: the host resolves to a non-public address, or not at all, or
                not in time.
        """
        host, port = origin(url)
        if self.public_only and (host, port) not in self.trusted:
            self.addresses(host, port, url, timeout)

    def addresses(
        self, host: str, port: int, url: str | None = None, timeout: float | None = None
    ) -> list[str]:
        """The addresses to connect to for ``host``: all those it resolves to, each of
        them public unless ``(host, port)`` is trusted. The resolution takes at most
        ``timeout`` seconds (and never more than the guard's).

        Raises:
            TransportError: a refusal, or ``host`` cannot be resolved (or not in time); its
                message says which address is not public and why.
        """
        host, port = _key(host, port)
        what = f"GET {shown(url)}" if url else f"a connection to {host}:{port}"
        within = self.timeout if timeout is None else min(timeout, self.timeout)
        try:
            found = resolve_within(self.resolver, host, port, within)
        except (OSError, UnicodeError) as exc:  # TimeoutError included
            # UnicodeError: getaddrinfo's IDNA encoding refuses the name (an empty label,
            # one over 63 characters), which the feed's content may well hold.
            raise _refused(f"{what} failed: {host} could not be resolved ({exc})") from None
        if not found:
            raise _refused(f"{what} failed: {host} resolves to no address")
        if not self.public_only or (host, port) in self.trusted:
            return found
        for address in found:
            try:
                why = not_public(address)
            except ValueError:
                why = "not an IP address"
            if why is not None:
                said = (
                    f"{host} is {why}"
                    if address.lower() == host
                    else f"{host} resolves to {address}, {why}"
                )
                raise _refused(f"{what} refused: {said}; {self.remedy}".rstrip("; "))
        return found


def _refused(message: str) -> TransportError:
    return TransportError(message, platform="feed", maybe_delivered=False)


class _PinnedBackend(httpcore.NetworkBackend):
    """A network backend that resolves each host once, with the guard, and connects to an
    address it checked: the name is never resolved again behind the guard's back."""

    def __init__(self, backend: httpcore.NetworkBackend, guard: AddressGuard) -> None:
        self._backend = backend
        self._guard = guard

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        failed: httpcore.ConnectError | None = None
        for address in self._guard.addresses(host, port, timeout=timeout):
            try:
                return self._backend.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                failed = exc  # as a resolver's next address is tried: IPv6 may be unrouted
        assert failed is not None  # addresses() returns at least one address
        raise failed

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("a guarded client connects over TCP only")

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def guarded_client(guard: AddressGuard) -> tuple[httpx.Client, bool]:
    """An ``httpx.Client`` whose connections go only where ``guard`` allows, pinned to the
    address it checked, and whether the pinning could be set up.

    httpx has no setting for a network backend, so the pool's is replaced. Where a later
    httpx lays its pool out otherwise, the client resolves names itself and the caller's
    check before each request (`AddressGuard.check`) is what remains: a host whose DNS
    answer changes between that check and the connection could still get past it. The
    client reads no proxy from the environment: a proxy would resolve the names itself.
    """
    # No connection is kept for the next fetch: `fetch` ends at its deadline only the
    # connections it made (a reused one would leave a slow answer bounded per read only).
    transport = httpx.HTTPTransport(verify=shared_context(), limits=_NO_KEEPALIVE)
    client = httpx.Client(transport=transport, follow_redirects=False)
    return client, _pin(transport, guard)


def bound_lookups(client: httpx.Client, timeout: float) -> bool:
    """Make ``client``'s direct connections resolve their host within ``timeout`` seconds
    (or the request's connect timeout, if shorter), wherever it resolves; whether this
    httpx lets it be done. Its proxies, if any, are left as they are: they resolve names
    themselves.

    ``getaddrinfo``, which httpx calls, has no timeout: a DNS server that never answers
    would hang the request past every timeout httpx was given.
    """
    guard = AddressGuard(timeout=timeout, public_only=False)
    return _pin(getattr(client, "_transport", None), guard)


def _pin(transport: object, guard: AddressGuard) -> bool:
    # httpx has no setting for a network backend: the pool's is replaced.
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if isinstance(pool, httpcore.ConnectionPool) and isinstance(backend, httpcore.NetworkBackend):
        pool._network_backend = _PinnedBackend(backend, guard)
        return True
    return False
