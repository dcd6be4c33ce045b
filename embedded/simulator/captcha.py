"""A fake CAPTCHA provider hosted by the simulator, for orgs with a `[captcha]` setting.

Okta's answer carries `captcha` {id, name, siteKey, type} and, on the forms that need it, a
`captchaVerify` object field: `captchaId` (fixed) and `captchaToken` (hint "captcha", filled by the
provider's callback). The client loads the provider's script, which renders the check in a frame
and calls back with a token; Okta then verifies the token with the provider when the form is
submitted. Here the provider is the simulator itself: `/captcha/{hcaptcha|recaptcha}/api.js` is a
script with the provider's API shape (`hcaptcha.render` / `grecaptcha.render(container, {sitekey,
callback})`, `reset`, `getResponse`), the frame at `/captcha/frame` issues a token once the person
ticks "I am human", and the engine accepts each token it issued once, for its site key, for a short
while. Okta's own captcha object names no script; the simulator's names its fake one in
`scriptSource` (the name of the Sign-In Widget's setting for a provider's script address).
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from html import escape

from .frames import frame_document, script_literal

TOKEN_LIFETIME = 120  # seconds a solved check may wait for its form to be submitted
MAX_TOKENS = 1000
# Each type the fake provider plays: its path here, its script's global object, its name.
PROVIDERS = {"HCAPTCHA": ("hcaptcha", "hcaptcha", "hCaptcha"), "RECAPTCHA_V2": ("recaptcha", "grecaptcha", "reCAPTCHA")}


@dataclass
class TokenBook:
    """Tokens the fake provider issued, each good once, for one site key, until it expires."""

    issued: dict[str, tuple[str, float]] = field(default_factory=dict)

    def issue(self, site_key: str) -> str:
        now = time.time()
        for token, (_, until) in list(self.issued.items()):
            if until < now:
                del self.issued[token]
        if len(self.issued) >= MAX_TOKENS:
            self.issued.pop(next(iter(self.issued)))
        token = "P1_" + secrets.token_urlsafe(32)
        self.issued[token] = (site_key, now + TOKEN_LIFETIME)
        return token

    def redeem(self, token: str, site_key: str) -> bool:
        found = self.issued.pop(token, None)
        return found is not None and found[0] == site_key and time.time() < found[1]


def provider_name(captcha_type: str) -> str:
    return PROVIDERS[captcha_type][2] if captcha_type in PROVIDERS else captcha_type.title()


def script(kind: str, onload: str | None) -> str:
    """The provider's script: `render` frames the check from the script's own origin and calls
    `callback(token)` when the frame answers; `onload` (a global function's name, as both
    providers take it) is called once the API is ready."""
    global_name = next(g for path, g, _ in PROVIDERS.values() if path == kind)
    return SCRIPT.replace("GLOBAL_NAME", global_name).replace("READY_NAME", json.dumps(onload or ""))


SCRIPT = """(function () {
  "use strict";
  var me = document.currentScript;
  var origin = new URL(me.src).origin;
  var widgets = [];
  function render(container, params) {
    var box = typeof container === "string" ? document.getElementById(container) : container;
    var id = widgets.length;
    var frame = document.createElement("iframe");
    frame.title = "CAPTCHA (simulated)";
    frame.className = "captcha-frame";
    // Through the CSSOM, which a page's style-src does not govern (a style attribute it does).
    frame.style.border = "0";
    frame.style.width = "304px";
    frame.style.height = "78px";
    frame.src = origin + "/captcha/frame?sitekey=" + encodeURIComponent(params.sitekey || "") +
      "&parent=" + encodeURIComponent(location.origin) + "&widget=" + id;
    box.appendChild(frame);
    widgets.push({frame: frame, params: params, token: ""});
    return id;
  }
  window.addEventListener("message", function (event) {
    if (event.origin !== origin || !event.data || event.data.kind !== "captcha-token") return;
    var w = widgets[event.data.widget];
    if (!w || event.source !== w.frame.contentWindow || typeof event.data.token !== "string") return;
    w.token = event.data.token;
    if (typeof w.params.callback === "function") w.params.callback(w.token);
  });
  function reset(id) {
    var w = widgets[id || 0];
    if (w) { w.token = ""; w.frame.src = w.frame.src; }
  }
  function getResponse(id) { var w = widgets[id || 0]; return w ? w.token : ""; }
  window.GLOBAL_NAME = {render: render, reset: reset, getResponse: getResponse};
  var ready = READY_NAME;
  if (ready && typeof window[ready] === "function") window[ready]();
})();
"""


FRAME_STYLE = (
    "body{font:14px/1.3 system-ui,sans-serif;margin:0;padding:.5rem .6rem;color:#1d1d21;background:#f9f9f9;"
    "border:1px solid #d3d3d3;border-radius:4px;box-sizing:border-box;height:78px;overflow:hidden}"
    "form,p{margin:0}button{font:inherit;padding:.3rem .8rem;cursor:pointer}"
    ".note{color:#666;font-size:.7rem;margin-top:.35rem}"
)


def frame_page(nonce: str, body: str, script_text: str = "") -> str:
    return frame_document(
        "CAPTCHA (simulated)",
        FRAME_STYLE,
        nonce,
        f"{body}<p class=note>Simulated CAPTCHA: a development tool, not a real check.</p>",
        script_text,
    )


def prompt(nonce: str, action: str) -> str:
    return frame_page(
        nonce, f'<form method=post action="{escape(action)}"><button name=human value=yes>I am human</button></form>'
    )


def solved(nonce: str, token: str, parent_origin: str, widget: str) -> str:
    message = {"kind": "captcha-token", "token": token, "widget": int(widget) if widget.isdigit() else 0}
    return frame_page(
        nonce,
        "<p>&#10003; Verified.</p>",
        f"window.parent.postMessage({script_literal(message)}, {script_literal(parent_origin)});",
    )
