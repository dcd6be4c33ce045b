"""Redaction of recorded IDX traffic: stable placeholders for everything that names a person or
opens a door.

State handles, interaction handles and codes, tokens, ids, shared secrets, user names, emails and
phone numbers become placeholders (`state-handle-1`, `user-2@example.com`, `+15550000003`, ...),
the same value always the same placeholder within one recording, so documents stay consistent
with each other (an `id` a form offers is the `id` the next request posts back). Signed tokens
inside documents (a FastPass challenge) become `jwt-N`. Passwords, passcodes and answers in
request bodies become `[redacted]`. Hrefs move onto the placeholder org.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

Json = Any

# key -> kind of placeholder, for string values under that key anywhere in a document
KEYED = {
    "stateHandle": "state-handle",
    "stateToken": "state-handle",
    "interactionHandle": "interaction-handle",
    "interaction_handle": "interaction-handle",
    "interaction_code": "interaction-code",
    "code": "interaction-code",
    "access_token": "token",
    "refresh_token": "token",
    "id_token": "token",
    "device_secret": "token",
    "activation_token": "token",
    "recovery_token": "token",
    "id": "id",
    "enrollmentId": "id",
    "credentialId": "id",
    "sharedSecret": "secret",
    "secret": "secret",
    "identifier": "user",
    "login": "user",
    "username": "user",
    "preferred_username": "user",
    "firstName": "given-name",
    "lastName": "family-name",
    "email": "user",
    "secondEmail": "user",
    "phoneNumber": "phone",
    "mobilePhone": "phone",
}
# form fields ({"name": N, "value": V}) whose value is a secret or names someone
FIELD_VALUES = {
    "id": "id",
    "enrollmentId": "id",
    "interaction_code": "interaction-code",
    "identifier": "user",
    "stateHandle": "state-handle",
}
# request body keys whose values are typed secrets: never kept, not even as placeholders
TYPED_SECRETS = {
    "passcode",
    "password",
    "answer",
    "totp",
    "otp",
    "confirmPassword",
    "clientData",
    "attestation",
    "authenticatorData",
    "signatureData",
    "client_secret",
    "code_verifier",
    "newPassword",
}
JWT = re.compile(r"eyJ[\w-]+\.eyJ[\w-]+\.[\w-]*")  # a signed token (a FastPass challenge names the user inside)
EMAIL = re.compile(r"[A-Za-z0-9._%+*-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
PHONE = re.compile(r"\+\d[\d ()X.-]{6,}\d")
QR_PLACEHOLDER = "data:image/gif;base64,R0lGODlhAQABAAAAACw="  # a 1x1 image in place of a QR code
EXPIRES_AT = "2099-01-01T00:00:00.000Z"
MIN_EMBEDDED = 6  # secrets at least this long are also replaced inside other strings (hrefs, texts)


class Redactor:
    """One recording's placeholders; feed it every document and request of the recording."""

    def __init__(self, upstream_origins: Iterable[str] = (), placeholder_org: str = "https://org.example"):
        self.upstream_origins = tuple(o.rstrip("/") for o in upstream_origins)
        self.placeholder_org = placeholder_org
        self.placeholders: dict[str, str] = {}  # secret value -> placeholder
        # Request keys a recorded form flags `secret: true`, typed secrets whatever their name.
        self.secret_fields: set[str] = set()
        self._counts: dict[str, int] = {}

    def placeholder(self, value: str, kind: str) -> str:
        if value in self.placeholders:
            return self.placeholders[value]
        if value in self.placeholders.values():  # already a placeholder
            return value
        n = self._counts[kind] = self._counts.get(kind, 0) + 1
        if kind == "user":
            out = f"user-{n}@example.com" if "@" in value else f"user-{n}"
        elif kind == "phone":
            out = f"+1555{n:07d}"
        elif kind == "given-name":
            out = f"Given{n}"
        elif kind == "family-name":
            out = f"Family{n}"
        elif kind == "name":
            out = f"Person {n}"
        else:
            out = f"{kind}-{n}"
        self.placeholders[value] = out
        return out

    # --- pass 1: learn the secrets ---------------------------------------------------------

    def learn(self, node: Json, *, request: bool = False) -> None:
        if isinstance(node, dict):
            field_name = node.get("name")
            if isinstance(field_name, str) and node.get("secret") is True and not request:
                self.secret_fields.add(field_name)
            if (
                isinstance(field_name, str)
                and field_name in FIELD_VALUES
                and isinstance(node.get("value"), str)
                and node["value"]
            ):
                self.placeholder(node["value"], FIELD_VALUES[field_name])
            for key, value in node.items():
                if key == "rp":
                    continue  # a WebAuthn relying party: the app's own host, not a secret
                profile = (
                    value.get("value", {}).get("profile")
                    if key == "user" and isinstance(value, dict)
                    else value
                    if key == "userProfile"
                    else None
                )
                if isinstance(profile, dict):  # the person's own profile: every attribute names them
                    for k, v in profile.items():
                        if isinstance(v, str) and v and not EMAIL.search(v) and not PHONE.search(v):
                            self.placeholder(v, KEYED.get(k, "profile"))
                    if isinstance(profile.get("firstName"), str) and isinstance(profile.get("lastName"), str):
                        self.placeholder(f"{profile['firstName']} {profile['lastName']}", "name")
                if key == "user" and isinstance(value, dict) and isinstance(value.get("displayName"), str):
                    self.placeholder(value["displayName"], "name")  # a WebAuthn user: the person's name
                if isinstance(value, str) and value and key in KEYED and not (request and key in TYPED_SECRETS):
                    kind = KEYED[key]
                    if kind == "user" and EMAIL.fullmatch(value) is None and "@" in value:
                        continue  # a masked address: the pattern pass replaces it
                    self.placeholder(value, kind)
                self.learn(value, request=request)
        elif isinstance(node, list):
            for v in node:
                self.learn(v, request=request)
        elif isinstance(node, str):
            for token in JWT.findall(node):
                self.placeholder(token, "jwt")
            for email in EMAIL.findall(node):
                self.placeholder(email, "user")
            for phone in PHONE.findall(node):
                self.placeholder(phone, "phone")

    # --- pass 2: rewrite -------------------------------------------------------------------

    def text(self, value: str) -> str:
        if value in self.placeholders:
            return self.placeholders[value]
        if value.startswith("data:image") and len(value) > 200:
            return QR_PLACEHOLDER
        for origin in self.upstream_origins:
            if value == origin or value.startswith((origin + "/", origin + "?")):
                value = self.placeholder_org + value[len(origin) :]
        for secret in sorted((s for s in self.placeholders if len(s) >= MIN_EMBEDDED), key=len, reverse=True):
            if secret in value:
                value = value.replace(secret, self.placeholders[secret])
        value = EMAIL.sub(lambda m: self.placeholder(m.group(0), "user"), value)
        return PHONE.sub(lambda m: self.placeholder(m.group(0), "phone"), value)

    def rewrite(self, node: Json, *, request: bool = False) -> Json:
        if isinstance(node, str):
            return self.text(node)
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                if request and (key in TYPED_SECRETS or key in self.secret_fields) and value not in (None, ""):
                    out[key] = "[redacted]"
                elif key == "expiresAt" and isinstance(value, str):
                    out[key] = (
                        EXPIRES_AT  # recorded at some moment: one fixed moment instead (the replay serves a fresh one)
                    )
                else:
                    out[key] = self.rewrite(value, request=request)
            return out
        if isinstance(node, list):
            return [self.rewrite(v, request=request) for v in node]
        return node

    def document(self, node: Json) -> Json:
        """A response body, redacted."""
        self.learn(node)
        return self.rewrite(node)

    def request(self, node: Json) -> Json:
        """A request body, redacted (typed secrets dropped)."""
        self.learn(node, request=True)
        return self.rewrite(node, request=True)
