"""Revoking a stored account's tokens (`brandkit.auth.revoke_record`) and
``brandkit accounts remove --revoke``, against the emulators over sockets: the tokens stop
working at the platform, a failed revocation keeps the account in the store, and platforms
without a revocation API are refused before anything is sent or removed."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from brandkit import Account, Client, DeliveryStatus, Post, RetryPolicy, auth
from brandkit.auth import EncryptedStore, revocation_by_hand, revoke_record
from brandkit.auth._records import account_of, refresh_record
from brandkit.auth.store import new_key
from brandkit.cli import main
from brandkit.errors import ConfigurationError, TransportError, Unsupported
from brandkit.testing.bluesky import BlueskyEmulator
from brandkit.testing.linkedin import LinkedInEmulator
from brandkit.testing.mastodon import MastodonEmulator
from brandkit.testing.x import XEmulator

from .conftest import REDIRECT, X_SCOPES, bluesky_session, consent, leaks


@pytest.fixture
def key_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRANDKIT_STORE_KEY", new_key())
    monkeypatch.delenv("BRANDKIT_STORE", raising=False)


def x_record(emu: XEmulator) -> dict[str, object]:
    """A confidential X client's connected record, as `brandkit connect x` stores it."""
    app = emu.oauth_app(redirect_uri=REDIRECT, scopes=X_SCOPES)
    start = auth.x.start(app.client_id, REDIRECT, X_SCOPES, base_url=emu.base_url)
    creds = auth.x.finish(start, consent(start.url), client_secret=app.client_secret)
    return auth.record_of(creds, client_secret=app.client_secret)


def masto_record(emu: MastodonEmulator, *, keep_secret: bool = True) -> dict[str, object]:
    # A cache of its own: the process-wide one would hand back an app of an earlier test's
    # emulator that had the same port.
    cache = auth.mastodon.AppCache()
    app = auth.mastodon.register_app(emu.base_url, REDIRECT, ["read", "write"], "Acme", cache=cache)
    start = auth.mastodon.start(app)
    creds = auth.mastodon.finish(start, consent(start.url), client_secret=app.client_secret)
    secret = app.client_secret.get_secret_value() if keep_secret else None
    return auth.record_of(creds, client_secret=secret)


def x_status(emu: XEmulator, token: object) -> int:
    with httpx.Client(timeout=10) as http:
        return http.get(
            emu.base_url + "/2/users/me", headers={"authorization": f"Bearer {token}"}
        ).status_code


def masto_status(emu: MastodonEmulator, token: object) -> int:
    with httpx.Client(timeout=10) as http:
        return http.get(
            emu.base_url + "/api/v1/accounts/verify_credentials",
            headers={"authorization": f"Bearer {token}"},
        ).status_code


def test_revoke_record_x_ends_both_tokens(x_emu: XEmulator) -> None:
    """The access token is refused by the API afterwards, and the refresh token cannot
    mint a new one."""
    record = x_record(x_emu)
    assert x_status(x_emu, record["access_token"]) == 200
    assert revocation_by_hand(record) is None

    revoke_record(record)

    assert x_status(x_emu, record["access_token"]) == 401
    with pytest.raises(auth.GrantRefused):
        refresh_record(record)
    revoke_record(record)  # a token the platform no longer knows counts as revoked


def test_revoke_record_x_oauth1(x_emu: XEmulator) -> None:
    """An OAuth 1.0a record (its consumer secret kept as ``client_secret``): the access
    token is invalidated, so the account it makes can no longer post."""
    app = x_emu.oauth1_app(callback=REDIRECT)
    start = auth.x.start_oauth1(
        app.consumer_key, app.consumer_secret, REDIRECT, base_url=x_emu.base_url
    )
    creds = auth.x.finish_oauth1(start, consent(start.url), consumer_secret=app.consumer_secret)
    record = auth.record_of(creds, client_secret=app.consumer_secret)
    assert post(account_of(record, name="one")) is DeliveryStatus.SENT

    revoke_record(record)

    assert post(account_of(record, name="one")) is DeliveryStatus.FAILED
    revoke_record(record)  # X's code 89, "Invalid or expired token": revoked already


def post(account: Account) -> DeliveryStatus:
    with Client(retry=RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=5)) as client:
        (delivery,) = client.publish(Post(text="still here?"), account)
    return delivery.status


def test_revoke_record_bluesky_oauth() -> None:
    """A Bluesky OAuth record: the session ends, so the account it makes can no longer
    post (the PDS refuses its access token)."""
    emu = BlueskyEmulator()
    with emu.serve():
        emu.add_user("brand.test")
        record = auth.record_of(bluesky_session(emu))
        assert post(account_of(record, name="one")) is DeliveryStatus.SENT

        revoke_record(record)

        assert post(account_of(record, name="one")) is DeliveryStatus.FAILED
        assert emu.count("POST", r"/oauth/revoke") == 1


def test_revoke_record_mastodon_uses_the_kept_app_secret(masto: MastodonEmulator) -> None:
    record = masto_record(masto)
    assert masto_status(masto, record["access_token"]) == 200
    revoke_record(record)
    assert masto_status(masto, record["access_token"]) == 401


def test_revoke_record_lost_answer_then_again(masto: MastodonEmulator) -> None:
    """The instance revoked the token but the answer was lost: the error says it may have
    been revoked (not "spent"); revoking again is answered as done."""
    record = masto_record(masto)
    masto.fault(method="POST", path=r"/oauth/revoke", drop="after")
    with pytest.raises(TransportError) as lost:
        revoke_record(record)
    assert lost.value.maybe_delivered
    assert "a token revoked" in str(lost.value)
    assert masto_status(masto, record["access_token"]) == 401
    revoke_record(record)


def test_revoke_record_mastodon_without_an_app_secret(masto: MastodonEmulator) -> None:
    """A record stored before the app's secret was kept: told what to do, nothing sent;
    the secret given by hand does it."""
    record = masto_record(masto, keep_secret=False)
    (app,) = masto._apps.values()
    app_secret = app.client_secret
    revokes = masto.count("POST", r"/oauth/revoke")
    with pytest.raises(ConfigurationError, match="no app secret") as refused:
        revoke_record(record)
    assert "client_secret=" in str(refused.value)
    assert masto.count("POST", r"/oauth/revoke") == revokes
    assert masto_status(masto, record["access_token"]) == 200

    revoke_record(record, client_secret=app_secret)
    assert masto_status(masto, record["access_token"]) == 401


@pytest.mark.parametrize(
    ("record", "where"),
    [
        ({"platform": "linkedin", "access_token": "t"}, "Permitted services"),
        ({"platform": "facebook", "access_token": "t"}, "Apps and websites"),
        ({"platform": "instagram", "access_token": "t"}, "Website permissions"),
        ({"platform": "threads", "access_token": "t"}, "Website permissions"),
        ({"platform": "bluesky", "handle": "a.test", "app_password": "p"}, "App passwords"),
    ],
)
def test_platforms_without_revocation(record: dict[str, object], where: str) -> None:
    """Refused before any request (no http client is even made) with where to do it."""
    why = revocation_by_hand(record)
    assert why is not None and where in why
    with pytest.raises(Unsupported) as refused:
        revoke_record(record, http=httpx.Client(transport=httpx.MockTransport(_no_request)))
    assert where in str(refused.value)
    assert refused.value.operation == "revoke"
    assert refused.value.platform == record["platform"]


def _no_request(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"no request may be sent: {request.url}")


def cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out), out.getvalue()


def put(path: Path, records: dict[str, dict[str, object]]) -> None:
    with EncryptedStore(path) as store:
        for key, record in records.items():
            store.put(key, record)


def keys(path: Path) -> list[str]:
    with EncryptedStore(path) as store:
        return sorted(store.keys())


@pytest.mark.usefixtures("key_env")
def test_cli_remove_revoke(x_emu: XEmulator, masto: MastodonEmulator, tmp_path: Path) -> None:
    path = tmp_path / "credentials.db"
    x, m = x_record(x_emu), masto_record(masto)
    put(path, {"acme-x": x, "acme-masto": m, "acme-x2": x_record(x_emu)})

    status, out = cli(
        "accounts", "remove", "--revoke", "acme-x", "acme-masto", "--store", str(path)
    )

    assert (status, out.splitlines()) == (
        0,
        ["revoked and removed acme-x", "revoked and removed acme-masto"],
    )
    assert keys(path) == ["acme-x2"]
    assert x_status(x_emu, x["access_token"]) == 401
    assert masto_status(masto, m["access_token"]) == 401
    secrets = [str(x["access_token"]), str(x["refresh_token"]), str(m["access_token"])]
    secrets += [str(x["client_secret"]), str(m["client_secret"])]
    assert leaks([out], secrets) == []


@pytest.mark.usefixtures("key_env")
def test_cli_remove_revoke_failed_keeps_the_account(
    x_emu: XEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """X is down: the account stays in the store (its tokens still work), exit 1, and
    the others named are still revoked and removed."""
    path = tmp_path / "credentials.db"
    down, fine = x_record(x_emu), x_record(x_emu)
    put(path, {"down": down, "fine": fine})
    x_emu.fault(method="POST", path=r"/2/oauth2/revoke", status=503, times=10)

    status, out = cli("accounts", "remove", "--revoke", "down", "--store", str(path))

    assert status == 1
    assert out.startswith("not removed down: revoking failed (PlatformUnavailable")
    assert "stays in the store" in out
    assert keys(path) == ["down", "fine"]
    assert x_status(x_emu, down["access_token"]) == 200
    assert leaks([out, *capsys.readouterr()], [str(down["access_token"])]) == []


@pytest.mark.usefixtures("key_env")
def test_cli_remove_revoke_refuses_platforms_without_revocation(
    x_emu: XEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One named account cannot be revoked through its API: nothing is revoked or removed,
    and the message says where to do it by hand."""
    li = LinkedInEmulator()
    path = tmp_path / "credentials.db"
    x = x_record(x_emu)
    linked = auth.record_of(
        auth.LinkedInCredentials(
            access_token=SecretStr("li-token"),
            refresh_token=None,
            expires_at=None,
            refresh_expires_at=None,
            scopes=("w_member_social",),
            client_id="li-app",
            base_url=li.base_url,
        ),
        client_secret="li-secret",
        author="urn:li:person:1",
    )
    put(path, {"acme-x": x, "acme-li": linked})
    revokes = x_emu.count("POST", r"/2/oauth2/revoke")

    status, out = cli("accounts", "remove", "--revoke", "acme-x", "acme-li", "--store", str(path))

    err = capsys.readouterr().err
    assert status != 0
    assert "acme-li" in err and "Permitted services" in err and "Nothing was removed" in err
    assert keys(path) == ["acme-li", "acme-x"]
    assert x_emu.count("POST", r"/2/oauth2/revoke") == revokes
    assert x_status(x_emu, x["access_token"]) == 200
    assert leaks([out, err], ["li-token", "li-secret", str(x["access_token"])]) == []


@pytest.mark.usefixtures("key_env")
def test_cli_remove_without_revoke_only_forgets(x_emu: XEmulator, tmp_path: Path) -> None:
    path = tmp_path / "credentials.db"
    x = x_record(x_emu)
    put(path, {"acme-x": x})
    assert cli("accounts", "remove", "acme-x", "--store", str(path)) == (0, "removed acme-x\n")
    assert keys(path) == []
    assert x_status(x_emu, x["access_token"]) == 200


def test_revoke_record_async_on_each_platform(x_emu: XEmulator, masto: MastodonEmulator) -> None:
    """`revoke_record_async` does what `revoke_record` does, with an AsyncClient: X (both
    tokens), X OAuth 1.0a, Mastodon and Bluesky OAuth records stop working, and the checks
    before any request are the same."""
    import asyncio

    x = x_record(x_emu)
    app = x_emu.oauth1_app(callback=REDIRECT)
    start = auth.x.start_oauth1(
        app.consumer_key, app.consumer_secret, REDIRECT, base_url=x_emu.base_url
    )
    one = auth.record_of(
        auth.x.finish_oauth1(start, consent(start.url), consumer_secret=app.consumer_secret),
        client_secret=app.consumer_secret,
    )
    m = masto_record(masto)
    bsky = BlueskyEmulator()
    with bsky.serve():
        bsky.add_user("brand.test")
        b = auth.record_of(bluesky_session(bsky))
        assert post(account_of(one, name="one")) is DeliveryStatus.SENT

        async def revoke_all() -> None:
            async with httpx.AsyncClient(timeout=10) as http:
                for record in (x, one, m, b):
                    await auth.revoke_record_async(record, http=http)

        asyncio.run(revoke_all())
        assert post(account_of(b, name="b")) is DeliveryStatus.FAILED
    assert x_status(x_emu, x["access_token"]) == 401
    assert post(account_of(one, name="one")) is DeliveryStatus.FAILED
    assert masto_status(masto, m["access_token"]) == 401
    with pytest.raises(ConfigurationError, match="no app secret"):
        asyncio.run(auth.revoke_record_async(masto_record(masto, keep_secret=False)))
    linkedin = {"platform": "linkedin", "access_token": "t", "author": "urn:li:person:1"}
    with pytest.raises(Unsupported):
        asyncio.run(auth.revoke_record_async(linkedin))
