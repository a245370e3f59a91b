"""The loopback proxy of ``tests/pds`` in front of a WordPress, with every method WordPress's
REST API uses (the PDS one forwards GET and POST only)."""

from __future__ import annotations

from typing import Any

from tests.pds.loopback_proxy import Exchange, LoopbackProxy

__all__ = ["Exchange", "WordPressProxy"]


class WordPressProxy(LoopbackProxy):
    """Forwards GET, POST, PUT, PATCH and DELETE to ``upstream``; ``drop_next`` as in
    :class:`tests.pds.loopback_proxy.LoopbackProxy` (paths are matched without the query, so
    use the ``/wp-json/`` form to target a route)."""

    def __init__(self, upstream: str) -> None:
        super().__init__(upstream)
        base: Any = self._server.RequestHandlerClass
        forward = base._forward
        self._server.RequestHandlerClass = type(
            "WordPressProxyHandler",
            (base,),
            {"do_PUT": forward, "do_PATCH": forward, "do_DELETE": forward},
        )
