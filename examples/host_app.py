"""A host app with sign-in: a public home page, a private page, a JSON API, and a security page
that asks for two factors within the last five minutes (step-up), with the `embedded` package
mounted at /auth.

    OKTA_IDX_ISSUER=http://127.0.0.1:8081/oauth2/default OKTA_IDX_CLIENTID=demo-client \
    OKTA_IDX_CLIENTSECRET=demo-secret OKTA_IDX_REDIRECTURI=http://127.0.0.1:8000/auth/login/callback \
    python examples/host_app.py
"""

from __future__ import annotations

import html
import os

from aiohttp import web

import embedded


async def index(request: web.Request) -> web.Response:
    user = embedded.current_user(request)
    who = f"Signed in as {html.escape(user.email or user.sub)}." if user else "Not signed in."
    return web.Response(
        text=f"<h1>Home</h1><p>{who}</p><p><a href='/private'>Private page</a></p>", content_type="text/html"
    )


@embedded.login_required
async def private(request: web.Request) -> web.Response:
    user = embedded.current_user(request)
    assert user is not None
    return web.Response(
        text=f"<h1>Private</h1><p>Hello {html.escape(user.name or user.sub)} ({html.escape(user.email or '')}).</p>"
        f"<p><a href='/security'>Security settings</a></p>"
        f"<p><a href='{request.app.router['embedded.logout'].url_for()}'>Sign out</a></p>",
        content_type="text/html",
    )


# Two factors, the last one at most five minutes ago: anyone else goes through step-up first.
@embedded.login_required(acr_values="urn:okta:loa:2fa:any", max_age=300)
async def security(request: web.Request) -> web.Response:
    user = embedded.current_user(request)
    assert user is not None
    return web.Response(
        text=f"<h1>Security settings</h1><p>{html.escape(user.name or user.sub)}, you signed in with "
        f"{html.escape(', '.join(user.amr))} ({html.escape(user.acr or 'no acr')}).</p>",
        content_type="text/html",
    )


@embedded.login_required
async def me(request: web.Request) -> web.Response:
    user = embedded.current_user(request)
    assert user is not None
    return web.json_response({"sub": user.sub, "email": user.email, "name": user.name, "amr": list(user.amr)})


def create_app(settings: embedded.Settings, prefix: str = "/auth") -> web.Application:
    app = web.Application()
    embedded.setup(app, settings, prefix=prefix)
    app.router.add_get("/", index)
    app.router.add_get("/private", private)
    app.router.add_get("/api/me", me)
    app.router.add_get("/security", security)
    return app


if __name__ == "__main__":
    web.run_app(create_app(embedded.Settings.from_env()), host="127.0.0.1", port=int(os.environ.get("PORT", "8000")))
