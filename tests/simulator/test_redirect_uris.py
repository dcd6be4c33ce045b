"""Issue 22, "any prefix works against the simulator with no org file change": the demo clients
accept any loopback redirect URI (127.0.0.0/8, localhost, [::1], any port) whose path ends in
/login/callback and say so; `--redirect-uri` registers one more, exactly; every other host still
needs its exact URI (security checklist: the redirect URI is checked against the registered ones,
so a code is never sent to a host the org did not name)."""

from __future__ import annotations

import pytest

from embedded.simulator import REDIRECT_RULE, create_simulator_app, demo_org, describe_org, main, parse_args

from .conftest import CLIENT, pkce_pair

ACCEPTED = [
    "http://127.0.0.1:8080/account/login/callback",
    "http://127.0.0.1/login/callback",
    "http://127.5.6.7:1/account/login/callback",  # all of 127.0.0.0/8
    "http://localhost:65535/a/b/c/login/callback",
    "http://LOCALHOST:9000/account/login/callback",
    "http://[::1]:8443/account/login/callback",
    "https://127.0.0.1:8443/account/login/callback",
    "http://127.0.0.1:5000/auth/login/callback",
]
REFUSED = [
    "http://app.example:8080/account/login/callback",  # not loopback: needs its exact URI
    "https://127.0.0.1.evil.example/account/login/callback",
    "http://localhost.evil.example/login/callback",
    "http://evil.example@127.0.0.1:8080/account/login/callback",  # user info
    "http://[::2]:8080/account/login/callback",
    "http://0.0.0.0:8080/account/login/callback",
    "http://127.0.0.1:8080/account/login/callback/more",
    "http://127.0.0.1:8080/account/login/callbacks",
    "http://127.0.0.1:8080/account/xlogin/callback",
    "http://127.0.0.1:8080/account/login/callback?next=/admin",
    "http://127.0.0.1:8080/account/login/callback#x",
    "http://127.0.0.1:99999/account/login/callback",  # not a port
    "javascript://127.0.0.1/login/callback",
    "ftp://127.0.0.1/login/callback",
    "/account/login/callback",
    "",
]
EXTRA = "http://app.example:8080/account/login/callback"


async def interact(client, redirect_uri: str, client_fields: dict | None = None):
    _, challenge = pkce_pair()
    return await client.post(
        "/oauth2/default/v1/interact",
        data={
            **(client_fields or CLIENT),
            "scope": "openid profile email",
            "redirect_uri": redirect_uri,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": "st",
        },
    )


@pytest.mark.parametrize("uri", ACCEPTED)
async def test_any_loopback_callback_under_any_prefix_is_accepted(client, uri):
    for fields in (CLIENT, {"client_id": "demo-spa"}):
        r = await interact(client, uri, fields)
        assert r.status == 200, (fields["client_id"], await r.text())


@pytest.mark.parametrize("uri", REFUSED)
async def test_other_hosts_and_other_paths_still_need_an_exact_uri(client, uri):
    for fields in (CLIENT, {"client_id": "demo-spa"}):
        r = await interact(client, uri, fields)
        assert r.status == 400, fields["client_id"]
        assert "must be a Login redirect URI" in (await r.json())["error_description"]


async def test_the_redirect_model_follows_the_same_rule(client):
    _, challenge = pkce_pair()
    query = {
        "client_id": "demo-client",
        "response_type": "code",
        "scope": "openid",
        "state": "st",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    ok = await client.get(
        "/oauth2/default/v1/authorize",
        params={**query, "redirect_uri": ACCEPTED[0]},
        allow_redirects=False,
    )
    assert ok.status in (302, 303)
    refused = await client.get(
        "/oauth2/default/v1/authorize",
        params={**query, "redirect_uri": REFUSED[0]},
        allow_redirects=False,
    )
    assert refused.status == 400  # an error page, never a redirect to the unknown host


async def test_redirect_uri_registers_one_more_uri_exactly(aiohttp_client):
    client = await aiohttp_client(create_simulator_app(redirect_uris=[EXTRA]))
    assert (await interact(client, EXTRA)).status == 200
    assert (await interact(client, EXTRA, {"client_id": "demo-spa"})).status == 200
    for near in (
        "http://app.example:8081/account/login/callback",
        "https://app.example:8080/account/login/callback",
        "http://app.example:8080/other/login/callback",
        "http://app.example:8080/account/login/callback/",
        "http://sub.app.example:8080/account/login/callback",
    ):
        assert (await interact(client, near)).status == 400, near
    assert (await interact(client, ACCEPTED[0])).status == 200  # the loopback rule still holds


def test_the_command_line_takes_redirect_uris_and_refuses_what_cannot_be_one(capsys):
    assert parse_args(["--redirect-uri", EXTRA, "--redirect-uri", ACCEPTED[0]]).redirect_uri == [EXTRA, ACCEPTED[0]]
    for bad in ("app.example/login/callback", "http://app.example:99999/x", "http://app.example/x#f", "ftp://x/y"):
        assert main(["--redirect-uri", bad]) == 2
        err = capsys.readouterr().err
        assert err.startswith("simulator: redirect URI") and err.count("\n") == 1, err


def test_the_simulator_says_which_redirect_uris_it_accepts(capsys):
    described = describe_org(demo_org())
    for client_id in ("demo-client", "demo-spa"):
        line = next(ln for ln in described.splitlines() if ln.startswith(f"OAuth client {client_id}"))
        assert "any loopback URI (127.0.0.0/8, localhost, [::1]), any port, whose path ends in /login/callback" in line
    with pytest.raises(SystemExit):
        parse_args(["--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert " ".join(REDIRECT_RULE.split()) in shown and "--redirect-uri URI" in shown
