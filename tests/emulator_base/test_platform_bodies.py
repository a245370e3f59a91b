"""Real clients' multipart spellings through real emulators over a socket."""

from __future__ import annotations

import httpx

from brandkit.testing import TINY_JPEG, png
from brandkit.testing.mastodon import MastodonEmulator
from brandkit.testing.telegram import TelegramEmulator

B = "----brandkitBoundary7MA4YWxkTrZu0gW"


def form(*parts: bytes) -> tuple[bytes, dict[str, str]]:
    """A multipart body and its Content-Type header."""
    body = b"".join(b"--" + B.encode() + b"\r\n" + p + b"\r\n" for p in parts)
    body += b"--" + B.encode() + b"--\r\n"
    return body, {"content-type": f"multipart/form-data; boundary={B}"}


def test_telegram_send_photo_with_an_unquoted_filename() -> None:
    """pyTelegramBotAPI's ``filename=photo``: the photo is a file, and it is sent."""
    emu = TelegramEmulator()
    bot = emu.bot()
    chat = emu.chat(admins=[bot])
    body, headers = form(
        f'Content-Disposition: form-data; name="chat_id"\r\n\r\n{chat.id}'.encode(),
        b"Content-Disposition: form-data; name=photo; filename=photo\r\n\r\n" + TINY_JPEG,
        f'Content-Disposition: form-data; name="caption"\r\n\r\nsee --{B} inline'.encode(),
    )
    with emu.serve() as url, httpx.Client(base_url=url) as http:
        response = http.post(f"/bot{bot.token}/sendPhoto", content=body, headers=headers)
    assert response.status_code == 200, response.text
    result = response.json()["result"]
    assert result["caption"] == f"see --{B} inline"
    assert result["photo"]


def test_mastodon_media_part_without_a_filename() -> None:
    """A binary ``file`` part with a type but no file name is an upload, not a text field
    (which crashed the emulator: it decoded the PNG as UTF-8)."""
    emu = MastodonEmulator()
    with emu.serve() as url, httpx.Client(base_url=url) as http:
        account = emu.account()
        body, headers = form(
            b'Content-Disposition: form-data; name="file"\r\n'
            b"Content-Type: image/png\r\n\r\n" + png(),
            b'Content-Disposition: form-data; name="description"\r\n\r\nalt text',
        )
        headers["authorization"] = f"Bearer {account.secret('token')}"
        response = http.post("/api/v2/media", content=body, headers=headers)
    assert response.status_code in (200, 202), response.text
    media = response.json()
    assert (media["type"], media["description"]) == ("image", "alt text")
    assert emu.errors == []
