"""The README a newcomer reads (issue 22): a one-line summary under the title, a contents list
that links every section in order with the quick start first, no paragraph longer than six
lines, prose wrapped at 100 columns. The reference pages in docs/ are all reachable from it, every
link in them leads to a file and a heading that exist, and docs/settings.md names every variable
the package reads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import ROOT

README = ROOT / "README.md"
DOCS = ROOT / "docs"
MAX_PARAGRAPH_LINES = 6
MAX_PROSE_COLUMNS = 100
LIST_ITEM = re.compile(r"(?:[-*]|\d+\.) ")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def headings(text: str, level: int | None = None) -> list[str]:
    found = []
    fenced = False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (m := re.match(r"(#+) (.*)", line)) and level in (None, len(m.group(1))):
            found.append(m.group(2))
    return found


def anchors(path: Path) -> set[str]:
    return {slug(h) for h in headings(path.read_text())}


def prose(text: str) -> list[list[tuple[int, str]]]:
    """The paragraphs outside code blocks, tables and headings, each a list of (line number,
    line); a list item is a paragraph of its own."""
    paragraphs: list[list[tuple[int, str]]] = []
    current: list[tuple[int, str]] = []
    fenced = False
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("```"):
            fenced = not fenced
            line = ""
        if fenced or not line.strip() or line.startswith(("|", "#")):
            if current:
                paragraphs.append(current)
            current = []
            continue
        if LIST_ITEM.match(line) and current:
            paragraphs.append(current)
            current = []
        current.append((number, line))
    if current:
        paragraphs.append(current)
    return paragraphs


def test_the_title_has_a_one_line_summary_under_it():
    title, blank, summary, after = README.read_text().splitlines()[:4]
    assert title == "# embedded" and blank == "" and after == ""
    assert summary and not summary.startswith(("#", "-", "|")) and len(summary) <= MAX_PROSE_COLUMNS


def test_the_contents_list_links_every_section_in_order_and_the_quick_start_comes_first():
    text = README.read_text()
    sections = headings(text, level=2)
    assert sections[:2] == ["Contents", "Quick start"]
    contents = text[text.index("## Contents") : text.index("## Quick start")]
    listed = re.findall(r"^- \[([^\]]+)\]\(#([^)]+)\)$", contents, re.M)
    assert listed == [(name, slug(name)) for name in sections[1:]]


def test_no_paragraph_is_longer_than_six_lines():
    long = [
        f"line {p[0][0]}: {len(p)} lines, {p[0][1][:60]!r}"
        for p in prose(README.read_text())
        if len(p) > MAX_PARAGRAPH_LINES
    ]
    assert long == []


def test_prose_is_wrapped_at_100_columns():
    wide = [f"line {n}: {len(line)}" for p in prose(README.read_text()) for n, line in p if len(line) > 100]
    assert wide == []


def test_the_paragraph_reader_sees_what_a_reader_sees():
    """The checks above stand on this: code blocks and tables are not prose, list items split."""
    text = "a\nb\n\n```sh\nlong\nlong\n```\n| x |\n|---|\n- one\n  two\n- three\n\nc\n"
    assert [[line for _, line in p] for p in prose(text)] == [["a", "b"], ["- one", "  two"], ["- three"], ["c"]]


@pytest.mark.parametrize("page", [README, *sorted(DOCS.glob("*.md"))], ids=lambda p: p.name)
def test_every_link_leads_to_a_file_and_a_heading_that_exist(page):
    broken = []
    for target in LINK.findall(page.read_text()):
        if re.match(r"[a-z]+:", target):  # http(s), mailto: not ours to check
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no such file")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{target}: no such heading")
    assert broken == []


def test_every_reference_page_is_linked_from_the_readme():
    linked = {Path(t.partition("#")[0]).name for t in LINK.findall(README.read_text()) if t.startswith("docs/")}
    assert sorted(p.name for p in DOCS.glob("*.md") if p.name not in linked) == []


def test_the_settings_page_names_every_variable_the_package_reads():
    """Every OKTA_IDX_*, EMBEDDED_* and PROMETHEUS_* name in the package's code is on the settings
    page (or, for Redis beyond one server, on its own page), so the reference cannot fall behind."""
    read = {
        name
        for source in (ROOT / "embedded").rglob("*.py")
        for name in re.findall(r"\b(?:OKTA_IDX|EMBEDDED|PROMETHEUS)_[A-Z][A-Z_]*[A-Z]\b", source.read_text())
    }
    documented = "".join(p.read_text() for p in (DOCS / "settings.md", DOCS / "redis.md") if p.exists())
    assert len(read) > 20 and sorted(n for n in read if not re.search(rf"\b{n}\b", documented)) == []
