"""media_host from configuration: a directory published by a web server, or an HTTP PUT
target; end to end with the Instagram emulator, which really downloads the files."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from brandkit import (
    Account,
    AuthError,
    Client,
    ConfigurationError,
    DeliveryStatus,
    Media,
    PlatformUnavailable,
    Post,
    Rejected,
)
from brandkit.accounts import DirectoryMediaHost, PutMediaHost, media_host_from_config
from brandkit.testing import TINY_JPEG
from brandkit.testing.instagram import InstagramEmulator
from tests.facebook.conftest import FAST


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Bucket(BaseHTTPRequestHandler):
    """Stores PUT /upload/<name> (with the expected bearer token) and serves GET /media/<name>."""

    protocol_version = "HTTP/1.1"
    store: dict[str, tuple[str, bytes]]
    seen: list[str]

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes = b"", ctype: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_PUT(self) -> None:
        self.seen.append(f"PUT {self.path} {self.headers.get('Authorization')}")
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Authorization") != "Bearer media-token-1":
            self._send(403)
            return
        name = self.path.removeprefix("/upload/")
        self.store[name] = (self.headers["Content-Type"], body)
        self._send(201)

    def do_GET(self) -> None:
        self.seen.append(f"GET {self.path}")
        item = self.store.get(self.path.removeprefix("/media/"))
        if item is None:
            self._send(404)
        else:
            self._send(200, item[1], item[0])


@contextlib.contextmanager
def serve(handler: Any) -> Iterator[str]:
    """Serve ``handler`` on 127.0.0.1 in a thread; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def emu() -> Iterator[InstagramEmulator]:
    """An Instagram emulator served on 127.0.0.1."""
    emu = InstagramEmulator()
    with emu.serve():
        yield emu


def _accounts_file(
    tmp_path: Path, emu: InstagramEmulator, media_host: str
) -> tuple[Path, dict[str, str]]:
    """An accounts file for a new emulator account, and the environment it needs."""
    made = emu.account()
    path = tmp_path / "brandkit.toml"
    path.write_text(
        f'[accounts.insta]\nplatform = "instagram"\n'
        f'ig_user_id = "{made.settings["ig_user_id"]}"\ntoken_env = "IG_TOKEN"\n'
        f'base_url = "{emu.base_url}"\nmedia_host = {media_host}\n',
        encoding="utf-8",
    )
    return path, {"IG_TOKEN": made.secret("token") or "", "MEDIA_TOKEN": "media-token-1"}


def test_directory_media_host_from_toml_end_to_end(tmp_path: Path, emu: InstagramEmulator) -> None:
    """`media_host = { dir, base_url }` in the accounts file: the JPEG is copied into the
    directory, a web server publishes it, Instagram downloads it from there and posts it."""
    public = tmp_path / "www" / "media"
    public.mkdir(parents=True)
    image = tmp_path / "shoe.jpg"
    image.write_bytes(TINY_JPEG)
    with serve(partial(_Quiet, directory=str(tmp_path / "www"))) as site:
        path, env = _accounts_file(
            tmp_path, emu, f'{{ dir = "{public}", base_url = "{site}/media" }}'
        )
        account = Account.load(path, environ=env)["insta"]
        post = Post("A red shoe #launch", media=[Media.from_path(image, alt="A red shoe")])
        with Client(retry=FAST) as client:
            (d,) = client.publish(post, account)
    assert d.status is DeliveryStatus.SENT, d.error
    (container,) = emu.containers
    (copied,) = public.iterdir()
    assert container["url"] == f"{site}/media/{copied.name}"
    assert copied.read_bytes() == TINY_JPEG and copied.suffix == ".jpg"
    assert container["size"] == len(TINY_JPEG) and container["mime_type"] == "image/jpeg"
    (published,) = emu.posts
    assert published["alt_text"] == "A red shoe"
    assert not list(public.parent.rglob(".upload-*"))


def test_relative_media_dir_is_relative_to_the_accounts_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`dir = "media"` names the directory beside the accounts file, whichever directory the
    worker was started in (a service's may be "/" or one with a `media` of its own, where
    the files would be copied unseen by the web server that publishes the right one)."""
    conf = tmp_path / "etc"
    (conf / "media").mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "media").mkdir(parents=True)
    path = conf / "brandkit.toml"
    path.write_text(
        '[accounts.insta]\nplatform = "instagram"\nig_user_id = "1"\ntoken_env = "IG_TOKEN"\n'
        'media_host = { dir = "media", base_url = "https://cdn.example/media" }\n',
        encoding="utf-8",
    )
    monkeypatch.chdir(elsewhere)
    account = Account.load(path, environ={"IG_TOKEN": "tok-123456"})["insta"]
    host = account.settings["media_host"]
    assert isinstance(host, DirectoryMediaHost)
    assert host.directory.resolve() == (conf / "media").resolve()
    # Loaded by a relative path from inside its own directory: the same directory.
    monkeypatch.chdir(conf)
    account = Account.load("brandkit.toml", environ={"IG_TOKEN": "tok-123456"})["insta"]
    assert account.settings["media_host"].directory.resolve() == (conf / "media").resolve()


def test_put_media_host_from_toml_end_to_end(tmp_path: Path, emu: InstagramEmulator) -> None:
    """`media_host = { put, base_url, token_env }`: the file is PUT with the bearer token
    read from the environment, and Instagram downloads it from base_url."""
    store: dict[str, tuple[str, bytes]] = {}
    seen: list[str] = []
    handler = type("Bucket", (_Bucket,), {"store": store, "seen": seen})
    with serve(handler) as bucket:
        path, env = _accounts_file(
            tmp_path,
            emu,
            f'{{ put = "{bucket}/upload/", base_url = "{bucket}/media", '
            'token_env = "MEDIA_TOKEN" }',
        )
        account = Account.load(path, environ=env)["insta"]
        assert "media-token-1" not in repr(account.settings["media_host"])
        post = Post("Hello", media=[Media.from_bytes(TINY_JPEG, alt="grey")])
        with Client(retry=FAST) as client:
            (d,) = client.publish(post, account)
    assert d.status is DeliveryStatus.SENT, d.error
    ((name, (ctype, body)),) = store.items()
    assert (ctype, body) == ("image/jpeg", TINY_JPEG)
    assert seen[0] == f"PUT /upload/{name} Bearer media-token-1"
    assert f"GET /media/{name}" in seen
    (container,) = emu.containers
    assert container["url"] == f"{bucket}/media/{name}"


def test_same_content_same_name(tmp_path: Path) -> None:
    """The directory host names files by content: the same bytes, the same URL."""
    host = DirectoryMediaHost(tmp_path, "https://cdn.example.com/m/")
    a = host(Media.from_bytes(TINY_JPEG, filename="a.jpg"))
    b = host(Media.from_bytes(TINY_JPEG, filename="b.jpeg"))
    # The extension is the measured type's, not the given name's: one file, one URL.
    assert a.startswith("https://cdn.example.com/m/") and a == b
    assert len(list(tmp_path.iterdir())) == 1


@pytest.mark.parametrize(
    ("status", "error"),
    [(403, AuthError), (401, AuthError), (500, PlatformUnavailable), (302, Rejected)],
)
def test_put_failures_are_typed(status: int, error: type[Exception]) -> None:
    """A refused or failed upload is a typed error with the status; a redirect is never
    followed (the token stays with the put host)."""
    calls: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(status, headers={"Location": "https://elsewhere.example/x"})

    host = PutMediaHost(
        "https://bucket.example/up",
        "https://cdn.example.com",
        token="t-1",
        transport=httpx.MockTransport(answer),
    )
    with pytest.raises(error) as info:
        host(Media.from_bytes(TINY_JPEG))
    assert f"answered {status}" in str(info.value) and "t-1" not in str(info.value)
    assert [str(r.url.host) for r in calls] == ["bucket.example"]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"base_url": "https://c.example"}, "exactly one of dir"),
        ({"dir": "/", "put": "https://b.example", "base_url": "https://c"}, "exactly one"),
        ({"dir": "/nonexistent-dir-xyz", "base_url": "https://c.example"}, "not a directory"),
        ({"dir": "/", "base_url": "file:///srv"}, "base_url: expected an http(s) URL"),
        ({"put": "ftp://b.example", "base_url": "https://c"}, "put: expected an http(s) URL"),
        ({"dri": "/", "base_url": "https://c"}, "dri: unknown key (did you mean 'dir'?)"),
        ({"dir": "/", "base_url": "https://c", "token_env": "X"}, "token_env goes with put"),
        ({"put": "https://b", "base_url": "https://c", "token_env": "UNSET"}, "'UNSET'"),
        ({"dir": 5, "base_url": "https://c"}, "dir: expected a string, got 5"),
    ],
)
def test_bad_media_host_configuration(config: dict[str, Any], message: str) -> None:
    """Each wrong media_host form is a ConfigurationError saying what to fix."""
    with pytest.raises(ConfigurationError) as info:
        media_host_from_config(config, environ={})
    assert message in str(info.value)


def test_factories_take_a_mapping_or_a_callable(tmp_path: Path) -> None:
    """Account.instagram/threads take the configuration form too; anything else is refused."""
    insta = Account.instagram(
        ig_user_id="1", token="t", media_host={"dir": str(tmp_path), "base_url": "https://c"}
    )
    assert isinstance(insta.settings["media_host"], DirectoryMediaHost)
    threads = Account.threads(user_id="1", token="t", media_host=lambda media: "https://c/x")
    assert threads.settings["media_host"](Media.from_bytes(TINY_JPEG)) == "https://c/x"
    with pytest.raises(ConfigurationError, match="callable"):
        Account.threads(user_id="1", token="t", media_host="https://c")  # type: ignore[arg-type]
