"""Every relative link in README.md, CHANGELOG.md and docs/*.md points at a file of the
repository, so a clone's documentation holds on its own (no link to a path outside it)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]
# [text](target "title"), ![alt](target), [name]: target, and HTML href/src attributes.
_INLINE = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)
_HTML = re.compile(r"""\b(?:href|src)=["']([^"']+)["']""")
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
_EXTERNAL = re.compile(r"^[a-z][a-z0-9+.\-]*:", re.I)  # http:, https:, mailto:, ...


def relative_links(text: str) -> list[str]:
    """The targets of every relative link in Markdown `text` (code blocks left out), without
    their #fragment; in-page anchors and absolute URLs are not files."""
    prose = _FENCE.sub("", text)
    found = [m for p in (_INLINE, _REFERENCE, _HTML) for m in p.findall(prose)]
    targets = [t.split("#", 1)[0] for t in found if not _EXTERNAL.match(t)]
    return [t for t in targets if t]


def test_the_link_finder_sees_every_form() -> None:
    text = (
        '[a](docs/a.md) ![b](img/b.png "B") [c](https://x.org/c) [d](#here) [e](f.md#part)\n'
        '[ref]: ../outside.md\n<a href="g.html">g</a>\n```\n[code](not/a/link.md)\n```\n'
    )
    assert relative_links(text) == ["docs/a.md", "img/b.png", "f.md", "../outside.md", "g.html"]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_points_at_a_file_of_the_repository(document: Path) -> None:
    broken = []
    for target in relative_links(document.read_text(encoding="utf-8")):
        path = (document.parent / target).resolve()
        if not path.is_relative_to(ROOT) or not path.exists():
            broken.append(target)
    assert not broken, f"{document.relative_to(ROOT)} links to files a clone lacks: {broken}"
