"""The Ion model over every one of Okta's Sign-In Widget fixtures (../shared, read in place)."""

from __future__ import annotations

import json

import pytest
from conftest import shared_fixture_paths
from test_idx_models import assert_parses

NOT_ION = {"error-403-proxy-block.json", "error-429-api-limit-exceeded.json", "error-500-internal-server-error.json"}


@pytest.mark.parametrize("path", shared_fixture_paths(), ids=lambda p: p.name)
def test_every_fixture_parses_or_is_refused_clearly(path):
    assert_parses(json.loads(path.read_text()), ion=path.name not in NOT_ION)
