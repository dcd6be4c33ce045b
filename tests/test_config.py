"""Settings from the environment, checked at start-up; bad ones stop the CLI with one line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import ROOT

from embedded.config import Settings, SettingsError, configured_in

GOOD = {
    "OKTA_IDX_ISSUER": "https://org.example.com/oauth2/default",
    "OKTA_IDX_CLIENTID": "0oa1",
    "OKTA_IDX_CLIENTSECRET": "s3cret",
    "OKTA_IDX_SCOPES": "openid profile  email offline_access",
    "OKTA_IDX_REDIRECTURI": "https://app.example.com/login/callback",
}


def test_settings_from_the_environment():
    s = Settings.from_env(GOOD)
    assert s.scopes == ("openid", "profile", "email", "offline_access")
    assert s.oauth_base == "https://org.example.com/oauth2/default"
    assert s.org_origin == "https://org.example.com"
    assert s.secure_cookies
    public = Settings.from_env({**GOOD, "OKTA_IDX_CLIENTSECRET": "", "OKTA_IDX_SCOPES": ""})
    assert public.client_secret is None and public.scopes == ("openid", "profile", "email")
    org_server = Settings.from_env({**GOOD, "OKTA_IDX_ISSUER": "https://org.example.com"})
    assert org_server.oauth_base == "https://org.example.com/oauth2"
    with pytest.raises(AttributeError):
        s.issuer = "x"  # frozen


@pytest.mark.parametrize(
    "change, complaint",
    [
        ({"OKTA_IDX_ISSUER": ""}, "missing setting: OKTA_IDX_ISSUER"),
        ({"OKTA_IDX_ISSUER": "http://org.example.com/oauth2/default"}, "must use https"),
        ({"OKTA_IDX_ISSUER": "org.example.com"}, "absolute URL"),
        ({"OKTA_IDX_REDIRECTURI": "/login/callback"}, "OKTA_IDX_REDIRECTURI must be an absolute"),
        ({"OKTA_IDX_SCOPES": "profile email"}, "must include 'openid'"),
        (
            {"OKTA_IDX_CLIENTID": "", "OKTA_IDX_REDIRECTURI": ""},
            "missing settings: OKTA_IDX_CLIENTID, OKTA_IDX_REDIRECTURI",
        ),
    ],
)
def test_bad_settings_are_refused_with_a_clear_line(change, complaint):
    with pytest.raises(SettingsError, match=complaint):
        Settings.from_env({**GOOD, **change})


def test_plain_http_is_allowed_only_on_loopback():
    for issuer in (
        "http://127.0.0.1:8081/oauth2/default",
        "http://localhost:9/oauth2/default",
        "http://[::1]:9/oauth2/default",
    ):
        assert Settings.from_env({**GOOD, "OKTA_IDX_ISSUER": issuer}).issuer == issuer
    assert not configured_in({}) and configured_in({"OKTA_IDX_ISSUER": "x"})


def test_the_command_line_exits_2_with_one_line_on_a_bad_setting():
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKTA_IDX_")}
    env.update({**GOOD, "OKTA_IDX_ISSUER": "http://evil.example.com"})
    done = subprocess.run(
        [sys.executable, "-m", "embedded", "--port", "0"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "must use https" in done.stderr and "Traceback" not in done.stderr


def test_the_command_line_refuses_a_redirect_uri_that_is_not_the_callback():
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKTA_IDX_")}
    env.update(
        {
            **GOOD,
            "OKTA_IDX_ISSUER": "http://127.0.0.1:9/oauth2/default",
            "OKTA_IDX_REDIRECTURI": "http://127.0.0.1:8080/oauth/callback",
        }
    )
    done = subprocess.run(
        [sys.executable, "-m", "embedded", "--port", "0"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "/login/callback" in done.stderr and "Traceback" not in done.stderr


def test_the_mode_is_embedded_or_redirect():
    assert Settings.from_env(GOOD).mode == "embedded"
    assert Settings.from_env({**GOOD, "EMBEDDED_MODE": "redirect"}).mode == "redirect"
    with pytest.raises(SettingsError, match="EMBEDDED_MODE"):
        Settings.from_env({**GOOD, "EMBEDDED_MODE": "hosted"})


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_command_line_serves_the_demo_on_the_ports_it_was_given():
    import time
    import urllib.request

    port, sim_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKTA_IDX_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "embedded", "--port", str(port), "--sim-port", str(sim_port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as resp:
                    assert resp.status == 200 and b'href="/login"' in resp.read()
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "the app did not start"
                time.sleep(0.2)
        with urllib.request.urlopen(
            f"http://127.0.0.1:{sim_port}/oauth2/default/.well-known/openid-configuration", timeout=2
        ) as resp:
            assert resp.status == 200
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/" in out and "alice@example.com" in out and "not an identity provider" in out


def test_limits_and_lifetimes_are_settings():
    s = Settings.from_env(
        {
            **GOOD,
            "EMBEDDED_STEP_LIMIT_PER_IP": "500/60",
            "EMBEDDED_STEP_LIMIT_PER_TRANSACTION": "6/5",
            "EMBEDDED_LOGIN_LIMIT_PER_IP": "10/30",
            "EMBEDDED_TRANSACTION_MINUTES": "15",
            "EMBEDDED_SESSION_IDLE_MINUTES": "20",
            "EMBEDDED_SESSION_MAX_HOURS": "8.5",
            "EMBEDDED_MAX_SESSIONS": "50000",
            "EMBEDDED_REDIS_URL": "redis://127.0.0.1:6379/0",
        }
    )
    assert (s.step_limit_per_ip, s.step_limit_per_transaction, s.login_limit_per_ip) == (
        (500, 60.0),
        (6, 5.0),
        (10, 30.0),
    )
    assert (s.transaction_minutes, s.session_idle_minutes, s.session_max_hours, s.max_sessions) == (15, 20, 8.5, 50000)
    assert s.redis_url == "redis://127.0.0.1:6379/0"
    defaults = Settings.from_env(GOOD)
    # Never over Okta's own 10 per state token in 5 s.
    assert defaults.step_limit_per_transaction == (10, 5.0) and defaults.redis_url is None


@pytest.mark.parametrize(
    "change, words",
    [
        ({"EMBEDDED_STEP_LIMIT_PER_IP": "lots"}, "EMBEDDED_STEP_LIMIT_PER_IP: a limit is written COUNT/SECONDS"),
        ({"EMBEDDED_STEP_LIMIT_PER_IP": "5"}, "EMBEDDED_STEP_LIMIT_PER_IP must allow at least 1"),
        ({"EMBEDDED_LOGIN_LIMIT_PER_IP": "0/60"}, "EMBEDDED_LOGIN_LIMIT_PER_IP must allow at least 1"),
        ({"EMBEDDED_STEP_LIMIT_PER_TRANSACTION": "3/-5"}, "EMBEDDED_STEP_LIMIT_PER_TRANSACTION must allow at least 1"),
        ({"EMBEDDED_SESSION_MAX_HOURS": "soon"}, "EMBEDDED_SESSION_MAX_HOURS: expected a number"),
        ({"EMBEDDED_MAX_SESSIONS": "-1"}, "EMBEDDED_MAX_SESSIONS must be positive"),
        ({"EMBEDDED_TRANSACTION_MINUTES": "0"}, "EMBEDDED_TRANSACTION_MINUTES must be positive"),
        ({"EMBEDDED_REDIS_URL": "http://cache:6379"}, "EMBEDDED_REDIS_URL must be a redis://"),
        ({"EMBEDDED_CONCEAL_EXISTING_ACCOUNTS": "maybe"}, "EMBEDDED_CONCEAL_EXISTING_ACCOUNTS must be 1 or 0"),
    ],
)
def test_a_bad_limit_or_lifetime_is_refused_with_one_line(change, words):
    with pytest.raises(SettingsError, match=words) as refused:
        Settings.from_env({**GOOD, **change})
    assert "\n" not in str(refused.value)
