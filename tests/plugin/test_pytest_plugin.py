"""The pytest plugin gives users emulator fixtures (issue 10, item 9)."""

from __future__ import annotations

import importlib.metadata
import socket

import httpx
import pytest

from brandkit import Client, DeliveryStatus, Post
from brandkit.testing import Clock
from brandkit.testing.mastodon import MastodonEmulator
from brandkit.testing.pytest_plugin import EmulatorFactory


def test_registered_through_the_pytest11_entry_point() -> None:
    """Installing brandkit is enough: pytest finds the plugin by its entry point."""
    (entry,) = [
        e for e in importlib.metadata.entry_points(group="pytest11") if e.name == "brandkit"
    ]
    assert entry.value == "brandkit.testing.pytest_plugin"
    assert entry.load().brandkit_emulator is not None


def test_publishes_to_a_served_emulator(brandkit_emulator: EmulatorFactory) -> None:
    """The fixture's emulator is served on loopback; brandkit publishes to it."""
    emu = brandkit_emulator("mastodon")
    assert isinstance(emu, MastodonEmulator)
    assert emu.base_url.startswith("http://127.0.0.1:")
    with Client() as client:
        (delivery,) = client.publish(Post(text="hello from a fixture"), emu.account())
    assert delivery.status is DeliveryStatus.SENT, delivery.error
    assert emu.post_texts() == ["hello from a fixture"]


def test_several_emulators_and_arguments(brandkit_emulator: EmulatorFactory) -> None:
    """Each call starts its own emulator; keyword arguments reach the emulator."""
    clock = Clock()
    masto = brandkit_emulator("mastodon", clock=clock)
    sky = brandkit_emulator("bluesky")
    assert masto.clock is clock
    assert masto.base_url != sky.base_url
    assert httpx.get(f"{masto.base_url}/api/v1/instance", timeout=5).status_code == 200


def test_a_chosen_port(brandkit_emulator: EmulatorFactory) -> None:
    """``port=`` serves on that port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    emu = brandkit_emulator("mastodon", port=port)
    assert emu.base_url == f"http://127.0.0.1:{port}"


USER_TESTS = """
import httpx
import pytest

URLS = []


def test_fails_while_serving(brandkit_emulator):
    emu = brandkit_emulator("mastodon")
    URLS.append(emu.base_url)
    assert httpx.get(emu.base_url + "/api/v1/instance", timeout=5).status_code == 200
    raise AssertionError("the user's test fails")


def test_passes_while_serving(brandkit_emulator):
    URLS.append(brandkit_emulator("telegram").base_url)


def test_both_were_stopped():
    assert len(URLS) == 2
    for url in URLS:
        with pytest.raises(httpx.ConnectError):
            httpx.get(url + "/", timeout=5)
"""


def test_a_users_session_gets_the_fixture_and_servers_stop(pytester: pytest.Pytester) -> None:
    """In a user's project (no conftest), the fixture exists; emulators stop after each test,
    whether it passed or failed."""
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*the user's test fails*"])


def test_listed_by_fixtures(pytester: pytest.Pytester) -> None:
    """``pytest --fixtures`` shows the fixture with its documentation."""
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    result = pytester.runpytest("--fixtures", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*brandkit_emulator*", "*Start brandkit's platform emulators*"])
