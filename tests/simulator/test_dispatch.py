"""The engine's explicit dispatch: every IDX route has a handler, an unknown endpoint is refused
with the state unchanged, and a step without a document builder is a server error, not a crash."""

from __future__ import annotations

from embedded.simulator import SIMULATOR
from embedded.simulator.documents import DocumentBuilder
from embedded.simulator.server import IDX_ENDPOINTS
from embedded.simulator.submissions import ENDPOINT_FORMS
from embedded.simulator.transaction import StateError

from .conftest import ION, field_messages, names

ORIGIN = "http://127.0.0.1:9"


def test_every_route_has_a_handler_and_every_handler_serves_forms(client):
    submissions = client.server.app[SIMULATOR].submissions
    routed = set(IDX_ENDPOINTS) - {"introspect", "cancel"}
    assert routed == set(submissions.handlers) == set(ENDPOINT_FORMS)
    assert all(callable(h) for h in submissions.handlers.values())


async def test_unknown_endpoint_is_refused_and_the_state_is_kept(client, idx):
    await idx.start()
    engine = client.server.app[SIMULATOR].engine
    tx = engine.find(idx.handle)
    status, doc = client.server.app[SIMULATOR].submissions.submit(
        "no/such-endpoint", tx, {"identifier": "alice@example.com"}, ORIGIN
    )
    assert status == 400
    assert "E0000020" in field_messages(doc)
    assert tx.step == "identify" and tx.user is None
    assert "identify" in names(doc)


async def test_known_endpoint_not_offered_now_is_refused(client, idx):
    await idx.start()
    engine = client.server.app[SIMULATOR].engine
    submit = client.server.app[SIMULATOR].submissions.submit
    status, doc = submit("challenge/answer", engine.find(idx.handle), {"credentials": {"passcode": "x"}}, ORIGIN)
    assert status == 400 and "E0000020" in field_messages(doc)


async def test_a_step_without_a_builder_is_a_server_error(client, idx):
    await idx.start()
    engine = client.server.app[SIMULATOR].engine
    tx = engine.find(idx.handle)
    assert set(DocumentBuilder(engine, tx, ORIGIN).steps) >= {"identify", "challenge-authenticator", "consent"}
    tx.step = "no-such-step"
    try:
        engine.render(tx, ORIGIN)
    except StateError as e:
        assert "no-such-step" in str(e)
    else:
        raise AssertionError("rendering an unknown step should fail")
    r = await client.post(
        "/idp/idx/introspect", json={"interactionHandle": idx.handle}, headers={"Content-Type": ION, "Accept": ION}
    )
    assert r.status == 500
    assert "E0000009" in field_messages(await r.json(content_type=None))
