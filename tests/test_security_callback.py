"""Security, round two: the callback is not a second step endpoint, and it echoes nothing an
attacker wrote. Each test is an attack, run the way an attacker would, that now fails."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlencode, urlsplit

from conftest import demo_settings, identify_and_password, serve, start
from test_e2e_authenticators import Walker

PHISHING = "Your account is locked. Call +1-800-555-0199 now to unlock it, or visit evil.example"


async def test_a_magic_link_cannot_answer_the_password_page(client, org):
    """`/login/callback?state=S&otp=X` while the password page is shown: the 'code' must not be
    sent as the password, and nothing at all goes upstream."""
    await identify_and_password(client, org, await start(client, org))
    state = org.interact_form["state"]
    before = list(org.paths())
    resp = await client.get("/login/callback", params={"state": state, "otp": "123456"})
    text = await resp.text()
    assert resp.status == 200 and "template: magic-link.html" in text and "123456" in text
    assert org.paths() == before  # no challenge/answer with the "code" as a password


async def test_a_link_whose_otp_is_not_a_code_shows_nothing_of_it(client, org):
    html = await start(client, org)
    for otp in (PHISHING, "1" * 200, "<b>1234</b>", "12 34"):
        resp = await client.get("/login/callback", params={"state": org.interact_form["state"], "otp": otp})
        text = await resp.text()
        assert resp.status == 400 and otp not in text and "+1-800" not in text
    assert html  # the sign-in page is still there to go back to
    assert (await client.get("/login/step")).status == 200


async def test_callback_errors_show_our_words_never_the_link_s(client, org, caplog):
    caplog.set_level(logging.INFO, logger="embedded.audit")
    for error, shown in (("access_denied", "access_denied"), ("call_us_now", "other"), (PHISHING, "other")):
        resp = await client.get("/login/callback?" + urlencode({"error": error, "error_description": PHISHING}))
        text = await resp.text()
        assert resp.status == 400 and f"<code>{shown}</code>" in text
        assert "+1-800" not in text and "evil.example" not in text
    reasons = [r.audit["reason"] for r in caplog.records if getattr(r, "audit", {}).get("event") == "signin.failed"]
    assert reasons == ["callback_access_denied", "callback_other", "callback_other"]
    assert not any("+1-800" in r.getMessage() for r in caplog.records)


async def test_wrong_codes_through_magic_links_count_and_end_the_transaction(aiohttp_client, simulator):
    """Five wrong codes end the transaction whether typed or sent through crafted links; the
    sixth never reaches the Identity Engine."""
    import dataclasses

    # The per-transaction limit raised so that the code count, not the limit, is what stops them.
    settings = dataclasses.replace(demo_settings(simulator.port), step_limit_per_transaction=(100, 5.0))
    walker = Walker(await serve(aiohttp_client, settings), simulator)
    await walker.begin("bob@example.com", "Bob-Passw0rd!")
    link = urlsplit((await walker.outbox("bob@example.com", "email"))["link"])
    state = parse_qs(link.query)["state"][0]
    answers = lambda: [p for _, p in walker.state.calls if p.endswith("/challenge/answer")]  # noqa: E731
    before = len(answers())
    for attempt in range(5):
        resp = await walker.client.get("/login/callback?" + urlencode({"state": state, "otp": f"00000{attempt}"}))
        await walker._load(resp)
    assert len(answers()) - before == 5
    assert walker.path == "/login/step" and walker.shows("too many")
    await walker.client.get("/login/callback?" + urlencode({"state": state, "otp": "000009"}))
    assert len(answers()) - before == 5


async def test_magic_links_share_the_per_address_step_limit(aiohttp_client, simulator):
    import dataclasses

    # 5 a minute: a burst of 3 (ratelimit.Rate), two of them taken by the step posts.
    settings = dataclasses.replace(demo_settings(simulator.port), step_limit_per_ip=(5, 60.0))
    walker = Walker(await serve(aiohttp_client, settings), simulator)
    await walker.begin("bob@example.com", "Bob-Passw0rd!")  # two step posts
    link = urlsplit((await walker.outbox("bob@example.com", "email"))["link"])
    state = parse_qs(link.query)["state"][0]
    statuses = []
    for _ in range(2):
        resp = await walker.client.get(
            "/login/callback?" + urlencode({"state": state, "otp": "000000"}), allow_redirects=False
        )
        statuses.append(resp.status)
    assert statuses == [303, 429] and "Retry-After" in resp.headers


def test_audit_reasons_come_from_a_closed_set():
    from embedded import policy

    assert policy.audit_reason("incorrectPassword") == "incorrectPassword"
    assert policy.audit_reason("custom.key\nevent=signin.succeeded") == "idx_error"
    assert policy.audit_reason(None) == "idx_error"
