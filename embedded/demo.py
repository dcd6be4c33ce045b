"""The demo that `python -m embedded` serves: one host of the package, mounted at the root.

Its own pages are a home page (who is signed in, step-up, sign-out), a profile page (the
userinfo endpoint's claims for the access token) and, against the local simulator only, the
page gallery at /_gallery (embedded/gallery.py). Everything else is the package's.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from aiohttp import web

from . import gallery, setup
from .config import Settings
from .idx_client import OAuthError, UpstreamError
from .keys import IDX_CLIENT, TEMPLATES, config
from .web.account import current_tokens, end_app_session
from .web.guard import current_user, login_required
from .web.respond import html, render
from .web.session import get_session


async def home(request: web.Request) -> web.Response:
    user = current_user(request)
    session = await get_session(request)
    tokens = await current_tokens(request, session) if user else None
    if user and tokens is None:
        return await end_app_session(request, "notice.signed_out_elsewhere")
    expires = datetime.fromtimestamp(tokens["expires_at"], UTC).strftime("%H:%M:%S UTC") if tokens else None
    return await render(request, "demo/home.html", {"user": user, "access_expires_at": expires})


@login_required
async def profile(request: web.Request) -> web.Response:
    """What the Identity Engine says about the signed-in user (userinfo, with the access token)."""
    user = current_user(request)
    assert user is not None  # login_required
    tokens = await current_tokens(request, await get_session(request))
    if tokens is None:
        return await end_app_session(request, "notice.signed_out_elsewhere")
    try:
        claims = await config(request)[IDX_CLIENT].userinfo(tokens["access_token"])
    except OAuthError:  # revoked since: the app session ends with it
        return await end_app_session(request, "notice.signed_out_elsewhere")
    if claims.get("sub") != user.sub:
        # Someone else's claims (OIDC Core §5.3.2): never show them as this user's.
        raise UpstreamError("userinfo for another subject")
    shown = sorted((k, v if isinstance(v, str) else json.dumps(v)) for k, v in claims.items())
    return await render(request, "demo/profile.html", {"user": user, "claims": shown})


GALLERY = web.AppKey("embedded.demo.gallery", gallery.Gallery)
GALLERY_PATH = "/_gallery"


async def gallery_index(request: web.Request) -> web.Response:
    return html(request.app[GALLERY].index())


async def gallery_page(request: web.Request) -> web.Response:
    page = request.app[GALLERY].page(request.match_info["lang"], request.match_info["slug"])
    if page is None:
        raise web.HTTPNotFound()
    return html(page)


async def to_gallery_index(request: web.Request) -> web.Response:
    raise web.HTTPMovedPermanently(GALLERY_PATH + "/")  # the index's links are relative to it


def add_gallery(app: web.Application) -> None:
    """Every page of the project's fixture corpus in every language, rendered by this app's own
    templates when first asked for, under the package's security headers."""
    corpus = gallery.DEFAULT_FIXTURES.is_dir()  # a source checkout; an installed package has none
    app[GALLERY] = gallery.Gallery(
        app[TEMPLATES],
        gallery.collect(gallery.DEFAULT_FIXTURES) if corpus else [],
        source="tests/fixtures" if corpus else "",
    )
    app.router.add_get(GALLERY_PATH, to_gallery_index, name="embedded.demo.gallery_root")
    app.router.add_get(GALLERY_PATH + "/", gallery_index, name="embedded.demo.gallery")
    app.router.add_get(GALLERY_PATH + "/index.html", gallery_index, name="embedded.demo.gallery_index")
    app.router.add_get(GALLERY_PATH + "/{lang}/{slug}.html", gallery_page, name="embedded.demo.gallery_page")


def create_app(settings: Settings, *, simulator: bool = False) -> web.Application:
    """The demo: the package at the root, plus its home and profile pages (named `embedded.demo.*`
    so they get the package's error pages and security headers). `simulator`: it signs in
    against the local simulator (never a real org), so it also serves the page gallery."""
    app = web.Application()
    setup(app, settings, prefix="")
    app.router.add_get("/", home, name="embedded.demo.home")
    app.router.add_get("/profile", profile, name="embedded.demo.profile")
    if simulator:
        add_gallery(app)
    return app


async def gunicorn_app() -> web.AppRunner:
    """The demo for gunicorn's aiohttp worker, settings from the environment (OKTA_IDX_*,
    EMBEDDED_*; EMBEDDED_REDIS_URL so every worker shares sessions):

        gunicorn 'embedded.demo:gunicorn_app' --worker-class aiohttp.GunicornWebWorker \\
            --workers 4 --bind 0.0.0.0:8000 --graceful-timeout 15

    A runner rather than an app, so the worker serves it with the package's access log (probes
    at DEBUG) and lets requests in flight finish for EMBEDDED_SHUTDOWN_SECONDS on SIGTERM."""
    from . import logformat
    from .web.setup import RUNNER_OPTIONS

    settings = Settings.from_env()
    logformat.configure(settings.log_format)
    return web.AppRunner(
        create_app(settings),
        access_log_class=RUNNER_OPTIONS["access_log_class"],
        shutdown_timeout=settings.shutdown_seconds,
    )
