"""The Markdown docs: every relative link and #anchor resolves, and README.md stays a short front door."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.sessions import ROOT

_FENCE = re.compile(r"^\s*(?:[-*+]\s+|\d+[.)]\s+)?(```|~~~)")  # also a fence opening a list item
_CODE_SPAN = re.compile(r"(`+)(?:(?!\n\s*\n).)+?\1", re.S)  # never across a blank line
_LINK = re.compile(r"\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")  # http:, https:, mailto:, ...


def doc_files() -> list[Path]:
    """The Markdown files whose links are checked."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "deploy" / "README.md"]


def _prose(text: str) -> str:
    """The text outside fenced code blocks, with code spans (which may wrap lines) removed."""
    lines, fenced = [], False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
            lines.append("")
        else:
            lines.append("" if fenced else line)
    return _CODE_SPAN.sub("", "\n".join(lines))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: markup dropped, lowercase, spaces -> '-', other punctuation dropped."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading keeps its text
    text = text.replace("`", "").replace("*", "").lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading anchor of a Markdown file, repeated headings numbered as GitHub does (-1, -2)."""
    seen: dict[str, int] = {}
    found = set()
    fenced = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if _FENCE.match(line):
            fenced = not fenced
            continue
        match = None if fenced else _HEADING.match(line)
        if match:
            base = slug(match.group(1))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(path: Path) -> list[str]:
    """The targets of the Markdown links of a file, outside code; a link's text may wrap lines."""
    return [m.group(1) for m in _LINK.finditer(_prose(path.read_text(encoding="utf-8")))]


def _label(path: Path) -> str:
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name


def broken_links(paths: list[Path]) -> list[str]:
    """Every relative link of ``paths`` whose file, folder or heading anchor does not exist."""
    broken = []
    for path in paths:
        for target in links(path):
            if _SCHEME.match(target):
                continue
            file_part, _, anchor = target.partition("#")
            resolved = (path.parent / file_part).resolve() if file_part else path
            where = f"{_label(path)}: {target}"
            if not resolved.exists():
                broken.append(f"{where} (no such file or folder)")
            elif (
                anchor and resolved.is_file() and resolved.suffix == ".md" and anchor not in anchors(resolved)
            ):
                broken.append(f"{where} (no heading with anchor #{anchor})")
    return broken


def test_every_relative_link_resolves() -> None:
    broken = broken_links(doc_files())
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_the_link_checker_sees_broken_links(tmp_path: Path) -> None:
    (tmp_path / "b.md").write_text("# A title, with `code`\n\n## Repeated\n\n## Repeated\n", encoding="utf-8")
    page = tmp_path / "a.md"
    page.write_text(
        "[ok](b.md) [ok](b.md#a-title-with-code) [ok](b.md#repeated-1) [ok](https://example.com/x)\n"
        "[ok](#top) `[not a link](nowhere.md)` and `a code span\nthat wraps [not a link](nowhere.md)`\n\n"
        "# Top\n\n"
        "```\n[not a link either](nowhere.md)\n```\n"
        "1. ```sh\n   [nor this](nowhere.md)\n   ```\n"
        "[bad](missing.md) [bad](b.md#no-such-heading) [bad](#nowhere) [a link that\nwraps](gone.md)\n",
        encoding="utf-8",
    )
    broken = broken_links([page])
    assert len(broken) == 4, broken
    for target in ("missing.md", "b.md#no-such-heading", "#nowhere", "gone.md"):
        assert any(f"a.md: {target} " in line for line in broken), (target, broken)


def test_slugs_follow_github() -> None:
    assert slug("Where a session's state changes") == "where-a-sessions-state-changes"
    assert (
        slug("`pipeline/domain/`: what everything else speaks")
        == "pipelinedomain-what-everything-else-speaks"
    )
    assert slug("cohort_patterns and pipeline_health") == "cohort_patterns-and-pipeline_health"
    assert slug("Celery (dagster-celery): tested end to end") == "celery-dagster-celery-tested-end-to-end"


def test_readme_is_a_front_door_to_every_docs_page() -> None:
    readme = ROOT / "README.md"
    assert len(readme.read_text(encoding="utf-8").splitlines()) < 120, (
        "README.md is the front door: keep it short"
    )
    linked = {
        (ROOT / target.partition("#")[0]).resolve() for target in links(readme) if not _SCHEME.match(target)
    }
    missing = [p.name for p in sorted((ROOT / "docs").glob("*.md")) if p.resolve() not in linked]
    assert not missing, f"README.md does not link these docs pages: {missing}"
