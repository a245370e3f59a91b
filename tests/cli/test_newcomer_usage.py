"""Usage errors of the top-level commands a newcomer tries first exit 2 with the usage and
what to give, not 1 (a failure) or 0 (nothing done)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import cli


@pytest.mark.parametrize("port", ["99999", "-1", "65536"])
def test_emulate_port_out_of_range_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], port: str
) -> None:
    status, out = cli("emulate", "mastodon", "--port", port)
    err = capsys.readouterr().err
    assert status == 2
    assert out == ""
    assert "usage: brandkit emulate" in err
    assert "give 1-65535, or 0 for any free port" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("platforms", ["", ",", " , "])
def test_preview_with_no_platform_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], platforms: str
) -> None:
    # It printed nothing and exited 0, as if every platform had accepted the text.
    status, out = cli("preview", "hello", "--platforms", platforms)
    err = capsys.readouterr().err
    assert status == 2
    assert out == ""
    assert "usage: brandkit preview" in err
    assert "--platforms: give at least one platform" in err


def test_preview_unknown_platform_names_the_known_ones(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = cli("preview", "hello", "--platforms", "x,blusky")
    err = capsys.readouterr().err
    assert status == 2
    assert out == ""
    assert "usage: brandkit preview" in err
    assert "unknown platform(s): blusky" in err
    assert "did you mean 'bluesky'?" in err


@pytest.mark.parametrize("verb", ["list", "check"])
def test_accounts_without_a_file_says_what_to_give(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    verb: str,
) -> None:
    # A newcomer's first `brandkit accounts list`, in a directory with no brandkit.toml.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BRANDKIT_STORE", raising=False)
    status, out = cli("accounts", verb)
    err = capsys.readouterr().err
    assert status == 1
    assert out == ""
    assert f"no accounts file: brandkit.toml is not in {tmp_path}" in err
    assert "--accounts PATH" in err
    assert "--store" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("verb", ["list", "check"])
def test_accounts_with_both_a_file_and_a_store_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], verb: str
) -> None:
    # The store was read and the named file silently ignored: its accounts looked missing.
    toml = tmp_path / "brandkit.toml"
    toml.write_text(
        '[accounts.m]\nplatform = "mastodon"\ninstance_url = "http://127.0.0.1:9"\n'
        'token_env = "M_TOKEN"\n',
        encoding="utf-8",
    )
    status, out = cli("accounts", verb, "--accounts", str(toml), "--store", str(tmp_path / "c.db"))
    err = capsys.readouterr().err
    assert status == 2
    assert out == ""
    assert f"usage: brandkit accounts {verb}" in err
    assert "--accounts or --store, not both" in err


def test_preview_shows_the_utm_tags_a_campaign_adds() -> None:
    """--campaign was described as the "campaign name for UTM tags" but preview never tagged
    links, so it changed nothing on screen: --utm now tags them as Post(utm=True) does."""
    status, out = cli(
        "preview",
        "New: https://shop.example.com/shoes",
        "--platforms",
        "mastodon",
        "--campaign",
        "spring",
        "--utm",
    )
    assert status == 0
    assert (
        "https://shop.example.com/shoes?utm_source=mastodon&utm_medium=social"
        "&utm_campaign=spring" in out
    )
    status, out = cli("preview", "New: https://shop.example.com/shoes", "--platforms", "x")
    assert status == 0
    assert "utm_" not in out
