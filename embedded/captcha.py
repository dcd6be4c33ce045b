"""CAPTCHA checks the Identity Engine asks for on a form (identify, registration, recovery): which
provider's widget to show, with which site key, into which hidden field its token goes, and the
Content-Security-Policy sources that page needs.

Pure: every value read from an IDX response is checked before it reaches a page or a header.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .idx_models import Field, Form, IdxResponse

FILLED_BY = "captcha"  # the `hint` of the field the provider's token goes in (`captchaToken`)


@dataclass(frozen=True)
class Provider:
    script: str  # the provider's API script (loaded with `onload` and `render=explicit`)
    api: str  # the global object it defines, with `render(container, {sitekey, callback})`
    origins: tuple[str, ...]  # where its script, frames, styles and calls come from


PROVIDERS = {
    "HCAPTCHA": Provider(
        "https://js.hcaptcha.com/1/api.js", "hcaptcha", ("https://hcaptcha.com", "https://*.hcaptcha.com")
    ),
    "RECAPTCHA_V2": Provider(
        "https://www.google.com/recaptcha/api.js",
        "grecaptcha",
        (
            "https://www.google.com/recaptcha/",
            "https://www.gstatic.com/recaptcha/",
            "https://recaptcha.google.com/recaptcha/",
        ),
    ),
}
_SITE_KEY = re.compile(r"[A-Za-z0-9_-]{1,100}")
_TYPE = re.compile(r"[A-Z0-9_]{1,40}")
# A provider served on this computer (the simulator's fake one): taken from the response only there.
_LOOPBACK_SCRIPT = re.compile(r"(https?://(?:localhost|127\.0\.0\.1|\[::1\])(?::[0-9]{1,5})?)/[A-Za-z0-9/._-]{1,200}")


@dataclass(frozen=True)
class CaptchaWidget:
    """The check on this page. `provider` None: a type this package cannot show (the page says
    so and offers the org's own sign-in page instead)."""

    type: str  # HCAPTCHA, RECAPTCHA_V2, or what the Identity Engine named ("" when nothing usable)
    field: str  # the hidden control its token fills: `captchaVerify.captchaToken`
    site_key: str | None = None
    provider: str | None = None  # the script's global object: hcaptcha | grecaptcha
    script: str | None = None
    origins: tuple[str, ...] = ()

    @property
    def supported(self) -> bool:
        return self.provider is not None


def token_field(fields: Sequence[Field] | None, prefix: str = "") -> str | None:
    """The dotted name of the field a provider's token fills, if the form has one."""
    for f in fields or ():
        if f.hint == FILLED_BY and not f.immutable:
            return prefix + f.name
        if (inner := token_field(f.form, prefix + f.name + ".")) is not None:
            return inner
    return None


def captcha_widget(response: IdxResponse, form: Form | None) -> CaptchaWidget | None:
    """The check `form` asks for (a `captchaVerify` field whose token a provider fills); None when
    it asks for none."""
    field = token_field(form.fields) if form is not None else None
    if field is None:
        return None
    found = response.captcha
    kind = found.type if found is not None and found.type and _TYPE.fullmatch(found.type) else ""
    provider = PROVIDERS.get(kind)
    site_key = found.site_key if found is not None else None
    if provider is None or site_key is None or not _SITE_KEY.fullmatch(site_key):
        return CaptchaWidget(type=kind, field=field)
    script, origins = provider.script, provider.origins
    if found is not None and found.script_source and (m := _LOOPBACK_SCRIPT.fullmatch(found.script_source)):
        script, origins = found.script_source, (m.group(1),)
    return CaptchaWidget(
        type=kind, field=field, site_key=site_key, provider=provider.api, script=script, origins=origins
    )


def csp_additions(widget: CaptchaWidget | None) -> dict[str, tuple[str, ...]]:
    """What the provider's widget needs beyond our own origin: its script (loaded with the page's
    nonce), the frames it draws the check in, its styles and its calls home."""
    if widget is None or not widget.supported:
        return {}
    return {directive: widget.origins for directive in ("script-src", "frame-src", "style-src", "connect-src")}
