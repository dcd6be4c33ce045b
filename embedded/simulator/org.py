"""The simulated Okta org: users, their enrolled authenticators, the org's authenticators and
policies, and OAuth clients, loaded from a TOML file (see demo_org.toml for every setting)."""

from __future__ import annotations

import hashlib
import ipaddress
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import SplitResult, urlsplit

DEMO_ORG_FILE = Path(__file__).with_name("demo_org.toml")

USER_STATUSES = {"active", "locked_out", "password_expired", "staged"}
FIRST_FORMS = {"identifier_first", "identifier_password"}

# The org's catalog of security questions (users may also write their own: key "custom").
QUESTIONS = {
    "disliked_food": "What is the food you least liked as a child?",
    "name_of_first_plush_toy": "What is the name of your first stuffed animal?",
    "first_award": "What did you earn your first medal or award for?",
    "favorite_vacation_location": "Where did you go for your favorite vacation?",
    "first_computer_game": "What was the first computer game you played?",
}


# What the authorization server says about its scopes on a consent page (labels and descriptions
# in our own words). `consent`: implicit (never asked), required (asked; all or nothing) or
# optional (asked; the person may untick it: granular consent). Custom scopes come from [[scopes]].
STANDARD_SCOPES = {
    "openid": ("Sign you in.", ""),
    "profile": ("View your profile information.", "This allows the app to view your name and username."),
    "email": ("View your email address.", "This allows the app to view your email address."),
    "phone": ("View your phone number.", "This allows the app to view your phone number."),
    "address": ("View your postal address.", "This allows the app to view your postal address."),
    "offline_access": (
        "Keep you signed in to the app.",
        "This allows the app to refresh your session without asking you to sign in again.",
    ),
}
CONSENT_LEVELS = {"implicit", "required", "optional"}

# acr_values the authorization server understands (Okta's predefined ones).
ACR_VALUES = (
    "urn:okta:loa:1fa:any",
    "urn:okta:loa:1fa:pwd",
    "urn:okta:loa:2fa:any",
    "urn:okta:loa:2fa:any:ifpossible",
    "phr",
    "phrh",
)


class OrgError(ValueError):
    """The org file is not valid."""


def stable_id(prefix: str, *parts: str) -> str:
    """Okta-looking ids (`aut1a2b…`) that stay the same across restarts, so logs and docs match."""
    return prefix + hashlib.sha256("/".join(parts).encode()).hexdigest()[:17]


@dataclass
class Enrollment:
    """One authenticator a user has set up; `data` holds what the authenticator kind needs
    (email, phone, secret, question_key/answer…)."""

    key: str
    id: str
    data: dict = field(default_factory=dict)


@dataclass
class User:
    login: str
    first_name: str = ""
    last_name: str = ""
    password: str | None = None
    status: str = "active"
    groups: list[str] = field(default_factory=list)
    enrollments: list[Enrollment] = field(default_factory=list)
    profile: dict = field(default_factory=dict)
    activation_token: str | None = None
    activation_expires_at: float | None = None  # when the activation email's link stops working
    recovery_token: str | None = None
    # Consent: scopes this user granted, by client id. Users without `consent_pending` count as
    # having granted the standard scopes already (as an administrator does through Okta's grants
    # API); custom scopes are asked of everyone the first time.
    consent_pending: bool = False
    grants: dict = field(default_factory=dict)
    id: str = ""
    failed_passwords: int = 0
    failed_codes: int = 0  # wrong one-time codes in a row at Direct Authentication's grants (direct.py)
    password_expires_in_days: int | None = None  # None: no expiry in sight

    @property
    def email(self) -> str:
        return self.profile.get("email", self.login)

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.login

    def enrollment(self, key: str) -> Enrollment | None:
        return next((e for e in self.enrollments if e.key == key), None)

    def enrollments_of(self, key: str) -> list[Enrollment]:
        return [e for e in self.enrollments if e.key == key]

    def enrolled_keys(self) -> list[str]:
        return [e.key for e in self.enrollments]


@dataclass
class PasswordPolicy:
    min_length: int = 8
    min_lower: int = 1
    min_upper: int = 1
    min_number: int = 1
    min_symbol: int = 0
    exclude_username: bool = True
    exclude_attributes: list[str] = field(default_factory=lambda: ["firstName", "lastName"])
    max_consecutive_repeating: int = 0
    min_age_minutes: int = 0
    history_count: int = 0
    expire_warn_days: int = 7  # a password expiring within this many days prompts a change (skippable)
    common: list[str] = field(default_factory=lambda: ["Password1!", "Passw0rd!", "Welcome1!"])


@dataclass
class SignOnRule:
    """Who (groups, empty = everyone) must present how many factors; `first` is `password`
    (password first, then any other factor) or `any` (passwordless: any enrolled authenticator)."""

    name: str
    groups: list[str] = field(default_factory=list)
    factors: int = 1
    first: str = "password"
    post_auth_kmsi: bool = False  # after signing in, ask "Stay signed in?" (keep-me-signed-in)


@dataclass
class EnrollmentRule:
    """What a matching user must / may have enrolled; checked after they authenticate."""

    name: str
    groups: list[str] = field(default_factory=list)
    required: list[str] = field(default_factory=list)
    optional: list[str] = field(default_factory=list)
    min_factors: int = 1
    prompt_optional: bool = False


@dataclass
class ProfileAttribute:
    name: str
    label: str
    type: str = "string"  # string | boolean | enum
    required: bool = False
    options: list[str] = field(default_factory=list)
    min_length: int | None = None
    max_length: int | None = None
    description: str = ""
    registration: bool = True  # on the registration form
    # Progressive profiling: asked after sign-in of existing users who lack it; "required" (no
    # skip) or "optional" (skippable), None: never asked at sign-in.
    sign_in: str | None = None


@dataclass
class ProfileEnrollment:
    enabled: bool = False
    password: str = "optional"  # required | optional | none
    groups: list[str] = field(default_factory=list)
    enroll_required: list[str] = field(default_factory=lambda: ["okta_email", "okta_password"])
    attributes: list[ProfileAttribute] = field(default_factory=list)
    progressive_groups: list[str] = field(default_factory=list)  # who progressive profiling asks; empty = everyone


FEDERATED_KEYS = {"external_idp", "smart_card_idp"}


@dataclass
class Idp:
    """An identity provider. Without `authenticator` it is a sign-in choice on the first page
    (social or enterprise IdP). With `authenticator` = "external_idp" it verifies an identified
    user as a factor; with "smart_card_idp" (type X509) it reads a smart card's certificate, as a
    factor and, when `identify` is true, also from the first page ("Sign in with PIV / CAC card")."""

    id: str
    name: str
    type: str = "OIDC"
    authenticator: str | None = None
    identify: bool | None = None  # on the first page; default: only when not an authenticator

    @property
    def on_identify(self) -> bool:
        return self.identify if self.identify is not None else self.authenticator is None


@dataclass
class Token:
    """A device the org's vendors know before anyone enrolls it: a Symantec VIP credential (`id`
    = credential id, `secret` = its TOTP seed) or a YubiKey (`id` = its modhex public id)."""

    kind: str
    id: str
    secret: str | None = None


@dataclass
class Client:
    id: str
    name: str
    secret: str | None = None
    redirect_uris: list[str] = field(default_factory=list)
    loopback_any_port: bool = False
    # Any loopback redirect URI (127.0.0.0/8, localhost, [::1], any port) whose path ends in this,
    # e.g. "/login/callback": an app under any prefix, with no org change. Other hosts: exact URIs.
    loopback_redirect_suffix: str | None = None
    post_logout_redirect_uris: list[str] = field(default_factory=list)
    post_logout_loopback: bool = False
    grant_types: list[str] = field(default_factory=lambda: ["interaction_code", "refresh_token"])
    groups: list[str] = field(default_factory=list)  # assigned groups; empty = everyone
    id_token_lifetime: int = 3600
    access_token_lifetime: int = 3600
    consent_required: bool = False  # Okta's "User consent: require consent" on the app
    # Shown on consent pages (the `app` object): https links
    terms_uri: str | None = None
    policy_uri: str | None = None
    logo_uri: str | None = None
    client_uri: str | None = None

    @property
    def public(self) -> bool:
        """A public client (Okta's SPA and native apps: token_endpoint_auth_method `none`): no
        secret, PKCE alone. A confidential one authenticates with its secret."""
        return self.secret is None

    def __post_init__(self) -> None:
        suffix = self.loopback_redirect_suffix
        if suffix is not None and not re.fullmatch(r"(/[A-Za-z0-9._~-]+)+", suffix):
            raise OrgError(f"client {self.id}: loopback_redirect_suffix must be a path such as /login/callback")

    def redirect_allowed(self, uri: str) -> bool:
        if _uri_allowed(uri, self.redirect_uris, self.loopback_any_port, any_path=False):
            return True
        suffix = self.loopback_redirect_suffix
        parts = _loopback_parts(uri) if suffix else None
        return suffix is not None and parts is not None and not parts.query and parts.path.endswith(suffix)

    def allow_redirect_uri(self, uri: str) -> None:
        """One more registered redirect URI (matched exactly, on any host)."""
        if uri not in self.redirect_uris:
            self.redirect_uris.append(uri)

    def post_logout_allowed(self, uri: str) -> bool:
        return _uri_allowed(uri, self.post_logout_redirect_uris, self.post_logout_loopback, any_path=True)


LOOPBACK_HOSTS = "(127.0.0.0/8, localhost, [::1])"


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# A trusted origin (Okta: Security > API > Trusted Origins, CORS scope): `scheme://host[:port]`,
# or with the port `*` for any port of that host (the demo org's loopback entries).
ORIGIN = re.compile(r"(https?)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}|\*))?")


def origin_pattern(entry: str) -> tuple[str, str, str | None]:
    """(scheme, host, port or "*" or None) of a trusted-origins entry, or OrgError."""
    m = ORIGIN.fullmatch(entry.strip())
    if m is None:
        raise OrgError(f"trusted origin {entry!r}: write scheme://host[:port] (port * for any port)")
    scheme, host, port = m.groups()
    default = "443" if scheme == "https" else "80"
    return scheme, host.lower(), None if port in (None, default) else port


def _port_is_valid(parts: SplitResult) -> bool:
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not one
    except ValueError:
        return False
    return True


def _loopback_parts(uri: str) -> SplitResult | None:
    """The parts of an http(s) URI on a loopback host (any port), without user info or fragment;
    None for anything else."""
    parts = urlsplit(uri)
    if (
        parts.scheme not in ("http", "https")
        or not _port_is_valid(parts)
        or not is_loopback(parts.hostname)
        or parts.fragment
        or "@" in parts.netloc
    ):
        return None
    return parts


def _uri_allowed(uri: str, registered: list[str], loopback: bool, *, any_path: bool) -> bool:
    if not uri:
        return False
    if uri in registered:
        return True
    parts = _loopback_parts(uri) if loopback else None
    if parts is None:
        return False
    # RFC 8252 §7.3: for loopback redirect URIs any port is allowed; the path must still match.
    return any_path or any(urlsplit(r).path == parts.path for r in registered)


def check_redirect_uri(uri: str) -> str:
    """`uri` when it can be registered as a redirect URI (absolute http(s) with a host, no user
    info, fragment or white space), else OrgError."""
    parts = urlsplit(uri)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or not _port_is_valid(parts)
        or "@" in parts.netloc
        or parts.fragment
        or re.search(r"\s", uri)
    ):
        raise OrgError(f"redirect URI {uri!r}: write an absolute http(s) URI such as http://host:8080/login/callback")
    return uri


CAPTCHA_STEPS = ("identify", "enroll-profile", "identify-recovery")


@dataclass
class CaptchaSetting:
    """`[captcha]`: a CAPTCHA on the first page, registration and recovery (or the forms in
    `steps`), checked by the simulator's fake provider (captcha.py). `type` HCAPTCHA or
    RECAPTCHA_V2; any other type is announced all the same, for a client's unknown-type page."""

    type: str = "HCAPTCHA"
    steps: list[str] = field(default_factory=lambda: list(CAPTCHA_STEPS))
    site_key: str = ""

    def __post_init__(self) -> None:
        self.site_key = self.site_key or stable_id("site", self.type)
        unknown = set(self.steps) - set(CAPTCHA_STEPS)
        if unknown:
            raise OrgError(
                f"[captcha] steps: {', '.join(sorted(unknown))} cannot ask for a CAPTCHA "
                f"(only {', '.join(CAPTCHA_STEPS)})"
            )

    @property
    def id(self) -> str:
        return stable_id("cap", self.type, self.site_key)


@dataclass
class Scope:
    name: str
    label: str = ""
    description: str = ""
    consent: str = "implicit"  # implicit | required | optional


@dataclass
class Org:
    name: str = "Simulated org"
    app_label: str = "Embedded demo"
    transaction_minutes: int = 10
    email_magic_link: bool = True
    phone_methods: list[str] = field(default_factory=lambda: ["sms", "voice"])
    number_challenge: bool = True
    authenticators: list[str] = field(default_factory=list)
    password: PasswordPolicy = field(default_factory=PasswordPolicy)
    lockout_attempts: int = 0  # 0 = never lock
    self_service_unlock: bool = False
    # Once unlocked: "sign_in" goes straight on signing in (the unlocking factor counts; a
    # password-first rule still asks the password), as Okta does; "message" ends with Okta's older
    # "You can log in using your existing username and password".
    after_unlock: str = "sign_in"
    rate_limit_requests: int = 10
    rate_limit_seconds: float = 5.0
    first_form: str = "identifier_first"
    # Passkeys: offer WebAuthn autofill (conditional UI) on the first page; after a sign-in,
    # invite members of these groups who have no passkey to create one (skippable).
    passkey_autofill: bool = False
    passkey_promotion_groups: list[str] = field(default_factory=list)
    post_auth_kmsi: bool = False  # ask everyone "Stay signed in?" after signing in (see also sign-on rules)
    activation_token_days: float = 7  # how long an activation email's link works
    request_activation_email: bool = True  # an expired activation link offers a new email
    scope_defs: dict = field(default_factory=dict)  # name -> Scope (standard ones + [[scopes]])
    sign_on: list[SignOnRule] = field(default_factory=list)
    enrollment: list[EnrollmentRule] = field(default_factory=list)
    profile_enrollment: ProfileEnrollment = field(default_factory=ProfileEnrollment)
    recovery_authenticators: list[str] = field(default_factory=list)
    idps: list[Idp] = field(default_factory=list)
    tokens: list[Token] = field(default_factory=list)
    clients: list[Client] = field(default_factory=list)
    users: list[User] = field(default_factory=list)
    scopes: list[str] = field(
        default_factory=lambda: ["openid", "profile", "email", "offline_access", "phone", "address"]
    )
    # Origins whose pages may call the org from the browser (CORS): exact origins, or a host with
    # port `*`. Requests from any other origin get no CORS headers, so browsers refuse them.
    trusted_origins: list[str] = field(default_factory=list)
    # Okta's "User enumeration prevention" (Security > General; on for new orgs): identify,
    # recovery and unlock answer an unknown, staged or locked-out user exactly as an existing
    # one, so an attacker cannot tell which accounts exist. Off: unknown users are told so.
    user_enumeration_prevention: bool = False
    captcha: CaptchaSetting | None = None  # off unless the org file has a [captcha] section
    # Direct Authentication (direct.py): how long an mfa_token and an oob_code live, and the
    # `interval` a client must leave between polls of a push (Okta: 300, 300 and 5 seconds).
    mfa_token_seconds: float = 300
    oob_code_seconds: float = 300
    direct_poll_seconds: int = 5

    def origin_trusted(self, origin: str | None) -> bool:
        """Whether a browser page at `origin` (an Origin header) may call the org."""
        if not origin or origin == "null":
            return False
        try:
            scheme, host, port = origin_pattern(origin)
        except OrgError:
            return False
        if port == "*":
            return False  # a page's origin has a real port
        for entry in self.trusted_origins:
            t_scheme, t_host, t_port = origin_pattern(entry)
            if (t_scheme, t_host) == (scheme, host) and (t_port == "*" or t_port == port):
                return True
        return False

    def user(self, login: str | None) -> User | None:
        login = (login or "").strip().lower()
        return next((u for u in self.users if u.login.lower() == login), None)

    def user_by_id(self, user_id: str) -> User | None:
        return next((u for u in self.users if u.id == user_id), None)

    def client(self, client_id: str | None) -> Client | None:
        return next((c for c in self.clients if c.id == client_id), None)

    def allow_redirect_uri(self, uri: str) -> None:
        """Register one more redirect URI (exact) with every client (`--redirect-uri`); OrgError
        when it cannot be one."""
        check_redirect_uri(uri)
        for c in self.clients:
            c.allow_redirect_uri(uri)

    def idp(self, idp_id: str) -> Idp | None:
        return next((i for i in self.idps if i.id == idp_id), None)

    def idp_for(self, key: str) -> Idp | None:
        """The identity provider behind a federated authenticator (external_idp, smart_card_idp)."""
        return next((i for i in self.idps if i.authenticator == key), None)

    def token(self, kind: str, token_id: str | None) -> Token | None:
        wanted = (token_id or "").lower()
        return next((t for t in self.tokens if t.kind == kind and t.id.lower() == wanted), None)

    def token_holder(self, kind: str, token_id: str) -> User | None:
        """The user who has enrolled this token, if anyone."""
        wanted = token_id.lower()
        return next(
            (
                u
                for u in self.users
                for e in u.enrollments_of(kind)
                if str(e.data.get("credential_id", "")).lower() == wanted
            ),
            None,
        )

    def authenticator_id(self, key: str) -> str:
        return stable_id("aut", self.name, key)

    @property
    def id(self) -> str:
        """The org's own id (`00o…`): the ID token's `idp` after a sign-in Okta did itself."""
        return stable_id("00o", self.name)

    def scope(self, name: str) -> Scope:
        if name in self.scope_defs:
            return self.scope_defs[name]
        label, description = STANDARD_SCOPES.get(name, (name, ""))
        return Scope(name, label, description)

    def has_grant(self, user: User, client: Client, scope: str) -> bool:
        if scope in user.grants.get(client.id, ()):
            return True
        return not user.consent_pending and scope in STANDARD_SCOPES

    def consent_needed(self, user: User, client: Client, scopes: list[str]) -> list[Scope]:
        """The requested scopes this user must still consent to for this client."""
        if not client.consent_required:
            return []
        return [
            self.scope(s) for s in scopes if self.scope(s).consent != "implicit" and not self.has_grant(user, client, s)
        ]

    def progressive_attributes(self, user: User) -> list[ProfileAttribute]:
        """Attributes progressive profiling asks this user for after signing in (the ones they lack)."""
        policy = self.profile_enrollment
        if policy.progressive_groups and not set(policy.progressive_groups) & set(user.groups):
            return []
        return [a for a in policy.attributes if a.sign_in and profile_value(user, a.name) in (None, "")]

    def asks_kmsi(self, user: User) -> bool:
        return self.post_auth_kmsi or self.sign_on_rule(user).post_auth_kmsi

    def sign_on_rule(self, user: User) -> SignOnRule:
        return _first_matching(self.sign_on, user) or SignOnRule("default")

    def enrollment_rule(self, user: User) -> EnrollmentRule:
        return _first_matching(self.enrollment, user) or EnrollmentRule("default")

    def add_user(self, user: User) -> User:
        user.id = user.id or stable_id("00u", self.name, user.login.lower())
        for e in user.enrollments:
            e.id = e.id or stable_id("enr", self.name, user.login.lower(), e.key)
        self.users.append(user)
        return user


def profile_value(user: User, name: str):
    """A profile attribute of the user (names live on the user as well as in `profile`)."""
    builtin = {"firstName": user.first_name, "lastName": user.last_name, "email": user.email, "login": user.login}
    return builtin[name] if name in builtin else user.profile.get(name)


def _first_matching(rules, user):
    return next((r for r in rules if not r.groups or set(r.groups) & set(user.groups)), None)


def load_org(path: str | Path) -> Org:
    with open(path, "rb") as f:
        return org_from_dict(tomllib.load(f))


def demo_org() -> Org:
    return load_org(DEMO_ORG_FILE)


def org_from_toml(text: str) -> Org:
    return org_from_dict(tomllib.loads(text))


def _build(cls, data: dict, where: str):
    try:
        return cls(**data)
    except TypeError as e:
        raise OrgError(f"{where}: {e}") from None


def org_from_dict(data: dict) -> Org:
    data = dict(data)
    settings = dict(data.pop("org", {}))
    org = _build(Org, {k: v for k, v in settings.items()}, "[org]")
    org.password = _build(PasswordPolicy, data.pop("password", {}), "[password]")
    lockout = data.pop("lockout", {})
    org.lockout_attempts = lockout.get("max_attempts", 0)
    org.self_service_unlock = lockout.get("self_service_unlock", False)
    org.after_unlock = lockout.get("after_unlock", org.after_unlock)
    if org.after_unlock not in ("sign_in", "message"):
        raise OrgError('[lockout] after_unlock must be "sign_in" or "message"')
    rate = data.pop("rate_limit", {})
    org.rate_limit_requests = rate.get("requests", org.rate_limit_requests)
    org.rate_limit_seconds = rate.get("seconds", org.rate_limit_seconds)
    sign_on = data.pop("sign_on", {})
    org.first_form = sign_on.get("first_form", org.first_form)
    if org.first_form not in FIRST_FORMS:
        raise OrgError(f"[sign_on] first_form must be one of {sorted(FIRST_FORMS)}")
    org.sign_on = [_build(SignOnRule, r, "[[sign_on.rules]]") for r in sign_on.get("rules", [])]
    org.enrollment = [
        _build(EnrollmentRule, r, "[[enrollment.rules]]") for r in data.pop("enrollment", {}).get("rules", [])
    ]
    profile = dict(data.pop("profile_enrollment", {}))
    attributes = [
        _build(ProfileAttribute, a, "[[profile_enrollment.attributes]]") for a in profile.pop("attributes", [])
    ]
    org.profile_enrollment = _build(ProfileEnrollment, profile, "[profile_enrollment]")
    org.profile_enrollment.attributes = attributes
    org.recovery_authenticators = data.pop("recovery", {}).get("authenticators", [])
    for raw in data.pop("scopes", []):
        scope = _build(Scope, raw, "[[scopes]]")
        if scope.consent not in CONSENT_LEVELS:
            raise OrgError(f"scope {scope.name}: consent must be one of {sorted(CONSENT_LEVELS)}")
        standard = STANDARD_SCOPES.get(scope.name, ("", ""))
        scope.label, scope.description = scope.label or standard[0] or scope.name, scope.description or standard[1]
        org.scope_defs[scope.name] = scope
        if scope.name not in org.scopes:
            org.scopes.append(scope.name)
    for a in attributes:
        if a.sign_in not in (None, "required", "optional"):
            raise OrgError(f'profile attribute {a.name}: sign_in must be "required" or "optional"')
    if "captcha" in data:
        org.captcha = _build(CaptchaSetting, data.pop("captcha"), "[captcha]")
    org.idps = [_build(Idp, i, "[[idps]]") for i in data.pop("idps", [])]
    org.tokens = [_build(Token, t, "[[tokens]]") for t in data.pop("tokens", [])]
    org.clients = [_build(Client, c, "[[clients]]") for c in data.pop("clients", [])]
    for raw in data.pop("users", []):
        raw = dict(raw)
        enrollments = [
            Enrollment(key=e.pop("key"), id=e.pop("id", ""), data=e) for e in map(dict, raw.pop("enrollments", []))
        ]
        user = _build(User, raw, f"user {raw.get('login')}")
        if user.status not in USER_STATUSES:
            raise OrgError(f"user {user.login}: status must be one of {sorted(USER_STATUSES)}")
        if user.password and not user.enrollment("okta_password"):
            enrollments.insert(0, Enrollment("okta_password", ""))
        user.enrollments = enrollments
        org.add_user(user)
    if data:
        raise OrgError(f"unknown sections: {', '.join(sorted(data))}")
    for name in ("mfa_token_seconds", "oob_code_seconds"):
        value = getattr(org, name)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise OrgError(f"[org] {name} must be a positive number of seconds")
    poll = org.direct_poll_seconds
    if isinstance(poll, bool) or not isinstance(poll, int) or poll < 0:
        raise OrgError("[org] direct_poll_seconds must be whole seconds, 0 or more")
    for entry in org.trusted_origins:
        origin_pattern(entry)  # OrgError when malformed
    for i in org.idps:
        if i.authenticator is not None and i.authenticator not in FEDERATED_KEYS:
            raise OrgError(f"identity provider {i.id}: authenticator must be one of {sorted(FEDERATED_KEYS)}")
        if i.authenticator == "smart_card_idp" and i.type != "X509":
            raise OrgError(f"identity provider {i.id}: a smart card identity provider has type X509")
    for key in FEDERATED_KEYS & set(org.authenticators):
        if org.idp_for(key) is None:
            raise OrgError(f'authenticator {key} needs an [[idps]] entry with authenticator = "{key}"')
    known = set(org.authenticators)
    for user in org.users:
        for e in user.enrollments:
            if e.key not in known:
                raise OrgError(f"user {user.login}: authenticator {e.key} is not enabled in [org] authenticators")
    return org


def describe_org(org: Org) -> str:
    """Human-readable lines: who can sign in and with what (printed at start-up, quoted in docs)."""
    lines = [f"{org.name}: development simulator, not an identity provider. Users:"]
    for u in org.users:
        bits = [f"password {u.password}" if u.password else "no password"]
        if u.password_expires_in_days is not None:
            bits.append(f"password expires in {u.password_expires_in_days} days")
        for e in u.enrollments:
            d = e.data
            if e.key == "okta_email":
                bits.append(f"email {d.get('email', u.email)}")
            elif e.key == "phone_number":
                bits.append(f"phone {d['phone']} ({' or '.join(org.phone_methods)})")
            elif e.key == "okta_verify" and d.get("fastpass"):
                bits.append(
                    "Okta FastPass on this computer (the simulator answers the page's loopback probe)"
                    + (f"; push or TOTP secret {d['secret']}" if d.get("secret") else "")
                )
            elif e.key == "okta_verify":
                bits.append(f"okta_verify push (answer at /outbox) or TOTP secret {d['secret']}")
            elif e.key in ("google_otp", "custom_otp", "rsa_token", "onprem_mfa"):
                bits.append(f"{e.key} TOTP secret {d['secret']}")
            elif e.key == "symantec_vip":
                bits.append(f"symantec_vip credential {d['credential_id']} TOTP secret {d['secret']}")
            elif e.key == "yubikey_token":
                bits.append(f"yubikey_token OTP {d['credential_id']} + 32 new modhex letters (cbdefghijklnrtuv)")
            elif e.key == "tac":
                bits.append(f"temporary access code {d['code']} (once)")
            elif e.key == "custom_app":
                bits.append("custom push app (approve at /outbox)")
            elif e.key == "external_idp":
                idp = org.idp_for(e.key)  # checked at load: a federated authenticator has its IdP
                bits.append(f"identity provider {idp.name if idp else e.key} as a factor (Continue on its page)")
            elif e.key == "smart_card_idp":
                bits.append(f"smart card, certificate {d['subject']!r}")
            elif e.key == "duo":
                bits.append("Duo (approve in the framed fake Duo)")
            elif e.key == "nfc_pin":
                bits.append(f"NFC PIN {d['pin']}")
            elif e.key == "security_question":
                key = str(d.get("question_key", "custom"))
                question = d.get("question") or QUESTIONS.get(key, key)
                bits.append(f"security question {question!r} answer {d['answer']!r}")
            elif e.key == "webauthn":
                bits.append("webauthn credential " + d["credential_id"])
        rule = org.enrollment_rule(u)
        enrolled = set(u.enrolled_keys())
        missing = [k for k in rule.required if k not in enrolled]
        if missing:
            bits.append("must enroll " + ", ".join(missing) + " at sign-in")
        elif len(enrolled) < max(rule.min_factors, org.sign_on_rule(u).factors) and rule.optional:
            bits.append(
                "must enroll one of " + ", ".join(k for k in rule.optional if k not in enrolled) + " at sign-in"
            )
        asked = org.progressive_attributes(u)
        if asked and u.status == "active":
            bits.append("asked after signing in for " + ", ".join(f"{a.label} ({a.sign_in})" for a in asked))
        if org.asks_kmsi(u):
            bits.append('asked "Stay signed in?" after signing in')
        if u.consent_pending and any(c.consent_required for c in org.clients):
            bits.append("has granted no scopes yet: consent page at first sign-in")
        if u.status == "staged":
            bits.append("activation email from the outbox's Admin form (send it already expired to request a new one)")
        status = "" if u.status == "active" else f" [{u.status}]"
        groups = f" (groups: {', '.join(u.groups)})" if u.groups else ""
        lines.append(f"  {u.login}{status}{groups}: " + "; ".join(bits))
    for c in org.clients:
        secret = f" / secret {c.secret}" if c.secret else " (public)"
        loop = " (any loopback port)" if c.loopback_any_port else ""
        if c.loopback_redirect_suffix:
            loop += (
                f", and any loopback URI {LOOPBACK_HOSTS}, any port, whose path ends in {c.loopback_redirect_suffix}"
            )
        lines.append(
            f"OAuth client {c.id}{secret}; redirect URIs {', '.join(c.redirect_uris)}{loop}"
            + ("; requires consent" if c.consent_required else "")
        )
    lines.append(
        "Browser pages may call the org (CORS) from: "
        + (", ".join(org.trusted_origins) or "nowhere")
        + " (port * = any port)"
    )
    lines.append(
        "User enumeration prevention: "
        + (
            "on (unknown, staged and locked-out users are answered as existing ones)"
            if org.user_enumeration_prevention
            else "off (unknown users are told so)"
        )
    )
    if org.captcha is not None:
        lines.append(f"CAPTCHA ({org.captcha.type}, the simulator's fake provider) on: {', '.join(org.captcha.steps)}")
    asking = [sc for sc in map(org.scope, org.scopes) if sc.consent != "implicit"]
    if asking and any(c.consent_required for c in org.clients):
        lines.append(
            "Consent asked for (until granted): "
            + ", ".join(f"{sc.name} ({sc.consent})" for sc in asking)
            + "; the standard scopes count as granted except by users with consent_pending"
        )
    lines.append(
        "Step-up: acr_values " + ", ".join(ACR_VALUES) + " raise what a sign-in needs; the ID token's acr "
        "is the value asked for, auth_time this sign-in's (max_age, even 0, is always met)"
    )
    lines.append(
        f"Activation links work {org.activation_token_days:g} days; an expired one "
        + ("offers a new activation email" if org.request_activation_email else "says to contact the administrator")
        + ' (POST /_sim/expire {"activation_login": …} expires one)'
    )
    lines.append('Completed sign-ins (amr, acr, idp, the "Stay signed in?" answer, scopes): GET /_sim/sessions')
    direct = [c.id for c in org.clients if "password" in c.grant_types]
    if direct:
        lines.append(
            f"Direct Authentication (password, otp, oob and mfa grants, /v1/challenge, /v1/primary-authenticate) "
            f"for {', '.join(direct)}: mfa_token {org.mfa_token_seconds:g} s, oob_code {org.oob_code_seconds:g} s, "
            f"push polled every {org.direct_poll_seconds} s"
        )
    for i in org.idps:
        role = f", the {i.authenticator} authenticator" if i.authenticator else ""
        role += ", on the first page" if i.on_identify and i.authenticator else ""
        lines.append(f"Identity provider {i.name} ({i.type}, id {i.id}{role})")
    for t in org.tokens:
        holder = org.token_holder(t.kind, t.id)
        secret = f", TOTP secret {t.secret}" if t.secret else ""
        lines.append(
            f"Token {t.kind} {t.id}{secret}" + (f" (enrolled by {holder.login})" if holder else " (not enrolled)")
        )
    lines.append("Codes, magic links, Okta Verify pushes and activations appear at /outbox.")
    if "webauthn" in org.authenticators:
        lines.append(
            "WebAuthn: the relying party is the app's origin (from redirect_uri); browse the app on localhost."
        )
        if org.passkey_autofill:
            lines.append("Passkeys: the first page offers autofill (a passkey signs in without a username).")
        if org.passkey_promotion_groups:
            lines.append(
                f"Passkeys: groups {', '.join(org.passkey_promotion_groups)} "
                "are invited to create one after signing in."
            )
    return "\n".join(lines)
