"""Security round three: a hostile Identity Engine. Every URL it hands the app is checked before
anything is sent there or a browser is sent there (checklist 37, 46): control characters,
whitespace, the scheme and the origin. A link the browser would follow is dropped (and logged);
a form the app would post to is a 502 page with no call made. An answer with a 5xx status is
the upstream-error page whatever its body says (checklist 46), and a poll answered so waits longer."""

from __future__ import annotations

import copy
from urllib.parse import urlsplit

import pytest
from conftest import ORG, doc, post_step, start, with_messages

# What an href may carry that is not a URL of the org: line breaks that would split a header,
# other controls and Unicode breaks, whitespace, a backslash, a bracket left open, another
# scheme, user info, a look-alike host.
HOSTILE_HREFS = {
    "crlf": ORG + "/sso/idps/x\r\nSet-Cookie: pwned=1",
    "lf": ORG + "/sso/idps/x\nLocation: https://evil.example",
    "nel": ORG + "/sso/idps/x\x85y",
    "line-separator": ORG + "/sso/idps/x\u2028y",
    "vertical-tab": ORG + "/sso/idps/x\x0by",
    "escape": ORG + "/sso/idps/x\x1b[31m",
    "space": ORG + "/sso/idps/x y",
    "tab": ORG + "/sso/idps/x\ty",
    "backslash": ORG + "\\@evil.example/sso/idps/x",
    "open-bracket": "http://[::1/sso/idps/x",
    "bad-port": "http://localhost:abc/sso/idps/x",
    "other-scheme": "https://localhost:3000/sso/idps/x",
    "user-info": "http://admin@localhost:3000/sso/idps/x",
    "look-alike": "http://localhost:3000.evil.example/sso/idps/x",
}


def test_the_url_check_alone():
    from embedded.policy import is_org_url

    for org in ("https://acme.okta.com", "http://127.0.0.1:3000"):
        for good in ("/idp/idx/identify", "/sso/idps/0oa1?stateToken=a%0D%0Ab&x=%E2%80%A8", "/oauth2/v1/authorize#f"):
            assert is_org_url(org + good, org), org + good
        for bad in (
            "",
            org,  # no path
            org + "/x\r\n",
            org + "/x\x00",
            org + "/x\x7f",
            org + "/\u00e9",
            org + "/x\u2029",
            org + "/x\x0c",
            org + "/x y",
            org + "/x\\y",
            org + ".evil.example/x",
            org + "@evil.example/x",
            org + ":99999/x",
            org.replace("://", "://user:pw@") + "/x",
            org.replace("https://", "http://") + "/x"
            if org.startswith("https")
            else org.replace("http:", "https:") + "/x",
            org.upper() + "/x" if org.startswith("https") else "HTTP://[::1/x",
            "//" + org.split("//")[1] + "/x",
            "javascript:alert(1)",
            org + "/" + "a" * 8200,
        ):
            assert not is_org_url(bad, org), bad
        for not_text in (None, 3, ["x"], {"href": org + "/x"}):
            assert not is_org_url(not_text, org)


async def test_identity_provider_links_that_are_not_clean_org_urls_are_dropped_and_the_rest_work(client, org, caplog):
    """Before: a CR/LF href was rendered and followed, aiohttp refused the Location header and the
    browser got no answer at all; an open bracket made the first page a 500."""
    document = doc("identify")
    social = next(f for f in document["remediation"]["value"] if (f.get("idp") or {}).get("name") == "Fake Social")
    for name, href in HOSTILE_HREFS.items():
        document["remediation"]["value"].append({**social, "href": href, "idp": {"id": name, "name": name}})
    caplog.set_level("WARNING", logger="embedded")
    html = await start(client, org, document)
    assert [name for name in HOSTILE_HREFS if f"Sign in with {name}" in html] == []
    assert "Sign in with Fake Social" in html
    dropped = [r for r in caplog.records if "outside the Identity Engine" in r.getMessage()]
    assert len(dropped) == len(HOSTILE_HREFS)
    # Every form left on the page still leads where it says, and no answer carries a control character.
    for index, form in enumerate(doc("identify")["remediation"]["value"]):
        if form.get("method") != "GET":
            org.idx(urlsplit(form["href"]).path, document)  # whatever is sent there, the same page comes back
        page = await client.get("/login/step")
        resp = await post_step(client, await page.text(), {"identifier": "a@example.com"}, form=str(index))
        assert resp.status == 303 and resp.headers["Location"] == (
            form["href"] if form.get("method") == "GET" else "/login/step"
        )


async def test_an_identity_provider_routing_rule_with_a_crlf_href_gets_an_answer(client, org, caplog):
    """A routing rule leaves one GET link and nothing else: before, the app redirected to it and
    the browser got no answer; now the link is dropped and the step shows what is left."""
    document = doc("identify")
    redirect = next(f for f in document["remediation"]["value"] if f.get("method") == "GET")
    document = {
        **{k: v for k, v in document.items() if k != "messages"},
        "remediation": {"type": "array", "value": [{**redirect, "href": HOSTILE_HREFS["crlf"]}]},
    }
    caplog.set_level("WARNING", logger="embedded")
    org.idx("/idp/idx/introspect", document)
    resp = await client.get("/login", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/login/step"
    page = await client.get("/login/step")
    assert page.status == 200 and "\r" not in "".join(page.headers.values())
    assert any("outside the Identity Engine" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("name", ["crlf", "nel", "space", "backslash", "other-scheme", "user-info", "open-bracket"])
async def test_a_form_the_app_would_post_to_a_url_that_is_not_the_org_s_is_a_502_page_and_no_call(client, org, name):
    document = copy.deepcopy(doc("identify"))
    document["remediation"]["value"][0]["href"] = HOSTILE_HREFS[name].replace("/sso/idps/x", "/idp/idx/identify")
    html = await start(client, org, document)
    before = len(org.calls)
    resp = await post_step(client, html, {"identifier": "alice@example.com"})
    page = await resp.text()
    assert resp.status == 502 and "The sign-in service is not answering" in page and "Traceback" not in page
    assert org.calls[before:] == []


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_an_idx_5xx_with_an_ion_body_is_the_upstream_error_page_and_the_step_is_kept(client, org, status):
    """Before: a 500 carrying an Ion body (E0000009, no forms) was a 200 "You can't continue" page."""
    html = await start(client, org)
    failed = with_messages({"version": "1.0.0", "stateHandle": "s"}, ("E0000009", "Internal Server Error"))
    org.idx("/idp/idx/identify", failed, status=status)
    resp = await post_step(client, html, {"identifier": "alice@example.com"})
    page = await resp.text()
    assert resp.status == (503 if status == 503 else 502), resp.status
    assert "The sign-in service is not answering" in page and "can't continue" not in page
    again = await (await client.get("/login/step")).text()  # progress is kept: the same step, to try again
    assert "<!-- template: steps/identify.html -->" in again


async def test_a_poll_answered_with_a_5xx_waits_longer_and_the_step_stays(client, org):
    """steps.poll_once takes the UpstreamError as a missed poll (a 429 still waits 60 s:
    test_e2e_authenticators). Before: the 500's Ion body moved the page to "You can't continue"."""
    await start(client, org, doc("challenge-email"))
    failed = with_messages(doc("challenge-email"), ("E0000009", "Internal Server Error"))
    org.idx("/idp/idx/challenge/poll", failed, status=500)
    answer = await client.get("/login/poll", headers={"Accept": "application/json"})
    assert await answer.json() == {"changed": False, "location": None, "next_ms": 8000}  # twice the 4 s refresh
    assert org.paths().count("/idp/idx/challenge/poll") == 1
    page = await (await client.get("/login/step")).text()
    assert "can't continue" not in page and "credentials.passcode" in page  # still the email challenge


async def test_a_get_action_with_a_crlf_href_is_the_502_page(client, org):
    """An action (not a remediation) that the app follows as a link: a CR/LF in its href is
    the upstream-error page, never a dropped connection (checklist 37)."""
    document = copy.deepcopy(doc("challenge-email"))
    document["cancel"] = {**document["cancel"], "method": "GET", "href": HOSTILE_HREFS["crlf"]}
    html = await start(client, org, document)
    resp = await post_step(client, html, {}, action="cancel")
    assert resp.status == 502 and "\r" not in "".join(resp.headers.values())
