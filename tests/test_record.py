"""`python -m embedded record` and the corpus it made: every demo journey recorded from the
simulator and replayed through the app by `IdxReplay` ends where it ended live, with the app
sending what it sent live (the replay checks every typed value); the committed corpus
(tests/fixtures/recorded) and the demo recordings the package ships still replay the same way;
nothing that names a person or opens a door survives in a recorded file."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import DOCS, RECORDED, ROOT, doc
from corpus import JOURNEYS, Outcome, Replayed, record, replay
from demo_recordings import SHIPPED

from embedded.simulator import demo_org
from embedded.testing import DEMO_RECORDINGS, IdxReplay, Recorder, Recording, signed_in
from embedded.testing.redact import EMAIL, Redactor
from embedded.testing.script import STAND_IN

NAMES = list(JOURNEYS)


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> tuple[Path, dict[str, Outcome], Recorder]:
    """Every journey recorded now, from a fresh simulator each, into a temporary directory."""
    out = tmp_path_factory.mktemp("recorded")
    outcomes, recorder = asyncio.run(record(NAMES, out))
    return out, outcomes, recorder


@pytest.fixture(scope="module")
def replayed_live(live) -> dict[str, Replayed]:
    return asyncio.run(replay(NAMES, live[0]))


@pytest.fixture(scope="module")
def replayed_committed() -> dict[str, Replayed]:
    return asyncio.run(replay(NAMES, RECORDED.directory))


def test_the_corpus_has_every_demo_journey():
    assert sorted(RECORDED.names) == sorted(NAMES)
    assert len(NAMES) >= 35


@pytest.mark.parametrize("name", NAMES)
def test_a_recorded_journey_replays_to_the_same_page(live, replayed_live, name):
    _, outcomes, _ = live
    result = replayed_live[name]
    assert result.problems == [] and result.remaining == []
    assert result.outcome == outcomes[name], JOURNEYS[name].about


@pytest.mark.parametrize("name", NAMES)
def test_the_committed_corpus_replays_like_a_fresh_recording(live, replayed_committed, name):
    """When this fails the app or the simulator changed what a journey does: re-record with
    `.venv/bin/python tests/corpus.py` and read the diff of tests/fixtures/recorded."""
    _, outcomes, _ = live
    result = replayed_committed[name]
    assert result.problems == [] and result.remaining == []
    assert result.outcome == outcomes[name], JOURNEYS[name].about


@pytest.fixture(scope="module")
def replayed_shipped() -> dict[str, Replayed]:
    return asyncio.run(replay(list(SHIPPED), DEMO_RECORDINGS))


@pytest.mark.parametrize("name", SHIPPED)
def test_the_shipped_demo_recordings_replay_like_a_fresh_recording(live, replayed_shipped, name):
    """The package's own recordings (embedded.testing.DEMO_RECORDINGS): when this fails, record
    them again with `.venv/bin/python tests/demo_recordings.py`."""
    _, outcomes, _ = live
    result = replayed_shipped[name]
    assert result.problems == [] and result.remaining == []
    assert result.outcome == outcomes[name], JOURNEYS[name].about


def test_the_shipped_recordings_name_only_the_demo_orgs_made_up_people():
    recording = Recording(DEMO_RECORDINGS)
    assert recording.names == list(SHIPPED)
    people = recording.people
    assert people["user-1@example.com"] == "alice@example.com" and people["Given1"] == "Alice"
    assert all(STAND_IN.fullmatch(stand_in) for stand_in in people)
    emails = {v for v in people.values() if re.fullmatch(r"[\w.+-]+@example\.com", v)}
    assert emails <= {u.login for u in demo_org().users} | {"nobody@example.com"}  # an unknown one, typed
    files = "\n".join(p.read_text() for p in sorted(DEMO_RECORDINGS.glob("*/*.json")))
    assert "alice@example.com" not in files and "Alice-Passw0rd!" not in files
    sent = [step.get("request") for steps in recording.manifest["sequences"].values() for step in steps]
    assert {"passcode": "[redacted]"} in [r.get("credentials") for r in sent if r]


def test_every_stand_in_the_redactor_makes_is_known_to_the_replay():
    """script.STAND_IN mirrors redact.py's person placeholders: a new kind of placeholder there
    would otherwise be checked as a typed value that never matches."""
    redactor = Redactor()
    redactor.learn({"identifier": "alice@example.com", "login": "alice", "phoneNumber": "+1 555 010 0100"})
    redactor.learn({"user": {"value": {"profile": {"firstName": "Alice", "lastName": "Anders", "timeZone": "UTC"}}}})
    made = set(redactor.placeholders.values())
    assert made == {"user-1@example.com", "user-2", "+15550000001", "Given1", "Family1", "Person 1", "profile-1"}
    assert all(STAND_IN.fullmatch(p) for p in made)


def test_values_a_form_offers_everyone_are_kept(live):
    """A colour picked from a list names no one: the recording keeps the options as offered (so a
    replayed walk picks the one it picked live), and the person's own name and email become
    stand-ins, whose values only a recording of made-up people may publish."""
    directory, _, recorder = live
    offered = recorded_text(directory / "registration")
    sent = json.loads((directory / "manifest.json").read_text())["sequences"]["registration"][2]["request"]
    assert '"value": "green"' in offered and sent["userProfile"]["favoriteColor"] == "green"
    assert "Nora" not in offered + json.dumps(sent) and "nora@example.com" not in offered + json.dumps(sent)
    assert {"Nora", "North", "nora@example.com"} <= set(recorder.stand_ins().values())


def raw_secrets(sequences) -> set[str]:
    """What went over the wire while recording and must not be in a file: state and
    interaction handles, interaction codes, user ids, emails, phone numbers, shared secrets."""
    found: set[str] = set()

    def walk(node, key=""):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif isinstance(node, str):
            if (
                key
                in (
                    "stateHandle",
                    "stateToken",
                    "interactionHandle",
                    "interaction_code",
                    "id",
                    "sharedSecret",
                    "challengeRequest",
                )
                and len(node) >= 6
            ):
                found.add(node)
            found.update(m for m in EMAIL.findall(node) if not m.startswith("user-"))

    for sequence in sequences:
        for exchange in sequence.exchanges:
            walk(exchange.request)
            walk(exchange.response)
            walk(exchange.redirect)
    return found


def people() -> set[str]:
    """The demo org's people: logins, ids, last names, emails and phone numbers."""
    out: set[str] = set()
    for user in demo_org().users:
        out.update(v for v in (user.login, user.id, user.last_name) if v)
        out.update(v for v in (user.profile or {}).values() if isinstance(v, str) and "@" in v)
    return out | {"+15550100100", "+15550199999", "sky@example.com", "nora@example.com"}


def named(people: set[str], text: str) -> list[str]:
    return [p for p in people if re.search(rf"(?<![\w@.-]){re.escape(p)}(?![\w-])", text)]


def recorded_text(directory: Path) -> str:
    return "\n".join(p.read_text() for p in sorted(directory.rglob("*")) if p.is_file())


def test_no_handle_code_id_email_or_phone_survives_in_a_recording(live):
    directory, _, recorder = live
    secrets = raw_secrets(recorder.sequences)
    assert len(secrets) > 100 and any("@" in s for s in secrets) and any(s.startswith("00u") for s in secrets)
    text = recorded_text(directory)
    assert [s for s in secrets if s in text] == []
    assert named(people(), text) == []
    assert "passcode" in text and "[redacted]" in text and "Alice-Passw0rd!" not in text and "Lisbon" not in text


def test_the_committed_corpus_names_nobody():
    text = recorded_text(RECORDED.directory)
    assert named(people(), text) == []
    assert not re.search(r'"(stateHandle|interaction_code)": "(?!state-handle-|interaction-code-)', text)
    assert "127.0.0.1" not in text and "localhost:" not in text  # every href on the placeholder org


@pytest.mark.parametrize(
    ("name", "shows"),
    [
        ("identify", "identify"),
        ("challenge-password", "challenge-authenticator okta_password"),
        ("identify-with-password", "identify credentials"),
        ("identify-with-password-incorrect", "errors.E0000004"),
        ("identify-with-password-unknown-user", "idx.unknown.user"),
        ("session-expired", "idx.session.expired"),
        ("challenge-email", "challenge-authenticator okta_email"),
        ("email-code-incorrect", "challenge-authenticator okta_email"),
        ("enroll-security-question", "enroll-authenticator security_question"),
        ("enroll-webauthn", "enroll-authenticator webauthn"),
        ("unlock-done", "oie.selfservice.unlock_user.success.message"),
        ("granular-consent", "granular-consent"),
        ("profile-update", "profile-update"),
        ("keep-me-signed-in", "keep-me-signed-in"),
        ("fastpass-loopback", "challenge-poll okta_verify"),
    ],
)
def test_each_named_document_shows_what_its_name_says(name, shows):
    """tests/conftest.py's DOCS point into the corpus by position: a re-recording that moves a
    step shows up here, not as a puzzling failure elsewhere."""
    raw = doc(name)
    forms = (raw.get("remediation") or {}).get("value") or []
    current = (raw.get("currentAuthenticator") or raw.get("currentAuthenticatorEnrollment") or {}).get("value") or {}
    words = (
        [f["name"] for f in forms[:1]]
        + [current.get("key", "")]
        + [f["name"] for f in (forms[0]["value"] if forms else [])]
    )
    words += [(m.get("i18n") or {}).get("key", "") for m in (raw.get("messages") or {}).get("value", [])]
    assert set(shows.split()) <= set(words), (name, words)
    assert set(DOCS) >= {name}


# --- the command line -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_for_port(port: int, process: subprocess.Popen) -> None:
    for _ in range(200):
        assert process.poll() is None, process.communicate()[0]
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


async def test_the_command_line_records_a_sign_in_that_then_replays(embedded_simulator, aiohttp_client, tmp_path):
    from embedded.demo import create_app

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OKTA_IDX_", "EMBEDDED_"))}
    command = [
        sys.executable,
        "-m",
        "embedded",
        "record",
        "--issuer",
        embedded_simulator.issuer,
        "--out",
        str(tmp_path / "org"),
        "--port",
        str(port),
        "--name",
        "alice",
    ]
    proxy = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        await wait_for_port(port, proxy)
        settings = embedded_simulator.settings(prefix="", issuer=f"http://127.0.0.1:{port}/oauth2/default")
        tab = await signed_in(
            await aiohttp_client(create_app(settings)), user="alice@example.com", password="Alice-Passw0rd!"
        )
        assert tab.path == "/" and "alice@example.com" in tab.text
    finally:
        proxy.send_signal(signal.SIGINT)
        output = proxy.communicate(timeout=90)[0]  # a guard against a hang; a loaded machine is slow to stop it
    assert proxy.returncode == 0, output
    assert f"OKTA_IDX_ISSUER=http://127.0.0.1:{port}/oauth2/default" in output and "1 sequence(s)" in output
    recording = Recording(tmp_path / "org")
    assert recording.names == ["alice"]
    assert [s.call for s in recording.steps("alice")] == [
        "POST /idp/idx/introspect",
        "POST /idp/idx/identify",
        "POST /idp/idx/challenge/answer",
    ]
    manifest = json.loads((tmp_path / "org" / "manifest.json").read_text())
    assert manifest["sequences"]["alice"][2]["request"]["credentials"] == {"passcode": "[redacted]"}
    assert "alice@example.com" not in recorded_text(tmp_path / "org")

    async with IdxReplay(client_id="demo-client", client_secret="demo-secret") as fake:
        fake.play_recorded(tmp_path / "org", "alice")
        started = time.monotonic()
        tab = await signed_in(
            await aiohttp_client(create_app(fake.settings(prefix=""))), user="alice@example.com", password="anything"
        )
        fake.assert_done()
        assert tab.path == "/" and time.monotonic() - started < 10


def test_a_port_in_use_is_one_line_and_exit_2_before_any_banner():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "embedded", "record", "--issuer", "http://127.0.0.1:9/oauth2/default"]
            + ["--out", "unused", "--port", str(port)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
        )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == f"embedded record: --port {port}: the port is in use on 127.0.0.1\n"


def test_the_command_line_refuses_a_bad_issuer():
    done = subprocess.run(
        [sys.executable, "-m", "embedded", "record", "--issuer", "not a url", "--out", "x"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "absolute URL" in done.stderr


def test_a_field_its_form_calls_secret_is_redacted_whatever_its_name():
    """A custom authenticator's `pin`, flagged `secret: true` by the form that asks for it, is as
    secret as a passcode: never kept in a recording, not even as a placeholder (checklist 44)."""
    from embedded.testing.redact import Redactor

    redactor = Redactor()
    form = {
        "name": "challenge-authenticator",
        "value": [
            {
                "name": "credentials",
                "form": {"value": [{"name": "pin", "label": "PIN", "secret": True}, {"name": "note", "label": "Note"}]},
            }
        ],
    }
    redactor.document({"remediation": {"type": "array", "value": [form]}})
    recorded = redactor.request({"credentials": {"pin": "4711-0815", "note": "kept"}, "stateHandle": "x"})
    assert recorded["credentials"] == {"pin": "[redacted]", "note": "kept"}
