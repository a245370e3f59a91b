"""Record what a real WordPress answers, for brandkit's WordPress emulator and its tests.

Starts a real WordPress (``wp_harness``), drives its REST API with httpx the way a client
would, and writes the exchanges, sanitized, to ``tests/data/wordpress/*.json``:

    .venv/bin/python -m tests.wordpress.record [--out DIR]

Sanitizing: the site's URL (``http://127.0.0.1:<port>``) becomes ``{site}``; credentials are
never written (requests keep only whether and how they authenticated); uploaded bytes are
summarized (length, type, SHA-256). Times are the real ones of the recording run (site timezone
Europe/Berlin, so ``date`` and ``date_gmt`` differ).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import struct
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from tests.wordpress.wp_harness import SITE_TIMEZONE, WordPressServer, start_wordpress

OUT_DIR = Path(__file__).resolve().parent.parent / "data" / "wordpress"
KEPT_HEADERS = (
    "content-type",
    "location",
    "link",
    "allow",
    "x-wp-total",
    "x-wp-totalpages",
    "www-authenticate",
    "x-robots-tag",
    "access-control-expose-headers",
    "access-control-allow-headers",
    "x-content-type-options",
)
FUTURE_LOCAL = "2031-03-14T15:09:26"


def tiny_png(width: int = 4, height: int = 3) -> bytes:
    """A valid RGB PNG of the given size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xff\x80\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


class Recorder:
    """Sends requests to one site and keeps sanitized exchanges, grouped by file name."""

    def __init__(
        self,
        http: httpx.Client,
        *,
        site: str,
        user: str,
        app_password: str,
        pretty: bool,
        version: str = "",
        secrets: tuple[str, ...] = (),
    ) -> None:
        self.http = http
        self.site = site.rstrip("/")
        self.user = user
        self.app_password = app_password
        self.pretty = pretty
        self.version = version
        self.secrets = (app_password, *secrets)
        self.files: dict[str, list[dict[str, Any]]] = {}
        self.current = "misc"

    @classmethod
    def for_server(cls, server: WordPressServer, *, pretty: bool) -> Recorder:
        """A recorder for a harness site (its own unauthenticated client)."""
        return cls(
            server.client(authenticated=False),
            site=server.url,
            user=server.user,
            app_password=server.app_password,
            pretty=pretty,
            version=server.version,
            secrets=(server.admin_password,),
        )

    def route(self, route: str, query: Mapping[str, Any] | None = None) -> str:
        """The URL path for a REST route, in ``/wp-json/`` or ``/?rest_route=`` form."""
        params = dict(query or {})
        if self.pretty:
            path = f"/wp-json{route}"
            if params:
                path += "?" + str(httpx.QueryParams(params))
            return path
        return "/?" + str(httpx.QueryParams({"rest_route": route, **params}))

    def sanitize(self, value: Any) -> Any:
        """The value with the site's URL replaced by ``{site}`` (also JSON-escaped forms)."""
        text = json.dumps(value, ensure_ascii=False)
        host = self.site.split("//", 1)[1]
        text = text.replace(self.site, "{site}").replace(host, "{host}")
        return json.loads(text)

    def send(
        self,
        label: str,
        method: str,
        route: str,
        *,
        query: Mapping[str, Any] | None = None,
        json_body: Any = None,
        content: bytes | None = None,
        form: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: str = "app-password",
        raw_path: str | None = None,
    ) -> httpx.Response:
        """Send one request and record it under the current file."""
        path = raw_path if raw_path is not None else self.route(route, query)
        request_auth: httpx.BasicAuth | None = None
        if auth == "app-password":
            request_auth = httpx.BasicAuth(self.user, self.app_password)
        elif auth == "wrong-password":
            request_auth = httpx.BasicAuth(self.user, "abcd efgh ijkl mnop qrst uvwx")
        elif auth == "unknown-user":
            request_auth = httpx.BasicAuth("nobody", "abcd efgh ijkl mnop qrst uvwx")
        kwargs: dict[str, Any] = {"headers": dict(headers or {})}
        if request_auth is not None:
            kwargs["auth"] = request_auth
        if json_body is not None:
            kwargs["json"] = json_body
        if content is not None:
            kwargs["content"] = content
        if form is not None:
            kwargs["data"] = form
        if files is not None:
            kwargs["files"] = files
        response = self.http.request(method, path, **kwargs)
        request: dict[str, Any] = {"method": method, "path": path, "auth": auth}
        if headers:
            request["headers"] = dict(headers)
        if json_body is not None:
            request["json"] = json_body
        if content is not None:
            request["body"] = _summary(content, (headers or {}).get("Content-Type", ""))
        if form is not None:
            request["form"] = dict(form)
        if files is not None:
            request["files"] = {
                name: {"filename": f[0], **_summary(f[1], f[2])} for name, f in files.items()
            }
        try:
            body: Any = response.json()
        except ValueError:
            kind = response.headers.get("content-type", "")
            if kind.startswith("text/") or not response.content:
                body = {"non_json_body": response.text[:300], "length": len(response.content)}
            else:
                body = {"binary_body": _summary(response.content, kind)}
        if isinstance(body, dict) and isinstance(body.get("routes"), dict):
            # The REST index lists every route with its full argument schema (about 600 kB):
            # kept as route -> methods, which is what a client discovering the API looks at.
            body["routes"] = {
                route: sorted({m for e in spec.get("endpoints", []) for m in e.get("methods", [])})
                for route, spec in body["routes"].items()
            }
            body["routes_trimmed_by_recorder"] = True
        self.files.setdefault(self.current, []).append(
            self.sanitize(
                {
                    "label": label,
                    "request": request,
                    "response": {
                        "status": response.status_code,
                        "headers": {
                            k: response.headers[k] for k in KEPT_HEADERS if k in response.headers
                        },
                        "body": body,
                    },
                }
            )
        )
        return response

    def write(self, out_dir: Path, prefix: str = "") -> list[Path]:
        """Write one JSON file per group; returns their paths."""
        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for name, exchanges in self.files.items():
            path = out_dir / f"{prefix}{name}.json"
            document = {
                "wordpress_version": self.version,
                "permalinks": "pretty" if self.pretty else "plain",
                "rest_form": "/wp-json/" if self.pretty else "/?rest_route=",
                "site_timezone": SITE_TIMEZONE,
                "site": "{site}",
                "exchanges": exchanges,
            }
            text = json.dumps(document, indent=1, ensure_ascii=False) + "\n"
            for secret in self.secrets:
                if secret in text or secret.replace(" ", "") in text:
                    raise RuntimeError(f"a credential would have been written to {path}")
            path.write_text(text)
            written.append(path)
        return written


def _summary(data: bytes, content_type: str) -> dict[str, Any]:
    return {
        "bytes": len(data),
        "content_type": content_type,
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def record_pretty(rec: Recorder) -> None:
    """The whole tour on a site with pretty permalinks (``/wp-json/``)."""
    rec.current = "discovery"
    rec.send("home page (Link header names the REST root)", "GET", "", raw_path="/", auth="none")
    rec.send("REST index", "GET", "/", auth="none")
    rec.send("REST index, rest_route form", "GET", "/", raw_path="/?rest_route=/", auth="none")
    rec.send(
        "REST index, namespaces only", "GET", "/", query={"_fields": "namespaces"}, auth="none"
    )
    rec.send("who am I", "GET", "/wp/v2/users/me", query={"context": "edit"})
    rec.send("settings (timezone)", "GET", "/wp/v2/settings")
    rec.send(
        "user by slug, id and name only",
        "GET",
        "/wp/v2/users",
        query={"slug": "admin", "_fields": "id,name"},
    )
    rec.send(
        "users search by login (edit context)",
        "GET",
        "/wp/v2/users",
        query={"search": "admin", "context": "edit", "_fields": "id,username,slug"},
    )

    rec.current = "auth"
    rec.send("no auth: users/me", "GET", "/wp/v2/users/me", auth="none")
    rec.send(
        "no auth: create post",
        "POST",
        "/wp/v2/posts",
        json_body={"title": "x", "status": "draft"},
        auth="none",
    )
    rec.send("wrong application password", "GET", "/wp/v2/users/me", auth="wrong-password")
    rec.send(
        "wrong application password: create post",
        "POST",
        "/wp/v2/posts",
        json_body={"title": "x", "status": "draft"},
        auth="wrong-password",
    )
    rec.send("unknown user", "GET", "/wp/v2/users/me", auth="unknown-user")
    rec.send(
        "no auth: list drafts",
        "GET",
        "/wp/v2/posts",
        query={"status": "draft"},
        auth="none",
    )

    rec.current = "terms"
    rec.send("tags search (none yet)", "GET", "/wp/v2/tags", query={"search": "launch"})
    tag = rec.send("create tag", "POST", "/wp/v2/tags", json_body={"name": "Launch Day"}).json()
    rec.send("tags search (found)", "GET", "/wp/v2/tags", query={"search": "launch"})
    rec.send("tags by slug", "GET", "/wp/v2/tags", query={"slug": "launch-day"})
    rec.send(
        "tags search, id and name only",
        "GET",
        "/wp/v2/tags",
        query={"search": "Launch Day", "per_page": "100", "_fields": "id,name"},
    )
    rec.send("duplicate tag", "POST", "/wp/v2/tags", json_body={"name": "Launch Day"})
    rec.send("duplicate tag, other case", "POST", "/wp/v2/tags", json_body={"name": "launch day"})
    rec.send("categories list", "GET", "/wp/v2/categories")
    rec.send("categories search", "GET", "/wp/v2/categories", query={"search": "press"})
    cat = rec.send(
        "create category", "POST", "/wp/v2/categories", json_body={"name": "Press Releases"}
    ).json()
    rec.send(
        "duplicate category", "POST", "/wp/v2/categories", json_body={"name": "Press Releases"}
    )
    rec.send("create tag with empty name", "POST", "/wp/v2/tags", json_body={"name": ""})

    rec.current = "media"
    png = tiny_png()
    media = rec.send(
        "upload PNG (raw body, Content-Disposition)",
        "POST",
        "/wp/v2/media",
        content=png,
        headers={
            "Content-Type": "image/png",
            "Content-Disposition": 'attachment; filename="hero image.png"',
        },
    ).json()
    rec.send(
        "set alt text and caption",
        "POST",
        f"/wp/v2/media/{media['id']}",
        json_body={"alt_text": "A orange square", "caption": "Our launch"},
    )
    rec.send("read media back", "GET", f"/wp/v2/media/{media['id']}", query={"context": "edit"})
    rec.send(
        "the uploaded file at source_url",
        "GET",
        "",
        raw_path=media["source_url"].removeprefix(rec.site),
        auth="none",
    )
    rec.send(
        "upload PNG (multipart, with alt_text field)",
        "POST",
        "/wp/v2/media",
        files={"file": ("multi.png", png, "image/png")},
        form={"alt_text": "Alt from the form", "title": "Multipart"},
    )
    rec.send(
        "upload refused type (.exe)",
        "POST",
        "/wp/v2/media",
        content=b"MZ\x90\x00" + b"\x00" * 60,
        headers={
            "Content-Type": "application/x-msdownload",
            "Content-Disposition": 'attachment; filename="setup.exe"',
        },
    )
    rec.send(
        "upload refused type (.php)",
        "POST",
        "/wp/v2/media",
        content=b"<?php echo 1;",
        headers={
            "Content-Type": "application/x-php",
            "Content-Disposition": 'attachment; filename="shell.php"',
        },
    )
    rec.send(
        "upload of a PNG signature followed by junk (WordPress checks the signature only)",
        "POST",
        "/wp/v2/media",
        content=b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,
        headers={
            "Content-Type": "image/png",
            "Content-Disposition": 'attachment; filename="junk.png"',
        },
    )
    rec.send(
        "upload PNG with alt_text in the query",
        "POST",
        "/wp/v2/media",
        query={"alt_text": "Alt from the query"},
        content=png,
        headers={
            "Content-Type": "image/png",
            "Content-Disposition": 'attachment; filename="query-alt.png"',
        },
    )
    rec.send(
        "upload without Content-Disposition",
        "POST",
        "/wp/v2/media",
        content=png,
        headers={"Content-Type": "image/png"},
    )
    rec.send(
        "upload empty body",
        "POST",
        "/wp/v2/media",
        content=b"",
        headers={
            "Content-Type": "image/png",
            "Content-Disposition": 'attachment; filename="empty.png"',
        },
    )
    rec.send("media 404", "GET", "/wp/v2/media/999999")
    rec.send(
        "media search by file name stem, newest first (edit)",
        "GET",
        "/wp/v2/media",
        query={
            "search": "hero-image",
            "media_type": "image",
            "context": "edit",
            "orderby": "date",
            "order": "desc",
            "_fields": "id,source_url,alt_text,media_details",
        },
    )

    rec.current = "posts"
    draft = rec.send(
        "create draft",
        "POST",
        "/wp/v2/posts",
        json_body={
            "title": "Draft release",
            "content": "<p>Draft <strong>body</strong></p>",
            "excerpt": "Short",
            "status": "draft",
            "slug": "draft-release",
        },
    ).json()
    published = rec.send(
        "create published with terms and featured media",
        "POST",
        "/wp/v2/posts",
        json_body={
            "title": "We launched & it's great",
            "content": "<h2>News</h2>\n<p>Hello <em>world</em> — see https://example.com</p>",
            "excerpt": "We launched.",
            "status": "publish",
            "slug": "we-launched",
            "tags": [tag["id"]],
            "categories": [cat["id"]],
            "featured_media": media["id"],
        },
    ).json()
    rec.send(
        "create future (scheduled by site-local date)",
        "POST",
        "/wp/v2/posts",
        json_body={
            "title": "Scheduled release",
            "content": "<p>Later</p>",
            "status": "future",
            "date": FUTURE_LOCAL,
            "slug": "scheduled-release",
        },
    )
    rec.send(
        "create future by date_gmt",
        "POST",
        "/wp/v2/posts",
        json_body={
            "title": "Scheduled by GMT",
            "content": "<p>Later</p>",
            "status": "future",
            "date_gmt": "2031-03-14T12:00:00",
            "slug": "scheduled-gmt",
        },
    )
    rec.send(
        "create publish with a future date (WordPress schedules it)",
        "POST",
        "/wp/v2/posts",
        json_body={"title": "Publish later", "status": "publish", "date": FUTURE_LOCAL},
    )
    rec.send(
        "create future with a past date (WordPress publishes it)",
        "POST",
        "/wp/v2/posts",
        json_body={"title": "Past future", "status": "future", "date": "2020-01-01T10:00:00"},
    )
    rec.send(
        "create with an invalid status",
        "POST",
        "/wp/v2/posts",
        json_body={"title": "Bad", "status": "scheduled"},
    )
    rec.send(
        "create with the same slug (WordPress suffixes it)",
        "POST",
        "/wp/v2/posts",
        json_body={"title": "Again", "status": "publish", "slug": "we-launched"},
    )
    rec.send(
        "create with an unknown tag id",
        "POST",
        "/wp/v2/posts",
        json_body={"title": "Bad tag", "status": "draft", "tags": [999999]},
    )
    rec.send(
        "create with unknown featured media",
        "POST",
        "/wp/v2/posts",
        json_body={"title": "Bad media", "status": "draft", "featured_media": 999999},
    )
    rec.send(
        "create empty",
        "POST",
        "/wp/v2/posts",
        json_body={"status": "draft"},
    )
    rec.send(
        "get by slug, status=any",
        "GET",
        "/wp/v2/posts",
        query={"slug": "draft-release", "status": "any", "context": "edit"},
    )
    rec.send(
        "get by a slug family, newest first (edit context)",
        "GET",
        "/wp/v2/posts",
        query={
            "slug": "we-launched,we-launched-2,we-launched-3",
            "status": "any",
            "context": "edit",
            "per_page": "10",
            "orderby": "id",
            "order": "desc",
        },
    )
    rec.send(
        "get by slug, default status (publish only)",
        "GET",
        "/wp/v2/posts",
        query={"slug": "draft-release"},
    )
    rec.send(
        "get by slug, not found",
        "GET",
        "/wp/v2/posts",
        query={"slug": "no-such-post", "status": "any"},
    )
    rec.send("get published by id", "GET", f"/wp/v2/posts/{published['id']}")
    rec.send(
        "get published by id, context=edit",
        "GET",
        f"/wp/v2/posts/{published['id']}",
        query={"context": "edit"},
    )
    rec.send(
        "update (title, content, publish the draft)",
        "POST",
        f"/wp/v2/posts/{draft['id']}",
        json_body={"title": "Final release", "content": "<p>Final</p>", "status": "publish"},
    )
    rec.send(
        "update with PUT",
        "PUT",
        f"/wp/v2/posts/{draft['id']}",
        json_body={"excerpt": "Put excerpt"},
    )
    rec.send("update missing post", "POST", "/wp/v2/posts/999999", json_body={"title": "x"})
    rec.send("trash", "DELETE", f"/wp/v2/posts/{draft['id']}")
    rec.send("trash again", "DELETE", f"/wp/v2/posts/{draft['id']}")
    rec.send(
        "get trashed by slug, status=any",
        "GET",
        "/wp/v2/posts",
        query={"slug": "draft-release", "status": "any"},
    )
    rec.send("force delete", "DELETE", f"/wp/v2/posts/{draft['id']}", query={"force": "true"})
    rec.send("get after force delete", "GET", f"/wp/v2/posts/{draft['id']}")
    rec.send("force delete again", "DELETE", f"/wp/v2/posts/{draft['id']}", query={"force": "true"})
    rec.send("list with paging headers", "GET", "/wp/v2/posts", query={"per_page": 2})
    rec.send(
        "list, a middle page (prev and next links)",
        "GET",
        "/wp/v2/posts",
        query={"per_page": 1, "page": 2, "status": "publish"},
    )

    rec.current = "pages"
    rec.send(
        "create page",
        "POST",
        "/wp/v2/pages",
        json_body={"title": "About", "content": "<p>About us</p>", "status": "publish"},
    )
    rec.send("pages by slug", "GET", "/wp/v2/pages", query={"slug": "about", "status": "any"})

    rec.current = "comments"
    rec.send(
        "create comment as admin",
        "POST",
        "/wp/v2/comments",
        json_body={"post": published["id"], "content": "Congrats!"},
    )
    rec.send(
        "create comment anonymously",
        "POST",
        "/wp/v2/comments",
        json_body={
            "post": published["id"],
            "content": "Nice",
            "author_name": "Ann",
            "author_email": "ann@example.com",
        },
        auth="none",
    )
    rec.send("list comments of a post", "GET", "/wp/v2/comments", query={"post": published["id"]})
    rec.send(
        "list comments, all statuses (edit)",
        "GET",
        "/wp/v2/comments",
        query={"post": published["id"], "status": "all", "context": "edit"},
    )
    rec.send("list comments, no auth", "GET", "/wp/v2/comments", auth="none")
    rec.send(
        "count comments of a post (X-WP-Total, ids only)",
        "GET",
        "/wp/v2/comments",
        query={"post": published["id"], "per_page": "1", "_fields": "id"},
    )
    visitor = rec.send(
        "comment in a visitor's name, by a moderator",
        "POST",
        "/wp/v2/comments",
        json_body={
            "post": published["id"],
            "content": "Do you ship abroad?",
            "author_name": "Sigrun",
            "author_email": "sigrun@example.org",
            "author_url": "https://sigrun.example.org",
        },
    ).json()
    answer = {"post": published["id"], "parent": visitor["id"], "content": "Yes, everywhere."}
    rec.send("answer under a comment", "POST", "/wp/v2/comments", json_body=answer)
    rec.send("the same answer again (duplicate)", "POST", "/wp/v2/comments", json_body=answer)
    rec.send(
        "inbox read: by id, newest first, all statuses, own left out (edit)",
        "GET",
        "/wp/v2/comments",
        query={
            "context": "edit",
            "status": "all",
            "orderby": "id",
            "order": "desc",
            "per_page": "100",
            "author_exclude": "1",
        },
    )
    rec.send(
        "inbox read, the next page by offset (starts on the last one read)",
        "GET",
        "/wp/v2/comments",
        query={
            "context": "edit",
            "status": "all",
            "orderby": "id",
            "order": "desc",
            "per_page": "1",
            "offset": "1",
        },
    )
    rec.send(
        "inbox read, an offset past the end (empty list)",
        "GET",
        "/wp/v2/comments",
        query={"status": "all", "orderby": "id", "per_page": "100", "offset": "50"},
    )
    rec.send(
        "answers under a comment by the account (edit)",
        "GET",
        "/wp/v2/comments",
        query={"parent": visitor["id"], "author": "1", "context": "edit", "status": "all"},
    )
    path = f"/wp/v2/comments/{visitor['id']}"
    rec.send("hold a comment", "POST", path, json_body={"status": "hold"})
    rec.send("held comments", "GET", "/wp/v2/comments", query={"status": "hold"})
    rec.send("approve it again", "POST", path, json_body={"status": "approved"})
    rec.send("trash a comment", "DELETE", path)
    rec.send("trash it again", "DELETE", path)
    rec.send(
        "comments, a middle page (prev and next links)",
        "GET",
        "/wp/v2/comments",
        query={"per_page": "1", "page": "2", "status": "all"},
    )


def record_plain(rec: Recorder) -> None:
    """A site with plain permalinks: discovery, ``/wp-json/`` refused, ``?rest_route=`` works."""
    rec.current = "discovery"
    rec.send("home page (Link header names the REST root)", "GET", "", raw_path="/", auth="none")
    rec.send("REST index via /wp-json/ (not routed)", "GET", "", raw_path="/wp-json/", auth="none")
    rec.send("REST index", "GET", "/", auth="none")
    rec.send(
        "REST index, namespaces only", "GET", "/", query={"_fields": "namespaces"}, auth="none"
    )
    rec.current = "posts"
    made = rec.send(
        "create published",
        "POST",
        "/wp/v2/posts",
        json_body={"title": "Plain", "content": "<p>Plain</p>", "status": "publish"},
    ).json()
    rec.send(
        "get by slug, status=any",
        "GET",
        "/wp/v2/posts",
        query={"slug": made["slug"], "status": "any"},
    )
    rec.send("wrong application password", "GET", "/wp/v2/users/me", auth="wrong-password")
    rec.send("force delete", "DELETE", f"/wp/v2/posts/{made['id']}", query={"force": "true"})


def main() -> None:
    """Record both sites and write the files."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    args = parser.parse_args()
    written: list[Path] = []
    for pretty, runner, prefix in ((True, record_pretty, ""), (False, record_plain, "plain-")):
        server = start_wordpress(pretty_permalinks=pretty)
        try:
            rec = Recorder.for_server(server, pretty=pretty)
            with rec.http:
                runner(rec)
            written += rec.write(args.out, prefix)
        finally:
            server.stop()
    for path in written:
        print(path)


if __name__ == "__main__":
    main()
