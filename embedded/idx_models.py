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
from typing import Any, TypeVar

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


def _value_list(wrapper: Any) -> list[dict[str, Any]]:
    if isinstance(wrapper, dict):
        wrapper = wrapper.get("value")
    return [v for v in wrapper if isinstance(v, dict)] if isinstance(wrapper, list) else []


def _frozen(v: Any) -> Mapping[str, Any]:
    return MappingProxyType(dict(v)) if isinstance(v, dict) else EMPTY


Built = TypeVar("Built")


def _build(cls: type[Built], attributes: dict[str, Any]) -> Built:
    """A frozen dataclass from every one of its attributes at once, as its __init__ would make it.
    That __init__ sets them one `object.__setattr__` call at a time: most of parse's time went
    there. Only for the parser, which names every attribute (tests check each instance has all)."""
    built = object.__new__(cls)
    object.__setattr__(built, "__dict__", attributes)
    return built


class _Parser:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        # Many options and fields relate to the same few authenticators, and the objects that
        # hold actions are also the current authenticator or enrollment: each is parsed once.
        self._related: dict[str, Authenticator | None] = {}
        self._authenticators: dict[int, Authenticator] = {}  # by id() of an object of `doc`

    def messages(self, wrapper: Any) -> tuple[Message, ...]:
        out: list[Message] = []
        for m in _value_list(wrapper):
            i18n = m.get("i18n")
            if not isinstance(i18n, dict):
                i18n = EMPTY
            params = i18n.get("params")
            message = {
                "text": str(m.get("message") or ""),
                "cls": str(m.get("class") or "INFO").upper(),
                "key": _text(i18n.get("key")),
                "params": tuple(params) if isinstance(params, list) else (),
            }
            out.append(_build(Message, message))
        return tuple(out)

    def authenticator(self, obj: Any) -> Authenticator | None:
        if not isinstance(obj, dict):
            return None
        if (found := self._authenticators.get(known := id(obj))) is not None:
            return found
        if "value" in obj and isinstance(obj["value"], dict) and "type" in obj and "key" not in obj:
            obj = obj["value"]  # a {type: "object", value: {...}} wrapper
        get = obj.get
        methods = tuple(
            m["type"] for m in get("methods") or [] if isinstance(m, dict) and isinstance(m.get("type"), str)
        )
        actions = {}
        for name in AUTHENTICATOR_ACTIONS:
            if isinstance(action := get(name), dict) and (form := self.form(action, name)) is not None:
                actions[name] = form
        authenticator = {
            "id": _text(get("id")),
            "key": _text(get("key")),
            "type": _text(get("type")),
            "display_name": _text(get("displayName")),
            "methods": methods,
            "profile": _frozen(get("profile")),
            "settings": _frozen(get("settings")),
            "contextual_data": _frozen(get("contextualData")),
            "actions": MappingProxyType(actions),
            "authenticator_id": _text(get("authenticatorId")),
            "nickname": _text(get("nickname")),
            "logo_uri": _text(get("logoUri")),
            "credential_id": _text(get("credentialId")),
        }
        found = self._authenticators[known] = _build(Authenticator, authenticator)
        return found

    def related(self, path: Any) -> Authenticator | None:
        if isinstance(path, list):
            path = path[0] if path else None
        if not isinstance(path, str):
            return None
        if path not in self._related:
            self._related[path] = None  # what it relates to, while it is being read: a cycle ends here
            self._related[path] = self.authenticator(resolve_path(self.doc, path))
        return self._related[path]

    def fields(self, values: Any) -> tuple[Field, ...]:
        if not isinstance(values, list):
            return ()
        return tuple([f for raw in values if isinstance(raw, dict) and (f := self.field(raw)) is not None])

    def options(self, values: Any) -> tuple[Option, ...]:
        out = []
        for o in values:
            if not isinstance(o, dict):
                continue
            value, label, related = o.get("value"), o.get("label"), o.get("relatesTo")
            sub = value.get("form") if isinstance(value, dict) else None
            form = self.fields(sub.get("value")) if isinstance(sub, dict) else None  # an object option's
            option = {
                "label": str(label if label is not None else value),
                "value": value if form is None else None,
                "form": form,
                "authenticator": None if related is None else self.related(related),
            }
            out.append(_build(Option, option))
        return tuple(out)

    def field(self, raw: dict[str, Any]) -> Field | None:
        # Most keys are absent from most fields: an absent one costs a lookup, not a call.
        get = raw.get
        name = get("name")
        if not isinstance(name, str) or not name:
            return None
        value = get("value")
        sub = get("form")
        if sub is None and isinstance(value, dict) and isinstance(value.get("form"), dict):
            sub, value = value["form"], None  # `value: {form: ...}` is a nested form too
        options = self.options(raw_options) if (raw_options := get("options")) else ()
        ftype = get("type")
        if not isinstance(ftype, str):
            ftype = "object" if sub or (options and options[0].form is not None) else "string"
        label = get("customLabel")
        if not isinstance(label, str) or not label:
            label = _text(get("label"))
        required, secret, messages = get("required"), get("secret"), get("messages")
        min_length, max_length, related = get("minLength"), get("maxLength"), get("relatesTo")
        field = {
            "name": name,
            "label": label,
            "type": ftype,
            "required": required is True or required == "true",  # one fixture has "false": true / "true" only
            "secret": secret is True or secret == "true",
            "visible": get("visible") is not False,
            "mutable": get("mutable") is not False,
            "value": value,
            "form": self.fields(sub.get("value")) if isinstance(sub, dict) else None,
            "options": options,
            "messages": () if messages is None else self.messages(messages),
            "min_length": None if min_length is None else _int(min_length),
            "max_length": None if max_length is None else _int(max_length),
            "hint": _text(get("hint")),
            "description": _text(get("desc")),
            "authenticator": None if related is None else self.related(related),
        }
        return _build(Field, field)

    def form(self, raw: Any, default_name: str = "") -> Form | None:
        if not isinstance(raw, dict):
            return None
        get = raw.get
        href = get("href")
        if not isinstance(href, str):
            return None
        name, method, refresh, related = get("name"), get("method") or "POST", get("refresh"), get("relatesTo")
        form = {
            "name": name if isinstance(name, str) and name else default_name,
            "href": href,
            "method": method if method in ("POST", "GET") else str(method).upper(),
            "accepts": _text(get("accepts")),
            "refresh": None if refresh is None else _int(refresh),
            "fields": self.fields(get("value")),
            "authenticator": None if related is None else self.related(related),
            "label": _text(get("label")),
            "idp_type": _text(get("type")),
            "idp": _frozen(get("idp")),
        }
        return _build(Form, form)


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


def _wrapped(raw: dict[str, Any], key: str) -> Mapping[str, Any] | None:
    v = raw.get(key)
    v = v.get("value") if isinstance(v, dict) else None
    return _frozen(v) if isinstance(v, dict) else None


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
    response = {
        "version": raw["version"],
        "state_handle": _text(raw.get("stateHandle")),
        "expires_at": _text(raw.get("expiresAt")),
        "intent": _text(raw.get("intent")),
        "remediations": tuple([f for r in _value_list(raw.get("remediation")) if (f := p.form(r)) is not None]),
        "messages": p.messages(raw.get("messages")),
        "current_authenticator": p.authenticator(raw.get("currentAuthenticator")),
        "current_enrollment": p.authenticator(raw.get("currentAuthenticatorEnrollment")),
        "authenticators": tuple(a for a in map(p.authenticator, _value_list(raw.get("authenticators"))) if a),
        "enrollments": tuple(a for a in map(p.authenticator, _value_list(raw.get("authenticatorEnrollments"))) if a),
        "recovery_authenticator": p.authenticator(raw.get("recoveryAuthenticator")),
        "user": _wrapped(raw, "user"),
        "app": _wrapped(raw, "app"),
        "actions": MappingProxyType(actions),
        "success": p.form(raw.get("successWithInteractionCode"), "issue"),
        "captcha": captcha(_wrapped(raw, "captcha")),
        "raw": raw,
    }
    return _build(IdxResponse, response)
