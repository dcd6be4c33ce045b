"""Pages the simulator shows inside another site's frame (the fake Duo prompt, the fake CAPTCHA
box): one document shape, the headers that let only loopback pages frame it, and values made
safe to write into a script element."""

from __future__ import annotations

import json

FRAME_ANCESTORS = "http://127.0.0.1:* http://localhost:* https://127.0.0.1:* https://localhost:*"


def frame_headers(nonce: str) -> dict:
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
            f"form-action 'self'; base-uri 'none'; frame-ancestors {FRAME_ANCESTORS}"
        ),
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
    }


def frame_document(title: str, style: str, nonce: str, body: str, script: str = "") -> str:
    """A whole page: its style and script carry the nonce its headers name."""
    js = f"<script nonce='{nonce}'>{script}</script>" if script else ""
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{title}</title>"
        f"<style nonce='{nonce}'>{style}</style></head><body>{body}{js}</body></html>"
    )


def script_literal(value: object) -> str:
    """`value` as JSON with "<" escaped, inert inside a script element."""
    return json.dumps(value).replace("<", "\\u003c")
