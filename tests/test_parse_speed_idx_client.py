"""The client's per-call shortcuts (issue 20) give what the long way gave: an OAuth form encodes as
urlencode encodes it, a body read in chunks is the body, and the size cap still holds."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from embedded.idx_client import MAX_RESPONSE_BYTES, IdxClient, UpstreamError, endpoint_label, form_body

FORM_TEXT = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=12) | st.text(
    alphabet="abcXYZ019_.~-+&=% /?#\u00e9\u4e2d", max_size=12
)


@settings(max_examples=2000, deadline=None, database=None, derandomize=True)
@given(form=st.dictionaries(FORM_TEXT, FORM_TEXT, max_size=6))
def test_a_form_encodes_as_urlencode_encodes_it(form):
    assert form_body(form) == urlencode(form).encode()
    assert dict(parse_qsl(form_body(form).decode(), keep_blank_values=True)) == form


def test_oauth_values_as_they_come():
    form = {
        "client_id": "0oa1b2c3d4E5f6G7h8i9",
        "client_secret": "s3cr3t~with.dots_and-dashes",
        "grant_type": "interaction_code",
        "redirect_uri": "https://app.example/login/callback?x=1&y=2",
        "scope": "openid profile email offline_access",
        "code_verifier": "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
        "login_hint": "zoë+test@example.com",
        "empty": "",
    }
    assert form_body(form) == urlencode(form).encode()
    assert b"scope=openid+profile+email+offline_access" in form_body(form)
    assert b"login_hint=zo%C3%AB%2Btest%40example.com" in form_body(form)


def test_a_lone_surrogate_fails_as_it_did():
    with pytest.raises(UnicodeEncodeError):
        urlencode({"v": "\ud800"})
    with pytest.raises(UnicodeEncodeError):
        form_body({"v": "\ud800"})


def test_endpoint_labels_are_the_same_when_asked_again():
    urls = ["https://o.example/idp/idx/identify", "https://o.example/oauth2/default/v1/token", "https://o.example/x"]
    first = [endpoint_label(u) for u in urls]
    assert first == ["idx/identify", "v1/token", "other"] and [endpoint_label(u) for u in urls] == first


class Chunked:
    """Just what `_read` uses of an aiohttp response."""

    def __init__(self, chunks: list[bytes], content_length: int | None = None):
        self.chunks, self.content_length, self.status, self.content = chunks, content_length, 200, self

    async def iter_chunked(self, size: int):
        for chunk in self.chunks:
            yield chunk


async def test_a_body_in_chunks_is_the_whole_body_up_to_the_cap():
    assert await IdxClient._read(Chunked([])) == b""
    assert await IdxClient._read(Chunked([b'{"a":', b" [1, 2]", b"}"])) == b'{"a": [1, 2]}'
    one = b"x" * 1000
    assert await IdxClient._read(Chunked([one])) is one  # nothing copied
    exactly = [b"y" * 65536] * (MAX_RESPONSE_BYTES // 65536)
    assert len(await IdxClient._read(Chunked(exactly))) == MAX_RESPONSE_BYTES
    with pytest.raises(UpstreamError, match="too large"):
        await IdxClient._read(Chunked([*exactly, b"z"]))
    with pytest.raises(UpstreamError, match="too large"):
        await IdxClient._read(Chunked([], content_length=MAX_RESPONSE_BYTES + 1))
