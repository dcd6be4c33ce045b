"""User enumeration prevention (`[org] user_enumeration_prevention`, Okta's Security > General
setting, on for new Okta orgs; off in the demo org). Off: an unknown user is told there is no
account, a locked one that the account is locked. On: identify, recovery and unlock answer an
unknown, staged or locked-out user exactly as an existing one (the same document but for the
ids derived from the identifier), a password challenge that then fails with the same message, a
"check your email" that sends nothing."""

import json
import re

import pytest

from embedded.simulator import SIMULATOR, create_simulator_app, demo_org

from .conftest import Idx, field_messages, names

ALICE = "alice@example.com"  # exists, password + email (recovery by email)
NOBODY = "nobody@example.com"


@pytest.fixture
async def hidden(aiohttp_client):
    org = demo_org()
    org.user_enumeration_prevention = True
    org.rate_limit_requests = 100
    return await aiohttp_client(create_simulator_app(org))


def same_shape(doc: dict, *identifiers: str) -> str:
    """The document with what must differ between two users masked: the transaction (stateHandle,
    expiry), and the ids and identifier derived from who was typed."""
    text = re.sub(r'"(stateHandle|expiresAt)": "[^"]*"', r'"\1": "…"', json.dumps(doc, sort_keys=True))
    text = re.sub(r"02[A-Za-z0-9_-]{40,}", "…", text)  # the state handle, in fields and hrefs
    text = re.sub(r'"challenge": "[A-Za-z0-9_-]{43}"', '"challenge": "…"', text)  # the passkey autofill challenge
    text = re.sub(r'"(00u|enr)[0-9a-f]{17}"', r'"\1…"', text)
    for identifier in identifiers:
        text = text.replace(identifier, "IDENTIFIER").replace(
            identifier[0] + "***" + identifier.split("@")[0][-1:], "MASK"
        )
    return text


async def identify(client, login: str) -> tuple[Idx, dict]:
    flow = Idx(client)
    await flow.start()
    return flow, await flow.submit("identify", identifier=login)


async def test_off_an_unknown_user_is_told_so_and_a_locked_one_too(client):
    flow, doc = await identify(client, NOBODY)
    assert flow.status == 400 and doc["messages"]["value"][0]["i18n"]["key"] == "idx.unknown.user"
    assert doc["messages"]["value"][0]["class"] == "INFO" and names(doc)[0] == "identify"
    flow, doc = await identify(client, "henry@example.com")
    assert flow.status == 400 and field_messages(doc) == ["errors.E0000069"]


@pytest.mark.parametrize("who", [NOBODY, "sam@example.com", "henry@example.com"], ids=["unknown", "staged", "locked"])
async def test_on_identify_answers_as_for_an_existing_user(hidden, who):
    _, alice = await identify(hidden, ALICE)
    flow, theirs = await identify(hidden, who)
    assert flow.status == 200 and names(theirs) == ["challenge-authenticator"]
    assert same_shape(theirs, who) == same_shape(alice, ALICE)
    # Until a factor is proven the user object carries only what was typed (and its id).
    assert set(theirs["user"]["value"]) == set(alice["user"]["value"]) == {"id", "identifier"}


@pytest.mark.parametrize(
    "who, password",
    [(NOBODY, "Alice-Passw0rd!"), ("henry@example.com", "Henry-Passw0rd!")],
    ids=["unknown", "locked-with-the-right-password"],
)
async def test_on_the_password_then_fails_with_the_same_message(hidden, who, password):
    alice, _ = await identify(hidden, ALICE)
    wrong = await alice.submit("challenge-authenticator", credentials={"passcode": "Wrong-Passw0rd!"})
    flow, _ = await identify(hidden, who)
    theirs = await flow.submit("challenge-authenticator", credentials={"passcode": password})
    assert (flow.status, alice.status) == (401, 401)
    assert same_shape(theirs, who) == same_shape(wrong, ALICE)
    assert theirs["messages"]["value"][0]["i18n"]["key"] == "incorrectPassword"


async def test_on_an_unknown_user_locks_out_after_as_many_attempts_as_a_real_one(hidden):
    answers = {}
    for who in (ALICE, NOBODY):
        flow, _ = await identify(hidden, who)
        for _ in range(5):
            doc = await flow.submit("challenge-authenticator", credentials={"passcode": "Wrong-Passw0rd!"})
        answers[who] = (flow.status, field_messages(doc), names(doc))
    assert answers[ALICE] == answers[NOBODY]
    assert (
        answers[NOBODY][:2] == (400, ["errors.E0000069"]) and answers[NOBODY][2][0] == "identify"
    )  # back to the start


async def test_on_recovery_of_an_unknown_user_says_check_your_email_and_sends_nothing(hidden):
    outbox = hidden.server.app[SIMULATOR].outbox
    docs = {}
    for who in (ALICE, NOBODY):
        flow, _ = await identify(hidden, who)
        docs[who] = await flow.action("currentAuthenticatorEnrollment", "recover")
        assert names(docs[who])[0] == "challenge-authenticator"
        assert docs[who]["currentAuthenticatorEnrollment"]["value"]["key"] == "okta_email"
        assert "resend" in docs[who]["currentAuthenticatorEnrollment"]["value"]
        docs[who, "code"] = await flow.submit("challenge-authenticator", credentials={"passcode": "123456"})
    assert same_shape(docs[NOBODY], NOBODY) == same_shape(docs[ALICE], ALICE)
    assert [m.to for m in outbox] == [ALICE]  # only the real account was emailed
    assert same_shape(docs[NOBODY, "code"], NOBODY) == same_shape(docs[ALICE, "code"], ALICE)
    assert field_messages(docs[NOBODY, "code"]) == ["api.authn.error.PASSCODE_INVALID"]


async def test_on_recovery_from_the_first_form_answers_the_same(aiohttp_client):
    org = demo_org()
    org.user_enumeration_prevention, org.first_form = True, "identifier_password"
    client = await aiohttp_client(create_simulator_app(org))
    docs = {}
    for who in (ALICE, NOBODY):
        flow = Idx(client)
        await flow.start()
        await flow.action("currentAuthenticator", "recover")
        docs[who] = await flow.submit("identify-recovery", identifier=who)
    assert names(docs[NOBODY])[0] == "challenge-authenticator"
    assert same_shape(docs[NOBODY], NOBODY) == same_shape(docs[ALICE], ALICE)


async def test_on_the_password_first_form_fails_alike(aiohttp_client):
    org = demo_org()
    org.user_enumeration_prevention, org.first_form = True, "identifier_password"
    client = await aiohttp_client(create_simulator_app(org))
    docs = {}
    for who in (ALICE, NOBODY):
        flow = Idx(client)
        await flow.start()
        docs[who] = (
            await flow.submit("identify", identifier=who, credentials={"passcode": "Wrong-Passw0rd!"}),
            flow.status,
        )
    assert docs[ALICE][1] == docs[NOBODY][1] == 401
    assert same_shape(docs[NOBODY][0], NOBODY) == same_shape(docs[ALICE][0], ALICE)
    assert field_messages(docs[NOBODY][0]) == ["errors.E0000004"]


async def test_on_unlock_of_an_unknown_user_answers_as_for_an_existing_one(hidden):
    docs, sent = {}, {}
    for who in (ALICE, NOBODY):
        flow = Idx(hidden)
        doc = await flow.start()
        doc = await flow.submit("unlock-account")
        option = doc["remediation"]["value"][0]["value"][1]["options"][0]["value"]["form"]["value"]
        docs[who] = await flow.submit(
            "select-authenticator-unlock-account",
            identifier=who,
            authenticator={f["name"]: f["value"] for f in option if "value" in f},
        )
        sent[who] = await (await hidden.get("/outbox.json", params={"to": who})).json()
    assert flow.status == 200 and names(docs[NOBODY])[0] == "challenge-authenticator"
    assert same_shape(docs[NOBODY], NOBODY) == same_shape(docs[ALICE], ALICE)
    assert len(sent[ALICE]) == 1 and sent[NOBODY] == []


async def test_on_existing_users_sign_in_as_before(hidden):
    flow, _ = await identify(hidden, ALICE)
    doc = await flow.submit("challenge-authenticator", credentials={"passcode": "Alice-Passw0rd!"})
    assert "successWithInteractionCode" in doc and (await flow.exchange()).status == 200
    assert doc["user"]["value"]["profile"]["firstName"] == "Alice"  # once proven, the profile
