"""Issue 11, the fault matrix (bench/faults.py), bounded: every step of a sign-in with a password
and an emailed code, with the faults that need little waiting (the app's upstream timeout is 6 s
here), and the IDX client's caps on what it reads."""

from __future__ import annotations

import json
import sys

import aiohttp
import pytest
from conftest import ROOT

from embedded.idx_client import (
    MAX_JSON_DEPTH,
    MAX_RESPONSE_BYTES,
    UpstreamError,
    endpoint_label,
    parse_json,
    text_depth,
)

sys.path.insert(0, str(ROOT / "bench"))
import faults  # noqa: E402

SUBSET = [
    "refused",
    "timeout",
    "reset",
    "500",
    "503",
    "429",
    "malformed",
    "truncated",
    "huge",
    "nested",
    "jwks-down",
    "skew+",
    "redis-down",
    "redis-restart",
]


async def test_every_step_of_a_sign_in_under_every_quick_fault_is_a_clear_page_without_500s_or_exceptions():
    async with faults.Bench(concurrency=10, upstream_timeout=6.0) as bench:
        cells = await bench.run(["email-mfa"], SUBSET)
        unattributed = bench.exceptions.unattributed
    report, ok = faults.summary(cells, unattributed)
    assert ok, report + "\n" + faults.table(cells)
    steps = {c.step for c in cells}
    assert {"start", "identify", "challenge-authenticator (password)", "challenge-authenticator (email code)"} <= steps
    by = {(c.step, c.fault): c for c in cells}
    # What a person sees, cell by cell, for the faults the issue names.
    assert by["identify", "nested"].status == 502 and by["identify", "nested"].survived == "yes"
    assert by["identify", "huge"].status == 502
    assert by["challenge-authenticator (password)", "500"].survived == "yes"  # nothing lost: the same step again
    assert (
        by["challenge-authenticator (password)", "redis-down"].status == 503
        and by["challenge-authenticator (password)", "redis-down"].survived == "yes"
    )
    assert by["challenge-authenticator (email code)", "skew+"].saw.startswith("We could not verify your sign-in")
    assert by["challenge-authenticator (email code)", "jwks-down"].status == 503
    assert by["challenge-authenticator (email code) → token", "500"].status == 502


def test_upstream_bodies_are_capped_in_size_and_nesting():
    assert parse_json(json.dumps({"a": [[[1]]]}).encode(), None) == {"a": [[[1]]]}
    assert parse_json(b"not json", None) is None
    assert text_depth("[[[[]]]]", 99) == 4 and text_depth('{"a": {"b": "[["}}', 99) == 2 and text_depth("3", 99) == 0
    for deep in (b"[" * 100_000 + b"]" * 100_000, b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1)):
        with pytest.raises(UpstreamError, match="nested too deeply"):
            parse_json(deep, "utf-8")
    with pytest.raises(UpstreamError, match="undecodable"):
        parse_json(b"\xff\xfe{}", "utf-8")
    assert endpoint_label("https://o.example.com/idp/idx/challenge/answer") == "idx/challenge/answer"
    assert endpoint_label("https://o.example.com/oauth2/default/v1/token?x=1") == "v1/token"
    assert endpoint_label("https://o.example.com/oauth2/default/.well-known/openid-configuration") == "discovery"
    assert endpoint_label("https://o.example.com/idp/idx/" + "%41" * 40) == "other"


async def test_a_body_over_the_cap_is_refused_before_it_is_read(aiohttp_server):
    from aiohttp import web

    from embedded.idx_client import IdxClient

    async def big(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})  # chunked: no length to go by
        await response.prepare(request)
        for _ in range(MAX_RESPONSE_BYTES // 65536 + 2):
            await response.write(b" " * 65536)
        return response

    app = web.Application()
    app.router.add_post("/idp/idx/introspect", big)
    server = await aiohttp_server(app)
    seen = []
    from dataclasses import replace

    from conftest import demo_settings

    settings = replace(demo_settings(server.port), issuer=f"http://127.0.0.1:{server.port}/oauth2/default")
    async with aiohttp.ClientSession() as http:
        client = IdxClient(http, settings, observe=lambda *args: seen.append(args))
        with pytest.raises(UpstreamError, match="too large"):
            await client.introspect("handle")
    assert seen[0][:2] == ("idx/introspect", "unusable")
