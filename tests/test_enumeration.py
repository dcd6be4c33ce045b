"""Security round two, checklist 40: the pages that take a username say the same thing, with the
same status, whoever is typed. Against the simulator over real HTTP."""

from __future__ import annotations

import dataclasses
import re

import pytest
from conftest import demo_settings, serve
from test_e2e_authenticators import Walker


def shown(walker: Walker) -> str:
    """The page as a person compares it: its template and its words, the typed name masked."""
    template = re.search(r"<!-- template: (\S+) -->", walker.html).group(1)
    words = " ".join(" ".join(re.sub(r"<[^>]+>", " ", walker.html).split()).split())
    words = re.sub(r"[\w.+*-]+@example\.com", "NAME", words)  # the name typed, also as masked ("a***@…")
    words = re.sub(r'value="[^"]*"', "", words)
    return f"{template}: {words}"


async def walker_for(aiohttp_client, simulator, **changes) -> Walker:
    settings = dataclasses.replace(demo_settings(simulator.port), **changes)
    return Walker(await serve(aiohttp_client, settings), simulator)


@pytest.mark.parametrize("entry, start_form", [("/login", "identify")])
async def test_unknown_and_locked_users_read_alike_on_the_entry_pages(aiohttp_client, simulator, entry, start_form):
    seen = []
    for name in ("nobody@example.com", "henry@example.com"):  # henry is locked out
        walker = await walker_for(aiohttp_client, simulator)
        await walker._load(await walker.client.get(entry))
        assert walker.form().name == start_form
        resp = await walker.client.post(
            "/login/step", data={**walker.form().hidden, "identifier": name}, allow_redirects=False
        )
        await walker._load(await walker.client.get(resp.headers["Location"]))
        seen.append((resp.status, shown(walker)))
    assert seen[0] == seen[1]
    assert (
        "Sign-in failed" in seen[0][1] and "no account" not in seen[0][1].lower() and "locked" not in seen[0][1].lower()
    )


async def test_registration_can_conceal_that_an_email_has_an_account(aiohttp_client, simulator):
    walker = await walker_for(aiohttp_client, simulator, conceal_existing_accounts=True)
    await walker._load(await walker.client.get("/register"))
    await walker.submit(
        **{"userProfile.firstName": "Al", "userProfile.lastName": "Again", "userProfile.email": "alice@example.com"}
    )
    assert "template: terminal.html" in walker.html and walker.shows("we have sent it a message")
    assert not walker.shows("already exists")
    assert (await walker.client.get("/login/step", allow_redirects=False)).status == 303  # the transaction is over


@pytest.fixture
async def guarded_org(aiohttp_server):
    """The demo org with Okta's user enumeration prevention on (the default for new orgs)."""
    from embedded.simulator import create_simulator_app, demo_org

    org = demo_org()
    org.user_enumeration_prevention = True
    return await aiohttp_server(create_simulator_app(org))


async def first_answer(walker: Walker, entry: str, **fields: str) -> tuple[int, str]:
    await walker._load(await walker.client.get(entry))
    form = walker.form()
    data = {**form.hidden, **{name: "" for name in form.inputs}, **fields}
    resp = await walker.client.post("/login/step", data=data, allow_redirects=False)
    await walker._load(await walker.client.get(resp.headers["Location"]))
    return resp.status, shown(walker)


@pytest.mark.parametrize(
    "entry, fields",
    [
        ("/login", {}),
        ("/recover", {}),
    ],
    ids=["sign-in", "recovery"],
)
async def test_with_the_org_s_prevention_on_every_user_gets_the_same_next_page(
    aiohttp_client, guarded_org, entry, fields
):
    seen = {}
    for kind, name in (
        ("existing", "alice@example.com"),
        ("unknown", "nobody@example.com"),
        ("locked", "henry@example.com"),
    ):
        walker = await walker_for(aiohttp_client, guarded_org)
        seen[kind] = await first_answer(walker, entry, identifier=name, **fields)
    assert seen["existing"] == seen["unknown"] == seen["locked"], seen


async def test_unlock_reads_alike_with_the_org_s_prevention_on(aiohttp_client, guarded_org):
    seen = {}
    for kind, name in (
        ("existing", "alice@example.com"),
        ("unknown", "nobody@example.com"),
        ("locked", "henry@example.com"),
    ):
        walker = await walker_for(aiohttp_client, guarded_org)
        await walker._load(await walker.client.get("/unlock"))
        await walker.choose("Email", identifier=name)
        seen[kind] = shown(walker)
    assert seen["existing"] == seen["unknown"] == seen["locked"], seen


def message_shown(walker: Walker) -> str:
    """The words of the page's messages (errors and notices alike), as a person reads them."""
    found = re.findall(r'<div class="message message--\w+" role="\w+">(.*?)</div>', walker.html, re.S)
    return " ".join(" ".join(re.sub(r"<[^>]+>", " ", m).split()) for m in found)


async def test_with_the_org_s_prevention_off_unlock_sign_in_and_recovery_say_the_same_generic_text(
    aiohttp_client, simulator
):
    """Security round three: the demo org leaves Okta's prevention off, so its Identity Engine
    answers an unknown username with "There is no account with the Username …" (`idx.unknown.user`)
    on all three pages; unlock asks for the username and the way to verify on one form
    (`select-authenticator-unlock-account`), and must not say it either (checklist 40, ASVS 6.3.8)."""
    said = {}
    for entry in ("/login", "/recover", "/unlock"):
        walker = await walker_for(aiohttp_client, simulator)
        await walker._load(await walker.client.get(entry))
        if entry == "/unlock":
            await walker.choose("Email", identifier="nobody@example.com")
        else:
            await walker.submit(identifier="nobody@example.com")
        said[entry] = message_shown(walker)
        assert "no account" not in walker.html.lower(), entry
    assert said["/login"] == said["/recover"] == said["/unlock"] == "Sign-in failed. Check your details and try again."
