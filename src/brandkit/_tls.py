"""One TLS context for the HTTP clients brandkit makes.

httpx builds a new ``ssl.SSLContext`` for every client, and loading certifi's CA bundle into
it is most of what making a client costs (about 50 ms of CPU, against 5 ms for the rest). A
context can serve any number of connections, clients and threads, so brandkit loads it once
per process and CA setting. A client passed in by the user keeps its own.
"""

from __future__ import annotations

import os
import ssl
import threading

import httpx

__all__ = ["shared_context"]

_contexts: dict[tuple[str, str], ssl.SSLContext] = {}
_lock = threading.Lock()


def shared_context() -> ssl.SSLContext:
    """The context httpx would make with ``verify=True``: certifi's CA bundle, or the file
    or folder ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` name. One per distinct setting of those
    two, so that a change of them is still followed.

    Raises:
        ConfigurationError: the CA file or folder named cannot be read as certificates.
    """
    key = (os.environ.get("SSL_CERT_FILE", ""), os.environ.get("SSL_CERT_DIR", ""))
    with _lock:
        context = _contexts.get(key)
        if context is None:
            try:
                context = httpx.create_ssl_context()
            except (OSError, ssl.SSLError) as exc:
                from brandkit.errors import ConfigurationError

                file, folder = key
                named = f"SSL_CERT_FILE={file!r}" if file else f"SSL_CERT_DIR={folder!r}"
                raise ConfigurationError(
                    f"{named} names no CA certificates brandkit can read "
                    f"({type(exc).__name__}: {exc.strerror or exc}): point it at a PEM file "
                    "(or a folder of them), or unset it to use the bundled ones"
                ) from None
            _contexts[key] = context
        return context
