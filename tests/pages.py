"""Reading the app's pages the way a person does: forms by purpose, options by their label."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class PageForm:
    name: str | None  # the remediation (data-form) or None for action buttons
    hidden: dict[str, str] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)
    options: dict[str, dict[str, str]] = field(default_factory=dict)  # control -> label -> value
    button: str = ""


class PageParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms: list[PageForm] = []
        self.labels: dict[str, str] = {}
        self._radios: list[tuple[PageForm, str, str, str]] = []  # form, name, value, id
        self._label_for: str | None = None
        self._label_text: list[str] = []
        self._in_button = False
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        form = self.forms[-1] if self.forms else None
        if tag == "form":
            self.forms.append(PageForm(a.get("data-form")))
        elif tag == "input" and form is not None and a.get("name"):
            if a.get("type") == "hidden":
                form.hidden[a["name"]] = a.get("value", "")
            elif a.get("type") == "radio":
                self._radios.append((form, a["name"], a.get("value", ""), a.get("id", "")))
            else:
                form.inputs.append(a["name"])
        elif tag == "select" and form is not None:
            form.inputs.append(a.get("name", ""))
        elif tag == "label":
            self._label_for, self._label_text = a.get("for"), []
        elif tag == "button":
            self._in_button = True

    def handle_endtag(self, tag):
        if tag == "label" and self._label_for:
            self.labels[self._label_for] = " ".join("".join(self._label_text).split())
            self._label_for = None
        elif tag == "button":
            self._in_button = False

    def handle_data(self, data):
        self.text.append(data)
        if self._label_for:
            self._label_text.append(data)
        if self._in_button and self.forms:
            self.forms[-1].button += data.strip()

    def close(self):
        super().close()
        for form, name, value, id_ in self._radios:
            form.options.setdefault(name, {})[self.labels.get(id_, value)] = value


def read(html: str) -> PageParser:
    p = PageParser()
    p.feed(html)
    p.close()
    return p


def totp(secret: str, at: float | None = None) -> str:
    """RFC 6238: 30-second steps, 6 digits, HMAC-SHA1."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    counter = struct.pack(">Q", int((time.time() if at is None else at) // 30))
    digest = hmac.new(key, counter, hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"
