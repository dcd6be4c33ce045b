"""Security checklist items over the shapes of Okta's Sign-In Widget fixtures (../shared, read in
place): a sign-in page with many identity providers, one on another host (mTLS). The same items
run on the project's own corpus in tests/test_security_checklist.py."""

from __future__ import annotations

import re

from conftest import ISSUER, hidden, post_step, shared, start


async def test_37_foreign_identity_provider_links_are_not_rendered_and_are_logged(client, org, caplog):
    doc = shared("identify-with-third-party-idps.json")
    forms_ = doc["remediation"]["value"]
    hrefs = {
        "Google": "javascript:alert(1)",
        "Facebook": "data:text/html,<script>alert(1)</script>",
        "Linkedin": "https://evil.example/sso/idps/x",
        "Apple": "http://localhost:3000.evil.example/sso/idps/apple",
    }
    for form in forms_:
        name = (form.get("idp") or {}).get("name", "")
        for idp, href in hrefs.items():
            if name.startswith(idp):
                form["href"] = href
    caplog.set_level("WARNING", logger="embedded")
    html = await start(client, org, doc)
    for idp, href in hrefs.items():
        assert f"Sign in with {idp}" not in html
        assert href not in html
    assert "Sign in with Microsoft" in html
    assert "mtls" not in html.lower()  # on another host than the Identity Engine too
    dropped = [r for r in caplog.records if "outside the Identity Engine" in r.getMessage()]
    assert len(dropped) == 5
    # The buttons that are left still lead where they say.
    form = re.search(r'name="_form" value="(\d+)">\s*(?:<[^>]+>\s*)*<button[^>]*>Sign in with Microsoft', html)
    resp = await post_step(client, html, {}, form=form.group(1))
    assert resp.status == 303 and resp.headers["Location"].startswith("http://localhost:3000/sso/idps/microsoft-123?")


async def test_50_the_okta_sign_out_comes_back_to_the_configured_origin(client, org, settings):
    html = await start(client, org, shared("identify-with-third-party-idps.json"))
    form = re.search(r'name="_form" value="(\d+)">\s*(?:<[^>]+>\s*)*<button[^>]*>Sign in with Google', html).group(1)
    await post_step(client, html, {}, form=form)
    state = org.interact_form["state"]
    resp = await client.get(
        "/login/callback", params={"interaction_code": "idp-code", "state": state}, allow_redirects=False
    )
    assert resp.headers["Location"] == "/"
    csrf = hidden(await (await client.get("/")).text(), "_csrf")
    resp = await client.post(
        "/logout",
        data={"_csrf": csrf},
        headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"},
        allow_redirects=False,
    )
    page = await resp.text()
    assert resp.status == 200 and "Location" not in resp.headers  # the ID token travels in a POST body, never a URL
    assert (
        f'action="{ISSUER}/v1/logout"' in page and 'name="post_logout_redirect_uri" value="http://127.0.0.1/"' in page
    )
