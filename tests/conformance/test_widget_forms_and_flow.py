"""Forms and flow decisions over every one of Okta's Sign-In Widget fixtures (../shared, read in place)."""

from __future__ import annotations

import json

import pytest
from conftest import shared_fixture_paths
from test_forms_and_flow import assert_forms_round_trip, expected_outcome

from embedded import flow
from embedded.idx_models import parse

ION_FIXTURES = [
    p
    for p in shared_fixture_paths()
    if isinstance(json.loads(p.read_text()), dict) and "version" in json.loads(p.read_text())
]


@pytest.mark.parametrize("path", ION_FIXTURES, ids=lambda p: p.name)
def test_forms_round_trip_and_keep_server_values_out_of_the_browser(path):
    assert_forms_round_trip(json.loads(path.read_text()))


@pytest.mark.parametrize("path", ION_FIXTURES, ids=lambda p: p.name)
def test_decide_matches_the_response(path):
    raw = json.loads(path.read_text())
    assert type(flow.decide(parse(raw))) is expected_outcome(raw)
