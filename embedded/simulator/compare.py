"""Comparing what a client sent with what the simulator holds (passwords, codes, answers, tokens):
in constant time, and for any text at all. JSON can carry any Unicode, lone surrogates included,
and `secrets.compare_digest` refuses non-ASCII text, so both sides are compared as UTF-8 bytes."""

from __future__ import annotations

import secrets


def as_bytes(text: str) -> bytes:
    """`text` as UTF-8, lone surrogates kept (they cannot match anything the simulator holds)."""
    return text.encode("utf-8", "surrogatepass")


def same(given: str, expected: str) -> bool:
    return secrets.compare_digest(as_bytes(given), as_bytes(expected))
