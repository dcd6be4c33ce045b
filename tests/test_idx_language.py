"""The person's language reaches the Identity Engine: every IDX call the app makes for a request
carries that request's negotiated language as Accept-Language (the browser's, or the choice
remembered from ?lang=), so the Identity Engine's own messages come back translated; through the
app against the simulator, which speaks French and German."""

from __future__ import annotations

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from conftest import demo_settings, post_step, serve

from embedded import idx_client
from embedded.config import Settings


async def wrong_password(app, headers: dict[str, str], first: str = "/login") -> str:
    html = await (await app.get(first, headers=headers)).text()
    resp = await post_step(app, html, {"identifier": "alice@example.com"})
    html = await (await app.get(resp.headers["Location"], headers=headers)).text()
    resp = await post_step(app, html, {"credentials.passcode": "not-her-password"})
    return await (await app.get(resp.headers["Location"], headers=headers)).text()


async def test_a_french_users_wrong_password_comes_back_in_french(aiohttp_client, listened):
    app = await serve(aiohttp_client, demo_settings(listened.port))
    app.session.headers["Accept-Language"] = "fr-FR,fr;q=0.9,en;q=0.5"  # the browser's, on every request
    html = await wrong_password(app, {})
    assert {language for _, language, _ in listened.heard} == {"fr"}  # every IDX call, introspect to answer
    path, _, reply = listened.heard[-1]
    assert path == "/idp/idx/challenge/answer"
    assert [(m["i18n"]["key"], m["message"]) for m in reply["messages"]["value"]] == [
        ("incorrectPassword", "Le mot de passe est incorrect")
    ]
    assert (
        '<html lang="fr"' in html
        and "Mot de passe incorrect. Réessayez." in html
        and "Password is incorrect" not in html
    )


async def test_the_remembered_choice_wins_over_the_browser(aiohttp_client, listened):
    app = await serve(aiohttp_client, demo_settings(listened.port))
    app.session.headers["Accept-Language"] = "en-US,en;q=0.9"
    html = await wrong_password(app, {}, first="/login?lang=de")
    assert {language for _, language, _ in listened.heard} == {"de"}
    assert listened.heard[-1][2]["messages"]["value"][0]["message"] == "Das Passwort ist falsch"
    assert '<html lang="de"' in html and "Falsches Passwort" in html


async def test_an_english_user_gets_english(aiohttp_client, listened):
    app = await serve(aiohttp_client, demo_settings(listened.port))
    html = await wrong_password(app, {"Accept-Language": "en-GB"})
    assert {language for _, language, _ in listened.heard} == {"en"}
    assert listened.heard[-1][2]["messages"]["value"][0]["message"] == "Password is incorrect"
    assert "Password is incorrect" in html


async def test_the_identity_engines_own_words_show_when_the_catalogue_has_none(aiohttp_client, listened):
    """A field label the Identity Engine translated is shown as it sent it (the French identify
    page's "Nom d'utilisateur" came from the simulator)."""
    app = await serve(aiohttp_client, demo_settings(listened.port))
    html = await (await app.get("/login", headers={"Accept-Language": "fr"})).text()
    identify = listened.heard[-1][2]["remediation"]["value"][0]
    assert identify["value"][0]["label"] == "Nom d'utilisateur"
    assert "Nom d&#39;utilisateur" in html


async def test_the_header_is_sent_only_when_the_request_has_a_language():
    sent: list[str | None] = []

    async def answer(request: web.Request) -> web.Response:
        sent.append(request.headers.get("Accept-Language"))
        return web.json_response({"version": "1.0.0"})

    upstream = web.Application()
    upstream.router.add_post("/idp/idx/introspect", answer)
    async with TestServer(upstream) as server:
        settings = Settings(
            issuer=f"http://127.0.0.1:{server.port}/oauth2/default", client_id="c", redirect_uri="http://127.0.0.1/cb"
        )
        async with aiohttp.ClientSession() as http:
            client = idx_client.IdxClient(http, settings)
            await client.introspect("handle")
            token = idx_client.LANGUAGE.set("pt-BR")
            try:
                await client.introspect("handle")
            finally:
                idx_client.LANGUAGE.reset(token)
    assert sent == [None, "pt-BR"]
