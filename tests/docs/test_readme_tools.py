"""Each tool the README tells a reader to run from the venv (``.venv/bin/mkdocs``, ...) is
installed by an extra that the same paragraph installs: the set-up commands install the
package and its test extra only, and ``.venv/bin/mkdocs serve`` alone was "No such file"."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Tools that the package or pip itself puts in the venv.
BUILT_IN = {"python", "python3", "pip", "brandkit"}


def extras() -> dict[str, set[str]]:
    """Each extra's distribution names, with the extras it names of brandkit itself expanded."""
    table = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    raw: dict[str, list[str]] = table["project"]["optional-dependencies"]

    def names(extra: str, seen: frozenset[str] = frozenset()) -> set[str]:
        out: set[str] = set()
        for requirement in raw[extra]:
            own = re.fullmatch(r"brandkit\[([^\]]+)\]", requirement.strip())
            if own:
                for inner in own[1].split(","):
                    if inner.strip() not in seen:
                        out |= names(inner.strip(), seen | {extra})
            else:
                out.add(re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower())
        return out

    return {extra: names(extra) for extra in raw}


def test_every_venv_tool_in_the_readme_is_installed_by_the_paragraph() -> None:
    provided_by = extras()
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for paragraph in re.split(r"\n\s*\n", text):
        tools = set(re.findall(r"\.venv/bin/([A-Za-z0-9_.-]+)", paragraph)) - BUILT_IN
        installed: set[str] = set()
        for extra_list in re.findall(r"pip install -e '\.\[([^\]]+)\]'", paragraph):
            for extra in extra_list.split(","):
                installed |= provided_by[extra.strip()]
        for tool in tools:
            assert tool in installed, (
                f"README.md runs .venv/bin/{tool} without installing an extra that has it: "
                f"{paragraph[:200]!r}"
            )
