"""Outbox JSON, fault injection, test hooks, and the record of calls."""

import asyncio
import sys
from pathlib import Path

import aiohttp
import pytest

from embedded.simulator import main

from .conftest import Idx


async def test_outbox_json_newest_first_and_filtered(client, idx):
    await idx.password_signin("bob@example.com", "Bob-Passw0rd!")
    await idx.action("currentAuthenticatorEnrollment", "resend")
    everything = await (await client.get("/outbox.json")).json()
    mine = await (await client.get("/outbox.json", params={"to": "BOB@example.com"})).json()
    assert len(mine) == 2 and mine == everything
    assert mine[0]["sent_at"] >= mine[1]["sent_at"]
    assert set(mine[0]) == {"to", "kind", "code", "link", "subject", "sent_at"}
    assert await (await client.get("/outbox.json", params={"to": "nobody@example.com"})).json() == []
    page = await (await client.get("/outbox")).text()
    assert mine[0]["code"] in page and "not an identity provider" in page


async def test_push_page_buttons_and_double_answer(client, idx):
    await idx.password_signin("oscar@example.com", "Oscar-Passw0rd!")
    form = idx.doc["remediation"]["value"][0]["value"][0]["form"]["value"]
    await idx.submit("authenticator-verification-data", authenticator={"id": form[0]["value"], "methodType": "push"})
    push = (await (await client.get("/outbox.json")).json())[0]
    page = await (await client.get("/outbox")).text()
    assert f"/outbox/push/{push['id']}/approve" in page and f"/outbox/push/{push['id']}/deny" in page
    assert (
        await client.post(f"/outbox/push/{push['id']}/approve", json={"answer": push["correct_answer"]})
    ).status == 200
    assert (await client.post(f"/outbox/push/{push['id']}/deny")).status == 409
    assert (await client.post("/outbox/push/unknown/approve")).status == 404


async def test_calls_are_recorded_in_order(client, state, idx):
    await idx.start()
    assert state.calls[:2] == [("POST", "/oauth2/default/v1/interact"), ("POST", "/idp/idx/introspect")]
    assert (await (await client.get("/_sim/calls")).json())[-1] == ["GET", "/_sim/calls"]
    await client.delete("/_sim/calls")
    assert state.calls == []


async def test_expire_one_transaction(client, state):
    first, second = Idx(client), Idx(client)
    await first.start()
    await second.start()
    r = await client.post("/_sim/expire", json={"stateHandle": first.doc["stateHandle"]})
    assert r.status == 200
    await first.introspect()
    await second.introspect()
    assert first.status == 401 and second.status == 200


@pytest.mark.parametrize("fault, status", [("429", 429), ("500", 500), ("503", 503)])
async def test_forced_error_answers(client, fault, status):
    r = await client.post("/_sim/faults", json={"next": [fault]})
    assert r.status == 200
    r = await client.get("/oauth2/default/v1/keys")
    assert r.status == status and (await r.json())["errorCode"].startswith("E0000")
    assert (await client.get("/oauth2/default/v1/keys")).status == 200  # only the next one


async def test_malformed_body(client):
    await client.post("/_sim/faults", json={"next": ["malformed"]})
    r = await client.post("/idp/idx/introspect", json={"interactionHandle": "x"})
    assert r.status == 200
    with pytest.raises(ValueError):
        await r.json(content_type=None)


async def test_dropped_connection(client):
    await client.post("/_sim/faults", json={"next": ["drop"]})
    with pytest.raises(aiohttp.ClientError):
        await client.get("/oauth2/default/v1/keys")
    assert (await client.get("/oauth2/default/v1/keys")).status == 200


async def test_rates_latency_and_reset(client, state):
    r = await client.post("/_sim/faults", json={"rates": {"503": 0.5}, "seed": 7, "latency_ms": 5})
    assert (await r.json())["rates"] == {"503": 0.5}
    statuses = [(await client.get("/oauth2/default/v1/keys")).status for _ in range(40)]
    assert 5 < statuses.count(503) < 35 and statuses.count(200) + statuses.count(503) == 40
    # Controls and the outbox are never faulted, so a test can always switch faults off.
    assert (await client.get("/outbox.json")).status == 200
    assert (await client.delete("/_sim/faults")).status == 200
    assert state.faults.rates == {}


async def test_bad_fault_settings(client):
    r = await client.post("/_sim/faults", json={"rates": {"418": 0.5}})
    assert r.status == 400
    r = await client.post("/_sim/faults", json={"bogus": 1})
    assert r.status == 400


async def test_unexpected_exception_gives_ion_error(client, state, idx, monkeypatch):
    await idx.start()

    def boom(*a, **k):
        raise RuntimeError("bug")

    monkeypatch.setattr(state.submissions, "submit", boom)
    doc = await idx.introspect()
    assert idx.status == 500 and doc["messages"]["value"][0]["i18n"]["key"] == "E0000009"


def test_main_rejects_a_bad_org_file(tmp_path, capsys):
    bad = tmp_path / "org.toml"
    bad.write_text("[sign_on]\nfirst_form = 'nope'\n")
    assert main(["--org", str(bad)]) == 2
    assert "first_form" in capsys.readouterr().err


async def test_main_serves_the_demo_org(unused_tcp_port_factory):
    port = unused_tcp_port_factory()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        f"from embedded.simulator import main; main(['--port', '{port}'])",
        cwd=Path(__file__).parents[2],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        banner = await asyncio.wait_for(proc.stdout.readline(), 10)
        assert b"not an identity provider" in banner
        async with aiohttp.ClientSession() as s:
            for _ in range(50):
                try:
                    async with s.get(f"http://127.0.0.1:{port}/oauth2/default/.well-known/openid-configuration") as r:
                        assert (await r.json())["issuer"] == f"http://127.0.0.1:{port}/oauth2/default"
                        break
                except aiohttp.ClientConnectorError:
                    await asyncio.sleep(0.1)
            else:
                raise AssertionError("simulator did not start")
    finally:
        if proc.returncode is None:
            proc.terminate()
        await proc.wait()
