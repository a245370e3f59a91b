"""The clients compared by ``ratelimit_bench.py``, each driving the loopback window server.

- brandkit: :class:`brandkit.Client` / :class:`brandkit.AsyncClient` with the default
  :class:`brandkit.governor.Governor`, through :class:`BenchAdapter`, a minimal adapter that
  posts a Mastodon status (``POST /api/v1/statuses`` with an ``Idempotency-Key``) and declares
  the server's policy, as brandkit's real adapters declare the platforms' published limits.
- Mastodon.py (``ratelimit_method="pace"`` and ``"wait"``), ``status_post``.
- tweepy (``wait_on_rate_limit=True``), ``create_tweet``; tweepy hard-codes
  ``https://api.twitter.com``, so its requests session gets a transport adapter that sends
  every request to the loopback server instead (and refuses to send anywhere else).
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import requests
from requests.adapters import HTTPAdapter

from brandkit import Account
from brandkit._flow import Flow, Send
from brandkit.platforms._base import Adapter, Capabilities, RatePolicy

HERE = Path(__file__).resolve().parent

logging.getLogger("tweepy").setLevel(logging.ERROR)


class LoopbackServer:
    """``_window_server.py`` in its own process (so client CPU time is the client's alone)."""

    def __init__(self, limit: int, window: float, *options: str) -> None:
        self.limit = limit
        self.window = window
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(HERE / "_window_server.py"),
                "--limit",
                str(limit),
                "--window",
                str(window),
                *options,
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.port = json.loads(self.proc.stdout.readline())["port"]
        self.url = f"http://127.0.0.1:{self.port}"

    def stats(self) -> dict[str, dict[str, int]]:
        data: dict[str, dict[str, int]] = httpx.get(self.url + "/_stats").json()
        return data

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)

    def __enter__(self) -> LoopbackServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- brandkit ---------------------------------------------------------------------------------


class BenchAdapter(Adapter):
    """Posts a Mastodon status; declares the server's window as its policy."""

    name = "bench"
    capabilities = Capabilities(platform="bench")

    def __init__(self, account: Account, policies: Sequence[RatePolicy] = ()) -> None:
        super().__init__(account)
        self.rate_policies = tuple(policies)  # type: ignore[misc]
        self._url = account.base_url + "/api/v1/statuses"
        self._auth = f"Bearer {account.secret('token')}"

    def post(self, text: str) -> Flow[str]:
        request = httpx.Request(
            "POST",
            self._url,
            data={"status": text},
            headers={"Authorization": self._auth, "Idempotency-Key": uuid.uuid4().hex},
        )
        response = yield Send(request, idempotent=True, bucket="statuses", creates=True)
        self.check(response)
        return str(response.json()["id"])

    def publish_part(self, rendered: Any, part: Any, thread: Any) -> Flow[Any]:
        raise NotImplementedError
        yield  # pragma: no cover

    def delete_part(self, ref: Any) -> Flow[None]:
        raise NotImplementedError
        yield  # pragma: no cover


def bench_account(url: str, token: str) -> Account:
    return Account("bench", name=token, base_url=url, secrets={"token": token})


# -- peers ------------------------------------------------------------------------------------


class _ToLoopback(HTTPAdapter):
    """Sends every request of a requests session to the loopback server, nowhere else."""

    def __init__(self, base: str) -> None:
        super().__init__()
        if urlsplit(base).hostname not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("the benchmark only talks to loopback")
        self.base = base

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        parts = urlsplit(request.url or "")
        request.url = self.base + parts.path + (f"?{parts.query}" if parts.query else "")
        return super().send(request, **kwargs)


def mastodon_py(url: str, token: str, method: str) -> Any:
    from mastodon import Mastodon  # the bench extra

    return Mastodon(
        api_base_url=url, access_token=token, ratelimit_method=method, version_check_mode="none"
    )


def tweepy_client(url: str, token: str) -> Any:
    import tweepy  # the bench extra

    client = tweepy.Client(bearer_token=token, wait_on_rate_limit=True)
    loopback = _ToLoopback(url)
    client.session.mount("https://", loopback)
    client.session.mount("http://", loopback)
    return client
