"""Forms and flow decisions over every document of the project's own corpus, plus the submission
rules. (tests/conformance/test_widget_forms_and_flow.py runs the same over Okta's Sign-In Widget
fixtures.)"""

from __future__ import annotations

import re

import pytest
from conftest import doc, own, own_corpus

from embedded import flow, forms, page, rendering
from embedded.idx_models import Field, Form, NotAnIdxResponse, parse

ION = [(name, raw) for name, raw in own_corpus() if "version" in raw]


def sample_submission(view: forms.FormView, choice_index: int = 0) -> dict[str, list[str]]:
    """What a person filling in every control would post (choosing option `choice_index`)."""
    data: dict[str, list[str]] = {}

    def fill(controls, chosen=True):
        for c in controls:
            if c.kind == "checkbox":
                if not chosen:
                    continue
                data.setdefault(c.name, []).append("on")
            elif c.kind in ("radio", "select"):
                if not chosen:  # another option's choice: a select still posts, a radio does not
                    if c.kind == "select":
                        data.setdefault(c.name, []).append("")
                    continue
                if not c.choices:
                    continue
                i = min(choice_index, len(c.choices) - 1)
                data.setdefault(c.name, []).append(c.choices[i].value)
                for j, choice in enumerate(c.choices):
                    fill(choice.controls, chosen=(j == i))
            elif c.kind == "number":
                data.setdefault(c.name, []).append("7" if chosen else "")
            else:
                data.setdefault(c.name, []).append(f"typed {c.name}" if chosen else "")

    fill(view.controls)
    return data


def immutable_paths(fields, prefix=""):
    for f in fields or ():
        if f.immutable:
            yield prefix + f.name, f
        elif f.form is not None:
            yield from immutable_paths(f.form, prefix + f.name + ".")


def lookup(body, dotted):
    node = body
    for part in dotted.split("."):
        node = node[part]
    return node


@pytest.mark.parametrize("raw", [raw for _, raw in ION], ids=[name for name, _ in ION])
def test_forms_round_trip_and_keep_server_values_out_of_the_browser(raw):
    assert_forms_round_trip(raw)


def assert_forms_round_trip(raw: dict) -> None:
    response = parse(raw)
    for index, form in enumerate(response.remediations):
        view = forms.form_view(form, str(index))
        # Fixed controls (a scope always shared) are shown disabled and never posted.
        names = {c.name for c in view.controls if not c.fixed}
        for name, _ in immutable_paths(form.fields):
            assert name not in names, f"{form.name}: server-owned {name} became a control"
        for choice_index in range(max([len(c.choices) for c in view.controls if c.choices] or [1])):
            submitted = sample_submission(view, choice_index)
            body = forms.to_body(form, submitted)
            # Server-owned values come from the form, whatever the browser sent.
            for name, field in immutable_paths(form.fields):
                assert lookup(body, name) == forms._server_value(field)
            assert forms.to_body(form, forms.flatten(body, form)) == body
            # Undeclared keys never reach the body.
            assert forms.to_body(form, {**submitted, "isAdmin": ["true"], "stateHandle": ["evil"]}) == body


def expected_outcome(raw: dict) -> type:
    """The outcome read straight off the JSON, independently of flow.decide."""
    remediations = (raw.get("remediation") or {}).get("value") or []
    if raw.get("successWithInteractionCode"):
        return flow.ExchangeCode
    if not remediations:
        keys = [(m.get("i18n") or {}).get("key") for m in (raw.get("messages") or {}).get("value", [])]
        return flow.Expired if "idx.session.expired" in keys else flow.Terminal
    first = remediations[0]
    if len(remediations) == 1 and first.get("method") == "GET" and not raw.get("messages"):
        return flow.RedirectToIdp
    user_inputs = [
        f for f in first.get("value", []) if f.get("mutable", True) is not False and f.get("visible", True) is not False
    ]
    if "refresh" in first and not user_inputs:
        return flow.Poll
    return flow.ShowForm


@pytest.mark.parametrize("raw", [raw for _, raw in ION], ids=[name for name, _ in ION])
def test_decide_matches_the_response(raw):
    assert type(flow.decide(parse(raw))) is expected_outcome(raw)


def test_outcomes_for_our_own_sequences():
    assert flow.decide(parse(own("success-with-interaction-code.json"))) == flow.ExchangeCode("ic-test-code-1")
    expired = flow.decide(parse(doc("session-expired")))
    assert isinstance(expired, flow.Expired)
    shown = flow.decide(parse(own("challenge-password.json")))
    assert isinstance(shown, flow.ShowForm)
    assert shown.page.templates == (
        "steps/challenge-authenticator--okta_password--password.html",  # one method: a page for it may exist
        "steps/challenge-authenticator--okta_password.html",
        "steps/challenge-authenticator.html",
        "steps/_generic.html",
    )
    assert [a.name for a in shown.page.alternatives] == ["select-authenticator-authenticate"]
    assert {a.id for a in shown.page.actions} == {"cancel", "currentAuthenticatorEnrollment-recover"}


def test_poll_never_faster_than_a_second():
    assert flow.poll_interval(None) == 4000 and flow.poll_interval(200) == 1000 and flow.poll_interval(6000) == 6000


def test_template_lookup_order():
    assert page.template_names("enroll-authenticator", "google_otp") == (
        "steps/enroll-authenticator--google_otp.html",
        "steps/enroll-authenticator.html",
        "steps/_generic.html",
    )
    assert page.template_names("identify", None) == ("steps/identify.html", "steps/_generic.html")
    assert page.template_names(None, None) == ("terminal.html",)


def test_theme_directory_overrides_one_step_and_its_texts(tmp_path):
    (tmp_path / "steps").mkdir()
    (tmp_path / "steps" / "identify.html").write_text(
        "<!-- template: {{ template_name }} -->custom {{ ui('submit.identify') }}"
    )
    (tmp_path / "messages").mkdir()
    (tmp_path / "messages" / "en.json").write_text('{"submit.identify": "Log on"}')
    env = rendering.create_env(str(tmp_path))
    response = parse(doc("identify"))
    names, context = rendering.step_context(response, flow.decide(response), version=1)
    assert rendering.render(env, names, context) == "<!-- template: steps/identify.html -->custom Log on"
    # Other steps still come from the built-in templates, with the override's texts.
    response = parse(own("challenge-password.json"))
    names, context = rendering.step_context(response, flow.decide(response), version=1)
    html = rendering.render(env, names, {**context, "csrf_token": "t", "csp_nonce": "n", "notices": []})
    assert "<!-- template: steps/challenge-authenticator--okta_password.html -->" in html


def form(*fields: Field) -> Form:
    return Form(
        name="f",
        href="https://org/f",
        fields=(*fields, Field(name="stateHandle", value="SH", visible=False, mutable=False)),
    )


def test_coercion_and_choices():
    f = form(
        Field(name="age", type="integer"),
        Field(name="ratio", type="number"),
        Field(name="agree", type="boolean"),
        Field(name="plan", options=(forms_option("a"), forms_option("b"))),
        Field(name="identifier"),
        Field(name="secret", secret=True),
    )
    body = forms.to_body(
        f, {"age": ["42"], "ratio": ["1.5"], "plan": ["b"], "identifier": ["  a@b.c\t"], "secret": ["  pä$$ 🙂 "]}
    )
    assert body == {
        "age": 42,
        "ratio": 1.5,
        "agree": False,
        "plan": "b",
        "identifier": "a@b.c",
        "secret": "  pä$$ 🙂 ",
        "stateHandle": "SH",
    }
    with pytest.raises(forms.SubmissionError) as refused:
        forms.to_body(f, {"plan": ["z"]})
    assert refused.value.key == "form.choose_option"  # a text key, never English from the core
    with pytest.raises(forms.SubmissionError) as refused:
        forms.to_body(f, {"age": ["forty"]})
    assert refused.value.key == "form.enter_number"


def test_a_new_password_typed_twice_must_match():
    f = form(Field(name="credentials", form=(Field(name="passcode", secret=True),)))
    assert forms.to_body(f, {"credentials.passcode": ["Pa55-word"], "confirmPassword": ["Pa55-word"]})[
        "credentials"
    ] == {"passcode": "Pa55-word"}
    assert "confirmPassword" not in forms.to_body(
        f, {"credentials.passcode": ["Pa55-word"], "confirmPassword": ["Pa55-word"]}
    )
    assert forms.to_body(f, {"credentials.passcode": ["Pa55-word"]})["credentials"] == {
        "passcode": "Pa55-word"
    }  # no second copy: nothing to compare
    assert forms.to_body(f, {"credentials.passcode": ["Pa55-word"], "confirmPassword": [""]})["credentials"] == {
        "passcode": "Pa55-word"
    }
    with pytest.raises(forms.SubmissionError) as refused:
        forms.to_body(f, {"credentials.passcode": ["Pa55-word"], "confirmPassword": ["Pa55-wore"]})
    assert refused.value.key == "password.mismatch" and refused.value.field == "confirmPassword"


def forms_option(value):
    from embedded.idx_models import Option

    return Option(label=value.upper(), value=value)


def test_security_question_options_sharing_an_input_name():
    response = parse(doc("enroll-security-question"))
    enroll = response.remediation("enroll-authenticator")
    view = forms.form_view(enroll, "0")
    credentials = next(c for c in view.controls if c.name == "credentials")
    custom = next(
        i for i, c in enumerate(credentials.choices) if any(s.name == "credentials.question" for s in c.controls)
    )
    # The browser posts every option's inputs; only the chosen option's copy counts.
    posted = {
        "credentials": [str(custom)],
        "credentials.questionKey": ["disliked_food"],
        "credentials.answer": ["", "my answer"],
        "credentials.question": ["My own?"],
    }
    if custom == 0:
        posted["credentials.answer"] = ["my answer", ""]
    body = forms.to_body(enroll, posted)
    assert body["credentials"]["answer"] == "my answer"
    assert body["credentials"]["question"] == "My own?"
    assert body["credentials"]["questionKey"] == "custom"


def test_not_an_idx_response_is_a_value_error():
    assert issubclass(NotAnIdxResponse, ValueError)
    assert re.match(r"an IDX response", str(NotAnIdxResponse("an IDX response carries a 'version'")))


def test_hidden_fields_without_a_value_are_filled_by_the_page_script():
    enroll = parse(doc("enroll-webauthn")).remediations[0]
    view = forms.form_view(enroll, "0")
    assert [(c.name, c.kind) for c in view.controls] == [
        ("credentials.clientData", "hidden"),
        ("credentials.attestation", "hidden"),
        ("credentials.transports", "hidden"),
        ("credentials.clientExtensions", "hidden"),
    ]
    body = forms.to_body(
        enroll,
        {
            "credentials.clientData": ["cd"],
            "credentials.attestation": ["at"],
            "credentials.transports": ['["usb"]'],
            "credentials.clientExtensions": ["{}"],
        },
    )
    assert body["credentials"] == {
        "clientData": "cd",
        "attestation": "at",
        "transports": '["usb"]',
        "clientExtensions": "{}",
    }
    # A hidden choice (Okta Verify's method inside the authenticator list, as Okta sends it) is left to the next step.
    methods = [{"value": m, "label": m} for m in ("signed_nonce", "push", "totp")]
    okta_verify = {
        "label": "Okta Verify",
        "relatesTo": "$.authenticators.value[0]",
        "value": {
            "form": {
                "value": [
                    {
                        "name": "id",
                        "value": "auttheidkwh282hv8g3",
                        "required": True,
                        "mutable": False,
                        "visible": False,
                    },
                    {
                        "name": "methodType",
                        "required": False,
                        "mutable": True,
                        "visible": False,
                        "type": "string",
                        "options": methods,
                    },
                ]
            }
        },
    }
    raw = {
        "version": "1.0.0",
        "stateHandle": "sh",
        "authenticators": {"value": [{"key": "okta_verify", "type": "app", "id": "auttheidkwh282hv8g3"}]},
        "remediation": {
            "value": [
                {
                    "name": "select-authenticator-authenticate",
                    "href": "https://org/idp/idx/challenge",
                    "value": [
                        {"name": "authenticator", "type": "object", "options": [okta_verify]},
                        {"name": "stateHandle", "value": "sh", "visible": False, "mutable": False},
                    ],
                }
            ]
        },
    }
    select = parse(raw).remediation("select-authenticator-authenticate")
    view = forms.form_view(select, "1")
    (authenticator,) = view.controls
    assert all(not choice.controls for choice in authenticator.choices)
    assert forms.to_body(select, {"authenticator": ["0"]})["authenticator"] == {"id": "auttheidkwh282hv8g3"}


def test_webauthn_pages_know_the_enrolled_credentials():
    raw = {
        "version": "1.0.0",
        "remediation": {
            "value": [{"name": "challenge-authenticator", "href": "https://org/idp/idx/challenge/answer", "value": []}]
        },
        "authenticatorEnrollments": {
            "value": [
                {"key": "webauthn", "type": "security_key", "id": "1", "credentialId": "cred-A"},
                {"key": "okta_password", "type": "password", "id": "2"},
                {"key": "webauthn", "type": "security_key", "id": "3", "credentialId": "cred-B"},
            ]
        },
    }
    assert page.build_page(parse(raw)).webauthn_credential_ids == ("cred-A", "cred-B")
