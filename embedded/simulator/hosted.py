"""The redirect model: `GET {issuer}/v1/authorize` and the simulator's own sign-in pages (what Okta's
hosted sign-in page is to a real org). The pages drive the same engine as IDX (same users,
policies and authenticators): authorize starts a transaction for the client, each page is the
current step of it rendered as an HTML form (hosted_pages.py), each posted page is submitted to
the engine as the client's IDX call would be, and at success the browser goes back to the
client's redirect URI with an authorization code, exchanged at /v1/token
(grant_type=authorization_code, with the PKCE verifier).

The state stays on the simulator: a cookie (HttpOnly, SameSite=Lax) names a server-side record
holding the transaction and the CSRF token every form carries. No Okta session outlives a sign-in,
so every authorize shows the pages (as `prompt=login` asks) and `prompt=none` answers
`login_required`."""

from __future__ import annotations

import re
import secrets
import time
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from . import ion
from .compare import same
from .context import Simulator, sim, text_fields
from .hosted_pages import HostedSignin, body_of, find_form, page_of, render
from .oauth import not_authorized_for, read_authorization
from .transaction import Transaction

PAGE = "/signin"  # the sign-in pages (GET: the current step; POST: a form of it)
EMAIL_LINK = "/signin/email"  # an email's magic link opens the pages where the code was asked for
COOKIE = "sim_signin"
STATE = re.compile(r"[A-Za-z0-9,._-]{1,1024}")  # what Okta takes in `state` (its docs: alphanumerics , . _ -)
RESPONSE_MODES = ("query", "fragment", "form_post")
PROMPTS = {"none", "login", "consent", "login consent", "consent login"}
DENIED = ion.MSG["access_denied"]
HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; frame-ancestors 'none'",
}


def html(text: str, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", headers={**HEADERS, **(headers or {})})


def message_page(
    s: Simulator, title: str, lines: list[str], status: int, *, error: str | None = None, cls: str = "error"
) -> web.Response:
    return html(
        render(
            "message.html",
            title=title,
            org_name=s.org.name,
            app_name=None,
            lines=lines,
            cls=cls,
            error=error,
            link=None,
            link_text="",
        ),
        status,
    )


# ------------------------------------------------------------------------ back to the client
def redirect(location: str) -> web.Response:
    return web.Response(status=302, headers={"Location": location, "Cache-Control": "no-store"})


def respond(redirect_uri: str, params: dict[str, str], mode: str) -> web.Response:
    """The authorization response (code or error, and state) the way `response_mode` asks."""
    if mode == "form_post":
        nonce = secrets.token_urlsafe(16)
        page = render("form_post.html", action=redirect_uri, params=params, nonce=nonce)
        target = urlsplit(redirect_uri)
        csp = (
            f"default-src 'none'; script-src 'nonce-{nonce}'; "
            f"form-action {target.scheme}://{target.netloc}; base-uri 'none'"
        )
        return html(page, headers={"Content-Security-Policy": csp})
    if mode == "fragment":
        return redirect(f"{redirect_uri}#{urlencode(params)}")
    return redirect(redirect_uri + ("&" if "?" in redirect_uri else "?") + urlencode(params))


def refuse(redirect_uri: str, state: str | None, mode: str, error: str, description: str) -> web.Response:
    """An authorize error sent back to the client (the client and redirect URI are known good);
    `state` comes back exactly as it was given, or not at all."""
    params = {"error": error, "error_description": description}
    if state is not None:
        params["state"] = state
    return respond(redirect_uri, params, mode)


# ------------------------------------------------------------------------ /v1/authorize
async def authorize(request: web.Request) -> web.Response:
    """Checks the request as Okta does: an unknown client or a redirect URI the client does not
    allow is an error page (never a redirect); anything else wrong goes back to the redirect URI
    with `error`, `error_description` and `state`. A good request starts a transaction driven by
    the sign-in pages and sends the browser there."""
    s = sim(request)
    params = text_fields(request.query)
    client = s.org.client(params.get("client_id"))
    if client is None:
        return message_page(
            s, "Sign-in error", ["Invalid value for 'client_id' parameter."], 400, error="invalid_client"
        )
    redirect_uri = params.get("redirect_uri", "")
    if not client.redirect_allowed(redirect_uri):
        return message_page(
            s,
            "Sign-in error",
            ["The 'redirect_uri' parameter must be a Login redirect URI in the client app settings."],
            400,
            error="invalid_request",
        )
    state = params.get("state")
    mode = params.get("response_mode", "query")
    if mode not in RESPONSE_MODES:
        return refuse(
            redirect_uri,
            state,
            "query",
            "invalid_request",
            "The 'response_mode' parameter must be one of: " + ", ".join(RESPONSE_MODES) + ".",
        )
    response_type = params.get("response_type")
    if not response_type:
        return refuse(redirect_uri, state, mode, "invalid_request", "The 'response_type' parameter is required.")
    if response_type != "code":
        return refuse(
            redirect_uri,
            state,
            mode,
            "unsupported_response_type",
            "The response type is not supported by the authorization server. Configured response types: [code].",
        )
    if "authorization_code" not in client.grant_types:
        return refuse(redirect_uri, state, mode, *not_authorized_for(client))
    if state is None or not STATE.fullmatch(state):
        return refuse(
            redirect_uri, state, mode, "invalid_request", "The authentication request has an invalid 'state' parameter."
        )
    asked = read_authorization(s.org, client, params)
    if isinstance(asked, tuple):
        return refuse(redirect_uri, state, mode, *asked)
    prompt = " ".join(params.get("prompt", "").split())
    if prompt and prompt not in PROMPTS:
        return refuse(redirect_uri, state, mode, "invalid_request", "The 'prompt' parameter is invalid.")
    if prompt == "none":  # no Okta session outlives a sign-in here
        return refuse(
            redirect_uri,
            state,
            mode,
            "login_required",
            "The client specified not to prompt, but the user is not logged in.",
        )
    origin = s.origin_for(request)
    tx = s.engine.begin(
        client,
        redirect_uri,
        asked.scopes,
        state,
        params.get("nonce"),
        asked.code_challenge,
        acr=asked.acr,
        max_age=asked.max_age,
        hosted_origin=origin,
    )
    record = start_signin(s, tx, mode, params.get("login_hint", "").strip())
    response = redirect(PAGE)
    set_cookie(request, response, record.id, max_age=int(tx.lifetime))
    return response


def start_signin(s: Simulator, tx: Transaction, mode: str, login_hint: str) -> HostedSignin:
    now = time.time()
    for key, old in list(s.signins.items()):  # forget sign-ins whose transaction is long gone
        found = s.engine.find(old.state_handle)
        if found is None or now - old.created > 2 * found.lifetime:
            del s.signins[key]
    record = HostedSignin(secrets.token_urlsafe(32), tx.state_handle, mode, login_hint[:256])
    s.signins[record.id] = record
    return record


def set_cookie(request: web.Request, response: web.StreamResponse, value: str, max_age: int) -> None:
    response.set_cookie(COOKIE, value, max_age=max_age, path="/", httponly=True, samesite="Lax", secure=request.secure)


# ------------------------------------------------------------------------ the sign-in pages
def current(request: web.Request) -> tuple[HostedSignin, Transaction] | web.Response:
    """This browser's sign-in and its transaction, or the page saying there is none."""
    s = sim(request)
    record = s.signins.get(request.cookies.get(COOKIE, ""))
    tx = s.engine.find(record.state_handle) if record else None
    if record is None or tx is None or tx.expired:
        return message_page(
            s,
            "Sign-in expired",
            ["You have been logged out due to inactivity. Return to the app and sign in again."],
            401,
        )
    return record, tx


def show(request: web.Request, record: HostedSignin, tx: Transaction, doc: dict, status: int = 200) -> web.Response:
    s = sim(request)
    page = page_of(doc, tx.step, record.login_hint)
    return html(
        render(
            "signin.html",
            title=page.title,
            org_name=s.org.name,
            app_name=tx.client.name,
            page=page,
            csrf=record.csrf,
            action=PAGE,
        ),
        status,
    )


def finished(request: web.Request, record: HostedSignin, tx: Transaction) -> web.Response | None:
    """The response that ends the sign-in on the simulator, if it is over: success sends the code
    back to the client; a refusal (consent declined, a policy this user cannot meet) sends
    `error=access_denied`. Other ends (an account unlocked with `after_unlock = "message"`, too many
    wrong codes) stay on a page."""
    if tx.step == "success":
        params = {"code": tx.authorization_code or ""}
    elif tx.step == "terminal" and any(m["i18n"]["key"] == DENIED[0] for m in tx.terminal):
        params = {"error": "access_denied", "error_description": DENIED[1]}
    else:
        return None
    sim(request).signins.pop(record.id, None)
    if tx.state is not None:
        params["state"] = tx.state
    response = respond(tx.redirect_uri, params, record.response_mode)
    response.del_cookie(COOKIE, path="/")
    return response


async def signin_page(request: web.Request) -> web.Response:
    found = current(request)
    if isinstance(found, web.Response):
        return found
    record, tx = found
    s = sim(request)
    tx.touch()
    return finished(request, record, tx) or show(request, record, tx, s.engine.render(tx, s.origin_for(request)))


async def signin_submit(request: web.Request) -> web.Response:
    """A posted page: the form it names (a remediation, an authenticator action, or cancel) in
    the current document, submitted to the engine with the values typed in."""
    found = current(request)
    if isinstance(found, web.Response):
        return found
    record, tx = found
    s = sim(request)
    posted = text_fields(await request.post())
    if not same(posted.get("_csrf", ""), record.csrf):
        return message_page(
            s,
            "Request refused",
            ["This form is not from your sign-in page (or it is too old). Go back, reload the page and try again."],
            403,
        )
    origin = s.origin_for(request)
    doc = s.engine.render(tx, origin)
    form = find_form(doc, posted.get("_form", ""))
    if form is None:  # a page left behind: the sign-in has moved on
        raise web.HTTPSeeOther(PAGE)
    endpoint = str(form["href"]).split("/idp/idx/", 1)[-1]
    status, doc = s.submissions.submit(endpoint, tx, body_of(list(form.get("value", [])), posted), origin)
    end = finished(request, record, tx)
    if end is not None:
        return end
    if status == 200:
        raise web.HTTPSeeOther(PAGE)
    return show(request, record, tx, doc, status)


async def email_link(request: web.Request) -> web.Response:
    """An email's magic link: in the browser whose sign-in asked for the code, it answers the
    challenge; anywhere else it only shows the code to type in."""
    s = sim(request)
    otp = request.query.get("otp", "")
    found = current(request)
    if isinstance(found, web.Response) or found[1].challenge is None or found[1].challenge.key != "okta_email":
        return message_page(s, "Your verification code", [f"Enter {otp} where you are signing in."], 200, cls="info")
    record, tx = found
    origin = s.origin_for(request)
    doc = s.engine.render(tx, origin)
    if find_form(doc, "challenge-authenticator") or find_form(doc, "enroll-authenticator"):
        status, doc = s.submissions.submit("challenge/answer", tx, {"credentials": {"passcode": otp}}, origin)
        end = finished(request, record, tx)
        if end is not None:
            return end
        if status != 200:
            return show(request, record, tx, doc, status)
    raise web.HTTPSeeOther(PAGE)


def add_routes(app: web.Application, base: str) -> None:
    app.router.add_get(f"{base}/v1/authorize", authorize)
    app.router.add_get(PAGE, signin_page)
    app.router.add_post(PAGE, signin_submit)
    app.router.add_get(EMAIL_LINK, email_link)
