"""Issue 21: sessions on a primary with a replica behind three Sentinels (real servers on
loopback, each in a temporary directory of its own). Two app instances share it; sign-in,
sign-out, the five-wrong-codes cap and one step at a time hold as on one server, and the writes
that carry a security promise are on the replica before the answer goes out (checklist 10, 43):
a SIGKILLed primary loses none of them. The settings that name a Sentinel deployment, and a
malformed one stopping the start with one line."""

from __future__ import annotations

import datetime
import ipaddress
import re
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
import redis
from conftest import ROOT
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from pages import read
from redis_server import RedisServer, SentinelDeployment
from test_concurrent_steps import (  # noqa: F401 - the same attacks, collected here against this store
    test_eight_identical_posts_at_once_make_one_upstream_call,
    test_parallel_wrong_codes_reach_the_identity_engine_once_per_state_and_five_in_all,
)
from test_e2e_authenticators import Walker
from test_shared_store import Alternating, start_instances

from embedded.config import Settings, SettingsError
from embedded.keys import SESSION_STORAGE
from embedded.redis_settings import RedisOptions
from embedded.simulator import submissions

GOOD = {
    "OKTA_IDX_ISSUER": "https://example.okta.com/oauth2/default",
    "OKTA_IDX_CLIENTID": "client",
    "OKTA_IDX_REDIRECTURI": "http://localhost:8080/login/callback",
}
UNLIMITED = {
    "step_limit_per_ip": (100_000, 1.0),
    "step_limit_per_transaction": (100_000, 1.0),
    "login_limit_per_ip": (100_000, 1.0),
}


@pytest.fixture(scope="module")
def deployment():
    sentinels = SentinelDeployment(replicas=1).start()
    yield sentinels
    sentinels.stop()


@pytest.fixture
async def browser(simulator, deployment):
    """A browser whose requests alternate between two instances on the deployment."""
    servers, bases = await start_instances(simulator, 2, redis_url=deployment.url)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        yield Walker(Alternating(http, bases), simulator)
    for server in servers:
        await server.close()


@pytest.fixture
async def instances(simulator, deployment, monkeypatch):
    """For the attacks of test_concurrent_steps: our limits and the Identity Engine's raised, so
    only the claim, the version check and the wrong-code counter stop them."""
    Walker(None, simulator).state.org.rate_limit_requests = 100_000
    monkeypatch.setattr(submissions, "MAX_CODE_ATTEMPTS", 100)
    servers, bases = await start_instances(simulator, 2, redis_url=deployment.url, **UNLIMITED)
    yield bases
    for server in servers:
        await server.close()


def sessions_on(server: RedisServer) -> dict[str, dict[str, str]]:
    """Every session record a server holds, by key."""
    with server.client() as client:
        keys = [k.decode() for k in client.scan_iter(match="embedded:s:*")]
        return {k: {f.decode(): v.decode() for f, v in client.hgetall(k).items()} for k in keys}


def session_key(walker: Walker) -> str:
    """The Redis key of this browser's session."""
    cookie = next(c.value for c in walker.client.session.cookie_jar if c.key == "embedded")
    return f"embedded:s:{{{cookie}}}"


def holding(records: dict[str, dict[str, str]], text: str) -> list[str]:
    return [k for k, fields in records.items() if text in fields.get("user", "")]


async def sign_out(walker: Walker) -> None:
    await walker._load(await walker.client.get("/"))
    csrf = read(walker.html).forms[-1].hidden["_csrf"]
    await walker._load(await walker.client.post("/logout", data={"_csrf": csrf}))


async def test_two_instances_sign_in_with_a_code_and_out_and_the_replica_has_each_at_once(browser, deployment):
    replica = next(s for s in deployment.servers if s is not deployment.primary())
    await browser.begin("bob@example.com", "Bob-Passw0rd!")
    await browser.submit(**{"credentials.passcode": (await browser.outbox("bob@example.com", "email"))["code"]})
    assert browser.signed_in
    assert len(holding(sessions_on(replica), "bob@example.com")) == 1  # confirmed before the page came back
    for _ in range(2):  # both instances know who this is
        assert 'data-claim="email">bob@example.com<' in await (await browser.client.get("/")).text()
    await sign_out(browser)
    assert holding(sessions_on(replica), "bob@example.com") == []  # the sign-out too
    for _ in range(2):
        assert 'data-claim="email"' not in await (await browser.client.get("/")).text()


async def test_the_five_codes_cap_and_each_wrong_code_is_on_the_replica_before_its_page(browser, deployment):
    replica = next(s for s in deployment.servers if s is not deployment.primary())
    await browser.begin("bob@example.com", "Bob-Passw0rd!")
    answers = lambda: [p for _, p in browser.state.calls if p.endswith("/challenge/answer")]  # noqa: E731
    before = len(answers())
    key = session_key(browser)
    for attempt in range(1, 5):
        await browser.submit(**{"credentials.passcode": f"00000{attempt}"})
        assert browser.shows("Invalid code") or browser.shows("incorrect")
        with replica.client() as client:
            assert client.hget(key, "codes") == str(attempt).encode()
    await browser.submit(**{"credentials.passcode": "000005"})
    assert len(answers()) - before == 5 and browser.shows("too many")


async def test_a_password_sign_in_costs_as_many_round_trips_as_on_one_server(simulator, deployment):
    """The confirmations ride in the pipelines of the writes they confirm: at most 14 round trips
    a password sign-in (issue 20's bound on one server), at most two a request but for the one
    that completes it (the old session deleted and the new one created)."""
    servers, bases = await start_instances(simulator, 2, redis_url=deployment.url)
    trips: list[str] = []
    for server in servers:
        server.app[SESSION_STORAGE].observe = trips.append
    marks: list[int] = []

    async def mark(*_: object) -> None:
        marks.append(len(trips))

    trace = aiohttp.TraceConfig()
    for signal in (trace.on_request_start, trace.on_request_redirect, trace.on_request_end):
        signal.append(mark)
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), trace_configs=[trace]) as http:
            walker = Walker(Alternating(http, bases), simulator)
            await walker.begin("alice@example.com", "Alice-Passw0rd!")
            assert walker.signed_in
    finally:
        for server in servers:
            await server.close()
    hops = [trips[earlier:later] for earlier, later in zip(marks, marks[1:], strict=False)]
    assert len(trips) <= 14 and sorted(len(hop) for hop in hops)[-2:] == [2, 3], hops


async def test_the_sentinels_named_one_by_one_reach_the_same_primary(simulator, deployment):
    """EMBEDDED_REDIS_SENTINELS and EMBEDDED_REDIS_SERVICE instead of a redis+sentinel:// URL."""
    options = RedisOptions(sentinels=tuple(s.address for s in deployment.sentinels), service=deployment.SERVICE)
    servers, bases = await start_instances(simulator, 1, redis=options)
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            walker = Walker(Alternating(http, bases), simulator)
            await walker.begin("alice@example.com", "Alice-Passw0rd!")
            assert walker.signed_in
            assert "alice@example.com" in sessions_on(deployment.primary())[session_key(walker)]["user"]
    finally:
        await servers[0].close()


async def test_a_confirmed_sign_in_sign_out_and_wrong_code_survive_a_sigkilled_primary(simulator):
    """Each answer goes out only once a replica has its write, so whatever the primary had not
    yet sent when it was killed is nothing a person was told had happened."""
    sentinels = SentinelDeployment(replicas=1).start()
    servers, bases = await start_instances(simulator, 2, redis_url=sentinels.url)
    try:
        async with (
            aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as one,
            aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as two,
            aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as three,
        ):
            bob, leaving, alice = (Walker(Alternating(http, bases), simulator) for http in (one, two, three))
            await bob.begin("bob@example.com", "Bob-Passw0rd!")
            await bob.submit(**{"credentials.passcode": "000000"})  # a wrong code
            await leaving.begin("alice@example.com", "Alice-Passw0rd!")
            signed_out = session_key(leaving)
            await sign_out(leaving)
            await alice.begin("alice@example.com", "Alice-Passw0rd!")
            assert alice.signed_in
            old = sentinels.kill_primary()  # right after the last answer
            promoted = sentinels.wait_for_failover(old)
            records = sessions_on(promoted)
            assert "alice@example.com" in records[session_key(alice)]["user"]
            assert signed_out not in records
            assert records[session_key(bob)]["codes"] == "1"
            for base in bases:  # both instances found the promoted replica through the Sentinels
                ready = await one.get(base + "/readyz")
                assert ready.status == 200 and (await ready.json())["checks"]["redis"] == "ok"
                assert 'data-claim="email">alice@example.com<' in await (await three.get(base + "/")).text()
    finally:
        for server in servers:
            await server.close()
        sentinels.stop()


# --- settings ------------------------------------------------------------------------------


def test_a_sentinel_url_and_the_same_as_separate_settings():
    url = Settings.from_env(
        {**GOOD, "EMBEDDED_REDIS_URL": "rediss+sentinel://:pa%40ss@s1:26379,s2,[::1]:26380/mymaster/2"}
    ).redis_target
    assert url is not None
    assert (url.topology, url.nodes, url.service, url.db) == (
        "sentinel",
        (("s1", 26379), ("s2", 26379), ("::1", 26380)),
        "mymaster",
        2,
    )
    assert (url.password, url.tls, url.replicas) == ("pa@ss", True, 1)
    split = Settings.from_env(
        {
            **GOOD,
            "EMBEDDED_REDIS_SENTINELS": "s1:26379, s2",
            "EMBEDDED_REDIS_SERVICE": "mymaster",
            "EMBEDDED_REDIS_PASSWORD": "secret",
            "EMBEDDED_REDIS_SENTINEL_PASSWORD": "watchers",
            "EMBEDDED_REDIS_REPLICAS": "2",
            "EMBEDDED_REDIS_CONFIRM_MS": "250",
        }
    ).redis_target
    assert split is not None
    assert (split.topology, split.nodes, split.service, split.password) == (
        "sentinel",
        (("s1", 26379), ("s2", 26379)),
        "mymaster",
        "secret",
    )
    assert (split.options.sentinel_password, split.replicas, split.options.confirm_ms) == ("watchers", 2, 250)
    assert "secret" not in repr(split) and "watchers" not in repr(split)
    one = Settings.from_env({**GOOD, "EMBEDDED_REDIS_URL": "redis://cache:6379/0"}).redis_target
    assert one is not None and (one.topology, one.replicas) == ("single", 0)  # nothing to wait for


@pytest.mark.parametrize(
    "env, words",
    [
        ({"EMBEDDED_REDIS_URL": "redis+sentinel://s1:26379"}, "a Sentinel URL is redis+sentinel://HOST:PORT"),
        ({"EMBEDDED_REDIS_URL": "redis+sentinel://s1:port/m"}, "'s1:port' is not HOST:PORT"),
        ({"EMBEDDED_REDIS_URL": "redis+sentinel://s1/m/zero"}, "a Sentinel URL is"),
        ({"EMBEDDED_REDIS_URL": "redis+sentinel://s1:99999/m"}, "is not HOST:PORT"),
        ({"EMBEDDED_REDIS_URL": "redis+sentinel://s1/m?ssl=true"}, "takes no query"),
        ({"EMBEDDED_REDIS_URL": "sentinel://u:hunter2@s1/m"}, "EMBEDDED_REDIS_URL must be a redis://"),
        ({"EMBEDDED_REDIS_SENTINELS": "s1:26379"}, "needs EMBEDDED_REDIS_SERVICE"),
        ({"EMBEDDED_REDIS_SERVICE": "m"}, "goes with EMBEDDED_REDIS_SENTINELS"),
        (
            {"EMBEDDED_REDIS_SENTINELS": "s1", "EMBEDDED_REDIS_SERVICE": "m", "EMBEDDED_REDIS_URL": "redis://x"},
            "not both",
        ),
        ({"EMBEDDED_REDIS_URL": "redis://x", "EMBEDDED_REDIS_REPLICAS": "one"}, "expected a whole number"),
        ({"EMBEDDED_REDIS_URL": "redis://x", "EMBEDDED_REDIS_CONFIRM_MS": "0"}, "between 1 and 60000"),
        ({"EMBEDDED_REDIS_URL": "redis://x", "EMBEDDED_REDIS_TLS_CA_FILE": "/etc/hostname"}, "needs TLS"),
        ({"EMBEDDED_REDIS_URL": "rediss://x", "EMBEDDED_REDIS_TLS_CA_FILE": "/no/such.pem"}, "no such file"),
        (
            {"EMBEDDED_REDIS_URL": "rediss://x", "EMBEDDED_REDIS_TLS_KEY_FILE": "/etc/hostname"},
            "needs EMBEDDED_REDIS_TLS_CERT",
        ),
        ({"EMBEDDED_REDIS_URL": "redis://x", "EMBEDDED_REDIS_TLS": "maybe"}, "EMBEDDED_REDIS_TLS must be 1 or 0"),
    ],
)
def test_a_malformed_redis_setting_is_one_line_and_never_shows_a_password(env, words):
    with pytest.raises(SettingsError, match=re.escape(words)) as refused:
        Settings.from_env({**GOOD, **env})
    assert "\n" not in str(refused.value) and "hunter2" not in str(refused.value)


def test_a_malformed_redis_setting_stops_the_start_with_one_line_and_status_2():
    env = {**GOOD, "EMBEDDED_REDIS_URL": "redis+sentinel://:hunter2@s1,s2:x/mymaster", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "embedded", "--port", "0"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr == "embedded: EMBEDDED_REDIS_URL: 's2:x' is not HOST:PORT\n"


def certificates(directory: Path) -> dict[str, str]:
    """A CA, and a server (127.0.0.1) and a client certificate it signed, as PEM files."""
    names = {}
    now = datetime.datetime.now(datetime.UTC)

    def issue(name: str, subject: str, issuer: tuple[x509.Name, rsa.RSAPrivateKey] | None, ca: bool = False):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        who = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
        builder = (
            x509.CertificateBuilder()
            .subject_name(who)
            .issuer_name(issuer[0] if issuer else who)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if name == "server":
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
            )
        certificate = builder.sign(issuer[1] if issuer else key, hashes.SHA256())
        (directory / f"{name}.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        (directory / f"{name}.key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        names[name], names[f"{name}_key"] = str(directory / f"{name}.pem"), str(directory / f"{name}.key")
        return who, key

    authority = issue("ca", "embedded test CA", None, ca=True)
    issue("server", "127.0.0.1", authority)
    issue("client", "embedded app", authority)
    return names


async def test_tls_with_a_client_certificate_as_the_settings_give_it(simulator, tmp_path):
    """A Redis that speaks only TLS and wants a certificate its CA signed: the CA, certificate
    and key settings reach redis-py, and a sign-in goes through; without the certificate the
    store refuses the app (the 503 page)."""
    pem = certificates(tmp_path)
    server = RedisServer(tls=(pem["ca"], pem["server"], pem["server_key"])).start()
    tls = RedisOptions(tls_ca_file=pem["ca"], tls_cert_file=pem["client"], tls_key_file=pem["client_key"])
    try:
        for options, signs_in in ((tls, True), (RedisOptions(tls_ca_file=pem["ca"]), False)):
            servers, bases = await start_instances(simulator, 1, redis_url=server.url, redis=options)
            try:
                async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                    walker = Walker(Alternating(http, bases), simulator)
                    if signs_in:
                        await walker.begin("alice@example.com", "Alice-Passw0rd!")
                        assert walker.signed_in
                        assert "alice@example.com" in sessions_on(server)[session_key(walker)]["user"]
                    else:
                        refused = await http.get(bases[0] + "/login")
                        assert refused.status == 503 and "template: error.html" in await refused.text()
            finally:
                await servers[0].close()
    finally:
        server.stop()


def test_the_settings_reach_redis_pys_sentinel_client():
    from embedded.redis_clients import connect

    target = Settings.from_env(
        {
            **GOOD,
            "EMBEDDED_REDIS_SENTINELS": "127.0.0.1:1,127.0.0.1:2",
            "EMBEDDED_REDIS_SERVICE": "mymaster",
            "EMBEDDED_REDIS_PASSWORD": "secret",
            "EMBEDDED_REDIS_SENTINEL_PASSWORD": "watchers",
        }
    ).redis_target
    assert target is not None
    client, _ = connect(target)
    pool = client.connection_pool
    assert pool.service_name == "mymaster" and pool.connection_kwargs["password"] == "secret"
    watchers = pool.sentinel_manager.sentinels
    assert [w.connection_pool.connection_kwargs["port"] for w in watchers] == [1, 2]
    assert all(w.connection_pool.connection_kwargs["password"] == "watchers" for w in watchers)
    assert isinstance(client, redis.asyncio.Redis)
