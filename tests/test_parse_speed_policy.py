"""`policy.without_account_failures` skips its copying walk when no string in the document is an
account-failure key (issue 20): the answers are the ones the full walk gives, on the project's
fixtures and on documents with failure messages put anywhere (checklist: ASVS 6.3.8, an unknown
or locked account reads like a wrong password on the entry pages)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from embedded import policy
from embedded.policy import ACCOUNT_FAILURE_KEYS, ENTRY_FORMS, SIGN_IN_FAILED, vet_response, without_account_failures

ORG = "https://org.example"
FIXTURES = Path(__file__).parent / "fixtures"


def full_walk(body: dict[str, Any]) -> dict[str, Any]:
    """The answer without the shortcut: every message list walked and copied."""
    found: list[bool] = []
    remediation = policy._without_failures(body["remediation"], found)
    messages = policy._strip_failures(body.get("messages"), found)
    if not found:
        return body
    if not isinstance(messages, dict) or not isinstance(messages.get("value"), list):
        messages = {"type": "array", "value": []}
    return {**body, "remediation": remediation, "messages": {**messages, "value": [SIGN_IN_FAILED, *messages["value"]]}}


def texts_of(body: dict[str, Any]) -> list[str]:
    """Texts `body` may have come as: plain, ASCII-escaped, and with every key's first letter
    written as a \\u escape (which the text shortcut must not read as "no key here")."""
    plain = json.dumps(body, ensure_ascii=False)
    escaped = plain
    for key in ACCOUNT_FAILURE_KEYS:
        escaped = escaped.replace(f'"{key}"', f'"\\u{ord(key[0]):04x}{key[1:]}"')
    assert json.loads(escaped) == body
    return [plain, json.dumps(body), escaped]


def same_as_full_walk(body: dict[str, Any]) -> bool:
    kept = copy.deepcopy(body)
    answer, expected = without_account_failures(body), full_walk(body)
    assert body == kept  # the input is never changed
    assert (answer is body) == (expected is body)  # unchanged: the very object (its text is kept as it came)
    for text in texts_of(body):  # read off the text it came as, when that is at hand
        from_text = without_account_failures(body, text)
        assert (from_text is body) == (expected is body) and from_text == expected
    return answer == expected


KEYS = st.sampled_from(sorted(ACCOUNT_FAILURE_KEYS) + ["E0000005", "idx.session.expired", "incorrectpassword"])
MESSAGE = st.fixed_dictionaries({"message": st.text(max_size=5), "i18n": st.fixed_dictionaries({"key": KEYS})})
MESSAGES = st.fixed_dictionaries({"type": st.just("array"), "value": st.lists(MESSAGE | st.none(), max_size=3)})
LEAF = st.none() | st.integers() | KEYS | st.text(max_size=4)
NAMES = st.sampled_from(["value", "form", "options", "i18n", "key", "name"])


def with_messages(node: dict[str, Any], messages: Any) -> dict[str, Any]:
    return node if messages is None else {**node, "messages": messages}


# Objects at any depth, a good share of them with a "messages" member (a list of messages or not).
TREE = st.recursive(
    LEAF,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.builds(with_messages, st.dictionaries(NAMES, inner, max_size=3), st.none() | MESSAGES | LEAF)
    ),
    max_leaves=25,
)


@settings(max_examples=500, deadline=None, database=None, derandomize=True)
@given(
    entry=st.sampled_from(sorted(ENTRY_FORMS)),
    forms=st.lists(TREE, max_size=3),
    messages=MESSAGES | TREE,
)
def test_the_shortcut_gives_what_the_full_walk_gives(entry, forms, messages):
    body = {
        "version": "1.0.0",
        "remediation": {"type": "array", "value": [{"name": entry, "href": ORG + "/idp/idx/identify"}, *forms]},
        "messages": messages,
    }
    assert same_as_full_walk(body)
    assert vet_response(body, ORG) == (full_walk(body), [])


def test_every_fixture_is_vetted_as_by_the_full_walk():
    changed = 0
    for path in sorted(FIXTURES.rglob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        remediation = doc.get("remediation") if isinstance(doc, dict) else None
        if not isinstance(remediation, dict) or not isinstance(remediation.get("value"), list):
            continue
        assert same_as_full_walk(doc), path
        changed += without_account_failures(doc) is not doc
    assert changed >= 2  # the unknown-user recordings are among them


def test_an_unknown_user_still_reads_as_a_failed_sign_in():
    doc = json.loads((FIXTURES / "recorded" / "unknown-user" / "02-identify.json").read_text(encoding="utf-8"))
    vetted, dropped = vet_response(doc, ORG)
    keys = [m.get("i18n", {}).get("key") for m in vetted["messages"]["value"]]
    assert keys[0] == "sign_in.failed" and not ACCOUNT_FAILURE_KEYS & set(keys) and dropped == []
    assert json.dumps(vetted).count("idx.unknown.user") == 0
