"""What /interact learns about the person signing in: their address (through trusted proxies
only), browser and a per-browser device token, sent only by confidential clients."""

from __future__ import annotations

import dataclasses

from conftest import doc, serve

from embedded.sessions import device_cookie_name


def interact_headers(org) -> dict:
    return next(kw.get("headers") or {} for _, path, kw in reversed(org.calls) if path.endswith("/v1/interact"))


async def login(client, org, **headers):
    org.idx("/idp/idx/introspect", doc("identify"))
    resp = await client.get("/login", headers=headers, allow_redirects=False)
    assert resp.status == 303
    return resp


async def test_a_confidential_client_sends_address_browser_and_device_token(client, org):
    resp = await login(client, org, **{"User-Agent": "Mozilla/5.0 (Test) Chromium/130"})
    sent = interact_headers(org)
    assert sent["X-Forwarded-For"] == "127.0.0.1" and sent["User-Agent"] == "Mozilla/5.0 (Test) Chromium/130"
    token = sent["X-Device-Token"]
    cookie = resp.cookies[device_cookie_name(False)]
    assert cookie.value == token and cookie["httponly"] and cookie["max-age"]
    await login(client, org)
    assert interact_headers(org)["X-Device-Token"] == token  # the same browser, the same device


async def test_a_browser_string_reaches_the_identity_engine_as_printable_ascii(client, org):
    await login(client, org, **{"User-Agent": "Agent\u0085one\u2028two\u00e9\tthree"})
    assert interact_headers(org)["User-Agent"] == "Agent?one?two??three"


async def test_a_forged_device_cookie_is_replaced(client, org):
    client.session.cookie_jar.update_cookies({device_cookie_name(False): "not-a-token"})
    await login(client, org)
    assert interact_headers(org)["X-Device-Token"] != "not-a-token"


async def test_forwarded_addresses_count_only_through_trusted_proxies(aiohttp_client, settings, org):
    """Checklist §4.13: a client cannot claim another address by sending X-Forwarded-For itself."""
    direct = await serve(aiohttp_client, settings)
    await login(direct, org, **{"X-Forwarded-For": "203.0.113.9"})
    assert interact_headers(org)["X-Forwarded-For"] == "127.0.0.1"
    proxied = await serve(aiohttp_client, dataclasses.replace(settings, trusted_proxies=("127.0.0.1",)))
    await login(proxied, org, **{"X-Forwarded-For": "198.51.100.7, 203.0.113.9"})
    assert interact_headers(org)["X-Forwarded-For"] == "203.0.113.9"


async def test_a_public_client_sends_no_address_or_device_token(aiohttp_client, settings, org):
    public = await serve(aiohttp_client, dataclasses.replace(settings, client_secret=None))
    await login(public, org)
    sent = interact_headers(org)
    assert "X-Forwarded-For" not in sent and "X-Device-Token" not in sent
