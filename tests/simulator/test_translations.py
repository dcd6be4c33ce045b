"""The simulator answers in the request's language (Accept-Language): its messages, global and on
fields, and the labels Okta words itself, in French or German; English otherwise."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from embedded.simulator import translations
from embedded.simulator.ion import MSG

from .conftest import ION, remediation


async def post(idx, href: str, body: dict, language: str | None) -> dict:
    headers = {"Accept": ION, **({"Accept-Language": language} if language else {})}
    r = await idx.client.post(
        urlsplit(href).path, json={**body, "stateHandle": idx.doc["stateHandle"]}, headers=headers
    )
    return await idx._take(r)


def labels(doc: dict, form: str) -> list[str]:
    out = []

    def walk(fields):
        for f in fields:
            if "label" in f:
                out.append(f["label"])
            walk(f.get("form", {}).get("value", []))

    walk(remediation(doc, form)["value"])
    return out


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("fr-FR,fr;q=0.9,en;q=0.8", "Le mot de passe est incorrect"),
        ("de", "Das Passwort ist falsch"),
        ("en-US,en;q=0.9,fr;q=0.5", "Password is incorrect"),
        ("ja", "パスワードが正しくありません"),
        ("fi", "Password is incorrect"),
        (None, "Password is incorrect"),
    ],
)
async def test_a_wrong_password_in_the_callers_language(idx, language, expected):
    doc = await idx.start()
    doc = await post(idx, remediation(doc, "identify")["href"], {"identifier": "alice@example.com"}, language)
    await post(
        idx, remediation(doc, "challenge-authenticator")["href"], {"credentials": {"passcode": "wrong"}}, language
    )
    message = idx.doc["messages"]["value"][0]
    assert idx.status == 401 and message["message"] == expected and message["i18n"]["key"] == "incorrectPassword"


async def test_field_errors_parameters_and_labels(idx):
    doc = await idx.start()
    doc = await post(idx, remediation(doc, "identify")["href"], {"identifier": ""}, "fr")
    field = remediation(doc, "identify")["value"][0]
    assert field["label"] == "Nom d'utilisateur"
    assert field["messages"]["value"][0]["message"] == "Ce champ ne peut pas rester vide"
    assert "Rester connecté" in labels(doc, "identify")
    await post(idx, remediation(doc, "identify")["href"], {"identifier": "nobody@example.com"}, "de")
    assert idx.doc["messages"]["value"][0]["message"] == "Es gibt kein Konto mit dem Benutzernamen nobody@example.com."
    assert labels(idx.doc, "identify")[0] == "Benutzername"


async def test_an_org_attribute_keeps_the_admins_label(idx):
    doc = await idx.start()
    doc = await post(idx, remediation(doc, "select-enroll-profile")["href"], {}, "fr")
    shown = labels(doc, "enroll-profile")
    assert "Prénom" in shown and "Mot de passe" in shown
    assert "Favourite colour" in shown  # the org's own attribute, as its admin wrote it


def test_every_message_has_both_translations_with_its_parameters():
    for lang in translations.LANGUAGES:
        assert set(translations.MESSAGES[lang]) == set(MSG)
        for name, (_, english) in MSG.items():
            for i in range(english.count("{")):
                assert f"{{{i}}}" in translations.MESSAGES[lang][name], (lang, name)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("fr-CA", "fr"),
        ("de-AT;q=0.8, fr;q=0.9", "fr"),
        ("en, de", None),
        ("*", None),
        ("de;q=0", None),
        ("x" * 5000, None),
        ("", None),
    ],
)
def test_the_language_of_a_header(header, expected):
    assert translations.language(header) == expected
