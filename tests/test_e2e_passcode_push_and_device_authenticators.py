"""Passcode, push and device-bound authenticators through the app against the simulator, without a browser: quinn's
passcode family, cora's custom push, fiona's FastPass (this test plays the browser's loopback
probe), ivan's identity-provider factor and the device page's CSP."""

from __future__ import annotations

import re
import time
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from conftest import demo_settings, serve
from pages import read, totp
from test_e2e_authenticators import Walker

from embedded.web import steps


@pytest.fixture
async def walker(aiohttp_client, simulator):
    return Walker(await serve(aiohttp_client, demo_settings(simulator.port)), simulator)


PASSCODES = {
    "RSA SecurID": lambda: totp("QUINNRSAQUINNRS2"),
    "On-Prem MFA": lambda: totp("QUINNONPREMQUIN2"),
    "Symantec VIP": lambda: totp("QUINNVIPQUINNVI2"),
    "Temporary Access Code": lambda: "QTAC-8128-4096",
    "NFC": lambda: "2468",
}


@pytest.mark.parametrize("label", list(PASSCODES))
async def test_quinn_passcode_authenticators_share_one_generic_page(walker, label):
    await walker.begin("quinn@example.com", "Quinn-Passw0rd!")
    await walker.choose(label)
    assert "credentials.passcode" in walker.form().inputs
    await walker.submit(**{"credentials.passcode": PASSCODES[label]()})
    assert walker.signed_in


async def test_the_temporary_access_code_works_once(walker):
    for attempt in range(2):
        await walker.begin("quinn@example.com", "Quinn-Passw0rd!")
        await walker.choose("Temporary Access Code")
        await walker.submit(**{"credentials.passcode": "QTAC-8128-4096"})
        assert walker.signed_in is (attempt == 0)
        if attempt == 0:
            await walker.client.post("/logout", data={"_csrf": read(walker.html).forms[-1].hidden["_csrf"]})


async def test_cora_custom_push_waits_then_moves_on(walker, monkeypatch):
    clock = [time.time()]
    monkeypatch.setattr(steps, "time", SimpleNamespace(time=lambda: clock[0]))
    await walker.begin("cora@example.com", "Cora-Passw0rd!")
    assert 'data-poll-url="/login/poll"' in walker.html  # her only factor: the push goes out at once
    push = await walker.outbox("cora@example.com", "push")
    assert (await walker.poll())["changed"] is False
    await walker.client.session.post(f"http://127.0.0.1:{walker.simulator.port}/outbox/push/{push['id']}/approve")
    clock[0] += 5
    answer = await walker.poll()
    assert answer["changed"] is True
    await walker._load(await walker.client.get(answer["location"]))
    assert walker.signed_in


async def test_fiona_fastpass_page_lets_the_browser_reach_the_device_and_polls_on(walker, monkeypatch):
    clock = [time.time()]
    monkeypatch.setattr(steps, "time", SimpleNamespace(time=lambda: clock[0]))
    await walker.begin("fiona@example.com")
    await walker.choose("Okta Verify")
    resp = await walker.client.get("/login/step")
    html = await resp.text()
    box = re.search(
        r'data-js="loopback" data-domain="([^"]+)" data-ports=\'([^\']+)\'\s+data-challenge-request="([^"]+)"', html
    )
    assert box, html
    domain, ports, request = box.group(1), [p.strip('" ') for p in box.group(2).strip("[]").split(",")], box.group(3)
    csp = resp.headers["Content-Security-Policy"]
    assert all(f"{domain}:{p}" in csp for p in ports)  # the page may reach exactly these
    # What fastpass.js does: probe each port, hand the challenge to the first that answers.
    origin = {"Origin": str(walker.client.make_url("/")).rstrip("/")}
    session = walker.client.session
    own = f"http://127.0.0.1:{walker.simulator.port}"
    assert str(walker.simulator.port) in ports
    async with session.get(own + "/probe", headers=origin) as probe:
        assert probe.status == 200 and probe.headers["Access-Control-Allow-Origin"] == origin["Origin"]
    async with session.post(own + "/challenge", json={"challengeRequest": request}, headers=origin) as answered:
        assert answered.status == 200
    clock[0] += 5
    answer = await walker.poll()
    assert answer["changed"] is True
    await walker._load(await walker.client.get(answer["location"]))
    assert walker.signed_in


async def test_ivan_identity_provider_factor_round_trip(walker):
    """After his password the only way on is Partner IdP: the app sends the browser there, and
    its answer comes back through the callback (interaction_code + state)."""
    await walker.begin("ivan@example.com", "Ivan-Passw0rd!")  # followed to the simulator's page
    assert walker.path.startswith("/sso/idps/") and "Continue as ivan@example.com" in walker.html
    action = re.search(r'<form method=post action="([^"]+)"', walker.html).group(1).replace("&amp;", "&")
    back = await walker.client.session.post(
        f"http://127.0.0.1:{walker.simulator.port}{action}", data={"action": "continue"}, allow_redirects=False
    )
    callback = urlsplit(back.headers["Location"])
    assert "interaction_code=" in callback.query and "state=" in callback.query
    await walker._load(await walker.client.get(f"{callback.path}?{callback.query}"))
    assert walker.signed_in
