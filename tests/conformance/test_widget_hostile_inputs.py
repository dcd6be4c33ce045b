"""No step page can be brought to a 500 by what is posted to it: every authenticator, enrollment
and error page among Okta's Sign-In Widget fixtures (../shared, read in place), posted with
hostile values (see tests/test_hostile_inputs.py)."""

from __future__ import annotations

import json

import pytest
from conftest import shared, shared_fixture_paths
from test_hostile_inputs import HOSTILE, has_a_form_page, post_hostile

PAGES = [
    p
    for p in shared_fixture_paths()
    if p.name.startswith(("authenticator-", "error-authenticator-", "enroll-"))
    and has_a_form_page(json.loads(p.read_text()))
]


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
async def test_hostile_posts_never_cause_a_server_error(client, org, path):
    doc = shared(path.name)
    for variant in HOSTILE:
        await post_hostile(client, org, doc, variant)
