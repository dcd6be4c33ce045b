"""`python -m embedded gallery --fixtures ../shared/idx-fixtures` over Okta's Sign-In Widget
fixtures (read in place), in every language: every page renders, 0 missing text keys, and what
has no page is listed with its reason. (tests/test_gallery.py: the project's own corpus.)"""

from __future__ import annotations

import contextlib
import io
import json
import re

from conftest import SHARED_FIXTURES, shared_fixture_paths
from test_widget_render_cli import NOT_IDX

from embedded import flow, locales
from embedded.__main__ import main
from embedded.idx_models import parse

NO_PAGE = (flow.ExchangeCode, flow.RedirectToIdp, flow.Expired)


def test_every_widget_fixture_in_every_language(tmp_path):
    out = tmp_path / "site"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = main(["gallery", str(out), "--fixtures", str(SHARED_FIXTURES.parent)])
    assert status == 0, printed.getvalue()
    paths = [p for p in shared_fixture_paths() if p.name not in NOT_IDX]
    no_page = {
        p.stem for p in paths if isinstance(flow.decide(parse(json.loads(p.read_text(encoding="utf-8")))), NO_PAGE)
    }
    pages = {p.stem for p in paths} - no_page
    assert len(pages) > 250
    assert f"{len(pages) * len(locales.CODES)} pages written" in printed.getvalue()
    assert f"{len(no_page) + len(NOT_IDX)} fixtures skipped, 0 missing text keys" in printed.getvalue()
    for code in locales.CODES:
        assert {p.stem.removeprefix(f"{SHARED_FIXTURES.name}--") for p in (out / code).glob("*.html")} == pages
    index = (out / "index.html").read_text(encoding="utf-8")
    skipped = dict(re.findall(r"<dt><code>[^<]*/([^/<]+)\.json</code></dt><dd data-skipped>([^<]+)</dd>", index))
    assert set(skipped) == no_page | {name.removesuffix(".json") for name in NOT_IDX}
    assert all(skipped[name.removesuffix(".json")].startswith("not an IDX response") for name in NOT_IDX)
