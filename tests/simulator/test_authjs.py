"""Fidelity with the official SDK: @okta/okta-auth-js (from the npm registry, cached outside the
repo) signs alice (password), bob (email code), carol (Google Authenticator TOTP) and frank
(enrolls a security question) in against the simulator on a real loopback port, exchanging the
code and checking the ID token's signature itself. The simulator has no special case for it."""

import asyncio
import json
import os
import shutil
from pathlib import Path

import pytest
from aiohttp import web

from embedded.simulator import SIMULATOR, create_simulator_app

AUTHJS = "@okta/okta-auth-js@8.0.1"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "embedded" / "okta-auth-js"
SCRIPT = Path(__file__).with_name("authjs_signin.js")
OFFLINE = ("ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ETIMEDOUT", "ECONNRESET", "ENETUNREACH", "network")


async def run(*cmd, env=None, timeout=300) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *cmd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    return proc.returncode, out.decode(), err.decode()


async def authjs_modules() -> Path:
    """node_modules holding auth-js, installed into the cache on first use."""
    modules = CACHE / "node_modules"
    if (modules / "@okta" / "okta-auth-js" / "package.json").exists():
        return modules
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        pytest.skip("node/npm not installed")
    CACHE.mkdir(parents=True, exist_ok=True)
    code, out, err = await run(npm, "install", "--prefix", str(CACHE), "--no-audit", "--no-fund", "--no-save", AUTHJS)
    if code != 0:
        if any(word in out + err for word in OFFLINE):
            pytest.skip(f"npm registry unreachable: {err.strip().splitlines()[-1:]}")
        raise AssertionError(f"npm install failed:\n{out}\n{err}")
    return modules


async def run_script(script: Path, *args: str) -> tuple[web.Application, str, tuple[int, str, str]]:
    """Run an auth-js script against a fresh simulator on a loopback port:
    `node SCRIPT ISSUER REDIRECT_URI ARGS…`. Returns the simulator app, its issuer and (code, out, err)."""
    modules = await authjs_modules()
    app = create_simulator_app()
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    issuer = f"http://127.0.0.1:{port}/oauth2/default"
    try:
        done = await run(
            "node",
            str(script),
            issuer,
            f"http://127.0.0.1:{port + 1}/login/callback",
            *args,
            env={**os.environ, "NODE_PATH": str(modules)},
            timeout=60,
        )
    finally:
        await runner.cleanup()
    return app, issuer, done


async def test_authjs_signs_demo_users_in():
    app, issuer, (code, out, err) = await run_script(SCRIPT)
    assert code == 0, err
    alice, bob, carol, frank = (json.loads(line) for line in out.strip().splitlines())
    assert alice == {
        "username": "alice@example.com",
        "steps": [],
        "sub": alice["sub"],
        "email": "alice@example.com",
        "amr": ["pwd"],
        "iss": issuer,
        "accessToken": True,
    }
    assert bob["steps"] == ["challenge-authenticator"] and bob["amr"] == ["pwd", "email", "mfa"]
    assert carol["steps"] == ["challenge-authenticator"] and carol["amr"] == ["pwd", "otp", "mfa"]
    assert frank["steps"] == ["select-authenticator-enroll", "enroll-authenticator", "select-authenticator-enroll"]
    assert frank["amr"] == ["pwd", "kba", "mfa"]
    question = app[SIMULATOR].org.user("frank@example.com").enrollment("security_question").data
    assert question == {"question_key": "disliked_food", "answer": "Cold spinach"}
    calls = app[SIMULATOR].calls
    assert ("GET", "/oauth2/default/v1/keys") in calls  # auth-js fetched the JWKS to check the signature
    assert calls.count(("POST", "/oauth2/default/v1/token")) == 4
    assert ("POST", "/idp/idx/skip") in calls
