"""`python -m embedded render FILE.json` over every document of the project's own corpus: a
designer's preview tool, in each language (--lang) and theme chain (--theme); the command line's
--help for every command and help text for every option, its one-line refusals (a port in use, a
JSON file that is no IDX response), and the demo's start-up lines.
(tests/conformance/test_widget_render_cli.py: the same over Okta's Sign-In Widget fixtures;
tests/test_gallery.py: the gallery command.)"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import redirect_stdout
from html import unescape
from html.parser import HTMLParser

import pytest
from conftest import OWN_FIXTURES, RECORDED, ROOT

from embedded import rendering, themes
from embedded.__main__ import main, parser
from embedded.locales import CODES

ENGLISH = rendering.Texts([rendering.TEMPLATES_DIR])


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


def visible_field_names(fields, prefix="", details=True):
    """Dotted names of the fields a person fills in, read straight off the JSON (`details`: with
    the fields an option of its own asks for)."""
    for f in fields or []:
        if not isinstance(f, dict) or f.get("visible") is False or f.get("mutable") is False:
            continue
        name = prefix + f["name"]
        sub = f.get("form") or (f.get("value") if isinstance(f.get("value"), dict) else None)
        if isinstance(sub, dict) and "form" in sub:
            sub = sub["form"]
        if isinstance(sub, dict) and isinstance(sub.get("value"), list):
            yield from visible_field_names(sub["value"], name + ".", details)
            continue
        yield name
        for o in f.get("options") or []:
            ov = o.get("value")
            if details and isinstance(ov, dict) and isinstance(ov.get("form"), dict):
                yield from visible_field_names(ov["form"].get("value"), name + ".")


def option_labels(fields, details=True):
    """Labels of every option a person can pick, read straight off the JSON (`details`: with
    those inside an option's own form)."""
    for f in fields or []:
        if not isinstance(f, dict) or f.get("visible") is False or f.get("mutable") is False:
            continue
        sub = f.get("form") or (f.get("value") if isinstance(f.get("value"), dict) else None)
        if isinstance(sub, dict):
            yield from option_labels((sub.get("form") or sub).get("value"), details)
        for o in f.get("options") or []:
            if isinstance(o.get("label"), str):
                yield o["label"]
            ov = o.get("value")
            if details and isinstance(ov, dict) and isinstance(ov.get("form"), dict):
                yield from option_labels(ov["form"].get("value"))


def message_texts(raw):
    """The Identity Engine's message texts a page must show; a key we word ourselves in English
    (rendering.OUR_ENGLISH: unmet password rules would repeat the checklist) shows our text."""

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("message"), str) and "class" in node:
                key = (node.get("i18n") or {}).get("key")
                yield ENGLISH.text(key) if key in rendering.OUR_ENGLISH else node["message"]
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
        # A method chooser lists the methods; what one asks for (a phone's number and SMS or
        # voice, Okta Verify's channel) is the next view's, as in the Sign-In Widget.
        # A method the Identity Engine found fault with is shown as its details view instead: the
        # method is chosen already (a hidden field), its own fields are the page.
        chooser = str(remediations[0].get("name", "")).startswith("select-authenticator")
        details_view = chooser and 'name="_details"' in html
        details = not chooser or details_view
        fields = remediations[0].get("value")
        missing += [
            f"control {n}"
            for n in visible_field_names(fields, details=details)
            if n not in scan.names and not (details_view and "." not in n)
        ]
        missing += [
            f"option {label!r}" for label in option_labels(fields, details) if " ".join(label.split()) not in text
        ]
    missing += [f"message {m!r}" for m in message_texts(raw) if " ".join(m.split()) not in text]
    missing += [f"identity provider {n!r}" for n in idp_names(remediations) if n not in text]
    return missing


def idp_names(remediations):
    return [
        r["idp"]["name"]
        for r in remediations
        if r.get("name") == "redirect-idp" and isinstance(r.get("idp"), dict) and r["idp"].get("name")
    ]


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
            if (
                k in ("message", "label")
                and isinstance(v, str)
                or (k == "name" and "id" in node and "type" not in node and isinstance(v, str))
            ):
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


@pytest.mark.parametrize(
    "document",
    [
        {"name": "some-app", "version": "1.2.3", "dependencies": {}},  # a package.json: a version, nothing of IDX
        {"version": "1.0.0"},
        {"version": "1.0.0", "remediation": "not a form list", "messages": ["not", "an", "object"]},
        {"errorCode": "E0000047", "errorSummary": "API call exceeded rate limit due to too many requests."},
        ["a", "list"],
    ],
)
def test_a_json_file_that_is_no_idx_response_exits_2_with_one_line(document, tmp_path, capsys):
    path = tmp_path / "package.json"
    path.write_text(json.dumps(document))
    assert main(["render", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.startswith(f"embedded: {path} is not an IDX response: ")


def test_the_command_line_itself(tmp_path):
    fixture = RECORDED.directory / "password" / "01-introspect.json"
    done = subprocess.run(
        [sys.executable, "-m", "embedded", "render", str(fixture)], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert done.returncode == 0 and "<!-- template: steps/identify.html -->" in done.stdout
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    done = subprocess.run(
        [sys.executable, "-m", "embedded", "render", str(bad)], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr and done.stderr.count("\n") == 1


# --- languages, themes, --help and bad arguments ---------------------------------------------------

IDENTIFY = RECORDED.directory / "password" / "01-introspect.json"


def catalogue(code: str) -> dict[str, str]:
    return json.loads((ROOT / "templates" / "messages" / f"{code}.json").read_text(encoding="utf-8"))


def heading(html: str) -> str:
    return unescape(re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S).group(1).strip())


@pytest.mark.parametrize("code", CODES)
def test_render_speaks_each_language(code, capsys):
    assert main(["render", str(IDENTIFY), "--lang", code]) == 0
    html = capsys.readouterr().out
    assert f'<html lang="{code}" dir="{"rtl" if code == "ar" else "ltr"}">' in html
    texts, english = catalogue(code), catalogue("en")
    assert heading(html) == texts["title.identify"]
    assert (
        unescape(re.search(r"<title>(.*?)</title>", html).group(1))
        == f"{texts['title.identify']} · {texts['app.title']}"
    )
    if code != "en":
        assert texts["title.identify"] != english["title.identify"] and english["title.identify"] not in html


@pytest.mark.parametrize(
    ("asked", "code"),
    [
        ("zh-Hant-HK", "zh-TW"),
        ("zh-hk", "zh-TW"),
        ("zh_TW", "zh-TW"),
        ("zh", "zh-CN"),
        ("zh-SG", "zh-CN"),
        ("KO-kr", "ko"),
    ],
)
def test_render_reads_a_language_tag_as_negotiation_does(asked, code, capsys):
    """--lang takes any tag `locales.match` reads: Chinese by script or region, a region dropped."""
    assert main(["render", str(IDENTIFY), "--lang", asked]) == 0
    html = capsys.readouterr().out
    assert f'<html lang="{code}" dir="ltr">' in html and heading(html) == catalogue(code)["title.identify"]


def test_the_acceptance_line_as_typed():
    done = subprocess.run(
        [sys.executable, "-m", "embedded", "render", str(IDENTIFY), "--lang", "ar"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert (
        done.returncode == 0
        and '<html lang="ar" dir="rtl">' in done.stdout
        and heading(done.stdout) == catalogue("ar")["title.identify"]
    )


def write(path, text: str):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_render_with_themes_child_first(tmp_path, capsys):
    parent, child = tmp_path / "parent", tmp_path / "child"
    write(
        parent / "messages" / "fr.json",
        json.dumps({"app.title": "Maison mère", "title.identify": "Bonjour de la mère"}),
    )
    write(child / "messages" / "fr.json", json.dumps({"app.title": "Filiale"}))
    write(
        parent / "steps" / "identify.html",
        '{% extends "steps/_generic.html" %}'
        '{% block main %}<p id="parent-identify">{{ ui("title.identify") }}</p>{% endblock %}',
    )
    assert main(["render", str(IDENTIFY), "--lang", "fr", "--theme", str(child), "--theme", str(parent)]) == 0
    html = capsys.readouterr().out
    assert "<title>" in html and "Filiale" in html and "Maison mère" not in html  # the child's key wins
    assert '<p id="parent-identify">Bonjour de la mère</p>' in html  # the parent's template and key, under the child
    assert main(["render", str(IDENTIFY), "--lang", "fr", "--theme", str(parent), "--theme", str(child)]) == 0
    assert "Maison mère" in capsys.readouterr().out  # the other order: the parent is now the child


def test_without_theme_the_apps_own_theme_setting_applies(tmp_path, capsys, monkeypatch):
    parent, child = tmp_path / "parent", tmp_path / "child"
    write(parent / "messages" / "en.json", json.dumps({"title.identify": "Hello from the parent"}))
    write(child / "messages" / "en.json", json.dumps({"app.title": "Child Co"}))
    monkeypatch.setenv("EMBEDDED_THEME_DIRS", f"{child},{parent}")
    assert main(["render", str(IDENTIFY)]) == 0
    html = capsys.readouterr().out
    assert heading(html) == "Hello from the parent" and "Child Co" in html
    monkeypatch.setenv("EMBEDDED_THEME_DIRS", str(tmp_path / "gone"))
    assert main(["render", str(IDENTIFY)]) == 2
    assert capsys.readouterr().err == f"embedded: EMBEDDED_THEME_DIRS: {tmp_path / 'gone'} does not exist\n"
    monkeypatch.delenv("EMBEDDED_THEME_DIRS")
    monkeypatch.setenv("EMBEDDED_TEMPLATE_DIR", str(child))  # the older spelling of one theme
    assert main(["render", str(IDENTIFY)]) == 0 and "Child Co" in capsys.readouterr().out


COMMANDS = ("serve", "render", "gallery", "simulator", "record")


def run(args: list[str]) -> int:
    try:
        return main(args)
    except SystemExit as exc:  # the simulator and the recorder answer --help themselves
        return int(exc.code or 0)


def own_parser(build_and_parse) -> argparse.ArgumentParser:
    """The parser a command builds and uses in one call (the simulator's), caught as it parses."""
    caught: list[argparse.ArgumentParser] = []

    def catch(self, *args, **kwargs):
        caught.append(self)
        return argparse.Namespace()

    original = argparse.ArgumentParser.parse_args
    argparse.ArgumentParser.parse_args = catch  # type: ignore[method-assign]
    try:
        build_and_parse([])
    finally:
        argparse.ArgumentParser.parse_args = original  # type: ignore[method-assign]
    return caught[0]


def every_parser() -> dict[str, argparse.ArgumentParser]:
    from embedded.simulator import parse_args as simulator_parse_args
    from embedded.testing.record import parser as record_parser

    main_parser = parser()
    found = {"python -m embedded": main_parser}
    for action in main_parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.update({f"python -m embedded {name}": sub for name, sub in action.choices.items()})
    found["python -m embedded simulator"] = own_parser(simulator_parse_args)
    found["python -m embedded record"] = record_parser()
    return found


def test_every_option_and_argument_of_every_command_has_help_text():
    parsers = every_parser()
    assert set(parsers) == {"python -m embedded"} | {f"python -m embedded {c}" for c in COMMANDS}
    missing = [
        f"{prog}: {'/'.join(action.option_strings) or action.dest}"
        for prog, p in parsers.items()
        for action in p._actions
        if not isinstance(action, argparse._SubParsersAction) and not (action.help or "").strip()
    ]
    assert missing == []
    assert sum(len(p._actions) for p in parsers.values()) > 30


def test_errors_name_the_setting_as_the_caller_gave_it(tmp_path):
    gone = tmp_path / "gone"
    assert themes.chain_problem([tmp_path, gone], "theme_dirs") == f"theme_dirs: {gone} does not exist"
    assert themes.chain_problem(str(gone), "EMBEDDED_THEME_DIRS") == f"EMBEDDED_THEME_DIRS: {gone} does not exist"
    assert themes.chain_problem([tmp_path], "theme_dirs") is None and themes.chain_problem(None, "x") is None


@pytest.mark.parametrize(
    "args, option",
    [
        (["--port", "{port}", "--sim-port", "{free}"], "--port"),
        (["serve", "--port", "{free}", "--sim-port", "{port}"], "--sim-port"),
        (["simulator", "--port", "{port}"], "--port"),
    ],
)
def test_a_port_in_use_is_one_line_and_exit_2_before_any_banner(args, option):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        argv = [a.format(port=port, free=free_port()) for a in args]
        env = {k: v for k, v in os.environ.items() if not k.startswith("OKTA_IDX_")}
        done = subprocess.run(
            [sys.executable, "-m", "embedded", *argv], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60
        )
    command = "simulator: " if argv[0] == "simulator" else ""
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == f"embedded: {command}{option} {port}: the port is in use on 127.0.0.1\n"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_answers_help(command, capsys):
    assert run([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: ") and f"embedded {command}" in out.splitlines()[0]
    assert "--help" in out and "Traceback" not in out


def test_the_main_help_lists_every_command_on_one_line_each():
    done = subprocess.run(
        [sys.executable, "-m", "embedded", "--help"], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert done.returncode == 0 and done.stdout.startswith("usage: python -m embedded")
    lines = done.stdout.splitlines()
    listed = [i for i, line in enumerate(lines) if re.match(r"    (\S+)\s{2,}\S", line)]
    assert [lines[i].split()[0] for i in listed] == list(COMMANDS)
    assert all(i + 1 in listed or not lines[i + 1].startswith("      ") for i in listed)  # no command's line wraps


@pytest.mark.parametrize(
    "args, error",
    [
        (
            ["render", str(IDENTIFY), "--lang", "xx"],
            f"embedded: render: argument --lang: unknown language 'xx' (one of {', '.join(CODES)})",
        ),
        (["render", "no/such/file.json"], "embedded: cannot read no/such/file.json: No such file or directory"),
        (
            ["render", str(IDENTIFY), "--theme", "no/such/theme"],
            "embedded: render: argument --theme: no/such/theme: no such directory",
        ),
        (["render"], "embedded: render: the following arguments are required: FILE.json"),
        (["render", str(IDENTIFY), "extra.json"], "embedded: unrecognized arguments: extra.json"),
        (
            ["bogus"],
            "embedded: argument COMMAND: invalid choice: 'bogus' "
            "(choose from 'serve', 'render', 'gallery', 'simulator', 'record')",
        ),
        (["--port", "eighty"], "embedded: argument --port: invalid int value: 'eighty'"),
    ],
)
def test_bad_arguments_get_one_line_and_exit_2(args, error, capsys):
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.err == error + "\n" and captured.out == ""


def test_bad_arguments_on_the_real_command_line():
    done = subprocess.run(
        [sys.executable, "-m", "embedded", "render", str(IDENTIFY), "--lang", "xx"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert (
        done.returncode == 2
        and done.stdout == ""
        and done.stderr.count("\n") == 1
        and "unknown language 'xx'" in done.stderr
    )


# --- the demo's start-up lines (`make run`) ---------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_make_run_says_what_to_open_first_in_a_few_lines():
    port, sim_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKTA_IDX_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "embedded", "--port", str(port), "--sim-port", str(sim_port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
        env=env,
    )
    try:
        lines = []
        while not (lines and lines[-1].startswith("Signing in against")):
            line = proc.stdout.readline()
            assert line, f"the demo stopped: {lines}"
            lines.append(line.rstrip("\n"))
        app, simulator = f"http://127.0.0.1:{port}/", f"http://127.0.0.1:{sim_port}/"
        assert lines[0] == f"Open {app} and sign in as alice@example.com / Alice-Passw0rd!"
        assert (
            len(lines) <= 6
            and any(simulator in line for line in lines)
            and any(f"{simulator}outbox" in line for line in lines)
        )
        assert any(f"{app}_gallery/" in line for line in lines)
        deadline = time.monotonic() + 30
        while True:
            try:
                users = urllib.request.urlopen(simulator, timeout=5).read().decode()
                gallery = urllib.request.urlopen(f"{app}_gallery/", timeout=30)
                break
            except OSError:
                assert time.monotonic() < deadline, "the demo did not answer"
                time.sleep(0.2)
        assert all(f"{who}@example.com" in users for who in ("alice", "bob", "carol"))  # where the demo users are
        assert gallery.status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=20)
