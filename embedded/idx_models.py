"""The IDX wire model: an Ion response parsed into frozen objects.

Pure: no I/O, no aiohttp. `parse(raw)` accepts any JSON document an Identity Engine
sends and tolerates unknown keys and unresolvable `relatesTo` paths; a document
that is not an IDX response at all raises `NotAnIdxResponse`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

EMPTY: Mapping[str, Any] = MappingProxyType({})

# Action forms that live inside authenticator objects (`currentAuthenticator.value.resend`).
AUTHENTICATOR_ACTIONS = ("resend", "poll", "recover", "send", "cancel")
# Top-level objects whose nested action forms become named actions (`currentAuthenticator-resend`).
ACTION_HOLDERS = (
    "currentAuthenticator",
    "currentAuthenticatorEnrollment",
    "recoveryAuthenticator",
    "enrollmentAuthenticator",
)


class NotAnIdxResponse(ValueError):
    """The document is not an Ion/IDX response (no `version`, not an object, ...)."""


@dataclass(frozen=True)
class Message:
    text: str
    cls: str = "INFO"  # ERROR | INFO | WARNING
    key: str | None = None
    params: tuple[Any, ...] = ()

    @property
    def is_error(self) -> bool:
        return self.cls == "ERROR"


@dataclass(frozen=True)
class Authenticator:
    id: str | None
    key: str | None
    type: str | None
    display_name: str | None
    methods: tuple[str, ...] = ()
    profile: Mapping[str, Any] = field(default_factory=lambda: EMPTY)
    settings: Mapping[str, Any] = field(default_factory=lambda: EMPTY)
    contextual_data: Mapping[str, Any] = field(default_factory=lambda: EMPTY)
    actions: Mapping[str, Form] = field(default_factory=lambda: EMPTY)
    authenticator_id: str | None = None  # set on enrollments
    nickname: str | None = None
    logo_uri: str | None = None
    credential_id: str | None = None  # WebAuthn enrollments


@dataclass(frozen=True)
class Option:
    label: str
    value: Any = None  # primitive option value; None for object options
    form: tuple[Field, ...] | None = None  # object option sub-form
    authenticator: Authenticator | None = None


@dataclass(frozen=True)
class Field:
    name: str
    label: str | None = None
    type: str = "string"
    required: bool = False
    secret: bool = False
    visible: bool = True
    mutable: bool = True
    value: Any = None
    form: tuple[Field, ...] | None = None
    options: tuple[Option, ...] = ()
    messages: tuple[Message, ...] = ()
    min_length: int | None = None
    max_length: int | None = None
    hint: str | None = None  # how a client fills it: "webauthn", "captcha"
    description: str | None = None  # `desc`: help text for a person (a scope's meaning, an attribute's purpose)
    authenticator: Authenticator | None = None

    @property
    def immutable(self) -> bool:
        """Server-owned: sent back unchanged, never shown to or taken from the browser.

        A hidden field with no value is not server-owned: a page script fills it
        (WebAuthn's `clientData`, `attestation`, ...).
        """
        return not self.mutable or (not self.visible and self.value is not None)


@dataclass(frozen=True)
class Form:
    """A remediation or an action: something the client can submit."""

    name: str
    href: str
    method: str = "POST"
    accepts: str | None = None
    fields: tuple[Field, ...] = ()
    refresh: int | None = None  # poll interval in milliseconds
    authenticator: Authenticator | None = None  # resolved `relatesTo`
    label: str | None = None
    idp_type: str | None = None
    idp: Mapping[str, Any] = field(default_factory=lambda: EMPTY)

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


@dataclass(frozen=True)
class Captcha:
    """The org's CAPTCHA (`captcha` {id, name, siteKey, type}), asked for by a form's
    `captchaVerify` field. `script_source`: where the provider's script lives, when the Identity
    Engine says (Okta's object names none; the local simulator names its fake provider's)."""

    id: str | None
    name: str | None
    site_key: str | None
    type: str | None
    script_source: str | None = None


@dataclass(frozen=True)
class IdxResponse:
    version: str
    state_handle: str | None
    expires_at: str | None
    intent: str | None
    remediations: tuple[Form, ...]
    messages: tuple[Message, ...]
    current_authenticator: Authenticator | None
    current_enrollment: Authenticator | None
    authenticators: tuple[Authenticator, ...]
    enrollments: tuple[Authenticator, ...]
    recovery_authenticator: Authenticator | None
    user: Mapping[str, Any] | None
    app: Mapping[str, Any] | None
    actions: Mapping[str, Form]  # "cancel", "currentAuthenticator-resend", ...
    success: Form | None  # successWithInteractionCode
    captcha: Captcha | None = None
    raw: Mapping[str, Any] = field(repr=False, compare=False, default_factory=lambda: EMPTY)

    @property
    def interaction_code(self) -> str | None:
        if self.success is None:
            return None
        f = self.success.field("interaction_code")
        return f.value if f is not None and isinstance(f.value, str) else None

    def remediation(self, name: str) -> Form | None:
        return next((r for r in self.remediations if r.name == name), None)

    def all_messages(self) -> tuple[Message, ...]:
        """Global messages then field messages, de-duplicated."""
        seen: list[Message] = []
        for m in self.messages + tuple(m for r in self.remediations for m in _field_messages(r.fields)):
            if m not in seen:
                seen.append(m)
        return tuple(seen)


def _field_messages(fields: tuple[Field, ...] | None) -> Iterator[Message]:
    for f in fields or ():
        yield from f.messages
        yield from _field_messages(f.form)
        for o in f.options:
            yield from _field_messages(o.form)


# --- parsing -------------------------------------------------------------------------

_PATH = re.compile(r"\$((?:\.[A-Za-z_]\w*|\[\d+\])*)")
_PATH_STEP = re.compile(r"\.([A-Za-z_]\w*)|\[(\d+)\]")


def resolve_path(doc: Any, path: Any) -> Any:
    """Resolve a `relatesTo` path such as `$.authenticatorEnrollments.value[0]`; None if it does not resolve."""
    if isinstance(path, list):
        path = path[0] if path else None
    m = _PATH.fullmatch(path) if isinstance(path, str) else None
    if m is None:
        return None
    node = doc
    for name, index in _PATH_STEP.findall(m.group(1)):
        try:
            node = node[name] if name else node[int(index)]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _text(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def _int(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, str) and v.isdigit():
        return int(v)
    return None


def _truthy(v: Any) -> bool:
    # One fixture has the string "false"; only true / "true" count.
    return v is True or v == "true"


def _value_list(wrapper: Any) -> list[dict[str, Any]]:
    if isinstance(wrapper, dict):
        wrapper = wrapper.get("value")
    return [v for v in wrapper if isinstance(v, dict)] if isinstance(wrapper, list) else []


def _frozen(v: Any) -> Mapping[str, Any]:
    return MappingProxyType(dict(v)) if isinstance(v, dict) else EMPTY


class _Parser:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        # Many options and fields relate to the same few authenticators: each is parsed once.
        self._related: dict[str, Authenticator | None] = {}

    def messages(self, wrapper: Any) -> tuple[Message, ...]:
        out: list[Message] = []
        for m in _value_list(wrapper):
            i18n = m.get("i18n")
            if not isinstance(i18n, dict):
                i18n = {}
            params = i18n.get("params")
            out.append(
                Message(
                    text=str(m.get("message") or ""),
                    cls=str(m.get("class") or "INFO").upper(),
                    key=_text(i18n.get("key")),
                    params=tuple(params) if isinstance(params, list) else (),
                )
            )
        return tuple(out)

    def authenticator(self, obj: Any) -> Authenticator | None:
        if (
            isinstance(obj, dict)
            and "value" in obj
            and isinstance(obj["value"], dict)
            and "type" in obj
            and "key" not in obj
        ):
            obj = obj["value"]  # a {type: "object", value: {...}} wrapper
        if not isinstance(obj, dict):
            return None
        methods = tuple(
            m["type"] for m in obj.get("methods") or [] if isinstance(m, dict) and isinstance(m.get("type"), str)
        )
        actions = {n: self.form(obj[n], n) for n in AUTHENTICATOR_ACTIONS if isinstance(obj.get(n), dict)}
        return Authenticator(
            id=_text(obj.get("id")),
            key=_text(obj.get("key")),
            type=_text(obj.get("type")),
            display_name=_text(obj.get("displayName")),
            methods=methods,
            profile=_frozen(obj.get("profile")),
            settings=_frozen(obj.get("settings")),
            contextual_data=_frozen(obj.get("contextualData")),
            actions=MappingProxyType({k: v for k, v in actions.items() if v is not None}),
            authenticator_id=_text(obj.get("authenticatorId")),
            nickname=_text(obj.get("nickname")),
            logo_uri=_text(obj.get("logoUri")),
            credential_id=_text(obj.get("credentialId")),
        )

    def related(self, path: Any) -> Authenticator | None:
        if isinstance(path, list):
            path = path[0] if path else None
        if not isinstance(path, str):
            return None
        if path not in self._related:
            self._related[path] = self.authenticator(resolve_path(self.doc, path))
        return self._related[path]

    def fields(self, values: Any) -> tuple[Field, ...]:
        return (
            tuple(f for f in (self.field(v) for v in values if isinstance(v, dict)) if f)
            if isinstance(values, list)
            else ()
        )

    def field(self, raw: dict[str, Any]) -> Field | None:
        name = raw.get("name")
        if not isinstance(name, str) or not name:
            return None
        value = raw.get("value")
        sub = raw.get("form")
        if sub is None and isinstance(value, dict) and isinstance(value.get("form"), dict):
            sub, value = value["form"], None  # `value: {form: ...}` is a nested form too
        options = []
        for o in raw.get("options") or []:
            if not isinstance(o, dict):
                continue
            ov = o.get("value")
            opt_form = (
                self.fields(ov["form"].get("value"))
                if isinstance(ov, dict) and isinstance(ov.get("form"), dict)
                else None
            )
            options.append(
                Option(
                    label=str(o.get("label") if o.get("label") is not None else ov),
                    value=None if opt_form is not None else ov,
                    form=opt_form,
                    authenticator=self.related(o.get("relatesTo")),
                )
            )
        rtype = raw.get("type")
        ftype = (
            rtype
            if isinstance(rtype, str)
            else ("object" if sub or (options and options[0].form is not None) else "string")
        )
        return Field(
            name=name,
            label=_text(raw.get("customLabel")) or _text(raw.get("label")),
            type=ftype,
            required=_truthy(raw.get("required")),
            secret=_truthy(raw.get("secret")),
            visible=raw.get("visible") is not False,
            mutable=raw.get("mutable") is not False,
            value=value,
            form=self.fields(sub.get("value")) if isinstance(sub, dict) else None,
            options=tuple(options),
            messages=self.messages(raw.get("messages")),
            min_length=_int(raw.get("minLength")),
            max_length=_int(raw.get("maxLength")),
            hint=_text(raw.get("hint")),
            description=_text(raw.get("desc")),
            authenticator=self.related(raw.get("relatesTo")),
        )

    def form(self, raw: Any, default_name: str = "") -> Form | None:
        if not isinstance(raw, dict) or not isinstance(raw.get("href"), str):
            return None
        idp = raw.get("idp")
        refresh = _int(raw.get("refresh"))
        return Form(
            name=_text(raw.get("name")) or default_name,
            href=raw["href"],
            method=str(raw.get("method") or "POST").upper(),
            accepts=_text(raw.get("accepts")),
            fields=self.fields(raw.get("value")),
            refresh=refresh,
            authenticator=self.related(raw.get("relatesTo")),
            label=_text(raw.get("label")),
            idp_type=_text(raw.get("type")),
            idp=_frozen(idp),
        )


def captcha(value: Mapping[str, Any] | None) -> Captcha | None:
    if value is None:
        return None
    return Captcha(
        id=_text(value.get("id")),
        name=_text(value.get("name")),
        site_key=_text(value.get("siteKey")),
        type=_text(value.get("type")),
        script_source=_text(value.get("scriptSource")),
    )


def parse(raw: Any) -> IdxResponse:
    """Parse an Ion document. Raises NotAnIdxResponse for anything else, including a document of
    the right outline whose parts have the wrong types somewhere deep inside."""
    if not isinstance(raw, dict):
        raise NotAnIdxResponse("an IDX response is a JSON object")
    if not isinstance(raw.get("version"), str):
        raise NotAnIdxResponse("an IDX response carries a 'version'")
    try:
        return _parse(raw)
    except (TypeError, AttributeError, KeyError, ValueError, IndexError) as exc:
        raise NotAnIdxResponse(f"malformed IDX response ({type(exc).__name__})") from None


def _parse(raw: dict[str, Any]) -> IdxResponse:
    p = _Parser(raw)
    actions: dict[str, Form] = {}
    cancel = p.form(raw.get("cancel"), "cancel")
    if cancel:
        actions["cancel"] = cancel
    for holder in ACTION_HOLDERS:
        auth = p.authenticator(raw.get(holder))
        for name, form in auth.actions.items() if auth else ():
            actions[f"{holder}-{name}"] = form

    def wrapped(key: str) -> Mapping[str, Any] | None:
        v = raw.get(key)
        v = v.get("value") if isinstance(v, dict) else None
        return _frozen(v) if isinstance(v, dict) else None

    return IdxResponse(
        version=raw["version"],
        state_handle=_text(raw.get("stateHandle")),
        expires_at=_text(raw.get("expiresAt")),
        intent=_text(raw.get("intent")),
        remediations=tuple(f for f in (p.form(r) for r in _value_list(raw.get("remediation"))) if f),
        messages=p.messages(raw.get("messages")),
        current_authenticator=p.authenticator(raw.get("currentAuthenticator")),
        current_enrollment=p.authenticator(raw.get("currentAuthenticatorEnrollment")),
        authenticators=tuple(a for a in map(p.authenticator, _value_list(raw.get("authenticators"))) if a),
        enrollments=tuple(a for a in map(p.authenticator, _value_list(raw.get("authenticatorEnrollments"))) if a),
        recovery_authenticator=p.authenticator(raw.get("recoveryAuthenticator")),
        user=wrapped("user"),
        app=wrapped("app"),
        actions=MappingProxyType(actions),
        success=p.form(raw.get("successWithInteractionCode"), "issue"),
        captcha=captcha(wrapped("captcha")),
        raw=raw,
    )
