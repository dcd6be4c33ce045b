"""No step page can be brought to a 500 by what is posted to it (issue 4's acceptance).

Every kind of step page in the project's own corpus (each authenticator, enrollment, error,
recovery, consent and profile page) is shown through the app, then each of its forms is posted
with hostile values: everything empty, very long, control characters and markup, options that
were never offered, and every input twice. Each answer is
a page or a redirect below 500, and whatever reaches the Identity Engine is a well-formed body
for that form's own href. (tests/conformance/test_widget_hostile_inputs.py does the same to the
authenticator, enrollment and error pages among Okta's Sign-In Widget fixtures.)"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from conftest import ORG, own_corpus, start
from pages import read


def has_a_form_page(doc: dict) -> bool:
    """Terminal responses have nothing to post; a lone identity-provider link sends the browser
    straight there, with no page in between."""
    forms = (doc.get("remediation") or {}).get("value") or []
    return bool(forms) and not (len(forms) == 1 and forms[0].get("method") == "GET" and not doc.get("messages"))


def shape(doc: dict) -> tuple:
    """What makes one step page differ from another: its forms, the authenticator, any message."""
    current = (doc.get("currentAuthenticator") or doc.get("currentAuthenticatorEnrollment") or {}).get("value", {})
    forms = tuple(r.get("name") for r in doc["remediation"]["value"])
    return (
        forms,
        current.get("key"),
        tuple(current.get("methods") or ()) and current["methods"][0].get("type"),
        bool(doc.get("messages")),
    )


def step_pages() -> list[tuple[str, dict]]:
    pages: dict[tuple, tuple[str, dict]] = {}
    for name, doc in own_corpus():
        if "version" in doc and has_a_form_page(doc):
            pages.setdefault(shape(doc), (name, doc))
    return sorted(pages.values(), key=lambda page: page[0])


PAGES = step_pages()

HOSTILE = {
    "empty": lambda name: [""],
    "long": lambda name: ["x" * 4000],
    "control and markup": lambda name: [
        "\u0000\r\n<script>alert(1)</script>\u202e\udcff".encode("utf-8", "replace").decode()
    ],
    "never offered": lambda name: ["99" if not name.startswith("_") else "0"],
    "twice": lambda name: ["1", "2"],
}


@pytest.mark.parametrize("doc", [doc for _, doc in PAGES], ids=[name for name, _ in PAGES])
async def test_hostile_posts_never_cause_a_server_error(client, org, doc):
    for variant in HOSTILE:
        await post_hostile(client, org, doc, variant)


async def post_hostile(client, org, doc: dict, variant: str) -> None:
    """Post the page's primary form (the one people use) with `variant`'s values."""
    page = read(await start(client, org, doc))
    form = next((f for f in page.forms if f.hidden.get("_form") == "0"), None)
    if form is None:
        return
    # Whatever the app forwards gets an answer: the same step again.
    for r in doc["remediation"]["value"]:
        if r.get("href", "").startswith(ORG):
            org.idx(urlsplit(r["href"]).path, doc)
    data = list(form.hidden.items()) + [(name, v) for name in form.inputs for v in HOSTILE[variant](name)]
    data += [(name, HOSTILE[variant](name)[0]) for name in form.options if name not in form.inputs]
    before = len(org.calls)
    resp = await client.post("/login/step", data=data, allow_redirects=False)
    body = await resp.text()
    href = doc["remediation"]["value"][0].get("href", "")
    # A form pointing outside the Identity Engine is refused by design: a friendly 502, not a crash.
    assert resp.status < 500 or (resp.status == 502 and not href.startswith(ORG + "/")), (
        f"{form.name} {variant}: {resp.status}"
    )
    assert "Traceback" not in body
    for _, sent_path, kwargs in org.calls[before:]:
        sent = kwargs.get("json")
        assert isinstance(sent, dict) and sent.get("stateHandle") == doc.get("stateHandle"), (sent_path, sent)
        json.dumps(sent)  # a body the Identity Engine can read
    assert (await client.get("/login/step")).status < 500
