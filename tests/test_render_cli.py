"""`python -m embedded render FILE.json` over every document of the project's own corpus: a
designer's preview tool. (tests/conformance/test_widget_render_cli.py: the same over Okta's
Sign-In Widget fixtures.)"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from contextlib import redirect_stdout
from html.parser import HTMLParser

import pytest
from conftest import OWN_FIXTURES, RECORDED, ROOT

from embedded.__main__ import main


def own_paths() -> list:
    return sorted(RECORDED.directory.glob("*/*.json")) + sorted(OWN_FIXTURES.glob("*.json"))


def is_idx(path) -> bool:
    return "version" in json.loads(path.read_text())


def short(path) -> str:
    return f"{path.parent.name}/{path.name}"


PAGES = [p for p in own_paths() if is_idx(p)]
# Documents that are not pages at all (a 429's API error): the render tool must refuse them with exit status 2.
NOT_IDX = [p for p in own_paths() if not is_idx(p)]


class PageScan(HTMLParser):
    def __init__(self):
        super().__init__()
        self.names: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("input", "select", "textarea") and a.get("type") != "hidden" and a.get("name"):
            self.names.add(a["name"])
        if tag == "button" and a.get("name"):  # an answer given by the button pressed (Allow / Don't allow)
            self.names.add(a["name"])

    def handle_data(self, data):
        self.text.append(data)


def visible_field_names(fields, prefix=""):
    """Dotted names of the fields a person fills in, read straight off the JSON."""
    for f in fields or []:
        if not isinstance(f, dict) or f.get("visible") is False or f.get("mutable") is False:
            continue
        name = prefix + f["name"]
        sub = f.get("form") or (f.get("value") if isinstance(f.get("value"), dict) else None)
        if isinstance(sub, dict) and "form" in sub:
            sub = sub["form"]
        if isinstance(sub, dict) and isinstance(sub.get("value"), list):
            yield from visible_field_names(sub["value"], name + ".")
            continue
        yield name
        for o in f.get("options") or []:
            ov = o.get("value")
            if isinstance(ov, dict) and isinstance(ov.get("form"), dict):
                yield from visible_field_names(ov["form"].get("value"), name + ".")


def option_labels(fields):
    """Labels of every option a person can pick, read straight off the JSON."""
    for f in fields or []:
        if not isinstance(f, dict) or f.get("visible") is False or f.get("mutable") is False:
            continue
        sub = f.get("form") or (f.get("value") if isinstance(f.get("value"), dict) else None)
        if isinstance(sub, dict):
            yield from option_labels((sub.get("form") or sub).get("value"))
        for o in f.get("options") or []:
            if isinstance(o.get("label"), str):
                yield o["label"]
            ov = o.get("value")
            if isinstance(ov, dict) and isinstance(ov.get("form"), dict):
                yield from option_labels(ov["form"].get("value"))


def message_texts(raw):
    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("message"), str) and "class" in node:
                yield node["message"]
            for k, v in node.items():
                if k not in ("authenticators", "authenticatorEnrollments"):
                    yield from walk(v)
        elif isinstance(node, list):
            for v in node:
                yield from walk(v)

    shown = [raw.get("messages")] + [r for r in (raw.get("remediation") or {}).get("value", [])[:1]]
    return {t for part in shown for t in walk(part)}


def render(path) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        status = main(["render", str(path)])
    return status, out.getvalue()


def missing_from_page(path) -> list[str]:
    raw = json.loads(path.read_text())
    status, html = render(path)
    assert status == 0
    scan = PageScan()
    scan.feed(html)
    text = " ".join(" ".join(scan.text).split())
    remediations = (raw.get("remediation") or {}).get("value") or []
    missing = []
    if remediations and not (len(remediations) == 1 and remediations[0].get("method") == "GET"):
        missing += [f"control {n}" for n in visible_field_names(remediations[0].get("value")) if n not in scan.names]
        missing += [f"option {label!r}" for label in option_labels(remediations[0].get("value")) if " ".join(label.split()) not in text]
    missing += [f"message {m!r}" for m in message_texts(raw) if " ".join(m.split()) not in text]
    missing += [f"identity provider {n!r}" for n in idp_names(remediations) if n not in text]
    return missing


def idp_names(remediations):
    return [r["idp"]["name"] for r in remediations if r.get("name") == "redirect-idp" and isinstance(r.get("idp"), dict) and r["idp"].get("name")]


def test_every_recorded_document_renders_completely():
    """Every Ion document renders every visible control, option label, message and identity
    provider, so any exception must be named here with its reason."""
    incomplete = {short(p): missing_from_page(p) for p in PAGES}
    assert len(PAGES) > 100 and {k: v for k, v in incomplete.items() if v} == {}


PAYLOAD = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def poisoned(node):
    """The document with every message, label and IdP name replaced by a script payload."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k in ("message", "label") and isinstance(v, str) or (k == "name" and "id" in node and "type" not in node and isinstance(v, str)):
                out[k] = PAYLOAD
            else:
                out[k] = poisoned(v)
        return out
    if isinstance(node, list):
        return [poisoned(v) for v in node]
    return node


@pytest.mark.parametrize("path", PAGES, ids=short)
def test_script_payloads_in_messages_and_labels_are_escaped(path, tmp_path):
    """Checklist 30 (output encoding): text from the Identity Engine never becomes markup."""
    assert_payloads_escaped(path, tmp_path)


def assert_payloads_escaped(path, tmp_path) -> None:
    target = tmp_path / path.name
    target.write_text(json.dumps(poisoned(json.loads(path.read_text()))))
    status, html = render(target)
    assert status == 0
    scan = MarkupScan()
    scan.feed(html)
    assert scan.injected == [], scan.injected
    assert html.count("&lt;script&gt;") >= len(message_texts(json.loads(path.read_text())) and [1])


class MarkupScan(HTMLParser):
    """Markup a payload would have produced had it not been escaped."""

    def __init__(self):
        super().__init__()
        self.injected: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self._in_script = tag == "script"
        self.injected += [f"{tag} {k}" for k, _ in attrs if k.startswith("on")]
        if tag == "img" and ("src", "x") in attrs:
            self.injected.append("img src=x")

    def handle_data(self, data):
        if self._in_script and "alert" in data:
            self.injected.append("script " + data[:40])

    def handle_endtag(self, tag):
        self._in_script = False


@pytest.mark.parametrize("path", NOT_IDX, ids=short)
def test_non_idx_documents_exit_2_with_one_line(path, capsys):
    assert_refused(path, capsys)


def assert_refused(path, capsys) -> None:
    assert main(["render", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not an IDX response" in err


def test_the_command_line_itself(tmp_path):
    fixture = RECORDED.directory / "password" / "01-introspect.json"
    done = subprocess.run([sys.executable, "-m", "embedded", "render", str(fixture)], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0 and "<!-- template: steps/identify.html -->" in done.stdout
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    done = subprocess.run([sys.executable, "-m", "embedded", "render", str(bad)], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr and done.stderr.count("\n") == 1
