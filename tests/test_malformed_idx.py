"""Identity Engine responses of the right outline with wrong types deep inside (a number where
settings belong, a list where a text does): never a 500. Parsing refuses what it cannot read, and
a step page that cannot show a part falls back to the generic page, else the upstream page."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

from conftest import identify_and_password, own, post_step, start

from embedded import flow, rendering
from embedded.idx_models import NotAnIdxResponse, parse

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ODD_VALUES = (5, "x", [], {}, None, True, [1, 2], {"a": 1})


def mutated(doc, rng: random.Random):
    """`doc` with about one value in twelve swapped for one of another type."""
    if isinstance(doc, dict):
        return {k: rng.choice(ODD_VALUES) if rng.random() < 0.08 else mutated(v, rng) for k, v in doc.items()}
    if isinstance(doc, list):
        return [rng.choice(ODD_VALUES) if rng.random() < 0.08 else mutated(v, rng) for v in doc]
    return doc


def test_odd_types_anywhere_are_refused_or_rendered_never_raised():
    env = rendering.create_env()
    rng = random.Random(7)
    documents = [json.loads(p.read_text()) for p in sorted(FIXTURES.rglob("*.json"))]
    documents = [d for d in documents if isinstance(d, dict) and "version" in d]
    shown = refused = fell_back = 0
    for _ in range(3):
        for doc in documents:
            odd = mutated(copy.deepcopy(doc), rng)
            try:
                response = parse(odd)
            except NotAnIdxResponse:
                refused += 1
                continue
            names, context = rendering.step_context(response, flow.decide(response), version=0)
            context = {**context, "csrf_token": "t", "csp_nonce": "n", "notices": []}
            try:
                rendering.render(env, names, context)
            except Exception:  # what the step page catches: the generic page must then work
                rendering.render(env, "steps/_generic.html", context)
                fell_back += 1
            shown += 1
    assert shown + refused == 3 * len(documents) and shown > refused


async def test_a_password_page_with_odd_settings_is_a_page_not_a_500(client, org):
    html = await identify_and_password(client, org, await start(client, org))
    odd = own("error-challenge-password-incorrect.json")
    enrollment = odd.get("currentAuthenticatorEnrollment", {}).get("value", {})
    enrollment["settings"] = {"complexity": 5, "age": [1], "excludeAttributes": [{"a": 1}]}
    org.idx("/idp/idx/challenge/answer", odd, status=401)
    await post_step(client, html, {"credentials.passcode": "wrong"})
    resp = await client.get("/login/step")
    assert resp.status in (200, 502) and "Traceback" not in await resp.text()
