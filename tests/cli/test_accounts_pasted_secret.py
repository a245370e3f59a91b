"""A secret pasted where the name of its environment variable goes is never printed by
``brandkit accounts list`` or ``check``: they refuse the file as Account.load does."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import cli

PASTED = "aZ3kd93kdLLs9dk3kdkL39sk3kdLs9"  # the shape of a generated token

TABLES = {
    "token_env": (
        '[accounts.masto]\nplatform = "mastodon"\ninstance_url = "http://127.0.0.1:9"\n'
        f'token_env = "{PASTED}"\n'
    ),
    "media_host token_env": (
        '[accounts.insta]\nplatform = "instagram"\nig_user_id = "1784"\n'
        'token_env = "IG_TOKEN"\nmedia_host = { put = "http://127.0.0.1:9/up", '
        f'base_url = "http://127.0.0.1:9/media", token_env = "{PASTED}" }}\n'
    ),
}


@pytest.mark.parametrize("where", list(TABLES))
@pytest.mark.parametrize("command", [["list"], ["list", "--json"], ["check"]])
def test_a_pasted_token_is_refused_and_never_printed(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    where: str,
    command: list[str],
) -> None:
    monkeypatch.delenv("BRANDKIT_STORE", raising=False)
    path = tmp_path / "brandkit.toml"
    path.write_text(TABLES[where], encoding="utf-8")
    status, out = cli("accounts", *command, "--accounts", str(path))
    err = capsys.readouterr().err
    assert PASTED not in out + err
    assert status == 1
    assert "did you paste the token itself?" in err
