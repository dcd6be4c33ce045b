"""Settings: a frozen dataclass read from the environment and checked at start-up.

The names are the ones the other Okta IDX SDKs use (OKTA_IDX_ISSUER, ...).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from . import themes
from .redis_settings import RedisOptions, RedisSettingsError, RedisTarget, redis_target

ENV_NAMES = ("OKTA_IDX_ISSUER", "OKTA_IDX_CLIENTID", "OKTA_IDX_CLIENTSECRET", "OKTA_IDX_SCOPES", "OKTA_IDX_REDIRECTURI")
DEFAULT_SCOPES = ("openid", "profile", "email")
# embedded: this server drives the IDX API and renders every step. redirect: every sign-in goes
# to the org's own sign-in page (/v1/authorize) and comes back to the same callback with a code.
# direct: this server renders every page and signs in with Okta's Direct Authentication grants
# (password, a TOTP code, a push, SMS or voice: /v1/token, /v1/challenge), no IDX transaction.
MODES = ("embedded", "redirect", "direct")
LOG_FORMATS = ("text", "json")


class SettingsError(ValueError):
    """A missing or invalid setting; the message is one line meant for a person."""


def origin_of(url: str) -> str:
    """`scheme://host[:port]` of an absolute URL."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Settings:
    issuer: str
    client_id: str
    redirect_uri: str
    client_secret: str | None = None
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    # Theme directories, child first, searched before the built-in templates, texts and static
    # files (docs/theming.md); `template_dir` is the older spelling of a chain of one.
    theme_dirs: tuple[str, ...] = ()
    template_dir: str | None = None
    # Development: templates are checked on disk and recompiled when changed (never in production).
    template_reload: bool = False
    transaction_minutes: int = 30  # how long a sign-in transaction may sit in the session
    session_idle_minutes: int = 60
    # However active, a session ends this long after it began (sign-in starts a new one): ASVS 7.3.2.
    session_max_hours: float = 12
    max_sessions: int = 10_000
    upstream_timeout: float = 10.0
    # Reverse proxies whose X-Forwarded-For we believe (their addresses); others' are ignored.
    trusted_proxies: tuple[str, ...] = ()
    # (count, per seconds) beyond which the app answers 429 itself, before anything goes upstream:
    # step posts from one client address; Identity Engine calls for one transaction (every call
    # counts, introspect and polls too, so it fires before Okta's own 10 per state token per 5 s);
    # sign-ins started from one address (each costs /interact and /introspect). Behind a proxy or
    # a NAT many people share an address: set EMBEDDED_TRUSTED_PROXIES, or raise the per-address ones.
    step_limit_per_ip: tuple[int, float] = (100, 60.0)
    # At most Okta's own 10 per state token in any 5 s, counting every step and poll (a quick
    # person makes five in a row: identify, password, a method, its details, the code).
    step_limit_per_transaction: tuple[int, float] = (10, 5.0)
    login_limit_per_ip: tuple[int, float] = (30, 60.0)
    # Sessions, transactions, limits and locks on Redis, shared by every instance: one server
    # (redis://, rediss:// or unix://), a Sentinel-managed primary (redis+sentinel://) or a
    # Cluster (redis+cluster://), with `redis` for the rest; in this process's memory when unset.
    redis_url: str | None = None
    redis: RedisOptions = RedisOptions()
    # Keys the hash of user identifiers in sign-in event logs; random per process when unset.
    audit_key: str | None = None
    mode: str = "embedded"
    # Registration with an email that already has an account: by default the form says so (Okta's
    # answer); concealed, the registration ends on a neutral "check your email" page instead.
    conceal_existing_accounts: bool = False
    # Operations: Prometheus metrics at /metrics on the app (metrics=True), or on their own
    # listener ("host:port"; the app then serves none); how log lines look; how long a stopping
    # server lets requests in flight finish before it cancels them.
    metrics: bool = False
    metrics_listen: tuple[str, int] | None = None
    log_format: str = "text"
    shutdown_seconds: float = 10.0
    # The app's name on every page (header, titles), in every language; unset: the catalogues' "My App".
    app_name: str | None = None

    def __post_init__(self) -> None:
        issuer = urlsplit(self.issuer)
        if issuer.scheme not in ("https", "http") or not issuer.hostname:
            raise SettingsError(f"OKTA_IDX_ISSUER must be an absolute URL, got {self.issuer!r}")
        if issuer.scheme != "https" and not is_loopback(issuer.hostname):
            raise SettingsError(
                f"OKTA_IDX_ISSUER must use https (plain http is only allowed on loopback), got {self.issuer!r}"
            )
        if issuer.query or issuer.fragment:
            raise SettingsError("OKTA_IDX_ISSUER must not carry a query or fragment")
        redirect = urlsplit(self.redirect_uri)
        if redirect.scheme not in ("https", "http") or not redirect.hostname:
            raise SettingsError(f"OKTA_IDX_REDIRECTURI must be an absolute http(s) URL, got {self.redirect_uri!r}")
        if not self.client_id:
            raise SettingsError("OKTA_IDX_CLIENTID is empty")
        if "openid" not in self.scopes:
            raise SettingsError("OKTA_IDX_SCOPES must include 'openid' (the ID token signs the user in)")
        for name, (count, seconds) in (
            ("EMBEDDED_STEP_LIMIT_PER_IP", self.step_limit_per_ip),
            ("EMBEDDED_STEP_LIMIT_PER_TRANSACTION", self.step_limit_per_transaction),
            ("EMBEDDED_LOGIN_LIMIT_PER_IP", self.login_limit_per_ip),
        ):
            if count < 1 or not seconds > 0:  # (NaN is not > 0)
                raise SettingsError(
                    f"{name} must allow at least 1 per a positive number of seconds, got {count}/{seconds:g}"
                )
        for name, value in (
            ("EMBEDDED_TRANSACTION_MINUTES", self.transaction_minutes),
            ("EMBEDDED_SESSION_IDLE_MINUTES", self.session_idle_minutes),
            ("EMBEDDED_SESSION_MAX_HOURS", self.session_max_hours),
            ("EMBEDDED_MAX_SESSIONS", self.max_sessions),
        ):
            if value <= 0:
                raise SettingsError(f"{name} must be positive, got {value:g}")
        _ = self.redis_target  # checked now: a malformed Redis setting stops the start
        if self.log_format not in LOG_FORMATS:
            raise SettingsError(f"EMBEDDED_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, got {self.log_format!r}")
        if not 0 < self.shutdown_seconds < 3600:
            raise SettingsError(
                f"EMBEDDED_SHUTDOWN_SECONDS must be between 0 and 3600 seconds, got {self.shutdown_seconds:g}"
            )
        if self.metrics_listen is not None and not 0 < self.metrics_listen[1] < 65536:
            raise SettingsError(f"EMBEDDED_METRICS_PORT must be a port number (1-65535), got {self.metrics_listen[1]}")
        if self.mode not in MODES:
            raise SettingsError(f"EMBEDDED_MODE must be one of {', '.join(MODES)}, got {self.mode!r}")
        self._check_themes()

    def _check_themes(self) -> None:
        # Given as a list or as paths, kept as a tuple of strings (the settings stay hashable).
        object.__setattr__(self, "theme_dirs", tuple(str(d) for d in themes.chain(self.theme_dirs)))
        if self.theme_dirs and self.template_dir:
            raise SettingsError(
                "set EMBEDDED_THEME_DIRS or EMBEDDED_TEMPLATE_DIR (the older spelling of one theme), not both"
            )
        name = "EMBEDDED_THEME_DIRS" if self.theme_dirs else "EMBEDDED_TEMPLATE_DIR"
        for theme_dir in self.theme_chain:
            if (why := themes.problem(theme_dir)) is not None:
                raise SettingsError(f"{name}: {why}")

    @cached_property
    def redis_target(self) -> RedisTarget | None:
        """Where the shared store is (None: in memory)."""
        try:
            return redis_target(self.redis_url, self.redis)
        except RedisSettingsError as exc:
            raise SettingsError(str(exc)) from None

    @property
    def theme_chain(self) -> tuple[str, ...]:
        """Every theme directory, child first: `theme_dirs`, or `template_dir` alone."""
        return self.theme_dirs or ((self.template_dir,) if self.template_dir else ())

    @property
    def issuer_url(self) -> str:
        return self.issuer.rstrip("/")

    @property
    def oauth_base(self) -> str:
        """Where /v1/interact, /v1/token, ... live: the issuer for a custom server, else issuer + /oauth2."""
        return self.issuer_url if "/oauth2" in self.issuer_url else self.issuer_url + "/oauth2"

    @cached_property
    def org_origin(self) -> str:
        """The Identity Engine's own origin: where /idp/idx/* lives."""
        return origin_of(self.issuer_url)

    @property
    def secure_cookies(self) -> bool:
        return urlsplit(self.redirect_uri).scheme == "https"

    @cached_property
    def app_origin(self) -> str:
        """Where the app itself is served: the redirect URI's origin (Okta sends people back there after sign-out)."""
        return origin_of(self.redirect_uri)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if environ is None else environ
        missing = [n for n in ("OKTA_IDX_ISSUER", "OKTA_IDX_CLIENTID", "OKTA_IDX_REDIRECTURI") if not env.get(n)]
        if missing:
            raise SettingsError(f"missing setting{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")
        scopes = tuple(env.get("OKTA_IDX_SCOPES", "").split()) or DEFAULT_SCOPES
        return cls(
            issuer=env["OKTA_IDX_ISSUER"],
            client_id=env["OKTA_IDX_CLIENTID"],
            client_secret=env.get("OKTA_IDX_CLIENTSECRET") or None,
            scopes=scopes,
            redirect_uri=env["OKTA_IDX_REDIRECTURI"],
            theme_dirs=themes.split_setting(env.get("EMBEDDED_THEME_DIRS", "")),
            template_dir=env.get("EMBEDDED_TEMPLATE_DIR") or None,
            template_reload=flag(env, "EMBEDDED_TEMPLATE_RELOAD"),
            trusted_proxies=tuple(env.get("EMBEDDED_TRUSTED_PROXIES", "").replace(",", " ").split()),
            audit_key=env.get("EMBEDDED_AUDIT_KEY") or None,
            mode=env.get("EMBEDDED_MODE") or "embedded",
            conceal_existing_accounts=flag(env, "EMBEDDED_CONCEAL_EXISTING_ACCOUNTS"),
            redis_url=env.get("EMBEDDED_REDIS_URL") or None,
            redis=redis_options(env),
            metrics=flag(env, "EMBEDDED_METRICS"),
            metrics_listen=listen_address(env["EMBEDDED_METRICS_PORT"]) if env.get("EMBEDDED_METRICS_PORT") else None,
            log_format=(env.get("EMBEDDED_LOG_FORMAT") or "text").strip().lower(),
            app_name=env.get("EMBEDDED_APP_NAME", "").strip() or None,
            **tuning(env),
            **overrides,
        )


def rate(text: str) -> tuple[int, float]:
    """ "100/60": 100 per 60 seconds."""
    count, _, seconds = text.partition("/")
    try:
        return int(count), float(seconds or "nan")
    except ValueError:
        raise SettingsError(f"a limit is written COUNT/SECONDS, like 100/60; got {text!r}") from None


def number(kind: type[int] | type[float]) -> Callable[[str], float]:
    def read(text: str) -> float:
        try:
            return kind(text)
        except ValueError:
            raise SettingsError(f"expected a number, got {text!r}") from None

    return read


# Limits and lifetimes read from the environment: variable -> (Settings field, parser).
TUNING: dict[str, tuple[str, Callable[[str], Any]]] = {
    "EMBEDDED_STEP_LIMIT_PER_IP": ("step_limit_per_ip", rate),
    "EMBEDDED_STEP_LIMIT_PER_TRANSACTION": ("step_limit_per_transaction", rate),
    "EMBEDDED_LOGIN_LIMIT_PER_IP": ("login_limit_per_ip", rate),
    "EMBEDDED_TRANSACTION_MINUTES": ("transaction_minutes", number(int)),
    "EMBEDDED_SESSION_IDLE_MINUTES": ("session_idle_minutes", number(int)),
    "EMBEDDED_SESSION_MAX_HOURS": ("session_max_hours", number(float)),
    "EMBEDDED_MAX_SESSIONS": ("max_sessions", number(int)),
    "EMBEDDED_SHUTDOWN_SECONDS": ("shutdown_seconds", number(float)),
}


def tuning(env: Mapping[str, str]) -> dict[str, Any]:
    """The TUNING variables that are set, parsed; a bad one is refused with its name."""
    found = {}
    for name, (field_name, parse) in TUNING.items():
        if env.get(name):
            try:
                found[field_name] = parse(env[name])
            except SettingsError as exc:
                raise SettingsError(f"{name}: {exc}") from None
    return found


def listen_address(text: str) -> tuple[str, int]:
    """EMBEDDED_METRICS_PORT: "9100" (every interface) or "127.0.0.1:9100"."""
    host, _, port = text.strip().rpartition(":")
    if not port.isdigit():
        raise SettingsError(f"EMBEDDED_METRICS_PORT must be PORT or HOST:PORT, got {text!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


def flag(env: Mapping[str, str], name: str) -> bool:
    """A yes/no setting: 1/true/yes or 0/false/no (or unset); anything else is refused."""
    value = env.get(name, "").strip().lower()
    if value in ("", "0", "false", "no"):
        return False
    if value in ("1", "true", "yes"):
        return True
    raise SettingsError(f"{name} must be 1 or 0, got {env[name]!r}")


def configured_in(environ: Mapping[str, str]) -> bool:
    """Whether any OKTA_IDX_* setting is present (otherwise the demo runs on the simulator)."""
    return any(environ.get(n) for n in ENV_NAMES)


def redis_options(env: Mapping[str, str]) -> RedisOptions:
    """The EMBEDDED_REDIS_* settings beside EMBEDDED_REDIS_URL (docs/redis.md)."""
    replicas, confirm_ms = (whole(env, name) for name in ("EMBEDDED_REDIS_REPLICAS", "EMBEDDED_REDIS_CONFIRM_MS"))
    return RedisOptions(
        sentinels=tuple(env.get("EMBEDDED_REDIS_SENTINELS", "").replace(",", " ").split()),
        service=env.get("EMBEDDED_REDIS_SERVICE") or None,
        cluster=flag(env, "EMBEDDED_REDIS_CLUSTER"),
        username=env.get("EMBEDDED_REDIS_USERNAME") or None,
        password=env.get("EMBEDDED_REDIS_PASSWORD") or None,
        sentinel_password=env.get("EMBEDDED_REDIS_SENTINEL_PASSWORD") or None,
        tls=flag(env, "EMBEDDED_REDIS_TLS"),
        tls_ca_file=env.get("EMBEDDED_REDIS_TLS_CA_FILE") or None,
        tls_cert_file=env.get("EMBEDDED_REDIS_TLS_CERT_FILE") or None,
        tls_key_file=env.get("EMBEDDED_REDIS_TLS_KEY_FILE") or None,
        replicas=replicas,
        confirm_ms=RedisOptions.confirm_ms if confirm_ms is None else confirm_ms,
    )


def whole(env: Mapping[str, str], name: str) -> int | None:
    """A whole-number setting, None when unset."""
    if not env.get(name):
        return None
    try:
        return int(env[name])
    except ValueError:
        raise SettingsError(f"{name}: expected a whole number, got {env[name]!r}") from None
