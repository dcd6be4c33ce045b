"""docs/security.md maps each checklist item to its tests: every number has a row, and every
test it names exists in the suite (so the map cannot promise a test that is gone)."""

from __future__ import annotations

import re

from conftest import ROOT


def test_every_checklist_item_names_tests_that_exist():
    rows = {
        int(m.group(1)): m.group(2)
        for m in re.finditer(r"^\| (\d+) \|(.*)$", (ROOT / "docs" / "security.md").read_text(), re.M)
    }
    assert sorted(rows) == list(range(1, 51))
    defined = {
        m
        for p in (ROOT / "tests").rglob("test_*.py")
        for m in re.findall(r"^(?:async )?def (test_\w+)", p.read_text(), re.M)
    }
    for number, row in rows.items():
        named = re.findall(r"`(test_\w+)`", row)
        assert named, f"item {number} names no test"
        missing = [t for t in named if t not in defined]
        assert not missing, f"item {number}: {missing}"


def test_every_test_the_page_names_beyond_the_checklist_exists():
    text = (ROOT / "docs" / "security.md").read_text()
    beyond = text[text.index("## Beyond the checklist") :]
    defined = {
        m
        for p in (ROOT / "tests").rglob("test_*.py")
        for m in re.findall(r"^(?:async )?def (test_\w+)", p.read_text(), re.M)
    }
    named = re.findall(r"`(test_\w+)`", beyond)
    assert len(named) > 10 and not [t for t in named if t not in defined]
