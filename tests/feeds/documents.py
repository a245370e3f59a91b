"""Feed documents as blogs serve them (shapes from WordPress's RSS 2.0 and an Atom 1.0 blog)."""

from __future__ import annotations


def rss(*items: str, title: str = "Acme News") -> bytes:
    """An RSS 2.0 channel (as WordPress writes it) holding ``items``, newest first."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:media="http://search.yahoo.com/mrss/">\n'
        f"<channel><title>{title}</title><link>https://acme.example/</link>"
        "<description>News from Acme</description><language>en-US</language>\n"
        + "\n".join(items)
        + "\n</channel></rss>\n"
    ).encode()


def item(
    n: int,
    *,
    link: str | None = None,
    guid: str | None = None,
    day: int | None = None,
    image: str | None = None,
    description: str | None = None,
    title: str | None = None,
) -> str:
    """One RSS item numbered ``n``."""
    parts = [f"<title>{title or f'Release {n}: Acme &amp; Partners'}</title>"]
    parts.append(
        f"<link>{link if link is not None else f'https://acme.example/news/release-{n}/'}</link>"
    )
    if guid is not None:
        parts.append(f'<guid isPermaLink="false">{guid}</guid>')
    else:
        parts.append(f'<guid isPermaLink="false">https://acme.example/?p={n}</guid>')
    if day is not None:
        parts.append(f"<pubDate>Fri, {day:02d} Dec 2026 09:30:00 +0000</pubDate>")
    parts.append("<dc:creator><![CDATA[Jane Doe]]></dc:creator>")
    desc = (
        description
        if description is not None
        else (f"<p>Acme announces release {n}, with <b>faster</b> exports &amp; new reports.</p>")
    )
    parts.append(f"<description><![CDATA[{desc}]]></description>")
    if image is not None:
        parts.append(f'<media:thumbnail url="{image}" />')
    return "<item>" + "".join(parts) + "</item>"


ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://blog.example.org/">
  <title type="text">Example Blog</title>
  <link rel="alternate" href="https://blog.example.org/"/>
  <link rel="self" href="https://blog.example.org/atom.xml"/>
  <id>urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6</id>
  <updated>2026-12-03T18:30:02Z</updated>
  <entry>
    <title type="html">Caf\xc3\xa9 &amp;amp; code: our second post</title>
    <link rel="alternate" type="text/html" href="posts/second"/>
    <link rel="enclosure" type="image/png" href="https://blog.example.org/img/second.png"/>
    <id>urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6b</id>
    <updated>2026-12-03T18:30:02Z</updated>
    <author><name>Ana Lima</name></author>
    <content type="html">&lt;p&gt;The second post, in &lt;em&gt;full&lt;/em&gt;.&lt;/p&gt;&lt;script&gt;alert(1)&lt;/script&gt;</content>
  </entry>
  <entry>
    <title>First post</title>
    <link rel="alternate" href="https://blog.example.org/posts/first"/>
    <id>urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a</id>
    <updated>2026-12-01T08:00:00Z</updated>
    <summary>A short summary of the first post.</summary>
  </entry>
</feed>
"""
