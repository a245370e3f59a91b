"""A featured image larger than the web server in front of Ghost takes says what to do.
nginx refuses a body over its ``client_max_body_size`` (1 MiB unless raised: a Ghost in
Docker behind a plain nginx) with its own 413 page, and the error said only "ghost answered
413: Request Entity Too Large"."""

from __future__ import annotations

from brandkit import Client
from brandkit.content import Article, Media
from brandkit.errors import Rejected
from brandkit.testing import png
from brandkit.testing.ghost import GhostEmulator

NGINX_413 = (
    "<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n"
    "<center><h1>413 Request Entity Too Large</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


def test_a_featured_image_over_the_servers_limit(emu: GhostEmulator, client: Client) -> None:
    emu.fault(method="POST", path=r"/ghost/api/admin/images/upload/", status=413, body=NGINX_413)
    image = Media.from_bytes(png(400, 300), alt="Office")
    (d,) = client.publish(Article(title="Hi", body="x", featured_image=image), emu.account())
    assert isinstance(d.error, Rejected), d.error
    assert d.error.status_code == 413
    message = str(d.error)
    assert "as too large; make the featured image smaller" in message
    assert "client_max_body_size" in message
    assert " bytes)" in message
    assert emu.posts() == []
