"""A site reached over plain http is a likely cause of a refused login, and the error says
so. WordPress ignores application passwords over http unless the site's
``WP_ENVIRONMENT_TYPE`` is ``local`` (``wp_is_application_passwords_supported``): the request
is anonymous, and the write is refused with 401 ``rest_cannot_create``. The error said only
"check the user and the application password", and the password was right."""

from __future__ import annotations

from brandkit import Client, RetryPolicy
from brandkit.content import Article
from brandkit.errors import AuthError
from brandkit.testing.wordpress import WordPressEmulator

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=10, settle=0.05)


def test_an_http_url_is_named_as_the_likely_cause() -> None:
    emu = WordPressEmulator(application_passwords=False)
    with emu.serve(), Client(retry=FAST) as client:
        account = emu.account()
        assert account.base_url is not None and account.base_url.startswith("http://")
        (d,) = client.publish(Article(title="Hello", body="x"), account)
    assert isinstance(d.error, AuthError), d.error
    assert d.error.status_code == 401
    message = str(d.error)
    assert "ignores any over plain http unless the site's WP_ENVIRONMENT_TYPE is 'local'" in message
    assert "use the site's https:// address" in message
    assert emu.post_texts() == []
