"""Rendered pages kept for reuse (embedded/page_cache.py): the same page for everyone at the same
step, with each request's own CSRF token, CSP nonce and correlation id put back in, and never
another person's page (security checklist 26: another session's CSRF token is refused; 32: a fresh
CSP nonce per response)."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest
from conftest import demo_settings, doc, hidden, own, post_step, serve, start, with_messages

from embedded import rendering
from embedded.keys import TEMPLATES
from embedded.page_cache import PageCache, response_inputs


def with_handle(handle: str, name: str = "identify") -> dict:
    """A corpus document with a state handle as long as Okta's (the corpus's are redacted short)."""
    text = json.dumps(doc(name))
    return json.loads(text.replace(doc(name)["stateHandle"], handle))


def nonce_of(resp_headers, html: str) -> tuple[str, str]:
    header = re.search(r"'nonce-([^']+)'", resp_headers["Content-Security-Policy"])
    page = re.search(r'nonce="([^"]+)"', html)
    assert header and page
    return header.group(1), page.group(1)


async def identify_page(client) -> tuple[str, object]:
    resp = await client.get("/login/step")
    assert resp.status == 200
    return await resp.text(), resp.headers


async def test_two_visitors_get_the_identify_page_from_the_cache_with_their_own_tokens(aiohttp_client, settings, org):
    first = await serve(aiohttp_client, settings)
    second = await aiohttp_client(first.server)  # another browser: its own cookies
    pages = first.server.app[TEMPLATES].pages
    html_1 = await start(first, org, with_handle("02" + "a" * 40))
    hits = pages.hits
    html_2 = await start(second, org, with_handle("02" + "b" * 40))  # cut out of the key
    assert pages.hits == hits + 1
    assert hidden(html_1, "_csrf") != hidden(html_2, "_csrf")
    # Each page's nonce is its own response's (32), and the pages differ in nothing else.
    nonces = set()
    for client in (first, second, first):
        again, headers = await identify_page(client)
        header_nonce, page_nonce = nonce_of(headers, again)
        assert header_nonce == page_nonce
        nonces.add(page_nonce)
    assert len(nonces) == 3
    strip = re.compile(r'(name="_csrf" value=|nonce=|error__ref">)"?[^" <]*')
    assert strip.sub("", html_1) == strip.sub("", html_2)
    # The token each page carries is the one its own session accepts (26), not the other's.
    org.idx("/idp/idx/identify", own("challenge-password.json"))
    crossed = await post_step(second, html_2, {"identifier": "alice@example.com"} | {"_csrf": hidden(html_1, "_csrf")})
    assert crossed.status == 403
    resp = await post_step(second, html_2, {"identifier": "alice@example.com"})
    assert resp.status == 303 and resp.headers["Location"] == "/login/step"


@pytest.fixture
async def sim_client(aiohttp_client, simulator):
    return await serve(aiohttp_client, demo_settings(simulator.port))


async def password_page(client, identifier: str) -> str:
    resp = await client.get("/login")
    html = await resp.text()
    data = {"_csrf": hidden(html, "_csrf"), "_step": hidden(html, "_step"), "_form": "0", "identifier": identifier}
    resp = await client.post("/login/step", data=data)
    html = await resp.text()
    assert 'name="credentials.passcode"' in html
    return html


async def test_a_password_page_is_kept_for_its_user_only(aiohttp_client, sim_client):
    """The simulator gives every transaction its own state handle: cut out of the key, so
    alice's second password page comes from the cache; bob's is his own page, never hers."""
    pages = sim_client.server.app[TEMPLATES].pages
    await password_page(sim_client, "alice@example.com")
    hits = pages.hits
    other = await aiohttp_client(sim_client.server)
    again = await password_page(other, "alice@example.com")
    assert pages.hits == hits + 1 and "alice@example.com" in again
    bob = await aiohttp_client(sim_client.server)
    html = await password_page(bob, "bob@example.com")
    assert pages.hits == hits + 1
    assert "bob@example.com" in html and "alice" not in html.lower()


async def test_a_theme_that_transforms_the_token_gets_its_pages_drawn_every_time(
    aiohttp_client, settings, org, tmp_path
):
    theme = tmp_path / "shouting"
    (theme / "steps").mkdir(parents=True)
    (theme / "steps" / "identify.html").write_text(
        '{% extends "steps/_step.html" %}{% block step_footer %}<p id="t">{{ csrf_token|string|upper }}</p>'
        "{{ super() }}{% endblock %}"
    )
    client = await serve(aiohttp_client, replace(settings, theme_dirs=(str(theme),)))
    second = await aiohttp_client(client.server)
    pages = client.server.app[TEMPLATES].pages
    for browser in (client, second):
        html = await start(browser, org)
        assert re.search(r'<p id="t">([^<]+)</p>', html).group(1) == hidden(html, "_csrf").upper()
    assert pages.hits == 0


def draw_with(template: str):
    def draw(values):
        return template.format(**values)

    return draw


def test_a_page_that_shows_a_private_value_is_never_kept():
    cache = PageCache()
    handle = "02" + "s" * 30
    draw = draw_with("<p>{csrf_token}</p><p>{handle}</p>")
    for token in ("a" * 43, "b" * 43):
        page = cache.render(draw, ("t", "en"), {"handle": handle}, {"csrf_token": token}, private=(handle,))
        assert page == f"<p>{token}</p><p>{handle}</p>"
    assert cache.hits == 0


def test_short_or_odd_values_are_never_cut_out():
    cache = PageCache()
    draw = draw_with("<p>{csrf_token}</p>")
    # Kept from long random stand-ins, then asked for with a value that is not URL-safe:
    # drawn afresh rather than put into the kept page.
    assert cache.render(draw, ("t", "en"), {}, {"csrf_token": "x" * 43}) == "<p>" + "x" * 43 + "</p>"
    assert cache.render(draw, ("t", "en"), {}, {"csrf_token": "<b>"}) == "<p><b></p>"
    assert cache.render(draw, ("t", "en"), {}, {"csrf_token": "y" * 43}) == "<p>" + "y" * 43 + "</p>"
    assert cache.hits == 1  # the third; the odd value was drawn, not cut in


def test_the_cache_keeps_at_most_its_size():
    cache = PageCache(size=3)
    for n in range(10):
        cache.render(draw_with("<p>{n} {csrf_token}</p>"), ("t", "en"), {"n": n}, {"csrf_token": "z" * 43})
    assert len(cache._pages) == 3


# --- found before the page's context is made (recall) ----------------------------------------


@pytest.fixture
def decisions(monkeypatch):
    """How many times a step page's context was made (rendering.step_context)."""
    made = []
    step_context = rendering.step_context
    monkeypatch.setattr(rendering, "step_context", lambda *a, **k: made.append(1) or step_context(*a, **k))
    return made


def test_a_responses_text_is_read_with_its_state_handle_and_expiry_cut_out():
    handle = "02" + "h" * 40
    text = json.dumps({"stateHandle": handle, "expiresAt": "2026-12-06T20:00:00.000Z", "x": [handle]})
    other = text.replace(handle, "02" + "k" * 40).replace("20:00:00", "21:30:00")
    assert response_inputs(text, handle) == response_inputs(other, "02" + "k" * 40)
    assert handle not in response_inputs(text, handle) and "20:00:00" not in response_inputs(text, handle)
    assert response_inputs(text, "short") is None and response_inputs(text, None) is None
    # A second expiresAt could be something a page shows: such a text is never a key.
    nested = json.dumps({"stateHandle": handle, "expiresAt": "a", "user": {"expiresAt": "b"}})
    assert response_inputs(nested, handle) is None


async def test_the_next_visitor_at_the_same_step_gets_the_page_without_it_being_made_again(
    aiohttp_client, sim_client, decisions
):
    """The simulator gives every transaction its own state handle and expiry: cut out of the
    inputs, alice's next password page is found before anything is decided; bob's is made. (Its
    identify pages differ anyway: each carries a passkey challenge of its own.)"""
    await password_page(sim_client, "alice@example.com")
    for identifier, made in (("alice@example.com", 0), ("bob@example.com", 1)):
        browser = await aiohttp_client(sim_client.server)
        html = await (await browser.get("/login")).text()
        before = len(decisions)
        fields = {"_csrf": hidden(html, "_csrf"), "_step": hidden(html, "_step"), "_form": "0"}
        page = await (await browser.post("/login/step", data={**fields, "identifier": identifier})).text()
        assert len(decisions) == before + made
        assert 'name="credentials.passcode"' in page and identifier in page
    assert "alice" not in page.lower()


async def test_what_one_person_typed_is_never_on_anothers_page(aiohttp_client, settings, org, decisions):
    """The identify page coming back with an error shows what its own person typed (the echo is
    one of the inputs); the next person's, with the same error, shows theirs and only theirs."""
    pages = []
    for letter, typed in (("a", "first.person@example.com"), ("b", "second.person@example.com")):
        browser = await serve(aiohttp_client, settings)
        html = await start(browser, org, with_handle("02" + letter * 40))
        refused = with_messages(with_handle("02" + letter * 40), ("errors.E0000004", "Authentication failed"))
        org.idx("/idp/idx/identify", refused, status=401)
        resp = await post_step(browser, html, {"identifier": typed})
        assert resp.status == 303
        pages.append(await (await browser.get("/login/step")).text())
    assert "first.person@example.com" in pages[0] and "second.person" not in pages[0]
    assert "second.person@example.com" in pages[1] and "first.person" not in pages[1]


async def test_a_notice_is_drawn_into_its_page_and_never_kept_with_it(aiohttp_client, settings, org):
    """A stale form's notice shows once, on a page made for it; the same step without one is the
    kept page again, for this browser and the next."""
    html = await start(client := await serve(aiohttp_client, settings), org, with_handle("02" + "n" * 40))
    stale = {"_csrf": hidden(html, "_csrf"), "_step": "99", "_form": "0"}
    assert (await client.post("/login/step", data=stale, allow_redirects=False)).status == 303
    notice = "That page was out of date"
    assert notice in await (await client.get("/login/step")).text()
    assert notice not in await (await client.get("/login/step")).text()
    assert notice not in await start(await aiohttp_client(client.server), org, with_handle("02" + "m" * 40))


async def test_a_kept_device_page_keeps_its_content_security_policy(aiohttp_client, settings, org, decisions):
    """Checklist 31: the loopback ports a FastPass page may reach come with the kept page."""
    for letter in "ab":
        browser = await serve(aiohttp_client, settings)
        await start(browser, org, with_handle("02" + letter * 40, "fastpass-loopback"))
        resp = await browser.get("/login/step")
        assert "connect-src 'self' http://localhost:" in resp.headers["Content-Security-Policy"]
    assert len(decisions) == 1  # the first page; its reload and the next browser's views were recalled
