"""Tags that name a language by a sign are spelt as DEV's own tags. Forem takes letters and
digits only, and brandkit dropped the rest: an article tagged "C#" went to DEV's "c" (another
language), "C++" to "c" too, ".NET" to "net". They are now "csharp", "cpp" and "dotnet", as
DEV names those tags; a leading "#" (a hashtag's sign) still goes."""

from __future__ import annotations

from brandkit import Client
from brandkit.content import Article
from brandkit.platforms.devto import devto_tags
from brandkit.testing.devto import DevtoEmulator


def test_signs_are_spelt_as_dev_spells_them() -> None:
    assert devto_tags(["C#", "F#", "C++", ".NET"]) == (["csharp", "fsharp", "cpp", "dotnet"], [])
    assert devto_tags(["#launch", "#C#", "Node.js", "ASP.NET"]) == (
        ["launch", "csharp", "nodejs", "aspnet"],
        [],
    )


def test_an_article_is_tagged_with_them(emu: DevtoEmulator, client: Client) -> None:
    article = Article(title="Interop", body="x", tags=["C#", "C++", ".NET", "#webdev"])
    (d,) = client.publish(article, emu.account())
    assert d.ok, d.error
    (stored,) = emu.articles()
    assert stored["tags"] == ["csharp", "cpp", "dotnet", "webdev"]
