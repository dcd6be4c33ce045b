"""The simulator speaking the client's language, as Okta does: an IDX answer's messages (global and
field errors) and the labels of the fields Okta itself names come back in the language of the
request's Accept-Language, French or German here; any other language gets English.

Applied to a finished document (`translate`), so the engine and the documents stay in English. The
wording is the simulator's own.
"""

from __future__ import annotations

import re
from typing import Any

from .ion import MSG, Json

LANGUAGES = ("fr", "de")
_RANGE = re.compile(r"\s*([A-Za-z]{1,8})(?:-[A-Za-z0-9]{1,8})*\s*(?:;\s*q\s*=\s*([01](?:\.\d{0,3})?)\s*)?")

# By the simulator's message names (ion.MSG): one i18n key may carry two texts (a wrong code and a
# wrong answer share api.authn.error.PASSCODE_INVALID), so the English text says which one it is.
MESSAGES: dict[str, dict[str, str]] = {
    "fr": {
        "session_expired": "Vous avez été déconnecté pour cause d'inactivité. Actualisez la page ou revenez à l'écran de connexion.",
        "passcode_invalid": "Code non valide. Réessayez.",
        "duo_failed": "La vérification de la signature Duo a échoué.",
        "duo_timeout": "Duo n'a pas répondu.",
        "vip_invalid": "Votre code ne correspond pas à nos enregistrements. Réessayez.",
        "password_incorrect": "Le mot de passe est incorrect",
        "auth_failed": "L'authentification a échoué",
        "unknown_user": "Il n'existe aucun compte avec le nom d'utilisateur {0}.",
        "locked": "Votre compte est verrouillé à la suite d'un trop grand nombre de tentatives d'authentification.",
        "not_assigned": "L'utilisateur n'est pas affecté à cette application.",
        "bad_request": "Requête incorrecte.",
        "server_error": "Erreur interne du serveur",
        "malformed": "Le corps de la requête est mal formé.",
        "too_many": "Trop de requêtes",
        "access_denied": "Vous n'avez pas l'autorisation d'effectuer l'action demandée.",
        "push_rejected": "Vous avez choisi de refuser cette connexion.",
        "requirements": "Les exigences du mot de passe ne sont pas respectées. {0}",
        "common_password": "Ce mot de passe figure dans une liste de mots de passe courants. Choisissez-en un autre.",
        "answer_short": "La réponse à la question de sécurité doit comporter au moins 4 caractères",
        "answer_wrong": "Votre réponse ne correspond pas à nos enregistrements. Réessayez.",
        "invalid_phone": "Numéro de téléphone non valide.",
        "required": "Ce champ ne peut pas rester vide",
        "invalid_value": "La valeur de ce champ n'est pas valide",
        "not_unique": "Un utilisateur avec cette valeur ({0}) existe déjà",
        "invalid_email": "« E-mail » doit être une adresse e-mail",
        "reset_not_allowed": "La réinitialisation du mot de passe n'est pas autorisée pour le moment. Contactez l'assistance.",
        "unlock_not_allowed": "Le déverrouillage en libre-service n'est pas autorisé pour le moment. Contactez l'assistance.",
        "unlock_success": "Vous pouvez vous connecter avec votre nom d'utilisateur et votre mot de passe actuels",
        "unlock_landing": "Compte déverrouillé ! Vérifiez votre compte avec une méthode de sécurité pour continuer.",
        "recovery_completed": "Vous pouvez maintenant vous connecter avec votre nom d'utilisateur et votre nouveau mot de passe.",
        "email_verification": "Pour terminer la connexion, consultez vos e-mails.",
        "suspended": "Ce facteur est suspendu pour votre compte à la suite d'un trop grand nombre d'échecs",
        "webauthn_attestation": "La clé de sécurité ou l'authentificateur biométrique n'a pas pu être enregistré. Réessayez.",
        "webauthn_assertion": "Aucun des authentificateurs WebAuthn de l'utilisateur n'a pu valider l'assertion",
        "sms_limit": "Vous avez atteint la limite de SMS. Réessayez plus tard.",
        "voice_limit": "Vous avez atteint la limite d'appels. Réessayez plus tard.",
        "password_expiring": "Quand votre mot de passe expirera, vous devrez le changer avant de vous connecter à votre compte {0}.",
        "idp_error": "La connexion avec le fournisseur d'identité a rencontré un problème.",
        "activation_expired": "Votre lien d'activation n'est plus valide. Demandez un nouvel e-mail d'activation ci-dessous.",
        "activation_expired_admin": "Votre lien d'activation n'est plus valide. Demandez un nouveau lien à votre administrateur.",
        "activation_requested": "Nouveau lien d'activation demandé. Si vos informations correspondent à nos enregistrements, vous le recevrez bientôt.",
        "captcha_invalid": "La vérification CAPTCHA a échoué. Réessayez.",
    },
    "de": {
        "session_expired": "Sie wurden wegen Inaktivität abgemeldet. Laden Sie die Seite neu oder kehren Sie zur Anmeldung zurück.",
        "passcode_invalid": "Ungültiger Code. Versuchen Sie es erneut.",
        "duo_failed": "Die Prüfung der Duo-Signatur ist fehlgeschlagen.",
        "duo_timeout": "Duo hat nicht geantwortet.",
        "vip_invalid": "Ihr Code stimmt nicht mit unseren Daten überein. Versuchen Sie es erneut.",
        "password_incorrect": "Das Passwort ist falsch",
        "auth_failed": "Authentifizierung fehlgeschlagen",
        "unknown_user": "Es gibt kein Konto mit dem Benutzernamen {0}.",
        "locked": "Ihr Konto ist nach zu vielen Anmeldeversuchen gesperrt.",
        "not_assigned": "Der Benutzer ist dieser Anwendung nicht zugewiesen.",
        "bad_request": "Ungültige Anfrage.",
        "server_error": "Interner Serverfehler",
        "malformed": "Der Inhalt der Anfrage ist fehlerhaft.",
        "too_many": "Zu viele Anfragen",
        "access_denied": "Sie sind nicht berechtigt, diese Aktion auszuführen.",
        "push_rejected": "Sie haben diese Anmeldung abgelehnt.",
        "requirements": "Die Passwortanforderungen sind nicht erfüllt. {0}",
        "common_password": "Dieses Passwort steht auf einer Liste häufig verwendeter Passwörter. Wählen Sie ein anderes.",
        "answer_short": "Die Antwort auf die Sicherheitsfrage muss mindestens 4 Zeichen lang sein",
        "answer_wrong": "Ihre Antwort stimmt nicht mit unseren Daten überein. Versuchen Sie es erneut.",
        "invalid_phone": "Ungültige Telefonnummer.",
        "required": "Dieses Feld darf nicht leer sein",
        "invalid_value": "Dieses Feld enthält einen ungültigen Wert",
        "not_unique": "Ein Benutzer mit diesem Wert ({0}) existiert bereits",
        "invalid_email": "„E-Mail“ muss eine E-Mail-Adresse sein",
        "reset_not_allowed": "Das Zurücksetzen des Passworts ist derzeit nicht erlaubt. Wenden Sie sich an den Support.",
        "unlock_not_allowed": "Das Entsperren per Self-Service ist derzeit nicht erlaubt. Wenden Sie sich an den Support.",
        "unlock_success": "Sie können sich mit Ihrem bisherigen Benutzernamen und Passwort anmelden",
        "unlock_landing": "Konto entsperrt! Bestätigen Sie Ihr Konto mit einer Sicherheitsmethode, um fortzufahren.",
        "recovery_completed": "Sie können sich jetzt mit Ihrem Benutzernamen und dem neuen Passwort anmelden.",
        "email_verification": "Prüfen Sie Ihre E-Mails, um die Anmeldung abzuschließen.",
        "suspended": "Dieser Faktor ist für Ihr Konto nach zu vielen Fehlversuchen gesperrt",
        "webauthn_attestation": "Der Sicherheitsschlüssel oder biometrische Authenticator konnte nicht registriert werden. Versuchen Sie es erneut.",
        "webauthn_assertion": "Keiner der WebAuthn-Authenticatoren des Benutzers konnte die Assertion bestätigen",
        "sms_limit": "Sie haben die Höchstzahl an SMS erreicht. Versuchen Sie es später erneut.",
        "voice_limit": "Sie haben die Höchstzahl an Anrufen erreicht. Versuchen Sie es später erneut.",
        "password_expiring": "Wenn Ihr Passwort abläuft, müssen Sie es ändern, bevor Sie sich bei Ihrem Konto {0} anmelden können.",
        "idp_error": "Bei der Anmeldung über den Identitätsanbieter ist ein Problem aufgetreten.",
        "activation_expired": "Ihr Aktivierungslink ist nicht mehr gültig. Fordern Sie unten eine neue Aktivierungs-E-Mail an.",
        "activation_expired_admin": "Ihr Aktivierungslink ist nicht mehr gültig. Bitten Sie Ihren Administrator um einen neuen Link.",
        "activation_requested": "Neuer Aktivierungslink angefordert. Wenn Ihre Angaben mit unseren Daten übereinstimmen, erhalten Sie ihn in Kürze.",
        "captcha_invalid": "Die CAPTCHA-Prüfung ist fehlgeschlagen. Versuchen Sie es erneut.",
    },
}

# Labels of the fields Okta names itself (an org's own profile attributes keep the admin's label).
LABELS: dict[str, dict[str, str]] = {
    "fr": {
        "Username": "Nom d'utilisateur",
        "Password": "Mot de passe",
        "Keep me signed in": "Rester connecté",
        "Stay signed in": "Rester connecté",
        "Enter code": "Saisissez le code",
        "Answer": "Réponse",
        "Phone number": "Numéro de téléphone",
        "Email": "E-mail",
        "First name": "Prénom",
        "Last name": "Nom",
    },
    "de": {
        "Username": "Benutzername",
        "Password": "Passwort",
        "Keep me signed in": "Angemeldet bleiben",
        "Stay signed in": "Angemeldet bleiben",
        "Enter code": "Code eingeben",
        "Answer": "Antwort",
        "Phone number": "Telefonnummer",
        "Email": "E-Mail",
        "First name": "Vorname",
        "Last name": "Nachname",
    },
}


def language(accept_language: str | None) -> str | None:
    """The first language of an Accept-Language header the simulator speaks besides English
    (highest weight first); None for English."""
    ranges = []
    for i, part in enumerate((accept_language or "")[:1024].split(",")[:32]):
        m = _RANGE.fullmatch(part)
        if m is not None and (q := float(m.group(2)) if m.group(2) else 1.0) > 0:
            ranges.append((-q, i, m.group(1).lower()))
    for _, _, primary in sorted(ranges):
        if primary in LANGUAGES:
            return primary
        if primary == "en":
            return None
    return None


def _fill(text: str, params: list[Any]) -> str:
    for i, p in enumerate(params):
        text = text.replace(f"{{{i}}}", str(p))
    return text


def _message(m: Json, lang: str) -> None:
    """One message in `lang`, when the simulator sent it and knows its translation."""
    found = m.get("i18n")
    i18n: Json = found if isinstance(found, dict) else {}
    params: list[Any] = i18n["params"] if isinstance(i18n.get("params"), list) else []
    for name, (key, english) in MSG.items():
        if key == i18n.get("key") and _fill(english, params) == m.get("message") and name in MESSAGES[lang]:
            m["message"] = _fill(MESSAGES[lang][name], params)
            return


def _walk(node: Any, lang: str, in_messages: bool = False) -> None:
    if isinstance(node, list):
        for item in node:
            _walk(item, lang, in_messages)
        return
    if not isinstance(node, dict):
        return
    if in_messages and "message" in node:
        _message(node, lang)
        return
    if "name" in node and isinstance(node.get("label"), str):
        node["label"] = LABELS[lang].get(node["label"], node["label"])
    for key, value in node.items():
        _walk(value, lang, key == "messages" or in_messages)


def translate(doc: Json, accept_language: str | None) -> Json:
    """`doc` (changed in place) in the request's language; as it is for English or a language
    the simulator does not speak."""
    lang = language(accept_language)
    if lang is not None:
        _walk(doc, lang)
    return doc
