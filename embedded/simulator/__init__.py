"""A local Okta Identity Engine: speaks the IDX interaction-code and OAuth protocol, driven by an
org definition (users, authenticators, policies). A development tool, not an identity provider.
It imports nothing from the app, so the two implementations of the protocol check each other.

Redirect URIs. A client accepts its registered URIs exactly, any port of a loopback one
(`loopback_any_port`), and with `loopback_redirect_suffix` (the demo clients: `/login/callback`)
any loopback URI (127.0.0.0/8, localhost, [::1], any port, no user info, query or fragment) whose
path ends in it: an app under any prefix needs no org change. Any other host needs its exact URI,
in the org file or from `--redirect-uri URI` (`create_simulator_app(redirect_uris=...)`), which
registers it with every client.

Besides the OAuth and IDX endpoints it serves pages and controls for people and tests:

* `GET {issuer}/v1/authorize` (the redirect model: Okta's hosted sign-in page): `client_id`,
  `redirect_uri`, `response_type=code`, `scope`, `state` (required: letters, digits and , . _ -,
  as Okta takes it), `code_challenge` + `code_challenge_method=S256` (required, as for
  /v1/interact), optional `nonce`, `acr_values`, `max_age`, `login_hint` (fills the
  username), `prompt` (`login`, `consent`; `none` answers `login_required`: no Okta session
  outlives a sign-in), `response_mode` (`query`, `fragment`, `form_post`). An unknown client or a
  redirect URI the client does not allow is a 400 error page; any other bad parameter goes back
  to the redirect URI with `error`, `error_description` and `state` (as given, or absent). The
  client needs the `authorization_code` grant (demo-client has it). The browser then signs in on
  the simulator's own pages (`GET|POST /signin`, templates/), which drive the same engine, users,
  policies and authenticators as IDX, each step rendered as a plain form (steps needing a browser
  script, such as WebAuthn, Duo or FastPass, are not offered); a cookie (`sim_signin`, HttpOnly,
  SameSite=Lax) names the server-side sign-in and every form carries its CSRF token. Email magic
  links point at `/signin/email?otp=…`. Success redirects to `redirect_uri?code=…&state=…`; a
  declined consent or a policy the user cannot meet to `?error=access_denied&state=…`. The code
  is single use, lives 60 s, and is exchanged at `/v1/token` with `grant_type=authorization_code`,
  `code`, the same `redirect_uri`, `code_verifier` and the client's authentication (400
  `invalid_grant` for a spent, expired or foreign code, another redirect URI, or a verifier that
  fails PKCE); the tokens are minted as for the interaction code (nonce, amr, acr, auth_time).

* `POST {issuer}/v1/token` with Direct Authentication's grants, `POST {issuer}/v1/challenge` and
  `POST {issuer}/v1/primary-authenticate` (old name `/v1/oob-authenticate`; direct.py): for clients
  whose `grant_types` list them (demo-client), no redirect. A password (`403 mfa_required` with an
  `mfa_token` when the sign-on rule wants more), a TOTP code, or an `oob_code` (an Okta Verify push
  with its number challenge, an SMS or voice code; all in the outbox) are traded for tokens without
  a nonce. At most 5 pushes / SMS / calls per user and channel within `[org] oob_code_seconds`, then
  429 with Okta's E0000047 API error; with `user_enumeration_prevention`, a passwordless start for
  someone unreachable is a decoy oob_code that sends nothing and never completes.

* `GET /outbox` (page) and `GET /outbox.json?to=ADDRESS`: codes, magic links, pushes, Okta Verify
  activations and admin emails, newest first; `POST /outbox/push/{id}/approve|deny` answers a push
  (Okta Verify or a custom push app; with a number challenge, approving takes the number as
  `answer`, form or JSON: none is a 400 and the push stays pending, a wrong one denies it),
  `POST /outbox/enrollment/{id}/activate` plays the phone.
* `POST /_sim/admin/activation-email` and `POST /_sim/admin/reset-email` (form or JSON: `login`,
  optional `app_url`): an administrator emails a staged user an activation link
  `{app_url}/activate?token=…`, or any activated user a reset link `{app_url}/reset-password?token=…`.
  The token is random, single use, and replaces any earlier one; the app hands it to /v1/interact
  as `activation_token` / `recovery_token`. Answer: `{"link": …, "token": …}`. The outbox page has
  the same as a form ("Admin"). `app_url` defaults to the simulator's setting (`--app-url`).
  Activation emails also take `expires_in` (seconds; default the org's `activation_token_days`,
  0 = already expired): an expired link opens `request-activation-email`, which emails a new one.
* `GET|POST /sso/idps/{id}?stateToken=…`: the identity providers' pages. A social IdP lets you
  continue as any email; an IdP used as a factor (external_idp) only confirms the identified user;
  a smart card reader (X509) offers the certificates to present: the user's own card as a factor,
  everyone's from the first page ("Sign in with PIV / CAC card"). Each returns to the redirect URI
  with `interaction_code` when policy is met, else `error=interaction_required` (or
  `error=access_denied` on Cancel).
* `GET|POST /frame/web/v1/auth?tx=…&parent=…&v=2.6`: a fake Duo (Duo Web v2 iframe, see duo.py) that
  a page frames for the `duo` authenticator; Approve posts `AUTH|…` to the parent window. Its
  parent-side helper is `/frame/duo-web-v2.js`.
* `OPTIONS|GET /probe`, `OPTIONS|POST /challenge` (JSON `{"challengeRequest": …}`): the simulator
  playing Okta Verify on this computer for Okta FastPass by loopback. The signed_nonce challenge
  lists a dead loopback port, then the simulator's; CORS answers loopback origins only (with
  `Access-Control-Allow-Private-Network` on preflights). A valid challenge for a user with
  `fastpass = true` is answered, and the next poll moves on.
* `/_sim/faults`, `/_sim/expire`, `/_sim/calls`: fault injection, expiry (all transactions, one by
  `stateHandle`, or a user's activation link by `activation_login`; a handle that is not a string
  is a 400), the request log (CORS preflights included).
* `GET|DELETE /_sim/sessions`: each completed sign-in (login, client, amr, acr, idp, auth_time,
  max_age, the "Stay signed in?" answer or null, the scopes granted).

Browser clients (cors.py). The endpoints a browser SDK calls (discovery, keys, interact, token,
revoke, userinfo, logout, every /idp/idx/ endpoint) speak CORS for the org's `trusted_origins`
(exact `scheme://host[:port]`, or port `*`; the demo org trusts any loopback origin): preflights
and answers carry the exact origin and `Access-Control-Allow-Credentials: true`; any other origin
gets no CORS header (a 403 preflight). The demo org's public client `demo-spa` (no secret, PKCE,
loopback redirect URIs `/` or ending in `/login/callback`, on any port) is for such pages; as at Okta, a public
client that sends a secret and a confidential one that omits it fail client authentication (401
invalid_client). The controls (`/_sim/*`) and the outbox answer only a loopback `Host` (or the
fixed issuer's host: no DNS rebinding) and refuse writes a browser marks cross-site
(`Sec-Fetch-Site`, a foreign `Origin`); control bodies are a form or application/json.

`[org] user_enumeration_prevention = true` (Okta's setting; off in the demo org): identify,
recovery and unlock answer an unknown, staged or locked-out user exactly as an existing one
(Engine.phantom: a password challenge that then fails with "Password is incorrect", a "check your
email" that sends nothing), and the `user` object carries only id and identifier until a factor is
proven."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterable

from aiohttp import web

from .context import SIMULATOR, Simulator
from .faults import KINDS as FAULT_KINDS
from .faults import Faults
from .org import Org, OrgError, demo_org, describe_org, load_org
from .server import build_app

__all__ = [
    "REDIRECT_RULE",
    "SIMULATOR",
    "Org",
    "Simulator",
    "create_simulator_app",
    "demo_org",
    "describe_org",
    "load_org",
    "main",
]

DEFAULT_PORT = 8081


def create_simulator_app(
    org: Org | None = None,
    *,
    issuer: str | None = None,
    app_url: str | None = None,
    redirect_uris: Iterable[str] = (),
) -> web.Application:
    """The simulator as an aiohttp app. `org=None` serves the demo org; `issuer=None` derives the
    issuer from each request's origin (`<scheme>://<host>/oauth2/default`); `app_url` is the app's
    origin that admin emails link to (default: the origin of the first client's first redirect
    URI); `redirect_uris` are registered with every client besides the org's own (OrgError for
    one that cannot be a redirect URI)."""
    return build_app(org, issuer=issuer, app_url=app_url, redirect_uris=redirect_uris)


REDIRECT_RULE = (
    "The demo org's clients (demo-client, demo-spa) accept any loopback redirect URI (127.0.0.0/8, "
    "localhost, [::1], any port) whose path ends in /login/callback, so an app with sign-in under any "
    "prefix signs in as it is; any other host needs its exact URI: --redirect-uri, or the org file."
)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="embedded simulator",
        description="Local Okta Identity Engine simulator (development tool, not an identity provider). "
        + REDIRECT_RULE,
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    p.add_argument("--org", help="org definition TOML (default: the demo org)")
    p.add_argument("--issuer", help="fixed issuer URL (default: derived from each request)")
    p.add_argument(
        "--redirect-uri",
        action="append",
        default=[],
        metavar="URI",
        help="one more sign-in redirect URI every client accepts, exactly as written, on any host "
        "(e.g. http://myhost.lan:8080/account/login/callback); repeat it for more",
    )
    p.add_argument(
        "--app-url",
        help="the app's origin, for links in admin emails "
        "(default: the origin of the demo client's first redirect URI)",
    )
    p.add_argument("--latency-ms", type=float, default=0.0, help="added latency on protocol endpoints")
    for kind in FAULT_KINDS:
        p.add_argument(
            f"--fail-{kind}",
            type=float,
            default=0.0,
            metavar="SHARE",
            help=f"share (0..1) of protocol requests answered with {kind}",
        )
    p.add_argument("--seed", type=int, help="random seed for fault injection")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        org = load_org(args.org) if args.org else demo_org()
        for uri in args.redirect_uri:
            org.allow_redirect_uri(uri)
        faults = Faults(
            latency_ms=args.latency_ms,
            seed=args.seed,
            rates={k: getattr(args, "fail_" + k) for k in FAULT_KINDS if getattr(args, "fail_" + k)},
        )
    except (OSError, OrgError, ValueError) as e:
        print(f"simulator: {e}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = create_simulator_app(org, issuer=args.issuer, app_url=args.app_url)
    app[SIMULATOR].faults = faults
    origin = args.issuer or f"http://{args.host}:{args.port}/oauth2/default"
    print(f"{describe_org(org)}\nIssuer: {origin}\nOutbox: {origin.split('/oauth2')[0]}/outbox", flush=True)
    web.run_app(app, host=args.host, port=args.port, print=None)
    return 0
