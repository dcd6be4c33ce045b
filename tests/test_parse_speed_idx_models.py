"""`parse` over every JSON document the project has (and Okta's Sign-In Widget fixtures, when they
are there): what it gives is what the dataclasses' own constructors would give, complete and
frozen, and each form, field, message and authenticator says what the document says.

The parser builds its frozen objects without their __init__ (the speed-up of issue 20); these
tests hold it to the same results."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from embedded.idx_models import Authenticator, Field, Form, IdxResponse, Message, NotAnIdxResponse, parse

OWN = Path(__file__).parent / "fixtures"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "idx-fixtures"


def documents(root: Path) -> list[tuple[str, Any]]:
    return [(str(p.relative_to(root)), json.loads(p.read_text(encoding="utf-8"))) for p in sorted(root.rglob("*.json"))]


def check_document(raw: Any) -> None:
    if not isinstance(raw, dict) or not isinstance(raw.get("version"), str):
        with pytest.raises(NotAnIdxResponse):
            parse(raw)
        return
    response = parse(raw)
    for obj in reachable(response):
        assert_as_constructed(obj)
    assert parse(copy.deepcopy(raw)) == response  # nothing hangs on the identity of the input's objects
    assert_says_what_the_document_says(raw, response)


def reachable(obj: Any) -> list[Any]:
    """Every dataclass instance in a parse result (each once)."""
    found: dict[int, Any] = {}
    stack = [obj]
    while stack:
        node = stack.pop()
        if dataclasses.is_dataclass(node):
            if id(node) in found:
                continue
            found[id(node)] = node
            stack.extend(getattr(node, f.name) for f in dataclasses.fields(node) if f.name != "raw")
        elif isinstance(node, tuple):
            stack.extend(node)
        elif isinstance(node, MappingProxyType):  # actions
            stack.extend(node.values())
    return list(found.values())


def assert_as_constructed(obj: Any) -> None:
    """Every attribute set, equal (and alike) to the same values given to the class's own
    constructor, and still frozen."""
    names = [f.name for f in dataclasses.fields(obj)]
    assert sorted(vars(obj)) == sorted(names), type(obj).__name__
    again = type(obj)(**{name: getattr(obj, name) for name in names})
    assert again == obj and repr(again) == repr(obj)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(obj, names[0], None)


def text(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def value_list(wrapper: Any) -> list[dict[str, Any]]:
    values = wrapper.get("value") if isinstance(wrapper, dict) else None
    return [v for v in values if isinstance(v, dict)] if isinstance(values, list) else []


def assert_says_what_the_document_says(raw: dict[str, Any], response: IdxResponse) -> None:
    assert response.version == raw["version"] and response.state_handle == text(raw.get("stateHandle"))
    assert response.raw is raw
    forms = [r for r in value_list(raw.get("remediation")) if isinstance(r.get("href"), str)]
    assert len(response.remediations) == len(forms)
    for raw_form, form in zip(forms, response.remediations, strict=True):
        assert_form(raw_form, form)
    assert_messages(raw.get("messages"), response.messages)
    assert ("cancel" in response.actions) == isinstance((raw.get("cancel") or {}).get("href"), str)
    success = raw.get("successWithInteractionCode")
    assert (response.success is not None) == (isinstance(success, dict) and isinstance(success.get("href"), str))
    for key, parsed in (
        ("authenticators", response.authenticators),
        ("authenticatorEnrollments", response.enrollments),
    ):
        listed = value_list(raw.get(key))
        assert [a.id for a in parsed] == [text(a.get("id")) for a in listed]
        assert [a.key for a in parsed] == [text(a.get("key")) for a in listed]
    for holder, parsed in (
        ("currentAuthenticator", response.current_authenticator),
        ("currentAuthenticatorEnrollment", response.current_enrollment),
    ):
        assert_holder(raw.get(holder), parsed)


def assert_holder(raw: Any, parsed: Authenticator | None) -> None:
    if not isinstance(raw, dict):
        assert parsed is None
        return
    inner = raw.get("value") if isinstance(raw.get("value"), dict) and "type" in raw and "key" not in raw else raw
    assert parsed is not None and (parsed.id, parsed.key, parsed.type) == tuple(
        text(inner.get(k)) for k in ("id", "key", "type")
    )
    for name, action in parsed.actions.items():
        assert action.href == inner[name]["href"]


def assert_form(raw: dict[str, Any], form: Form) -> None:
    assert form.href == raw["href"] and form.name == (text(raw.get("name")) or "")
    assert form.method == str(raw.get("method") or "POST").upper()
    assert_fields(raw.get("value"), form.fields)


def assert_fields(raw: Any, fields: tuple[Field, ...]) -> None:
    named = [f for f in raw if isinstance(f, dict) and isinstance(f.get("name"), str) and f["name"]] if raw else []
    assert [f.name for f in fields] == [f["name"] for f in named]
    for raw_field, field in zip(named, fields, strict=True):
        assert field.label == (text(raw_field.get("customLabel")) or text(raw_field.get("label")))
        assert field.required == (raw_field.get("required") in (True, "true"))
        assert field.secret == (raw_field.get("secret") in (True, "true"))
        assert field.visible == (raw_field.get("visible") is not False)
        assert field.mutable == (raw_field.get("mutable") is not False)
        if not isinstance(raw_field.get("value"), dict):
            assert field.value == raw_field.get("value")
        if isinstance(raw_field.get("form"), dict):
            assert_fields(raw_field["form"].get("value"), field.form or ())
        assert_messages(raw_field.get("messages"), field.messages)
        options = [o for o in raw_field.get("options") or [] if isinstance(o, dict)]
        assert [o.label for o in field.options] == [
            str(o["label"] if o.get("label") is not None else o.get("value")) for o in options
        ]


def assert_messages(raw: Any, messages: tuple[Message, ...]) -> None:
    listed = value_list(raw)
    assert [m.text for m in messages] == [str(m.get("message") or "") for m in listed]
    assert [m.cls for m in messages] == [str(m.get("class") or "INFO").upper() for m in listed]
    assert [m.key for m in messages] == [text((m.get("i18n") or {}).get("key")) for m in listed]


OWN_DOCUMENTS = documents(OWN)


@pytest.mark.parametrize("raw", [raw for _, raw in OWN_DOCUMENTS], ids=[name for name, _ in OWN_DOCUMENTS])
def test_every_own_document_parses_as_before(raw):
    check_document(raw)


def test_every_shared_fixture_parses_as_before():
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is not here: Okta's Sign-In Widget fixtures are read in place, never copied")
    found = documents(SHARED)
    assert len(found) > 100
    for name, raw in found:
        try:
            check_document(raw)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from exc


def test_a_shared_authenticator_is_parsed_once_and_reused():
    # The current enrollment is also an action holder, and options relate to it by path: one
    # object serves them all, equal to what parsing it on its own gives.
    enrollment = {
        "id": "e1",
        "key": "okta_email",
        "type": "email",
        "resend": {"name": "resend", "href": "https://o.example/idp/idx/challenge/resend", "value": []},
    }
    raw = {
        "version": "1.0.0",
        "currentAuthenticatorEnrollment": {"type": "object", "value": enrollment},
        "remediation": {
            "value": [
                {
                    "name": "challenge-authenticator",
                    "href": "https://o.example/idp/idx/challenge/answer",
                    "relatesTo": "$.currentAuthenticatorEnrollment",
                    "value": [{"name": "credentials", "relatesTo": ["$.currentAuthenticatorEnrollment"]}],
                }
            ]
        },
    }
    response = parse(raw)
    form = response.remediations[0]
    assert response.current_enrollment is form.authenticator is form.fields[0].authenticator
    assert response.actions["currentAuthenticatorEnrollment-resend"] is response.current_enrollment.actions["resend"]
    alone = parse({"version": "1.0.0", "currentAuthenticatorEnrollment": {"type": "object", "value": enrollment}})
    assert alone.current_enrollment == response.current_enrollment
    check_document(raw)
