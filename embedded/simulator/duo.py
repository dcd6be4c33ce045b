"""A fake Duo for the Duo Web v2 iframe protocol, hosted by the simulator itself.

Okta hands the client `signedToken` = `TX|<b64 username|expiry>|<hmac>:APP|<b64 username|expiry>|<hmac>`:
the TX half is signed with Duo's secret key (`skey`, shared by Okta and Duo), the APP half with
Okta's own application key (`akey`, which Duo never sees). The client's page frames
`{host}/frame/web/v1/auth?tx=<TX half>&parent=<page URL>&v=2.6`; when the person approves, the frame
posts `AUTH|<b64 username|expiry>|<hmac skey>` to the parent window, which appends `:` and the APP
half and submits the whole as `credentials.signatureData`. Okta then checks both signatures, that
both name the user signing in, and that neither has expired. HMAC-SHA1 over `PREFIX|b64`, hex.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from html import escape

from .compare import as_bytes, same
from .frames import frame_document, script_literal

TX_LIFETIME = 300  # seconds the frame accepts a TX request
AUTH_LIFETIME = 300  # seconds Okta accepts Duo's answer
APP_LIFETIME = 3600  # seconds Okta accepts its own APP half


class DuoError(Exception):
    """`failed` (a bad or foreign signature) or `timeout` (a half expired)."""


@dataclass
class DuoKeys:
    ikey: str = field(default_factory=lambda: "DI" + secrets.token_hex(9).upper())
    skey: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    akey: bytes = field(default_factory=lambda: secrets.token_bytes(32))


def _mac(key: bytes, text: str) -> str:
    return hmac.new(key, as_bytes(text), hashlib.sha1).hexdigest()


def sign(key: bytes, prefix: str, username: str, lifetime: int, now: float | None = None) -> str:
    expiry = int((time.time() if now is None else now) + lifetime)
    cookie = f"{prefix}|" + base64.b64encode(f"{username}|{expiry}".encode()).decode()
    return f"{cookie}|{_mac(key, cookie)}"


def read(key: bytes, prefix: str, value: str, now: float | None = None) -> str:
    """The username a signed value names; DuoError("failed") or ("timeout")."""
    parts = value.split("|")
    if len(parts) != 3 or parts[0] != prefix:
        raise DuoError("failed")
    cookie = f"{parts[0]}|{parts[1]}"
    if not same(parts[2], _mac(key, cookie)):
        raise DuoError("failed")
    try:
        username, _, expiry = base64.b64decode(parts[1], validate=True).decode().rpartition("|")
        expires = int(expiry)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise DuoError("failed") from None
    if not username:
        raise DuoError("failed")
    if (time.time() if now is None else now) >= expires:
        raise DuoError("timeout")
    return username


def sign_request(keys: DuoKeys, username: str) -> str:
    return f"{sign(keys.skey, 'TX', username, TX_LIFETIME)}:{sign(keys.akey, 'APP', username, APP_LIFETIME)}"


def approve(keys: DuoKeys, tx: str) -> str:
    """Duo's answer once the person approved: AUTH for the user the TX request names."""
    return sign(keys.skey, "AUTH", read(keys.skey, "TX", tx), AUTH_LIFETIME)


def verify_response(keys: DuoKeys, signature: str, username: str) -> None:
    """Okta's check of `AUTH|…:APP|…` for `username`; raises DuoError."""
    auth, _, app = signature.partition(":")
    if not app:
        raise DuoError("failed")
    auth_user = read(keys.skey, "AUTH", auth)
    app_user = read(keys.akey, "APP", app)
    if not (auth_user == app_user == username):
        raise DuoError("failed")


STYLE = (
    "body{font:15px/1.4 system-ui,sans-serif;margin:0;padding:1rem;color:#1d1d21;background:#f7f8fa}"
    "h1{font-size:1.15rem;margin:0 0 .5rem}p{margin:.4rem 0}.note{color:#666;font-size:.85rem}"
    "button{font:inherit;padding:.45rem 1rem;margin:.3rem .3rem 0 0;cursor:pointer}"
    ".approve{background:#1a7f37;color:#fff;border:0;border-radius:4px}.deny{border-radius:4px}"
)


def frame_page(nonce: str, body: str, script: str = "") -> str:
    return frame_document(
        "Duo (simulated)",
        STYLE,
        nonce,
        f"<h1>Duo (simulated)</h1>{body}"
        "<p class=note>Part of the local Identity Engine simulator: a development tool, not Duo.</p>",
        script,
    )


def prompt(nonce: str, username: str, action: str) -> str:
    return frame_page(
        nonce,
        f"""<p>Sign-in request for <strong>{escape(username)}</strong>.</p>
<form method=post action="{escape(action)}">
<button class=approve name=decision value=approve>Approve</button>
<button class=deny name=decision value=deny>Deny</button>
</form>""",
    )


def approved(nonce: str, response: str, parent_origin: str) -> str:
    return frame_page(
        nonce,
        "<p>Approved. Returning to the sign-in page…</p>",
        f"window.parent.postMessage({script_literal(response)}, {script_literal(parent_origin)});",
    )


def denied(nonce: str) -> str:
    return frame_page(nonce, "<p><strong>Request denied.</strong> Choose another way to verify, or start again.</p>")


# The parent-side helper `contextualData.script` points at: same API shape as Duo's Web v2 script
# (`Duo.init({host, sig_request, iframe, post_action, submit_callback})`), written for the simulator.
PARENT_SCRIPT = """(function () {
  "use strict";
  function init(options) {
    var parts = String(options.sig_request || "").split(":");
    var frame = typeof options.iframe === "string" ? document.getElementById(options.iframe) : options.iframe;
    var host = String(options.host || "");
    var loopback = /^(localhost|127\\.0\\.0\\.1|\\[::1\\])(:\\d+)?$/.test(host);
    var origin = (loopback ? "http://" : "https://") + host;
    if (!frame || parts.length !== 2) return;
    frame.src = origin + "/frame/web/v1/auth?tx=" + encodeURIComponent(parts[0]) +
      "&parent=" + encodeURIComponent(location.href) + "&v=2.6";
    window.addEventListener("message", function (event) {
      if (event.origin !== origin || typeof event.data !== "string" || event.data.indexOf("AUTH|") !== 0) return;
      var response = event.data + ":" + parts[1];
      var form = document.createElement("form");
      form.method = "POST";
      form.action = options.post_action || "";
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = "sig_response";
      input.value = response;
      form.appendChild(input);
      if (typeof options.submit_callback === "function") options.submit_callback(form);
      else { document.body.appendChild(form); form.submit(); }
    });
  }
  window.Duo = { init: init };
})();
"""
