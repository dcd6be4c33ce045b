"""What saving a session writes, at the store's own level (issue 20 made it cheaper; these hold it
to the same results): only the fields that changed, each encoded at most once, a list or dict
changed in place included; nothing at all when nothing changed; the transaction's fields only
over the version read; the claim given back even when nothing changed; and the same cookie."""

from __future__ import annotations

import json

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from embedded import sessions
from embedded.ratelimit import Rate
from embedded.sessions import CODES, Committed, Hit, MemoryStorage, StoredSession

# A record as a password sign-in leaves it after the identify step (the IDX response shortened).
TX = {"interaction_handle": "h" * 43, "verifier": "v" * 64, "state": "s" * 43, "version": 2, "via_idp": False}
RECORD = {
    "csrf": json.dumps("c" * 43),
    "lang": '"fr"',
    "tx": json.dumps(TX, separators=(",", ":")),
    "idx": '{"version":"1.0.0","stateHandle":"02x","remediation":{"type":"array","value":[]}}',
    "path": '"\\/home"',  # stored with an escape json.dumps would not write
    "echo": '{"identifier":"alice@example.com"}',
    "ticks": "[1,2]",
    "remember": "true",
    "count": "3",
    "nothing": "null",
}
KEY = "k" * 43
HITS = [Hit("tx", None, Rate(1000, 1.0))]


def request(store: MemoryStorage, key: str = KEY) -> web.Request:
    return make_mocked_request("GET", "/", headers={"Cookie": f"{store.cookie_name}={key}"})


@pytest.fixture
async def store() -> MemoryStorage:
    store = MemoryStorage(secure=True, idle_seconds=600, max_entries=10)
    await store.create(KEY, dict(RECORD))
    return store


@pytest.fixture
def encoded(monkeypatch) -> list[object]:
    """Every value the store encodes to JSON."""
    seen: list[object] = []
    real = sessions.encode

    def counting(value: object) -> str:
        seen.append(value)
        return real(value)

    monkeypatch.setattr(sessions, "encode", counting)
    return seen


async def test_a_session_only_read_writes_nothing_and_encodes_nothing(store, encoded):
    session = await store.load_session(request(store))
    assert {key: session[key] for key in RECORD} == {key: json.loads(text) for key, text in RECORD.items()}
    assert not session.needs_saving
    assert session.changes() == ({}, set())
    # Read as a string, number, bool or null: the text stays the one stored.
    assert session["path"] == "/home" and session.text("path") == RECORD["path"]
    # Only the lists and dicts are encoded, to compare: one may have been changed in place.
    assert encoded == [TX, json.loads(RECORD["idx"]), json.loads(RECORD["echo"]), [1, 2]]


async def test_only_fields_set_or_read_as_a_list_or_dict_are_encoded_each_once(store, encoded):
    session = await store.load_session(request(store))
    session["csrf"], session["lang"], session["count"]  # read, unchanged: never encoded
    session["tx"] = {**session["tx"], "version": 3}
    session["lang"] = "de"
    session["new"] = {"a": 1}
    changed, removed = session.changes()
    assert changed == {"tx": json.dumps({**TX, "version": 3}, separators=(",", ":")), "lang": '"de"', "new": '{"a":1}'}
    assert removed == set()
    assert sorted(map(repr, encoded)) == sorted(map(repr, [{**TX, "version": 3}, "de", {"a": 1}]))


async def test_a_list_or_dict_changed_in_place_is_written(store):
    session = await store.load_session(request(store))
    session["ticks"].append(3)
    session["tx"]["version"] = 7
    session["lang"] = "de"  # what makes the session need saving
    await store.save_session(request(store), web.Response(), session)
    (saved,) = store.records()
    assert json.loads(saved["ticks"]) == [1, 2, 3] and json.loads(saved["tx"])["version"] == 7
    assert saved["lang"] == '"de"' and saved["idx"] == RECORD["idx"]  # untouched: as stored


async def test_a_field_set_to_its_own_value_or_text_is_not_written(store):
    session = await store.load_session(request(store))
    session["lang"] = "fr"
    session.set_text("idx", RECORD["idx"])
    session["echo"] = {"identifier": "alice@example.com"}
    assert session.needs_saving and session.changes() == ({}, set())


async def test_text_set_then_read_keeps_its_text_unless_it_may_change_in_place(store):
    session = await store.load_session(request(store))
    session.set_text("lang", '"es"')
    assert session["lang"] == "es" and session.text("lang") == '"es"'
    session.set_text("echo", '{"identifier": "bob@example.com"}')
    session["echo"]["identifier"] = "carol@example.com"
    assert session.text("echo") == '{"identifier":"carol@example.com"}'
    assert session.changes()[0] == {"lang": '"es"', "echo": '{"identifier":"carol@example.com"}'}


async def test_deleted_fields_are_removed_and_the_code_count_is_never_written_whole(store):
    session = await store.load_session(request(store))
    del session["echo"]
    session.pop("nothing")
    assert session.add_code() == 1
    assert session.changes() == ({}, {"echo", "nothing"})
    await store.save_session(request(store), web.Response(), session)
    (saved,) = store.records()
    assert "echo" not in saved and "nothing" not in saved and saved[CODES] == "1"


async def test_a_stale_request_never_puts_back_an_older_transaction(store):
    """Checklist 43: the transaction's fields are written only over the version they were read at."""
    first, second = [await store.load_session(request(store)) for _ in range(2)]
    first["tx"] = {**first["tx"], "version": 3}
    await store.save_session(request(store), web.Response(), first)
    second["tx"] = {**second["tx"], "version": 9}
    second["lang"] = "de"  # not a transaction field: written whatever the version
    changed, removed = second.changes()
    assert await store.commit(KEY, second.version, changed, removed, release=None, codes=0) is Committed.STALE
    (saved,) = store.records()
    assert json.loads(saved["tx"])["version"] == 3 and saved["lang"] == '"de"'


async def test_the_claim_is_given_back_even_when_nothing_changed(store):
    """Checklist 10 and 43: the claim reserves a wrong code; saving gives both back."""
    session, opened = await store.open_session(request(store), HITS, claim=True)
    assert opened.claimed and session.claim and store.records()[0][CODES] == "1"
    assert session.changes() == ({}, set()) and session.needs_saving
    response = web.Response()
    await store.save_session(request(store), response, session)
    assert CODES not in store.records()[0] and session.claim is None
    _, again = await store.open_session(request(store), HITS, claim=True)
    assert again.claimed  # the claim was released


@pytest.mark.parametrize("secure", [True, False])
async def test_the_cookie_is_the_one_aiohttp_session_sets(secure):
    """Checklist 22: __Host- name when secure, Secure, HttpOnly, SameSite=Lax, Path=/, no Domain,
    no Max-Age (it ends with the browser; the record's lifetimes are the server's)."""
    store = MemoryStorage(secure=secure, idle_seconds=600, max_entries=10)
    expected = web.Response()
    expected.set_cookie(store.cookie_name, KEY, httponly=True, path="/", samesite="Lax", secure=secure)
    session = StoredSession(None, {}, 0)
    session["lang"] = "fr"
    response = web.Response()
    await store.save_session(make_mocked_request("GET", "/"), response, session)
    (key,) = store._data
    expected.set_cookie(store.cookie_name, key, httponly=True, path="/", samesite="Lax", secure=secure)
    await response.prepare(make_mocked_request("GET", "/"))
    await expected.prepare(make_mocked_request("GET", "/"))
    assert response.headers.getall("Set-Cookie") == expected.headers.getall("Set-Cookie")
    assert response.headers["Set-Cookie"].startswith(f"{'__Host-' if secure else ''}embedded={key}; HttpOnly; Path=/;")


async def test_a_cookie_already_on_the_response_is_replaced_not_doubled(store):
    session = await store.load_session(request(store))
    session["lang"] = "de"
    response = web.Response()
    response.del_cookie(store.cookie_name, path="/")
    await store.save_session(request(store), response, session)
    await response.prepare(make_mocked_request("GET", "/"))
    assert response.headers.getall("Set-Cookie") == [
        f"{store.cookie_name}={KEY}; HttpOnly; Path=/; SameSite=Lax; Secure"
    ]


async def test_an_emptied_session_deletes_its_record_and_its_cookie(store):
    session = await store.load_session(request(store))
    session.invalidate()
    response = web.Response()
    await store.save_session(request(store), response, session)
    assert store.records() == []
    assert response.cookies[store.cookie_name]["expires"] == "Thu, 01 Jan 1970 00:00:00 GMT"


async def test_begin_claims_once_and_a_rerun_of_the_same_claim_counts_nothing_more(store):
    """Checklist 10 and 43: one claim at a time, one wrong code reserved with it."""
    taken = await store.begin(KEY, HITS, "first")
    assert taken.claimed and taken.reserved == 1 and taken.record is not None and taken.record.fields[CODES] == "1"
    again = await store.begin(KEY, HITS, "first")  # the same call run again (a retry)
    assert again.claimed and again.reserved == 1 and again.record is not None and again.record.fields[CODES] == "1"
    busy = await store.begin(KEY, HITS, "second")
    assert not busy.claimed and busy.reserved == 0 and busy.record is not None and busy.record.fields[CODES] == "1"
    unclaimed = await store.begin(KEY, HITS, None)
    assert not unclaimed.claimed and unclaimed.record is not None and unclaimed.record.fields == busy.record.fields
    assert await store.begin(None, HITS, None) == sessions.Opened(None)


async def test_a_refused_limit_claims_nothing_and_still_reads_the_record(store):
    strict = [Hit("ip", "ip:192.0.2.1", Rate(1, 60.0)), Hit("tx", None, Rate(1000, 1.0))]
    assert (await store.begin(KEY, strict, "first")).claimed
    refused = await store.begin(KEY, strict, "second")
    assert refused.limited == "ip" and refused.wait > 0 and not refused.claimed
    assert refused.record is not None and refused.record.fields["lang"] == '"fr"'
