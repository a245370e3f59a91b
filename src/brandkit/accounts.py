"""Accounts: which platform, where, and with which credentials.

Credentials are `pydantic.SecretStr` and never appear in reprs, logs, errors or stored
files. Tokens that an adapter refreshes are handed to ``on_credentials_changed`` so the caller
can persist them.

Instagram and Threads fetch media from public URLs, so their accounts need a ``media_host``:
a callable ``media_host(media) -> url``, or one of the two built in here, which a TOML file
can name too: `DirectoryMediaHost` (copy into a directory a web server publishes) and
`PutMediaHost` (HTTP PUT to storage that serves what it receives).
"""

from __future__ import annotations

import difflib
import hashlib
import inspect
import logging
import math
import os
import re
import tempfile
import tomllib
import typing
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlsplit

import httpx
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    SecretStr,
    ValidationError,
    create_model,
    model_validator,
)

from brandkit._tls import shared_context
from brandkit.content._article import AI_DISCLOSURE_LEVELS, AiDisclosure
from brandkit.content._media import EXTENSIONS
from brandkit.content._model import ACCOUNT_PLATFORMS
from brandkit.errors import (
    AuthError,
    ConfigurationError,
    PlatformUnavailable,
    Rejected,
    TransportError,
)

if TYPE_CHECKING:
    from brandkit.content._media import Media

logger = logging.getLogger(__name__)

__all__ = [
    "Account",
    "CredentialsHook",
    "DirectoryMediaHost",
    "MediaHost",
    "PutMediaHost",
    "media_host_from_config",
]

CredentialsHook = Callable[["Account", Mapping[str, str]], None]
"""Called as ``hook(account, changed)`` after a refresh; ``changed`` maps names to new values."""

# Which keyword of each factory is a secret: these may only come from the environment when
# accounts are loaded from a file.
_SECRET_KEYS: dict[str, frozenset[str]] = {
    "x": frozenset(
        {
            "user_token",
            "refresh_token",
            "client_secret",
            "consumer_secret",
            "access_token",
            "access_token_secret",
        }
    ),
    "mastodon": frozenset({"token"}),
    "bluesky": frozenset({"app_password", "access_jwt", "refresh_jwt"}),
    "facebook": frozenset({"page_token", "user_token", "app_secret"}),
    "instagram": frozenset({"token"}),
    "threads": frozenset({"token"}),
    "linkedin": frozenset({"token", "refresh_token", "client_secret"}),
    "telegram": frozenset({"bot_token"}),
    "ghost": frozenset({"admin_key"}),
    "devto": frozenset({"api_key"}),
    "wordpress": frozenset({"app_password"}),
}

_DEFAULT_BASE = {
    "x": "https://api.x.com",
    "bluesky": "https://bsky.social",
    "facebook": "https://graph.facebook.com",
    "instagram": "https://graph.facebook.com",
    "threads": "https://graph.threads.net",
    "linkedin": "https://api.linkedin.com",
    "telegram": "https://api.telegram.org",
    "devto": "https://dev.to",
}

MediaHost = Callable[["Media"], str]
"""``media_host(media) -> url``: makes a local file reachable at a public http(s) URL."""

# Settings that travel in HTTP headers (OAuth 1.0a header, Basic auth, LinkedIn-Version):
# checked like the secrets.
_HEADER_SETTINGS = frozenset({"consumer_key", "client_id", "version"})


# First path segments of Mastodon's own pages and API: an instance URL that has one is a
# profile, a post or an API address pasted in its place. Other paths are left alone (an
# instance behind a proxy's path prefix).
_MASTODON_PAGES = frozenset({"api", "web", "users", "deck", "home", "explore", "tags"})


def _mastodon_page(url: str) -> tuple[str, str] | None:
    """``(the instance's root, the path)`` when ``url`` is a page or API address of a
    Mastodon instance rather than the instance itself, else ``None``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    first = parts.path.lstrip("/").split("/", 1)[0]
    if not (first.startswith("@") or first in _MASTODON_PAGES):
        return None
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}", parts.path[:80]


def _forem_page(url: str) -> tuple[str, str] | None:
    """``(the community's address, what follows it)`` when ``url`` goes on past a Forem
    community's address: the API's (``/api...``), a query or fragment, or on DEV itself
    (``dev.to``, served at its domain's root) any path; else ``None``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    segments = parts.path.split("/")
    at = segments.index("api") if "api" in segments else None
    host = parts.netloc.rpartition("@")[2]
    if at is None and (parts.hostname or "").lower() in ("dev.to", "www.dev.to"):
        at = 1 if parts.path.strip("/") else None
    if at is None and "#" not in url and "?" not in url:
        return None
    path = "/".join(segments[:at]).rstrip("/") if at is not None else parts.path.rstrip("/")
    rest = parts.path[len(path) :]
    rest += f"?{parts.query}" if "?" in url else ""
    rest += f"#{parts.fragment}" if "#" in url else ""
    return f"{parts.scheme}://{host}{path}", rest[:80]


def _ghost_admin_page(url: str) -> tuple[str, str] | None:
    """``(the site's address, what follows it)`` when ``url`` is an address in Ghost Admin
    (a fragment such as ``/ghost/#/dashboard``, a query) or in its API (``/ghost/api/...``)
    rather than the site's, else ``None``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    segments = parts.path.split("/")
    at = next(
        (i for i in range(len(segments) - 1) if segments[i : i + 2] == ["ghost", "api"]),
        None,
    )
    # An empty fragment or query ("https://site/#") counts: the base of every request
    # would end there all the same.
    if at is None and "#" not in url and "?" not in url:
        return None
    path = "/".join(segments[:at]) if at is not None else parts.path
    if at is None and path.rstrip("/").endswith("/ghost"):
        path = path.rstrip("/").removesuffix("/ghost")  # Ghost Admin's own page
    host = parts.netloc.rpartition("@")[2]
    site = f"{parts.scheme}://{host}{path.rstrip('/')}"
    rest = parts.path[len(path.rstrip("/")) :]
    rest += f"?{parts.query}" if "?" in url else ""
    rest += f"#{parts.fragment}" if "#" in url else ""
    return site, rest[:80]


MAX_NAME = 200
"""The longest account name (and platform name): the pair is the account's key in every
store, log line and message key."""


def _name_problem(value: object) -> str | None:
    """What makes ``value`` unfit to name an account (or its platform), or ``None``. A line
    break in a name would forge log lines and command-line output."""
    if not isinstance(value, str):
        return f"is a {type(value).__name__}, not text"
    if len(value) > MAX_NAME:
        return f"is {len(value):,} characters long"
    if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in value):
        return "contains a line break or another control character"
    if value != value.strip():
        return "has leading or trailing whitespace"
    return None


def _header_problem(value: str) -> str | None:
    """What makes ``value`` impossible to send in an HTTP header, or ``None``."""
    if any(ord(c) > 0x7E for c in value):
        return "a non-ASCII character"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return "a line break or another control character"
    if value != value.strip():
        return "leading or trailing whitespace"
    return None


def _shown(url: str | None) -> str | None:
    """``url`` as a message may quote it: a user name or password before the host is
    replaced by ``…``."""
    if not url or "@" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return "…"
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc="…@" + parts.netloc.rpartition("@")[2]).geturl()


def _url_problem(url: str, *, userinfo: bool = False) -> str | None:
    """What makes ``url`` unfit as an API or media address, or ``None``; never quotes a
    password the URL holds. ``userinfo``: a user name and password before the host are
    allowed (a WebDAV share's Basic auth for `PutMediaHost`)."""
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        # urlsplit strips some of these and httpx refuses others at the first request
        # ("internal error: InvalidURL"): a line break pasted with the address.
        return (
            "an http(s) URL without spaces or line breaks (pasted with the address?), got "
            f"{_shown(url)!r}"
        )
    try:
        parts = urlsplit(url)
        has_userinfo = "@" in parts.netloc
    except ValueError:  # an unbalanced "[" in the host
        parts, has_userinfo = None, False
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        hint = (
            " (brandkit does not expand ${...} or $VARIABLE: write the URL itself)"
            if "$" in url
            else ""
        )
        return f"an http(s) URL such as https://example.com, got {_shown(url)!r}{hint}"
    if has_userinfo and not userinfo:
        # It would be printed wherever the URL is (listings, reprs, errors, logs), and
        # httpx would send it as Basic auth in place of the account's own credentials.
        host = parts.netloc.rpartition("@")[2]
        return (
            f"an http(s) URL without a user name or password before the host (got "
            f"{parts.scheme}://…@{host}): brandkit sends the account's own credentials, "
            "so leave them out of the URL"
        )
    return None


def _check_http_url(url: str, what: str, *, userinfo: bool = False) -> str:
    problem = _url_problem(url, userinfo=userinfo)
    if problem is not None:
        raise ConfigurationError(f"{what} must be {problem}")
    return url


def _content_name(digest: str, media: Media) -> str:
    return f"{digest[:32]}.{EXTENSIONS.get(media.mime_type, 'bin')}"


class DirectoryMediaHost:
    """A ``media_host`` that copies each file into ``directory``, which a web server publishes
    at ``base_url``; returns ``<base_url>/<name>``.

    Names are the content's SHA-256 (the same file always gets the same URL, and a file
    already there is not copied again); files are written to a temporary name first and
    renamed, so a platform never fetches half a file.

    Raises:
        ConfigurationError: ``directory`` is not a directory or ``base_url`` not http(s);
            when called, the file cannot be written there.
    """

    def __init__(self, directory: str | Path, base_url: str) -> None:
        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise ConfigurationError(
                f"media_host dir {str(self.directory)!r} is not a directory: create it and "
                "have a web server publish it at base_url"
            )
        self.base_url = _check_http_url(base_url, "media_host base_url").rstrip("/")

    def __call__(self, media: Media) -> str:
        """Copy ``media`` into the directory (unless it is there already) and return its URL."""
        digest = hashlib.sha256()
        try:
            fd, tmp = tempfile.mkstemp(prefix=".upload-", dir=self.directory)
            try:
                with os.fdopen(fd, "wb") as fh:
                    for chunk in media.chunks():
                        digest.update(chunk)
                        fh.write(chunk)
                name = _content_name(digest.hexdigest(), media)
                # Published files are public by design: readable by the web server.
                os.chmod(tmp, 0o644)
                os.replace(tmp, self.directory / name)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise ConfigurationError(
                f"media_host dir {str(self.directory)!r}: cannot write {media.filename!r}: "
                f"{exc.strerror or exc}"
            ) from None
        return f"{self.base_url}/{name}"

    def __repr__(self) -> str:
        return f"DirectoryMediaHost({str(self.directory)!r}, base_url={self.base_url!r})"


class PutMediaHost:
    """A ``media_host`` that uploads each file with HTTP ``PUT <put>/<name>`` (a bucket or
    WebDAV share that serves what it receives at ``<base_url>/<name>``) and returns that URL.

    ``token`` is sent as ``Authorization: Bearer <token>``; redirects are never followed (the
    token stays with ``put``'s host); each request is bounded by ``timeout`` seconds per
    network operation.

    Raises:
        ConfigurationError: ``put`` or ``base_url`` is not http(s), or the token cannot be
            sent in a header.
        AuthError: (when called) the storage answered 401 or 403.
        Rejected: (when called) another 4xx or a redirect.
        PlatformUnavailable: (when called) a 5xx.
        TransportError: (when called) the upload did not complete.
    """

    def __init__(
        self,
        put: str,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.put_url = _check_http_url(put, "media_host put", userinfo=True).rstrip("/")
        self.base_url = _check_http_url(base_url, "media_host base_url").rstrip("/")
        if token is not None and (problem := _header_problem(token)):
            raise ConfigurationError(
                f"media_host token contains {problem}, which cannot be sent in an HTTP header"
            )
        self._token = SecretStr(token) if token else None
        self.timeout = timeout
        self._transport = transport

    def __call__(self, media: Media) -> str:
        """Upload ``media`` and return its public URL."""
        digest = hashlib.sha256()
        for chunk in media.chunks():
            digest.update(chunk)
        name = _content_name(digest.hexdigest(), media)
        headers = {"Content-Type": media.mime_type, "Content-Length": str(media.size)}
        if self._token is not None:
            headers["Authorization"] = f"Bearer {self._token.get_secret_value()}"
        target = f"{self.put_url}/{name}"
        try:
            with httpx.Client(
                timeout=self.timeout,
                follow_redirects=False,
                transport=self._transport,
                verify=shared_context(),
            ) as client:
                response = client.put(target, content=media.chunks(), headers=headers)
        except httpx.HTTPError as exc:
            raise TransportError(
                f"media_host: PUT {_shown(target)} did not complete: {type(exc).__name__}",
                maybe_delivered=True,
                platform="media_host",
            ) from None
        status = response.status_code
        if status < 300:
            return f"{self.base_url}/{name}"
        message = f"media_host: PUT {_shown(target)} answered {status}"
        kwargs: dict[str, Any] = {"platform": "media_host", "status_code": status}
        if status in (401, 403):
            raise AuthError(f"{message}: check the media_host token", **kwargs)
        if status >= 500:
            raise PlatformUnavailable(message, **kwargs)
        raise Rejected(message, **kwargs)

    def __repr__(self) -> str:
        auth = ", token='**********'" if self._token is not None else ""
        # A WebDAV password before the host is a secret too.
        return f"PutMediaHost({_shown(self.put_url)!r}, base_url={self.base_url!r}{auth})"


def _http_url(value: str) -> str:
    problem = _url_problem(value)
    if problem is not None:
        raise ValueError(f"expected {problem}")
    return value


def _put_url(value: str) -> str:
    problem = _url_problem(value, userinfo=True)
    if problem is not None:
        raise ValueError(f"expected {problem}")
    return value


_HttpUrl = Annotated[str, AfterValidator(_http_url)]
_PutUrl = Annotated[str, AfterValidator(_put_url)]
_STRICT = ConfigDict(extra="forbid", strict=True)


class _MediaHostConfig(BaseModel):
    """``media_host = { dir = ..., base_url = ... }`` or ``{ put = ..., base_url = ...,
    token_env = ... }``."""

    model_config = _STRICT

    dir: str | None = None
    put: _PutUrl | None = None
    base_url: _HttpUrl
    token_env: str | None = None

    @model_validator(mode="after")
    def _one_target(self) -> _MediaHostConfig:
        if (self.dir is None) == (self.put is None):
            raise ValueError(
                "needs exactly one of dir (a directory a web server publishes at base_url) "
                "or put (an http(s) URL files are PUT under)"
            )
        if self.token_env is not None and self.put is None:
            raise ValueError("token_env goes with put (a directory needs no token)")
        return self


def media_host_from_config(
    config: Mapping[str, Any], *, environ: Mapping[str, str] | None = None
) -> MediaHost:
    """A media host from its configuration form (as in a TOML file):

    - ``{"dir": "/srv/www/media", "base_url": "https://cdn.example.com/media"}``:
      a `DirectoryMediaHost`;
    - ``{"put": "https://bucket.example/upload", "base_url": "https://cdn.example.com",
      "token_env": "MEDIA_TOKEN"}``: a `PutMediaHost` (the optional bearer token is
      read from the named environment variable, never from the file).

    Raises:
        ConfigurationError: a key is unknown, missing or of the wrong type, neither or both
            of ``dir`` and ``put`` are given, a URL is not http(s), the directory does not
            exist, or the token's environment variable is not set.
    """
    try:
        cfg = _MediaHostConfig.model_validate(dict(config))
    except ValidationError as exc:
        raise ConfigurationError(f"media_host: {_describe(exc, _MediaHostConfig)}") from None
    if cfg.dir is not None:
        return DirectoryMediaHost(cfg.dir, cfg.base_url)
    assert cfg.put is not None
    token = None
    if cfg.token_env is not None:
        env = os.environ if environ is None else environ
        # As for an account's secrets: a pasted token is not looked up as a name.
        token = env.get(cfg.token_env) if _looks_like_env_name(cfg.token_env) else None
        if not token:
            raise ConfigurationError(
                f"media_host: {_unset_env('token_env', cfg.token_env, 'token', env)}"
            )
    return PutMediaHost(cfg.put, cfg.base_url, token=token)


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
"""What an environment variable's name looks like (bounded: a longer value is no name)."""
_SHELL_VARIABLE = re.compile(r"\$\{([^{}]*)\}|\$([^{}]*)")
"""``${NAME}`` or ``$NAME``: a variable written as a shell would expand it."""


def _looks_like_env_name(value: str) -> bool:
    """Whether ``value`` may be quoted as the name of an environment variable: it has the
    shape of one and does not look like a token (long, mixing lower case, upper case and
    digits, as generated secrets do)."""
    if not _ENV_NAME.fullmatch(value):
        return False
    mixed = (
        any(c.islower() for c in value)
        and any(c.isupper() for c in value)
        and any(c.isdigit() for c in value)
    )
    return not (mixed and len(value) >= 24)


def _unset_env(key: str, value: str, secret: str, env: Mapping[str, str]) -> str:
    """Why the environment variable named by ``key = value`` gives no ``secret``; the
    value is quoted only when it looks like a variable's name (a secret pasted in its
    place must not end up in a message or a log)."""
    if _looks_like_env_name(value):
        # Set but empty (`export TOKEN=`) is told apart: `env` shows such a variable.
        state = "is set but empty" if env.get(value) == "" else "is not set"
        return f"{key}: environment variable {value!r} (for {secret}) {state}"
    shell = _SHELL_VARIABLE.fullmatch(value)
    name = (shell.group(1) or shell.group(2) or "") if shell else ""
    if _looks_like_env_name(name):
        # Written as a shell would expand it: the name is inside, and it is no secret.
        return (
            f"{key}: brandkit does not expand {value!r}: write {key} = "
            f'"{name}" (the name alone; brandkit reads that variable)'
        )
    return (
        f"{key}: the value (not shown) does not look like the name of an environment "
        f"variable: did you paste the {secret} itself? Write the variable's name, e.g. "
        f'{key} = "ACME_TOKEN", and set that variable to the {secret}'
    )


def _toml_type(value: Any) -> str:
    """The TOML name of ``value``'s type, for a message that must not quote it."""
    names = {
        bool: "a boolean",
        str: "a string",
        int: "an integer",
        float: "a float",
        list: "an array",
        dict: "a table",
    }
    return names.get(type(value), "a date or time" if hasattr(value, "isoformat") else "a value")


_EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "dict_type": "a table",
    "model_type": "a table",
    "none_required": "nothing",
}


def _quoted(key: str, value: Any) -> str:
    """``value`` of the wrong type as a message may show it: a number (or a short array of
    numbers) as it is, text with any password before a URL's host taken out and cut short,
    and neither text a ``*_env`` key holds (a secret pasted there) nor another array or a
    table (which may hold either, and be as long as the file)."""
    numbers = value if isinstance(value, list) else [value]
    if all(isinstance(v, bool | int | float) for v in numbers) and len(repr(value)) <= 80:
        return repr(value)
    if isinstance(value, str) and not key.endswith("_env"):
        shown = _shown(value) or ""
        if len(shown) > 80:
            return f"{shown[:60]!r}… ({len(shown):,} characters)"
        return repr(shown)
    return f"{_toml_type(value)} (not shown)"


def _describe(exc: ValidationError, model: type[BaseModel]) -> str:
    """The first problem of a validation error as ``key: what is wrong`` (never a secret:
    secrets are not in the file, only the names of their variables)."""
    errors = exc.errors(include_url=False)
    # An unknown key first: a misspelt key also makes the right one look missing.
    errors.sort(key=lambda e: e["type"] != "extra_forbidden")
    first = errors[0]
    key = str(first["loc"][0]) if first["loc"] else ""
    same = [e for e in errors if e["loc"] and str(e["loc"][0]) == key]
    kind = first["type"]
    if kind == "extra_forbidden":
        known = list(model.model_fields)
        hint = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        mean = f" (did you mean {hint[0]!r}?)" if hint else ""
        return f"{key}: unknown key{mean}; known keys: {', '.join(sorted(known))}"
    if kind == "missing":
        return f"{key}: missing (this key is required)"
    expected = [_EXPECTED[e["type"]] for e in same if e["type"] in _EXPECTED]
    if expected:
        wanted = " or ".join(dict.fromkeys(x for x in expected if x != "nothing"))
        return f"{key}: expected {wanted}, got {_quoted(key, first['input'])}"
    msg = str(first["msg"]).removeprefix("Value error, ")
    return f"{key}: {msg}" if key else msg


def _media_host(value: MediaHost | Mapping[str, Any] | None) -> MediaHost | None:
    if value is None or callable(value):
        return value
    if isinstance(value, Mapping):
        return media_host_from_config(value)
    raise ConfigurationError(
        f"media_host must be a callable media_host(media) -> url or a mapping such as "
        f"{{'dir': ..., 'base_url': ...}}, got {type(value).__name__}"
    )


class Account:
    """One account on one platform.

    Build it with the platform's factory (``Account.x(...)``, ``Account.mastodon(...)``, ...)
    or load named accounts from a TOML file with [`load`][brandkit.Account.load].

    Raises:
        ConfigurationError: no platform name, a ``base_url`` that is not http(s), or a
            credential that cannot be sent in an HTTP header (non-ASCII such as the
            placeholder ``"…"``, a line break, surrounding whitespace); the message names
            the field, never the value.

    Attributes:
        platform: the platform's name.
        name: a name for this account, unique within a project (defaults to the platform);
            up to 200 printable characters (no line breaks: it is in every log line).
        base_url: where the platform's API is; defaults to the real platform.
        settings: non-secret settings (handle, user id, chat id, ...).
        on_credentials_changed: called after the adapter refreshed a token.
    """

    def __init__(
        self,
        platform: str,
        *,
        name: str | None = None,
        base_url: str | None = None,
        secrets: Mapping[str, str | SecretStr | None] | None = None,
        settings: Mapping[str, Any] | None = None,
        on_credentials_changed: CredentialsHook | None = None,
    ) -> None:
        if not platform:
            raise ConfigurationError("an account needs a platform name")
        for what, given in (("platform", platform), ("name", name or platform)):
            problem = _name_problem(given)
            if problem is not None:
                shown = repr(given) if len(repr(given)) <= 62 else f"{repr(given)[:60]}…"
                raise ConfigurationError(
                    f"account {what} {shown} {problem}: give a name of up to {MAX_NAME} "
                    "printable characters"
                )
        self.platform = platform
        self.name = name or platform
        url = base_url or _DEFAULT_BASE.get(platform)
        if not url:
            raise ConfigurationError(f"{platform} account {self.name!r} needs a base_url")
        self.base_url = _check_http_url(url, f"{platform} account {self.name!r}: base_url")
        self.base_url = self.base_url.rstrip("/")
        self._secrets: dict[str, SecretStr] = {}
        self._retired: list[SecretStr] = []  # values a refresh replaced, still redacted
        self._concealed: list[SecretStr] = []  # credentials adapters made of the secrets
        for key, value in (secrets or {}).items():
            if value is None or value == "":
                continue
            secret = value if isinstance(value, SecretStr) else SecretStr(value)
            self._check_header(key, secret.get_secret_value(), secret=True)
            self._secrets[key] = secret
        self.settings: dict[str, Any] = dict(settings or {})
        expires = self.settings.get("token_expires_at")
        if isinstance(expires, float) and not math.isfinite(expires):
            # No comparison holds for NaN: Meta's adapters would ask for a new token at
            # every request, the OAuth ones never refresh ahead.
            raise ConfigurationError(
                f"{platform} account {self.name!r}: token_expires_at must be a time (epoch "
                f"seconds), got {expires!r}"
            )
        for key in _HEADER_SETTINGS:
            value = self.settings.get(key)
            if isinstance(value, str):
                self._check_header(key, value, secret=False)
        self.on_credentials_changed = on_credentials_changed

    def _check_header(self, key: str, value: str, *, secret: bool) -> None:
        """Refuse a credential that cannot travel in an HTTP header, naming the field only."""
        problem = _header_problem(value)
        if problem is None:
            return
        hint = (
            " Is it still a placeholder such as '…'? Set the real credential."
            if secret and problem == "a non-ASCII character"
            else ""
        )
        raise ConfigurationError(
            f"{self.platform} account {self.name!r}: {key} contains {problem}, which cannot "
            f"be sent in an HTTP header.{hint}"
        )

    # -- credentials ---------------------------------------------------------------------

    def secret(self, key: str) -> str | None:
        """The value of secret ``key``, or ``None`` when it is not set."""
        value = self._secrets.get(key)
        return value.get_secret_value() if value is not None else None

    def has_secret(self, key: str) -> bool:
        """Whether secret ``key`` is set."""
        return key in self._secrets

    @property
    def secret_names(self) -> tuple[str, ...]:
        """The names of the secrets that are set (never their values)."""
        return tuple(sorted(self._secrets))

    def update_secrets(self, **values: str | None) -> None:
        """Store refreshed credentials and tell ``on_credentials_changed``.

        An empty value never overwrites a stored one: a platform that answers a refresh
        without a new refresh token keeps the old one.

        Raises:
            ConfigurationError: a value cannot be sent in an HTTP header (a line break, a
                non-ASCII character: a refresh answer no platform would give); nothing is
                stored, and the message names the field only.
        """
        changed = {k: v for k, v in values.items() if v}
        for key, value in changed.items():
            # Checked as the account's own credentials are: stored, such a token would fail
            # every request after it (and be written to the credentials file as it is).
            self._check_header(key, value, secret=True)
        for key, value in changed.items():
            old = self._secrets.get(key)
            if old is not None and old.get_secret_value() != value:
                # A request still in flight may carry the old value: keep redacting it.
                self._retired = [*self._retired[-7:], old]
            self._secrets[key] = SecretStr(value)
        if changed:
            logger.info("%s: credentials refreshed (%s)", self.key, ", ".join(sorted(changed)))
        if changed and self.on_credentials_changed is not None:
            self.on_credentials_changed(self, changed)

    def conceal(self, value: str) -> None:
        """Have `redact` take ``value`` out too: a credential an adapter makes of this
        account's secrets for a request (a signed token, an encoded login), which a server
        may echo back in an error. The last 32 such values are kept (they are remade for
        each request, and a server echoes the request it answers)."""
        if len(value) < 8 or any(value == v.get_secret_value() for v in self._concealed):
            return
        self._concealed = [*self._concealed[-31:], SecretStr(value)]

    def redact(self, text: str) -> str:
        """``text`` with every secret of this account (the last few values a refresh
        replaced, and the credentials made of them, see `conceal`) replaced by
        ``**********``."""
        for value in [*self._secrets.values(), *self._retired, *self._concealed]:
            raw = value.get_secret_value()
            if raw and len(raw) >= 4:
                text = text.replace(raw, "**********")
        return text

    @property
    def key(self) -> str:
        """``platform:name``, the account's identity in the outbox and the metrics store."""
        return f"{self.platform}:{self.name}"

    def __repr__(self) -> str:
        secrets = ", ".join(f"{k}='**********'" for k in sorted(self._secrets))
        # redact() also covers a secret that ended up inside the URL itself.
        return self.redact(
            f"Account({self.platform!r}, name={self.name!r}, base_url={self.base_url!r}, "
            f"secrets=[{secrets}])"
        )

    __str__ = __repr__

    # -- factories -----------------------------------------------------------------------

    @classmethod
    def x(
        cls,
        *,
        user_token: str | None = None,
        refresh_token: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        consumer_key: str | None = None,
        consumer_secret: str | None = None,
        access_token: str | None = None,
        access_token_secret: str | None = None,
        username: str | None = None,
        user_id: str | None = None,
        token_expires_at: float | None = None,
        base_url: str | None = None,
        name: str | None = None,
        on_credentials_changed: CredentialsHook | None = None,
    ) -> Account:
        """An X account: an OAuth 2 user token (refreshed with ``refresh_token`` and
        ``client_id``), or OAuth 1.0a user keys (``consumer_key``, ``consumer_secret``,
        ``access_token``, ``access_token_secret``). ``token_expires_at`` (epoch seconds)
        lets the adapter refresh the OAuth 2 token a minute before it expires instead of
        after a 401; a refresh keeps it current in ``settings["token_expires_at"]``.

        Raises:
            ConfigurationError: neither complete set of credentials is given.
        """
        oauth1 = (consumer_key, consumer_secret, access_token, access_token_secret)
        if not user_token and not all(oauth1):
            raise ConfigurationError(
                "Account.x needs user_token (OAuth 2) or all four of consumer_key, "
                "consumer_secret, access_token, access_token_secret (OAuth 1.0a)"
            )
        return cls(
            "x",
            name=name,
            base_url=base_url,
            secrets={
                "user_token": user_token,
                "refresh_token": refresh_token,
                "client_secret": client_secret,
                "consumer_secret": consumer_secret,
                "access_token": access_token,
                "access_token_secret": access_token_secret,
            },
            settings={
                "client_id": client_id,
                "consumer_key": consumer_key,
                "username": username,
                "user_id": user_id,
                "token_expires_at": token_expires_at,
            },
            on_credentials_changed=on_credentials_changed,
        )

    @classmethod
    def mastodon(
        cls,
        instance_url: str,
        *,
        token: str,
        name: str | None = None,
        on_credentials_changed: CredentialsHook | None = None,
    ) -> Account:
        """A Mastodon account on ``instance_url`` with an access token (tokens never expire).

        Raises:
            ConfigurationError: the token or the instance URL is missing, or the URL is a
                page of the instance (a profile such as ``/@brand``, ``/api/v1``) rather
                than the instance itself.
        """
        if not token:
            raise ConfigurationError("Account.mastodon needs token=")
        if not instance_url or not instance_url.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"Account.mastodon needs the instance URL such as https://mastodon.social, "
                f"got {_shown(instance_url)!r}"
            )
        page = _mastodon_page(instance_url)
        if page is not None:
            root, path = page
            raise ConfigurationError(
                f"Account.mastodon needs the instance's address alone, such as {root}, "
                f"not a page of it (got the path {path!r}): every API path is added to it"
            )
        return cls(
            "mastodon",
            name=name,
            base_url=instance_url,
            secrets={"token": token},
            on_credentials_changed=on_credentials_changed,
        )

    @classmethod
    def bluesky(
        cls,
        *,
        handle: str,
        app_password: str | None = None,
        access_jwt: str | None = None,
        refresh_jwt: str | None = None,
        did: str | None = None,
        base_url: str | None = None,
        name: str | None = None,
        on_credentials_changed: CredentialsHook | None = None,
    ) -> Account:
        """A Bluesky account: its handle and an app password, at its PDS ``base_url``.

        Pass a saved session (``access_jwt``, ``refresh_jwt``, ``did``) to reuse it instead
        of logging in again; new sessions reach ``on_credentials_changed``.

        Raises:
            ConfigurationError: neither an app password nor a session is given.
        """
        if not app_password and not refresh_jwt:
            raise ConfigurationError(
                "Account.bluesky needs app_password= (or a saved session's refresh_jwt=)"
            )
        return cls(
            "bluesky",
            name=name,
            base_url=base_url,
            secrets={
                "app_password": app_password,
                "access_jwt": access_jwt,
                "refresh_jwt": refresh_jwt,
            },
            settings={"handle": handle.lstrip("@"), "did": did},
            on_credentials_changed=on_credentials_changed,
        )

    @classmethod
    def facebook(
        cls,
        *,
        page_id: str,
        page_token: str | None = None,
        user_token: str | None = None,
        api_version: str = "v25.0",
        base_url: str | None = None,
        name: str | None = None,
        on_credentials_changed: CredentialsHook | None = None,
    ) -> Account:
        """A Facebook Page: its id and a Page access token (or a user token to get one).

        Raises:
            ConfigurationError: no token is given.
        """
        if not page_token and not user_token:
            raise ConfigurationError("Account.facebook needs page_token= (or user_token=)")
        return cls(
            "facebook",
            name=name,
            base_url=base_url,
            secrets={"page_token": page_token, "user_token": user_token},
            settings={"page_id": page_id, "api_version": api_version},
            on_credentials_changed=on_credentials_changed,
        )

    @classmethod
    def instagram(
        cls,
        *,
        ig_user_id: str,
        token: str,
        media_host: MediaHost | Mapping[str, Any] | None = None,
        api_version: str = "v25.0",
        token_expires_at: float | None = None,
        base_url: str | None = None,
        name: str | None = None,
        on_credentials_changed: CredentialsHook | None = None,
    ) -> Account:
        """An Instagram professional account. ``media_host`` turns local media into the
        public URLs Instagram fetches media from: a callable ``media_host(media) -> url`` or
        a configuration mapping (see `media_host_from_config`); ``token_expires_at``
        (epoch seconds) lets the adapter refresh the long-lived token before it expires.

        Raises:
            ConfigurationError: the token is missing, or ``media_host`` is neither callable
                nor a valid configuration.
        """
        if not token:
            raise ConfigurationError("Account.instagram needs token=")
        media_host = _media_host(media_host)
        return cls(
            "instagram",
            name=name,
            base_url=base_url,
            secrets={"token": token},
            settings={
                "ig_user_id": ig_user_id,
                "media_host": media_host,
                "api_version": api_version,
                "token_expires_at": token_expires_at,
            },
            on_credentials_changed=on_credentials_changed,
        )

    @classmethod
    def threads(
        cls,
        *,
        user_id: str,
        token: str,
        media_host: MediaHost | Mapping[str, Any] | None = None,
        token_expires_at: float | None = None,
        base_url: str | None = None,
        name: str | None = None,
        on_credentials_changed: CredentialsHook | None = None,
    ) -> Account:
        """A Threads account. ``media_host`` turns local media into public URLs (a callable
        or a configuration mapping, see `media_host_from_config`);
        ``token_expires_at`` (epoch seconds) lets the adapter refresh the token in time.

        Raises:
            ConfigurationError: the token is missing, or ``media_host`` is neither callable
                nor a valid configuration.
        """
        if not token:
            raise ConfigurationError("Account.threads needs token=")
        media_host = _media_host(media_host)
        return cls(
            "threads",
            name=name,
            base_url=base_url,
            secrets={"token": token},
            settings={
                "user_id": user_id,
                "media_host": media_host,
                "token_expires_at": token_expires_at,
            },
            on_credentials_changed=on_credentials_changed,
        )

    @classmethod
    def linkedin(
        cls,
        *,
        author: str,
        token: str,
        refresh_token: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        version: str = "202608",
        token_expires_at: float | None = None,
        base_url: str | None = None,
        name: str | None = None,
        on_credentials_changed: CredentialsHook | None = None,
    ) -> Account:
        """A LinkedIn member or organization (``author`` is its URN). ``token_expires_at``
        (epoch seconds) lets the adapter refresh the token a minute before it expires
        (with ``refresh_token``, ``client_id`` and ``client_secret``) instead of after a
        401; a refresh keeps it current in ``settings["token_expires_at"]``.

        Raises:
            ConfigurationError: the token is missing or the author is not a URN.
        """
        if not token:
            raise ConfigurationError("Account.linkedin needs token=")
        if not author.startswith(("urn:li:person:", "urn:li:organization:")):
            raise ConfigurationError(
                "Account.linkedin author must be a URN such as urn:li:organization:123 "
                f"or urn:li:person:abc, got {author!r}"
            )
        return cls(
            "linkedin",
            name=name,
            base_url=base_url,
            secrets={
                "token": token,
                "refresh_token": refresh_token,
                "client_secret": client_secret,
            },
            settings={
                "author": author,
                "client_id": client_id,
                "version": version,
                "token_expires_at": token_expires_at,
            },
            on_credentials_changed=on_credentials_changed,
        )

    @classmethod
    def from_credentials(
        cls,
        creds: Any,
        *,
        name: str | None = None,
        client_secret: str | None = None,
        on_credentials_changed: CredentialsHook | None = None,
        media_host: MediaHost | Mapping[str, Any] | None = None,
        author: str | None = None,
    ) -> Account:
        """An account that posts with what a connect flow returned (`brandkit.auth`:
        ``auth.x.finish(...)``, ``auth.linkedin.finish(...)``...); see
        `brandkit.auth.account_from` for ``client_secret``, ``media_host`` (Instagram,
        Threads) and ``author`` (the LinkedIn organization or member URN to post as).

        Raises:
            ConfigurationError: ``creds`` are not credentials of a known platform, or a
                LinkedIn account without ``author``.
        """
        from brandkit.auth import account_from

        return account_from(
            creds,
            name=name,
            client_secret=client_secret,
            on_credentials_changed=on_credentials_changed,
            media_host=media_host,
            author=author,
        )

    @classmethod
    def from_store(cls, store: Any, key: str, **options: Any) -> Account:
        """The account kept under ``key`` in a credential store (`brandkit.auth.store`),
        its token refreshed first when it is about to expire (a refresh that fails while
        the token still works is logged, and the token used); see
        `brandkit.auth.load_account` for ``options``.

        Raises:
            ConfigurationError: nothing is stored under ``key``, or the record is incomplete.
            GrantRefused: the refresh of a token that has expired was refused (connect the
                account again).
            RateLimited, PlatformUnavailable, TransportError: the refresh of a token that
                has expired could not be made (try again later).
        """
        from brandkit.auth import load_account

        return load_account(store, key, **options)

    @classmethod
    def telegram(
        cls,
        *,
        bot_token: str,
        chat_id: str | int,
        base_url: str | None = None,
        name: str | None = None,
    ) -> Account:
        """A Telegram channel or group, posted to by a bot that is an admin there.

        Raises:
            ConfigurationError: the bot token or chat id is missing.
        """
        if not bot_token:
            raise ConfigurationError("Account.telegram needs bot_token=")
        if chat_id in ("", None):
            raise ConfigurationError("Account.telegram needs chat_id= (e.g. '@channel')")
        return cls(
            "telegram",
            name=name,
            base_url=base_url,
            secrets={"bot_token": bot_token},
            settings={"chat_id": chat_id},
        )

    @classmethod
    def wordpress(
        cls,
        url: str,
        *,
        user: str,
        app_password: str,
        name: str | None = None,
    ) -> Account:
        """A WordPress site at ``url`` (its address, e.g. ``https://blog.example.com``; the REST
        API is found under ``/wp-json/``), as ``user`` (login name or email) with one of their
        application passwords (Users -> Profile -> Application Passwords; WordPress shows it
        in groups of four, and the spaces may stay). Sent as HTTP Basic auth, so use https:
        WordPress itself refuses application passwords over plain http except on a site
        whose ``WP_ENVIRONMENT_TYPE`` is ``local``.

        Raises:
            ConfigurationError: the URL is missing or not http(s), the user is empty or
                holds a colon or a control character, or the password is missing (the
                message never shows the password).
        """
        if not url or not url.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"Account.wordpress needs the site's URL such as https://blog.example.com, "
                f"got {_shown(url)!r}"
            )
        if not user or not user.strip():
            raise ConfigurationError("Account.wordpress needs user= (the login name or email)")
        if ":" in user or any(ord(c) < 0x20 or ord(c) == 0x7F for c in user):
            raise ConfigurationError(
                "Account.wordpress user= must not hold a colon or a control character "
                "(HTTP Basic auth cannot carry them)"
            )
        if not app_password:
            raise ConfigurationError(
                "Account.wordpress needs app_password= (an application password, not the "
                "login password)"
            )
        return cls(
            "wordpress",
            name=name,
            base_url=url.rstrip("/"),
            secrets={"app_password": app_password},
            settings={"user": user.strip()},
        )

    @classmethod
    def ghost(
        cls,
        url: str,
        *,
        admin_key: str,
        name: str | None = None,
    ) -> Account:
        """A Ghost site at ``url`` (its admin address, e.g. ``https://example.ghost.io``, not
        a page of Ghost Admin such as ``https://example.ghost.io/ghost/#/dashboard``),
        with the Admin API key of a custom integration (``{id}:{secret}``, Settings ->
        Integrations). brandkit signs a short-lived token from it for each request; the key
        itself is never sent.

        Raises:
            ConfigurationError: the URL is missing or not http(s), or is an address in
                Ghost Admin (``.../ghost/#/dashboard``) or its API (``.../ghost/api/admin``)
                rather than the site's; or the key is not ``{id}:{hex secret}`` or has
                whitespace around it (the message never shows the key).
        """
        if not url or not url.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"Account.ghost needs the site's admin URL such as https://example.ghost.io, "
                f"got {_shown(url)!r}"
            )
        admin_page = _ghost_admin_page(url)
        if admin_page is not None:
            site, page = admin_page
            # Taken as the base of every request, such an address sent the API's path into
            # the fragment (a POST to Ghost Admin's page) or under the API path again: Ghost
            # answered 404 or 405, nothing said of the URL.
            raise ConfigurationError(
                f"Account.ghost url goes on past the site's address ({page!r}: a page of "
                f"Ghost Admin or of its API): give the site's address alone, such as {site}"
            )
        if admin_key and admin_key != admin_key.strip():
            # Before the shape: the key as Ghost shows it, with a line break or a space from
            # the file or the paste around it, was refused as not the Admin API key at all.
            raise ConfigurationError(
                "Account.ghost admin_key has whitespace (a space or a line break) before or "
                "after it: remove it (the key itself is '{id}:{secret}' with nothing around "
                "it)"
            )
        key_id, sep, secret = (admin_key or "").partition(":")
        hexdigits = set("0123456789abcdefABCDEF")
        if not sep or not key_id or not secret or len(secret) % 2 or set(secret) - hexdigits:
            raise ConfigurationError(
                "Account.ghost admin_key must be the Admin API key as Ghost shows it: "
                "'{id}:{secret}', the secret in hexadecimal (Settings -> Integrations -> "
                "your custom integration). Not the Content API key."
            )
        return cls(
            "ghost",
            name=name,
            base_url=url.rstrip("/"),
            secrets={"admin_key": admin_key},
        )

    @classmethod
    def devto(
        cls,
        *,
        api_key: str,
        base_url: str | None = None,
        media_host: MediaHost | Mapping[str, Any] | None = None,
        ai_disclosure_level: AiDisclosure | None = None,
        name: str | None = None,
    ) -> Account:
        """A DEV (dev.to) account, or one on another Forem at ``base_url``, with an API key
        (Settings -> Extensions -> DEV Community API Keys). Forem takes an article's cover
        image as a public URL: ``media_host`` (as for Instagram, see
        `media_host_from_config`) makes a featured image one.

        ``ai_disclosure_level`` says how much AI wrote the account's articles (``"no_ai"``,
        ``"some_ai"``, ``"fully_autonomous"`` or ``"not_disclosed"``): a Forem with AI
        disclosure on (DEV) refuses a new article without it. It is sent with every create
        and update; an article's own ``Article.ai_disclosure`` goes before it. Kept in
        ``settings["ai_disclosure_level"]``.

        Raises:
            ConfigurationError: the key is missing, ``base_url`` is the API's address
                (``https://dev.to/api``) or a page (on DEV any path: a profile, an article)
                rather than the community's, ``media_host`` is neither callable nor a valid
                configuration, or ``ai_disclosure_level`` is not one of Forem's four
                values.
        """
        if not api_key:
            raise ConfigurationError("Account.devto needs api_key=")
        page = _forem_page(base_url) if base_url else None
        if page is not None:
            site, rest = page
            # Taken as the base of every request, it made "/api/api/articles" (the API's own
            # address, as Forem's docs write it) or "/acme/api/articles" (a profile): Forem
            # answered 404 with its HTML page, nothing said of the URL.
            raise ConfigurationError(
                f"Account.devto base_url goes on past the community's address ({rest!r}: "
                f"a page or the API's address): give the community's address alone, such "
                f"as {site}"
            )
        settings: dict[str, Any] = {"media_host": _media_host(media_host)}
        if ai_disclosure_level is not None:
            if ai_disclosure_level not in AI_DISCLOSURE_LEVELS:
                shown = repr(ai_disclosure_level)
                shown = shown if len(shown) <= 42 else f"{shown[:40]}…"
                raise ConfigurationError(
                    f"Account.devto ai_disclosure_level must be one of "
                    f"{', '.join(AI_DISCLOSURE_LEVELS)} (Forem's values), got {shown}"
                )
            settings["ai_disclosure_level"] = ai_disclosure_level
        return cls(
            "devto",
            name=name,
            base_url=base_url,
            secrets={"api_key": api_key},
            settings=settings,
        )

    # -- files ---------------------------------------------------------------------------

    @classmethod
    def load(
        cls, path: str | Path, *, environ: Mapping[str, str] | None = None
    ) -> dict[str, Account]:
        """Named accounts from a TOML file; secrets come from environment variables only.

        ```toml
        [accounts.acme_x]
        platform = "x"
        user_token_env = "ACME_X_TOKEN"     # the secret is read from $ACME_X_TOKEN

        [accounts.acme_masto]
        platform = "mastodon"
        instance_url = "https://mastodon.social"
        token_env = "ACME_MASTODON_TOKEN"

        [accounts.acme_insta]
        platform = "instagram"
        ig_user_id = "17841400000000000"
        token_env = "ACME_IG_TOKEN"
        media_host = { dir = "/srv/www/media", base_url = "https://cdn.example.com/media" }
        ```

        Each account table takes the keyword arguments of its platform's factory
        (``Account.mastodon``, ...), with ``<secret>_env`` naming the environment variable of
        each secret, and ``media_host`` in one of the forms of `media_host_from_config`
        (a relative ``dir`` is relative to the file's own directory; ``~`` is the home).
        Values are checked strictly (a number is not a string) and URLs must be http(s).

        Raises:
            ConfigurationError: the file is unreadable, larger than 1 MiB or not
                TOML; a platform, table or key is unknown (with the closest known one);
                a value has the wrong type; a URL is not http(s); a secret is written in the
                file itself; a named environment variable is not set; or two tables are
                the same account (each post would go out twice). The message names the
                file, the table and the key.
        """
        env = os.environ if environ is None else environ
        label, table = _read_tables(path)
        accounts = {name: cls._from_table(label, name, raw, env) for name, raw in table.items()}
        seen: dict[tuple[str, ...], str] = {}
        for name, account in accounts.items():
            same = _identity(account)
            if same in seen:
                # Keys differ, so nothing downstream tells them apart: each post would go
                # out twice to the one account.
                raise ConfigurationError(
                    f"{label} [accounts.{name}] is the same account as "
                    f"[accounts.{seen[same]}] (same platform, address, settings and "
                    "credentials): each post would go out twice; remove one of the tables"
                )
            seen[same] = name
        return accounts

    @classmethod
    def _from_table(cls, label: str, name: str, raw: Any, env: Mapping[str, str]) -> Account:
        where = f"{label} [accounts.{name}]"
        if not isinstance(raw, dict):
            # Never the value itself: it may be a secret written where a table goes.
            raise ConfigurationError(
                f"{where} must be a table (its keys under [accounts.{name}]), got "
                f"{_toml_type(raw)} (not shown)"
            )
        platform = raw.get("platform")
        if "platform" not in raw:
            # Not "got a value (not shown)": there is no value, and the fix is to add the key.
            raise ConfigurationError(
                f"{where} platform: missing (this key is required): add e.g. "
                f'platform = "bluesky", one of {", ".join(ACCOUNT_PLATFORMS)}'
            )
        if platform not in ACCOUNT_PLATFORMS:
            from brandkit._names import PLATFORM_ALIASES, did_you_mean

            hint = (
                did_you_mean(platform, ACCOUNT_PLATFORMS, PLATFORM_ALIASES)
                if isinstance(platform, str)
                else ""
            )
            raise ConfigurationError(
                f"{where} platform: must be one of {', '.join(ACCOUNT_PLATFORMS)}{hint}, "
                f"got {_quoted('platform', platform)}"
            )
        secret_keys = _SECRET_KEYS[platform]
        for key in raw:
            if key in secret_keys:
                raise ConfigurationError(
                    f"{where} {key}: a secret must not be written in the file; "
                    f'write {key}_env = "VARIABLE" and set that environment variable '
                    f"(if the file was ever committed or shared, revoke that {key} and make "
                    "a new one: moving it does not take back the copies)"
                )
        model = _config_model(platform)
        try:
            cfg = model.model_validate(raw)
        except ValidationError as exc:
            raise ConfigurationError(f"{where} {_describe(exc, model)}") from None
        kwargs: dict[str, Any] = {"name": name}
        for key in cfg.model_fields_set - {"platform"}:
            value = getattr(cfg, key)
            if key.endswith("_env") and key[:-4] in secret_keys:
                # The name's shape first, before any lookup: a caller's environ may record
                # the names it lacks and print them (`brandkit accounts list`), and a
                # secret pasted here must not be one of them.
                if not _looks_like_env_name(value) or not env.get(value):
                    raise ConfigurationError(f"{where} {_unset_env(key, value, key[:-4], env)}")
                kwargs[key[:-4]] = env[value]
            elif key == "media_host" and value is not None:
                directory = value.get("dir")
                if isinstance(directory, str) and directory:
                    # Relative to the file that says it, not to wherever the worker was
                    # started (a service's working directory is often "/"): the same file
                    # must name the same directory from everywhere.
                    folder = Path(label).parent / Path(directory).expanduser()
                    value = {**value, "dir": str(folder)}
                try:
                    kwargs[key] = media_host_from_config(value, environ=env)
                except ConfigurationError as exc:
                    raise ConfigurationError(f"{where} {exc}") from None
            else:
                kwargs[key] = value
        for key in _required_secrets(platform):
            if key not in kwargs:
                raise ConfigurationError(
                    f"{where} {key}_env: missing (the name of the environment variable that "
                    f"holds {key})"
                )
        try:
            account: Account = getattr(cls, platform)(**kwargs)
        except ConfigurationError as exc:
            raise ConfigurationError(f"{where}: {exc}") from None
        return account


def _identity(account: Account) -> tuple[str, ...]:
    """What makes ``account`` the account it is, apart from its name: equal for two tables
    that post as the same account to the same place. Secrets are digested, never kept."""
    secrets = sorted(
        f"{key}={hashlib.sha256((account.secret(key) or '').encode()).hexdigest()}"
        for key in account.secret_names
    )
    settings = sorted(f"{key}={value!r}" for key, value in account.settings.items())
    return (account.platform, account.base_url, *settings, "|", *secrets)


MAX_CONFIG_BYTES = 1 << 20
"""The largest accounts file `Account.load` reads (1 MiB; a real one is a few KiB)."""


def _read_tables(path: str | Path) -> tuple[str, dict[str, Any]]:
    """The file's name as messages give it, and its ``[accounts.<name>]`` tables, unchecked.

    Raises:
        ConfigurationError: as `Account.load`, for the file and its top-level tables.
    """
    p = Path(path)
    label = str(p)
    try:
        with p.open("rb") as fh:
            # Bounded: a path given by mistake (/dev/zero, a log, a database) is refused
            # after 1 MiB, not read until memory runs out.
            raw = fh.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigurationError(f"cannot read {label!r}: {exc.strerror}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigurationError(
            f"{label!r} is larger than {MAX_CONFIG_BYTES >> 20} MiB: not an accounts file "
            "(check the path)"
        )
    try:
        # utf-8-sig: Windows editors start a UTF-8 file with a byte order mark, which
        # tomllib refuses as "Invalid statement" at line 1 without saying why.
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        # Where, as a line and column an editor shows, not a byte offset.
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", "replace")) + 1
        raise ConfigurationError(
            f"{label!r} is not UTF-8 at line {line}, column {column}: save it as UTF-8"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{label!r} is not valid TOML: {exc}") from None
    except RecursionError:
        # tomllib parses nested arrays and inline tables recursively: a few thousand
        # brackets would end the program with a traceback.
        raise ConfigurationError(
            f"{label!r} is not valid TOML: its arrays or inline tables are nested too deeply"
        ) from None
    for key, value in data.items():
        if key != "accounts" and not isinstance(value, dict):
            # A flat file (platform = ... at the top): the key is named, never its value.
            shown = key if key.isidentifier() else repr(key)
            shown = shown if len(shown) <= 42 else f"{shown[:40]}…"
            raise ConfigurationError(
                f"{label}: {shown}: a key outside "
                "any table; an account's keys go under its own [accounts.<name>] table, "
                "e.g. [accounts.acme] on the line before them"
            )
        if key != "accounts":
            hint = " (did you mean 'accounts'?)" if _close(key, ["accounts"]) else ""
            raise ConfigurationError(
                f"{label}: unknown table [{key}]{hint}; brandkit reads [accounts.<name>]"
            )
    table = data.get("accounts")
    if not isinstance(table, dict) or not table:
        raise ConfigurationError(f"{label!r} has no [accounts.<name>] tables")
    return label, table


def _close(word: str, known: list[str]) -> list[str]:
    return difflib.get_close_matches(word, known, n=1, cutoff=0.6)


# Factory parameters that a file never sets: the account's name is its table's name, and a
# hook is Python.
_NOT_IN_FILES = frozenset({"name", "on_credentials_changed"})
_URL_KEYS = frozenset({"base_url", "instance_url", "url"})


def _factory_params(platform: str) -> dict[str, inspect.Parameter]:
    params = dict(inspect.signature(getattr(Account, platform)).parameters)
    return {k: v for k, v in params.items() if k not in _NOT_IN_FILES}


def _required_secrets(platform: str) -> list[str]:
    return [
        k
        for k, v in _factory_params(platform).items()
        if k in _SECRET_KEYS[platform] and v.default is inspect.Parameter.empty
    ]


_MODELS: dict[str, type[BaseModel]] = {}


def _config_model(platform: str) -> type[BaseModel]:
    """The pydantic model of one ``[accounts.<name>]`` table, built from the factory's
    signature so that the file takes exactly what the factory takes."""
    if platform in _MODELS:
        return _MODELS[platform]
    factory = getattr(Account, platform)
    # "Media" is only imported for type checkers; the callable's signature is not validated.
    hints = typing.get_type_hints(factory, localns={"Media": object})
    fields: dict[str, Any] = {"platform": (str, ...)}
    for key, param in _factory_params(platform).items():
        required = param.default is inspect.Parameter.empty
        if key in _SECRET_KEYS[platform]:
            fields[f"{key}_env"] = (str | None, None)
            continue
        if key == "media_host":
            kind: Any = dict[str, Any] | None
        elif key in _URL_KEYS:
            kind = _HttpUrl if required else _HttpUrl | None
        else:
            kind = hints[key]
        fields[key] = (kind, ... if required else None)
    model: type[BaseModel] = create_model(
        f"{platform.capitalize()}AccountTable", __config__=_STRICT, **fields
    )
    _MODELS[platform] = model
    return model


def account_list(accounts: object, *, once: bool = False) -> list[Account]:
    """``accounts`` as a list of accounts, checked before anything is read or written (the
    inbox's and listening's ``accounts=``).

    Raises:
        ConfigurationError: ``accounts`` is one account or a text rather than a list of
            them (each letter of a text was read as an account), holds something that is
            not an `Account` (a key), or, with ``once``, holds one account twice.
    """
    if isinstance(accounts, (Account, str, bytes)) or not isinstance(accounts, Iterable):
        raise ConfigurationError(
            f"accounts is a {type(accounts).__name__}: give the accounts as a list of "
            "accounts, such as [x, masto] (one account: [x])"
        )
    checked = list(accounts)
    seen: set[str] = set()
    for account in checked:
        if not isinstance(account, Account):
            # Only the type: an item that is not an Account may hold a token.
            raise ConfigurationError(
                f"accounts holds a {type(account).__name__}, not an Account: give the "
                "accounts themselves (Account.load(...) reads them), not their keys"
            )
        if once and account.key in seen:
            raise ConfigurationError(f"accounts holds {account.key} twice: give each account once")
        seen.add(account.key)
    return checked


def account_key(account: object) -> str:
    """The key of ``account``, an account or its key (``platform:name``) as text.

    Raises:
        ConfigurationError: ``account`` is neither.
    """
    key = account if isinstance(account, str) else getattr(account, "key", None)
    if not isinstance(key, str):
        raise ConfigurationError(
            f"a {type(account).__name__} is no account: give an account, or its key as "
            "text (such as 'mastodon:acme')"
        )
    return key
