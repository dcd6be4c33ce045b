"""The Ion model over every document of the project's own corpus, and the parser's tolerance.
(tests/conformance/test_widget_models.py runs the same over Okta's Sign-In Widget fixtures.)"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import own, own_corpus

from embedded.idx_models import NotAnIdxResponse, parse, resolve_path

CORPUS = own_corpus()


@pytest.mark.parametrize("raw", [raw for _, raw in CORPUS], ids=[name for name, _ in CORPUS])
def test_every_recorded_document_parses_or_is_refused_clearly(raw):
    assert_parses(raw, ion="version" in raw)


def assert_parses(raw: Any, *, ion: bool) -> None:
    """An Ion document parses with every remediation, href and authenticator; anything else is
    refused with NotAnIdxResponse."""
    if not ion:
        with pytest.raises(NotAnIdxResponse):
            parse(raw)
        return
    response = parse(raw)
    assert response.version == raw["version"]
    assert len(response.remediations) == len((raw.get("remediation") or {}).get("value", []))
    for form in response.remediations:
        assert form.href.startswith("http")
    # Every remediation `relatesTo` that names a real path resolves to an authenticator.
    for raw_form, form in zip(raw.get("remediation", {}).get("value", []), response.remediations, strict=False):
        target = resolve_path(raw, raw_form.get("relatesTo"))
        if isinstance(target, dict) and isinstance(target.get("value"), dict):
            assert form.authenticator is not None and form.authenticator.key == target["value"].get("key")


def test_relates_to_paths_resolve_and_bad_ones_are_tolerated():
    doc = {"a": {"value": [{"key": "x"}, {"key": "y"}]}}
    assert resolve_path(doc, "$.a.value[1]") == {"key": "y"}
    assert resolve_path(doc, ["$.a"]) == doc["a"]
    for bad in ("$.a.value[7]", "$.missing", "a.value[0]", "authenticatorChallenge", "$..a", [], None, 3):
        assert resolve_path(doc, bad) is None
    broken = {
        "version": "1.0.0",
        "remediation": {
            "value": [
                {
                    "name": "x",
                    "href": "https://o/x",
                    "relatesTo": ["$.nothing[3]"],
                    "value": [{"name": "f", "relatesTo": "$.zz"}],
                }
            ]
        },
    }
    response = parse(broken)
    assert response.remediations[0].authenticator is None
    assert response.remediations[0].fields[0].authenticator is None


def test_an_authenticator_that_relates_to_itself_parses():
    """A `relatesTo` cycle (an authenticator's resend form whose field points back at it) once
    recursed until Python gave up: the inner reference reads as no authenticator instead."""
    looped = {
        "version": "1.0.0",
        "currentAuthenticator": {
            "type": "object",
            "value": {
                "key": "okta_email",
                "type": "email",
                "resend": {
                    "name": "resend",
                    "href": "https://o/idp/idx/challenge/resend",
                    "value": [{"name": "stateHandle", "relatesTo": "$.currentAuthenticator"}],
                },
            },
        },
        "remediation": {"value": [{"name": "x", "href": "https://o/x", "relatesTo": "$.currentAuthenticator"}]},
    }
    response = parse(looped)
    authenticator = response.remediations[0].authenticator
    assert authenticator is not None and authenticator.key == "okta_email"
    assert authenticator.actions["resend"].fields[0].authenticator is None


def test_interaction_code_and_actions():
    response = parse(own("success-with-interaction-code.json"))
    assert response.interaction_code == "ic-test-code-1"
    assert response.remediations == ()
    challenge = parse(own("challenge-password.json"))
    assert set(challenge.actions) == {"cancel", "currentAuthenticatorEnrollment-recover"}
    assert challenge.remediations[0].authenticator.key == "okta_password"
    assert challenge.user["identifier"] == "alice@example.com"


def test_unknown_keys_and_odd_values_are_tolerated():
    raw = {
        "version": "1.0.0",
        "somethingNew": {"x": 1},
        "messages": {"value": [{"message": "hi", "class": "warning", "i18n": {"key": "k", "params": [1]}}, "junk"]},
        "remediation": {
            "value": [
                {
                    "name": "r",
                    "href": "https://o/r",
                    "refresh": "4000",
                    "value": [{"name": "a", "required": "false"}, {"nope": 1}, "x"],
                },
                {"no": "href"},
            ]
        },
    }
    response = parse(raw)
    assert response.messages[0].cls == "WARNING" and response.messages[0].params == (1,)
    assert response.remediations[0].refresh == 4000
    assert [f.name for f in response.remediations[0].fields] == ["a"]
    assert response.remediations[0].fields[0].required is False


@pytest.mark.parametrize("doc", [None, [], "text", 3, {}, {"version": 1}, {"error": "invalid_request"}])
def test_documents_that_are_not_idx_responses_raise_one_error(doc):
    with pytest.raises(NotAnIdxResponse):
        parse(doc)
