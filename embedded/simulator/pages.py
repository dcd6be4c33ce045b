"""The few HTML pages people see on the simulator itself: home, outbox, fake IdP, signed out.
Every page says what this is: a development tool, not an identity provider."""

from html import escape

from aiohttp import web

BANNER = (
    "Local Identity Engine simulator: a development tool, not an identity provider. "
    "Never use it to protect anything real."
)

STYLE = (
    "body{font:15px/1.45 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#1d1d21}\n"
    ".banner{background:#fff4d6;border:1px solid #e6c35c;padding:.5rem .75rem;border-radius:6px}\n"
    "table{border-collapse:collapse;width:100%}"
    "td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left;vertical-align:top}\n"
    "td{overflow-wrap:anywhere}code{background:#f3f3f5;padding:0 .25rem;border-radius:3px}"
    ".num{font-size:1.6rem;font-weight:600}\n"
    "button{font:inherit;padding:.3rem .8rem;margin:.1rem;cursor:pointer}.error{color:#b00020}pre{white-space:pre-wrap}"
)


def page(title: str, body: str, refresh: int | None = None) -> str:
    meta = ""
    if refresh:  # reload every `refresh` seconds, except once someone starts filling a form in
        meta = (
            f'<noscript><meta http-equiv="refresh" content="{refresh}"></noscript><script>'
            f"var reload=setTimeout(function(){{location.reload()}},{refresh * 1000});"
            "document.addEventListener('focusin',function(e){if(e.target.closest('form.admin'))clearTimeout(reload)});"
            "</script>"
        )
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8><link rel=icon href=data:,>"
        f"<title>{escape(title)}</title>{meta}"
        f"<style>{STYLE}</style></head><body><p class=banner>{escape(BANNER)}</p>"
        f"<h1>{escape(title)}</h1>{body}</body></html>"
    )


def html(text: str, status: int = 200) -> web.Response:
    return web.Response(
        text=text,
        status=status,
        content_type="text/html",
        headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"},
    )


def index(description: str, issuer: str) -> str:
    return page(
        "Simulator",
        f"<p>Issuer: <code>{escape(issuer)}</code> · "
        f'<a href="/oauth2/default/.well-known/openid-configuration">discovery</a> · '
        f'<a href="/outbox">outbox</a></p><pre>{escape(description)}</pre>',
    )


def message_page(title: str, text: str) -> str:
    return page(title, f"<p>{escape(text)}</p>")


def signed_out() -> str:
    return message_page("Signed out", "The simulator session has ended.")


def idp_consent(idp, state_handle: str, users, error: str | None = None) -> str:
    options = "".join(f"<option value='{escape(u.login)}'>" for u in users)
    err = f"<p class=error>{escape(error)}</p>" if error else ""
    return page(
        f"Sign in with {idp.name}",
        f"""{err}
<p>This stands in for {escape(idp.name)}. Continue as any email address: an existing user of the org
signs in, a new one is created.</p>
<form method=post action="/sso/idps/{escape(idp.id)}?stateToken={escape(state_handle)}">
<label>Email <input name=email type=email list=users required autofocus></label>
<datalist id=users>{options}</datalist>
<button name=action value=continue>Continue</button> <button name=action value=cancel formnovalidate>Cancel</button>
</form>""",
    )


def idp_factor(idp, state_handle: str, user) -> str:
    return page(
        f"Verify with {idp.name}",
        f"""
<p>This stands in for {escape(idp.name)}, used here as a second factor: it confirms the person
already identified by the app.</p>
<form method=post action="/sso/idps/{escape(idp.id)}?stateToken={escape(state_handle)}">
<button name=action value=continue autofocus>Continue as {escape(user.login)}</button>
<button name=action value=cancel>Cancel</button>
</form>""",
    )


def smart_card(idp, state_handle: str, cards, error: str | None = None) -> str:
    err = f"<p class=error>{escape(error)}</p>" if error else ""
    choices = "".join(
        f"<p><label><input type=radio name=certificate value='{escape(e.id)}'{' checked' if i == 0 else ''}> "
        f"<strong>{escape(e.data.get('subject', u.login))}</strong><br><small>issued by "
        f"{escape(e.data.get('issuer', 'Example CA'))}, serial {escape(e.data.get('serial', '-'))}</small></label></p>"
        for i, (u, e) in enumerate(cards)
    )
    body = (
        f"<fieldset><legend>Certificate</legend>{choices}</fieldset>"
        if cards
        else "<p>No smart card certificate is available.</p>"
    )
    return page(
        "Insert your smart card",
        f"""{err}
<p>This stands in for the browser's certificate prompt ({escape(idp.name)}): pick the certificate on
the card to present it.</p>
<form method=post action="/sso/idps/{escape(idp.id)}?stateToken={escape(state_handle)}">
{body}
<button name=action value=continue{" disabled" if not cards else ""}>Continue</button>
<button name=action value=cancel formnovalidate>Cancel</button>
</form>""",
    )


def admin_form(users, app_url: str, activation_days: float = 7) -> str:
    """What an administrator does from the Admin console: send an activation or a reset email."""
    options = "".join(
        f"<option value='{escape(u.login)}'>{escape(u.login)}"
        f"{'' if u.status == 'active' else ' (' + escape(u.status) + ')'}</option>"
        for u in users
    )
    return f"""<h2>Admin</h2>
<p>As an administrator would: email a user an activation link (<code>{{app}}/activate?token=…</code>, staged
users) or a password-reset link (<code>{{app}}/reset-password?token=…</code>). Each token works once. Scripts:
<code>POST /_sim/admin/activation-email</code> or <code>/_sim/admin/reset-email</code> with <code>login</code>
(and optional <code>app_url</code>; for activation <code>expires_in</code> seconds, 0 = already expired), form or
JSON; the answer is <code>{{"link": …, "token": …}}</code>. An expired activation link offers to request a new
email.</p>
<form method=post class=admin><input type=hidden name=return value=outbox>
<label>User <select name=login>{options}</select></label>
<label>App <input name=app_url value='{escape(app_url)}' size=28></label>
<label>Activation link works for <select name=expires_in><option value="">{activation_days:g} days</option>
<option value=300>5 minutes</option><option value=0>already expired</option></select></label>
<button formaction="/_sim/admin/activation-email">Send activation email</button>
<button formaction="/_sim/admin/reset-email">Send password reset email</button>
</form>"""


def outbox(messages, users=(), app_url: str = "", activation_days: float = 7) -> str:
    rows = []
    for m in messages:
        sent = escape(m.as_json()["sent_at"])
        if m.kind == "push":
            if m.status == "pending":
                picks = (
                    "".join(f"<button name=answer value='{escape(c)}'>{escape(c)}</button>" for c in m.choices)
                    or "<button>Approve</button>"
                )
                ask = " Pick the number the app shows:" if m.choices else ""
                what = (
                    f"Push: {escape(m.subject)}{ask}"
                    f"<form method=post action='/outbox/push/{escape(m.id)}/approve'>{picks}</form>"
                    f"<form method=post action='/outbox/push/{escape(m.id)}/deny'><button>Deny</button></form>"
                )
            else:
                what = f"Push {escape(m.status)}"
        elif m.kind == "activation":
            what = (
                f"Okta Verify activation ({escape(m.channel or '')}) for {escape(m.account or '')}: "
                f"{escape(m.link or '')}"
            )
            if m.status == "pending":
                what += (
                    f"<form method=post action='/outbox/enrollment/{escape(m.id)}/activate'>"
                    "<label>Device name <input name=device_name value='Simulated phone'></label> "
                    "<button>Activate on this device</button></form>"
                )
            else:
                what += (
                    f"<br>Activated as {escape(m.device_name or '')}; TOTP secret <code>{escape(m.secret or '')}</code>"
                )
        elif m.code is None and m.link:  # an administrator's email: a link only
            what = f"{escape(m.subject)}: <a href='{escape(m.link)}'>{escape(m.link)}</a>"
        else:
            what = f"Code <span class=num>{escape(m.code or '')}</span>"
            if m.link:
                what += f"<br>Magic link: <a href='{escape(m.link)}'>{escape(m.link)}</a>"
        rows.append(f"<tr><td>{sent}</td><td>{escape(m.kind)}</td><td>{escape(m.to)}</td><td>{what}</td></tr>")
    table = (
        "<table><tr><th>Sent (UTC)</th><th>Kind</th><th>To</th><th>Content</th></tr>" + "".join(rows) + "</table>"
        if rows
        else "<p>Nothing sent yet.</p>"
    )
    admin = admin_form(users, app_url, activation_days) if users else ""
    return page(
        "Outbox",
        "<p>Codes, magic links, Okta Verify pushes and activations the org would have sent. "
        "JSON: <code>/outbox.json?to=ADDRESS</code>. This page refreshes every 5 s.</p>" + table + admin,
        refresh=5,
    )
